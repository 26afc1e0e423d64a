# Copyright 2026 vru_detector maintainers
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""`vru-train data`: BDD100K / COCO against the shared YOLO labels, VisDrone from its format."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from optional import requires
import pytest
from training.data.convert import convert
import yaml


def _labels(folder: Path) -> dict[str, np.ndarray]:
    return {p.stem: np.array([[float(v) for v in line.split()] for line in
                              p.read_text().splitlines() if line.strip()]).reshape(-1, 5)
            for p in sorted(folder.glob('*.txt'))}


def _same_labels(ours: Path, reference: Path) -> None:
    a, b = _labels(ours), _labels(reference)
    assert a.keys() == b.keys()
    for stem in a:
        x, y = a[stem], b[stem]
        assert x.shape == y.shape, stem
        order_x, order_y = np.lexsort(x.T[::-1]), np.lexsort(y.T[::-1])
        np.testing.assert_allclose(x[order_x], y[order_y], atol=2e-4, err_msg=stem)


@pytest.mark.parametrize('dataset, source, ann', [
    ('bdd100k_vru', 'bdd100k', 'bdd100k_det_{split}_subset.json'),
    ('coco_vru', 'coco', 'instances_{split}2017_subset.json'),
])
def test_conversion_reproduces_the_shared_yolo_labels(shared_data, tmp_path, dataset, source,
                                                      ann):
    from training.cli import main

    src = shared_data / dataset
    out = tmp_path / dataset
    argv = ['data', source, '--out', str(out)]
    for split in ('train', 'val'):
        argv += [f'--{split}', str(src / 'annotations' / ann.format(split=split)),
                 str(src / 'images' / split)]
    assert main(argv) == 0
    for split in ('train', 'val'):
        _same_labels(out / 'labels' / split, src / 'labels' / split)
        images = sorted(p.name for p in (out / 'images' / split).iterdir())
        assert images == sorted(p.name for p in (src / 'images' / split).iterdir())
    cfg = yaml.safe_load((out / 'data.yaml').read_text())
    assert 'path' not in cfg and cfg['train'] == 'images/train'
    assert cfg['names'] == yaml.safe_load((src / 'data.yaml').read_text())['names']
    counts = json.loads((out / 'counts.json').read_text())['splits']
    if source == 'bdd100k':  # PROVENANCE.md table
        assert counts['train']['boxes'] == {'person': 239, 'rider': 13, 'bicycle': 16,
                                            'motorcycle': 9, 'car': 1948}
        assert counts['val']['images'] == 100
    else:
        assert counts['val']['boxes'] == {'person': 444, 'rider': 0, 'bicycle': 11,
                                          'motorcycle': 19, 'car': 71}


def _visdrone_fixture(root: Path) -> tuple[Path, Path]:
    """Two 200x100 images with VisDrone-format boxes (format from the VisDrone2019-DET docs)."""
    import cv2

    ann, img = root / 'annotations', root / 'images'
    ann.mkdir(parents=True)
    img.mkdir()
    for stem in ('0000001_00000_d_0000001', '0000002_00000_d_0000002'):
        cv2.imwrite(str(img / f'{stem}.jpg'), np.full((100, 200, 3), 127, np.uint8))
    (ann / '0000001_00000_d_0000001.txt').write_text(
        '10,20,30,40,1,1,0,0\n'        # pedestrian -> person
        '50,10,20,30,1,2,0,1\n'        # people -> person
        '100,50,40,20,1,3,0,0\n'       # bicycle
        '150,60,60,50,1,10,1,0\n'      # motor, runs past the right/bottom edge: clipped
        '0,0,50,50,0,0,0,0\n'          # ignored region (score 0)
        '5,5,10,10,1,6,0,0\n')         # truck: dropped
    (ann / '0000002_00000_d_0000002.txt').write_text('20,20,40,30,1,4,0,0,\n')  # car
    return ann, img


@requires('PIL')
def test_visdrone_boxes_map_to_vru_classes_and_clip(tmp_path):
    ann, img = _visdrone_fixture(tmp_path / 'vd')
    report = convert('visdrone', tmp_path / 'out', {'train': (ann, img)})
    r = report.splits['train']
    assert dict(r.boxes) == {'person': 2, 'bicycle': 1, 'motorcycle': 1, 'car': 1}
    assert r.dropped == {'ignored (score 0)': 1, 'category 6': 1}
    lines = (tmp_path / 'out' / 'labels' / 'train' / '0000001_00000_d_0000001.txt').read_text()
    rows = np.array([[float(v) for v in line.split()] for line in lines.splitlines()])
    np.testing.assert_allclose(rows[0], [0, 25 / 200, 40 / 100, 30 / 200, 40 / 100], atol=1e-6)
    np.testing.assert_allclose(rows[3], [3, 175 / 200, 80 / 100, 50 / 200, 40 / 100], atol=1e-6)
    assert 'person' in report.table() and 'motorcycle' in report.table()
    no_car = convert('visdrone', tmp_path / 'out4', {'train': (ann, img)}, with_car=False)
    assert 'car' not in no_car.splits['train'].boxes
    names = yaml.safe_load((tmp_path / 'out4' / 'data.yaml').read_text())['names']
    assert names == {0: 'person', 1: 'rider', 2: 'bicycle', 3: 'motorcycle'}


def test_converted_dataset_loads_in_ultralytics(tmp_path):
    pytest.importorskip('ultralytics')
    from ultralytics.data.utils import check_det_dataset

    ann, img = _visdrone_fixture(tmp_path / 'vd')
    convert('visdrone', tmp_path / 'out', {'train': (ann, img), 'val': (ann, img)}, copy=True)
    data = check_det_dataset(str(tmp_path / 'out' / 'data.yaml'))
    assert data['nc'] == 5 and Path(data['train']).is_dir()
    assert not (tmp_path / 'out' / 'images' / 'train' / '0000002_00000_d_0000002.jpg').is_symlink()


def test_names_escaping_the_output_folder_are_refused(tmp_path):
    img = tmp_path / 'src'
    img.mkdir()
    (img / 'a.jpg').write_bytes(b'')
    ann = tmp_path / 'bad.json'
    ann.write_text(json.dumps([{'name': '../../../../escape.jpg', 'labels': []}]))
    (tmp_path / 'escape.jpg').write_bytes(b'')
    with pytest.raises(ValueError, match='leaves the dataset folder'):
        convert('bdd100k', tmp_path / 'out' / 'ds', {'train': (ann, img)})
    assert not (tmp_path / 'escape.txt').exists()


def test_bad_inputs_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.json'):
        convert('coco', tmp_path / 'o', {'train': (tmp_path / 'nope.json', tmp_path)})
    bad = tmp_path / 'x.json'
    bad.write_text('{"images": []}')
    with pytest.raises(ValueError, match='not a COCO instances file'):
        convert('coco', tmp_path / 'o', {'train': (bad, tmp_path)})


def test_yolo_merge_keeps_every_box_of_every_dataset(shared_data, tmp_path):
    from training.cli import main

    bdd, coco = shared_data / 'bdd100k_vru', shared_data / 'coco_vru'
    out = tmp_path / 'street'
    assert main(['data', 'yolo', '--out', str(out), '--train', str(bdd / 'data.yaml'),
                 str(coco / 'data.yaml'), '--val', str(bdd / 'data.yaml')]) == 0
    for name, src in (('bdd100k_vru', bdd), ('coco_vru', coco)):
        _same_labels(out / 'labels' / 'train' / name, src / 'labels' / 'train')
    _same_labels(out / 'labels' / 'val' / 'bdd100k_vru', bdd / 'labels' / 'val')
    assert not (out / 'labels' / 'val' / 'coco_vru').exists()
    counts = json.loads((out / 'counts.json').read_text())['splits']
    assert counts['train']['images'] == 200 + 168
    assert counts['train']['boxes'] == {'person': 239 + 644, 'rider': 13, 'bicycle': 16 + 35,
                                        'motorcycle': 9 + 11, 'car': 1948 + 74}
    assert not list(shared_data.rglob('*.cache'))


def _yolo_dataset(root: Path, names: list[str], rows: list[str]) -> Path:
    import cv2

    (root / 'images' / 'train').mkdir(parents=True)
    (root / 'labels' / 'train').mkdir(parents=True)
    cv2.imwrite(str(root / 'images' / 'train' / 'a.jpg'), np.zeros((100, 200, 3), np.uint8))
    (root / 'labels' / 'train' / 'a.txt').write_text('\n'.join(rows) + '\n')
    cfg = {'train': 'images/train', 'val': 'images/train', 'names': names}
    (root / 'data.yaml').write_text(yaml.safe_dump(cfg))
    return root / 'data.yaml'


def test_yolo_merge_maps_classes_by_name_and_loads_in_ultralytics(tmp_path):
    pytest.importorskip('ultralytics')
    from ultralytics.data.utils import check_det_dataset, img2label_paths

    # another dataset's class order: 0 car, 1 truck (not a VRU class), 2 person
    src = _yolo_dataset(tmp_path / 'other', ['car', 'truck', 'person'],
                        ['0 0.5 0.5 0.2 0.2', '1 0.3 0.3 0.1 0.1', '2 0.25 0.5 0.1 0.4'])
    report = convert('yolo', tmp_path / 'out', {'train': (src,), 'val': (src,)})
    assert report.splits['train'].dropped == {'truck': 1}
    assert dict(report.splits['train'].boxes) == {'car': 1, 'person': 1}
    image = tmp_path / 'out' / 'images' / 'train' / 'other' / 'a.jpg'
    rows = _labels(Path(img2label_paths([str(image)])[0]).parent)['a']
    np.testing.assert_allclose(rows[np.argsort(rows[:, 0])],
                               [[0, 0.25, 0.5, 0.1, 0.4], [4, 0.5, 0.5, 0.2, 0.2]], atol=1e-6)
    data = check_det_dataset(str(tmp_path / 'out' / 'data.yaml'))
    assert data['nc'] == 5 and Path(data['val']).is_dir()


def test_yolo_merge_names_what_is_wrong(tmp_path):
    src = _yolo_dataset(tmp_path / 'd', ['person'], ['0 0.5 0.5 0.2'])
    with pytest.raises(ValueError, match=r'a.txt:1: expected 5 fields "class cx cy w h"'):
        convert('yolo', tmp_path / 'o', {'train': (src,)})
    with pytest.raises(ValueError, match='has no test: folder'):
        convert('yolo', tmp_path / 'o', {'test': (src,)})
    with pytest.raises(ValueError, match='bdd100k takes ANNOTATIONS IMAGES, got 1'):
        convert('bdd100k', tmp_path / 'o', {'train': (src,)})
