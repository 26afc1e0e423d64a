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

"""The labels package: classes and VRU from classes.yaml, each reader on a real file, errors."""
from __future__ import annotations

from collections import Counter
import json
import os
from pathlib import Path
import subprocess
import sys

import numpy as np
import pytest
from vru_detector import class_config
from vru_detector.labels import (class_names, ClassConfigError, classes, data_yaml_names,
                                 dataset_split_dir, FrameTruth, label_path, LabelFormatError,
                                 LabelNotFoundError, load_ground_truth, read_bdd_json,
                                 read_coco_json, read_mot_gt, read_visdrone, read_yolo_image,
                                 read_yolo_labels, vru_ids, vru_names)
from vru_detector.replay.metrics import ReplayMetrics
import yaml

REPO = Path(__file__).resolve().parents[1]
CLASSES_YAML = REPO / 'config' / 'classes.yaml'


@pytest.fixture
def classes_yaml(tmp_path, monkeypatch):
    """Point the package's default classes.yaml at a file the test writes."""
    def use(entries: dict) -> Path:
        path = tmp_path / 'classes.yaml'
        path.write_text(yaml.safe_dump({'classes': entries}, sort_keys=False))
        monkeypatch.setattr(class_config, 'default_class_config_path', lambda: path)
        classes._classes.cache_clear()
        return path

    yield use
    classes._classes.cache_clear()


def test_classes_and_vru_are_those_of_config_classes_yaml():
    entries = yaml.safe_load(CLASSES_YAML.read_text())['classes']
    assert class_names() == tuple(entries)
    assert vru_names() == tuple(n for n, e in entries.items() if e.get('vru'))
    assert 'car' in class_names() and 'car' not in vru_names()
    assert vru_ids(('car', 'person', 'tram', 'motorcycle')) == [1, 3]


def _missed_everything(names: tuple[str, ...]) -> dict:
    """Operating point of one frame with one missed box of every class."""
    metrics = ReplayMetrics(names)
    truth_boxes = [[10 + 30 * k, 10, 30 + 30 * k, 50] for k in range(len(names))]
    truth = FrameTruth.from_lists('a', truth_boxes, list(range(len(names))), None, (100, 400))
    metrics.add(0, 'a', 0, truth, np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64))
    return metrics.operating_point(0.25)


def test_replay_vru_figures_follow_the_vru_flag(classes_yaml):
    names = ('person', 'rider', 'bicycle', 'motorcycle', 'car')
    shipped = _missed_everything(names)
    assert shipped['all']['fn'] == 5 and shipped['vru']['fn'] == 4     # car is no VRU
    classes_yaml({n: {'vru': n in ('person', 'car')} for n in names})
    assert vru_names() == ('person', 'car')
    assert _missed_everything(names)['vru']['fn'] == 2


def test_a_bad_classes_yaml_is_named(tmp_path, classes_yaml, monkeypatch):
    bad = tmp_path / 'bad.yaml'
    bad.write_text('classes: [person, car]\n')
    with pytest.raises(ClassConfigError, match="bad.yaml: expected a top-level 'classes:'"):
        vru_names(bad)
    classes_yaml({})
    with pytest.raises(ClassConfigError, match='classes.yaml: lists no classes'):
        class_names()
    monkeypatch.setattr(class_config, 'default_class_config_path', lambda: None)
    classes._classes.cache_clear()
    with pytest.raises(ClassConfigError, match='reinstall vru_detector'):
        vru_names()


def test_classes_yaml_is_found_in_a_pip_prefix_then_a_user_install(tmp_path, monkeypatch):
    prefix, user = tmp_path / 'venv', tmp_path / 'user'
    for root in (prefix, user):
        folder = root / 'share' / 'vru_detector' / 'config'
        folder.mkdir(parents=True)
        (folder / 'classes.yaml').write_text(CLASSES_YAML.read_text())
    monkeypatch.setattr(sys, 'prefix', str(prefix))
    monkeypatch.setattr(class_config.site, 'getuserbase', lambda: str(user))
    monkeypatch.setitem(sys.modules, 'ament_index_python.packages', None)  # not a ROS install
    found = class_config.default_class_config_path()
    assert found == prefix / 'share' / 'vru_detector' / 'config' / 'classes.yaml'
    (prefix / 'share' / 'vru_detector' / 'config' / 'classes.yaml').unlink()
    found = class_config.default_class_config_path()  # pip install --user
    assert found == user / 'share' / 'vru_detector' / 'config' / 'classes.yaml'


def test_runtime_only_imports():
    code = ('import sys, vru_detector.labels\n'
            "heavy = [m for m in ('torch', 'ultralytics', 'training', 'vru_detector.replay')\n"
            '         if m in sys.modules]\n'
            'assert not heavy, heavy\n')
    env = {**os.environ, 'PYTHONPATH': str(REPO)}
    subprocess.run([sys.executable, '-c', code], check=True, env=env)


def test_yolo_folder_image_and_data_yaml_agree(shared_data):
    root = shared_data / 'bdd100k_vru'
    names = class_names()
    assert tuple(data_yaml_names(root / 'data.yaml')) == names
    images = dataset_split_dir(root / 'data.yaml', 'val')
    assert label_path(images / 'x.jpg') == root / 'labels' / 'val' / 'x.txt'
    folder = read_yolo_labels(root / 'labels' / 'val', names)
    counts = np.bincount(np.concatenate([f.class_ids for f in folder.frames]), minlength=5)
    assert counts.tolist() == [155, 7, 1, 8, 988]  # PROVENANCE.md, val split
    for frame in folder.frames[:5]:
        one = read_yolo_image(images / frame.image, names)
        assert one.key == frame.key and one.image_shape == frame.image_shape == (720, 1280)
        np.testing.assert_array_equal(one.xyxy, frame.xyxy)


def test_yolo_classes_map_by_name_and_dropped_are_counted(shared_data):
    root = shared_data / 'bdd100k_vru'
    folder = read_yolo_labels(root / 'labels' / 'val', vru_names(),
                              source_names=data_yaml_names(root / 'data.yaml'))
    assert folder.dropped == Counter({'car': 988})
    assert sum(len(f) for f in folder.frames) == 155 + 7 + 1 + 8


def test_coco_json_counts_what_it_drops(shared_data):
    path = shared_data / 'coco_vru' / 'annotations' / 'instances_val2017_subset.json'
    gt = read_coco_json(path, class_names())
    kept = Counter(class_names()[c] for f in gt.frames
                   for c, ign in zip(f.class_ids, f.ignore) if not ign)
    assert kept == Counter({'person': 444, 'bicycle': 11, 'motorcycle': 19, 'car': 71})
    assert gt.dropped and not set(gt.dropped) & set(class_names())
    assert all(f.image.endswith('.jpg') and f.image_shape for f in gt.frames)


def test_bdd_json_drops_other_categories(shared_data):
    path = shared_data / 'bdd100k_vru' / 'annotations' / 'bdd100k_det_val_subset.json'
    gt = read_bdd_json(path, class_names())
    assert len(gt) == 100 and sum(len(f) for f in gt.frames) == 155 + 7 + 1 + 8 + 988
    assert 'traffic sign' in gt.dropped and not set(gt.dropped) & set(class_names())


def test_bdd_aliases_and_lanes(tmp_path):
    path = tmp_path / 'det.json'
    path.write_text(json.dumps([{'name': 'sub/a.jpg', 'labels': [
        {'category': 'pedestrian', 'box2d': {'x1': 1, 'y1': 2, 'x2': 3, 'y2': 4}},
        {'category': 'bike', 'box2d': {'x1': 1, 'y1': 2, 'x2': 3, 'y2': 4}},
        {'category': 'motor', 'box2d': {'x1': 1, 'y1': 2, 'x2': 3, 'y2': 4}},
        {'category': 'lane/single white', 'poly2d': []}]}]))
    frame = read_bdd_json(path, class_names()).frames[0]
    assert [class_names()[c] for c in frame.class_ids] == ['person', 'bicycle', 'motorcycle']
    assert (frame.key, frame.image, frame.image_shape) == ('a', 'sub/a.jpg', None)


def test_mot_gt_of_a_real_clip(shared_data):
    gt = read_mot_gt(shared_data / 'videos' / 'TUD-Campus.gt.txt', class_names())
    assert len(gt) == 71 and sum(len(f) for f in gt.frames) == 359
    assert set(np.concatenate([f.class_ids for f in gt.frames]).tolist()) == {0}


def test_mot17_classes_outside_the_model_are_counted(tmp_path):
    path = tmp_path / 'gt.txt'
    path.write_text('1,1,10,10,20,40,1,1,1.0\n1,2,5,5,30,30,1,3,0.8\n1,3,5,5,30,30,1,8,0.8\n')
    gt = read_mot_gt(path, vru_names())
    frame = gt.get('1')
    assert frame.class_ids.tolist() == [0, 0] and frame.ignore.tolist() == [False, True]
    assert gt.dropped == Counter({'car': 1})


def test_visdrone_maps_categories_and_keeps_score_zero_as_ignore(tmp_path):
    import cv2

    ann, img = tmp_path / 'annotations', tmp_path / 'images'
    ann.mkdir()
    img.mkdir()
    cv2.imwrite(str(img / 'v1.jpg'), np.zeros((100, 200, 3), np.uint8))
    (ann / 'v1.txt').write_text('10,20,30,40,1,1,0,0\n50,10,20,30,1,2,0,1\n'
                                '100,50,40,20,1,3,0,0\n0,0,50,50,0,0,0,0\n5,5,10,10,1,6,0,0\n')
    gt = read_visdrone(ann, img, class_names())
    frame = gt.frames[0]
    assert [class_names()[c] for c in frame.class_ids] == ['person', 'person', 'bicycle',
                                                           'person']
    assert frame.ignore.tolist() == [False, False, False, True]
    assert frame.image_shape == (100, 200) and gt.dropped == Counter({'category 6': 1})
    np.testing.assert_allclose(frame.xyxy[0], [10, 20, 40, 60])


def test_label_errors_are_one_family_and_say_what_to_do(tmp_path):
    with pytest.raises(LabelNotFoundError, match='nope.json: no such file') as missing:
        read_coco_json(tmp_path / 'nope.json', class_names())
    assert isinstance(missing.value, FileNotFoundError)
    assert isinstance(missing.value, LabelFormatError)
    bad = tmp_path / 'bad.json'
    bad.write_text('{"images": [')
    with pytest.raises(LabelFormatError, match='bad.json: not valid JSON .*COCO instances'):
        read_coco_json(bad, class_names())
    (tmp_path / 'data.yaml').write_text('names: [person]\ntrain: images/train\n')
    with pytest.raises(LabelNotFoundError, match='train images folder .* does not exist'):
        dataset_split_dir(tmp_path / 'data.yaml', 'train')
    with pytest.raises(LabelNotFoundError, match='does not exist'):
        load_ground_truth(tmp_path / 'missing', class_names())


def test_clis_print_the_label_error_and_exit_2(tmp_path, capsys):
    from training.cli import main as train
    from vru_detector.replay.make_bag import main as make_bag

    bad = tmp_path / 'det.json'
    bad.write_text(json.dumps([{'name': 'a.jpg', 'labels': [
        {'category': 'person', 'box2d': {'x1': 5, 'y1': 2, 'x2': 3, 'y2': 4}}]}]))
    (tmp_path / 'img').mkdir()
    assert train(['data', 'bdd100k', '--out', str(tmp_path / 'o'), '--train', str(bad),
                  str(tmp_path / 'img')]) == 2
    err = capsys.readouterr().err
    assert 'det.json: [0].labels[0]: box [5.0, 2.0, 3.0, 4.0] has negative width' in err
    assert 'Traceback' not in err
    import cv2

    cv2.imwrite(str(tmp_path / 'img' / 'a.jpg'), np.zeros((8, 8, 3), np.uint8))
    assert make_bag(['--images', str(tmp_path / 'img'), '--labels', str(bad),
                     '--out', str(tmp_path / 'bag')]) == 2
    assert 'has negative width or height' in capsys.readouterr().err
