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

"""Several datasets trained on as one (the demo's data), staged again by the later stages."""
from pathlib import Path

import pytest
from training.datasets import stage_dataset, stage_datasets
import yaml


def _labels(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in root.rglob('labels/*/*.txt')}


def test_datasets_train_together_validate_on_the_first_and_restage(shared_data, tmp_path):
    sources = [shared_data / name / 'data.yaml' for name in ('bdd100k_vru', 'coco128_vru')]
    merged = stage_datasets(sources, tmp_path / 'merged')
    cfg = yaml.safe_load(merged.read_text())
    assert cfg['train'] == ['bdd100k_vru/images/train', 'coco128_vru/images/train']
    assert cfg['val'] == 'bdd100k_vru/images/val' and cfg['names'][0] == 'person'
    for split in cfg['train'] + [cfg['val']]:
        images = sorted((merged.parent / split).iterdir())
        labels = merged.parent / split.replace('images', 'labels')
        assert images and all(p.is_symlink() for p in images)
        assert {p.stem for p in images} == {p.stem for p in labels.glob('*.txt')}
    want = {**{f'bdd100k_vru/{k}': v for k, v in _labels(shared_data / 'bdd100k_vru').items()},
            **{f'coco128_vru/{k}': v for k, v in _labels(shared_data / 'coco128_vru').items()}}
    assert _labels(merged.parent) == want  # every label, unchanged

    # A later stage (prune, calibrate) stages the merged dataset again, source by source.
    again = stage_dataset(merged, tmp_path / 'again')
    assert yaml.safe_load(again.read_text()) == cfg
    assert _labels(again.parent) == want


def test_datasets_with_other_classes_are_refused_with_the_fix(shared_data, tmp_path):
    other = tmp_path / 'other' / 'data.yaml'
    other.parent.mkdir()
    other.write_text(yaml.safe_dump({'train': 'images/train', 'names': {0: 'pedestrian'}}))
    with pytest.raises(ValueError, match='vru-train data yolo'):
        stage_datasets([shared_data / 'bdd100k_vru' / 'data.yaml', other], tmp_path / 'm')


def test_a_repeated_dataset_is_seen_that_many_times_an_epoch(shared_data, tmp_path):
    pytest.importorskip('ultralytics')
    from ultralytics.data.utils import check_det_dataset
    from ultralytics.data.dataset import YOLODataset

    sources = [shared_data / name / 'data.yaml' for name in ('bdd100k_vru', 'coco128_vru')]
    merged = stage_datasets(sources, tmp_path / 'merged', repeat={'bdd100k_vru': 3})
    cfg = yaml.safe_load(merged.read_text())
    assert cfg['train'] == ['bdd100k_vru/images/train'] * 3 + ['coco128_vru/images/train']
    data = check_det_dataset(str(merged))
    dataset = YOLODataset(img_path=data['train'], data=data, augment=False)
    files = [Path(f).parent.parent.parent.name for f in dataset.im_files]
    assert files.count('bdd100k_vru') == 3 * 200 and files.count('coco128_vru') == 73
    assert stage_dataset(merged, tmp_path / 'again').read_text() == merged.read_text()


@pytest.mark.parametrize('repeat', [{'visdrone': 2}, {'bdd100k_vru': 0}, {'bdd100k_vru': 1.5}])
def test_a_bad_repeat_names_the_datasets_that_can_be_repeated(shared_data, tmp_path, repeat):
    with pytest.raises(ValueError, match='bdd100k_vru'):
        stage_datasets([shared_data / 'bdd100k_vru' / 'data.yaml'], tmp_path / 'm', repeat)
