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

"""A pretrained start: head classes transferred by name, scores unchanged before training."""
from pathlib import Path

from conftest import SHARED_DATA
import cv2
import pytest
import yaml

COCO_N = SHARED_DATA.parent / 'models' / 'yolov8n_coco' / 'yolov8n_coco.pt'
VRU = ['person', 'rider', 'bicycle', 'motorcycle', 'car']


@pytest.fixture(scope='module')
def coco_n() -> Path:
    pytest.importorskip('ultralytics')
    if not COCO_N.is_file():
        pytest.skip(f'{COCO_N} not found: needs ../shared/models beside the repo')
    return COCO_N


def _photos_with_people(n_bdd: int = 2) -> list[Path]:
    """BDD val frames with at least three labelled pedestrians, and one COCO val photo."""
    root = SHARED_DATA / 'bdd100k_vru'
    crowded = [p for p in sorted((root / 'labels' / 'val').glob('*.txt'))
               if sum(line.split()[0] == '0' for line in p.read_text().splitlines()) >= 3]
    coco = sorted((SHARED_DATA / 'coco_vru' / 'images' / 'val').glob('*.jpg'))[:1]
    return [root / 'images' / 'val' / f'{p.stem}.jpg' for p in crowded[:n_bdd]] + coco


def _raw_scores(model, image_path: Path):
    """Class scores [nc, anchors] of the model on one letterboxed real photo."""
    import torch

    from vru_detector.preprocess import preprocess

    blob, _ = preprocess([cv2.imread(str(image_path))], (640, 640))
    model.eval()
    with torch.no_grad():
        out = model(torch.from_numpy(blob))
    out = out[0] if isinstance(out, (list, tuple)) else out
    return out[0, 4:]


def test_transfer_keeps_person_scores_of_the_source_model(coco_n, street_images):
    from training.pretrained import load_source, pretrained_model

    ours, report = pretrained_model(coco_n, VRU, {'rider': 'person'}, verbose=False)
    source = load_source(coco_n)
    coco = {v: k for k, v in source.names.items()}
    for image in _photos_with_people():  # two BDD frames and a COCO photo
        mine, theirs = _raw_scores(ours, image), _raw_scores(source, image)
        for i, name in enumerate(VRU):
            ref = theirs[coco['person' if name == 'rider' else name]]
            assert (mine[i] - ref).abs().max().item() < 1e-4, name
        assert mine[0].max().item() > 0.25  # the source finds a person on these photos
    assert report.kept == {'person': 'person', 'rider': 'person', 'bicycle': 'bicycle',
                           'motorcycle': 'motorcycle', 'car': 'car'}
    assert report.fresh == []
    assert 'rider<-person' in report.summary()


def test_a_class_the_weights_lack_starts_fresh_and_is_named(coco_n, street_images):
    from training.pretrained import load_source, pretrained_model

    ours, report = pretrained_model(coco_n, VRU, verbose=False)
    assert report.fresh == ['rider'] and 'rider' not in report.kept
    assert 'starting fresh: rider' in report.summary()
    mine = _raw_scores(ours, street_images[0])
    person = _raw_scores(load_source(coco_n), street_images[0])[0]
    assert (mine[1] - person).abs().max().item() > 0.01  # not the person row
    assert mine[1].max().item() < 0.05  # fresh rows start at ultralytics' low prior


def test_init_classes_and_weights_errors_name_the_problem(coco_n, tmp_path):
    from training.pretrained import pretrained_model, PretrainedError

    with pytest.raises(PretrainedError, match="'pedestrian' is not a class of"):
        pretrained_model(coco_n, VRU, {'rider': 'pedestrian'}, verbose=False)
    with pytest.raises(PretrainedError, match="'cyclist' is not one of the classes"):
        pretrained_model(coco_n, VRU, {'cyclist': 'person'}, verbose=False)
    with pytest.raises(PretrainedError, match='not found'):
        pretrained_model(tmp_path / 'missing.pt', VRU)
    broken = tmp_path / 'broken.pt'
    broken.write_bytes(b'not a checkpoint')
    with pytest.raises(PretrainedError, match='not a readable ultralytics checkpoint'):
        pretrained_model(broken, VRU)


def test_a_pruned_checkpoint_with_our_classes_starts_as_it_is(coco_n, street_images, tmp_path):
    """The narrow student's start: a cut teacher, whose widths its yaml does not hold."""
    import torch

    from training.pretrained import pretrained_model, PretrainedError
    from training.prune.channel_pruning import prune_model, PruneSettings
    from training.prune.checkpoint import save_pruned

    model, _ = pretrained_model(coco_n, VRU, {'rider': 'person'}, verbose=False)
    prune_model(model, PruneSettings(ratio=0.3, imgsz=320, allocation='uniform'))
    path = save_pruned(model, tmp_path / 'narrow.pt', pruning={})
    started, report = pretrained_model(path, VRU, {'rider': 'person'}, verbose=False)
    assert report.kept == {n: n for n in VRU} and not report.fresh
    assert sum(p.numel() for p in started.parameters()) == sum(
        p.numel() for p in model.parameters())
    torch.testing.assert_close(_raw_scores(started, street_images[0]),
                               _raw_scores(model, street_images[0]), rtol=0, atol=1e-6)
    with pytest.raises(PretrainedError, match='pruned checkpoint'):
        pretrained_model(path, ['person', 'car'], verbose=False)


def test_recipe_takes_weights_and_init_classes(tmp_path):
    pytest.importorskip('ultralytics')
    from training.recipe import load_recipe, RecipeError, stage_settings

    recipe = {'data': 'd.yaml',
              'teacher': {'weights': 'm.pt', 'init_classes': {'rider': 'person'}},
              'distill': {'weights': 's.pt'}}
    path = tmp_path / 'r.yaml'
    path.write_text(yaml.safe_dump(recipe))
    loaded = load_recipe(path)
    teacher, student = stage_settings(loaded, 'teacher'), stage_settings(loaded, 'distill')
    assert (teacher.weights, teacher.init_classes) == ('m.pt', {'rider': 'person'})
    assert (student.weights, student.init_classes) == ('s.pt', {})
    assert 'weights' not in teacher.train_args()
    for bad, match in (({'weights': 'm.onnx'}, 'expected the path of a .pt'),
                       ({'init_classes': ['rider']}, 'expected a mapping of our class')):
        path.write_text(yaml.safe_dump({'teacher': bad}))
        with pytest.raises(RecipeError, match=match):
            load_recipe(path)


def test_demo_recipe_starts_every_model_from_shipped_weights():
    from conftest import REPO

    recipe = yaml.safe_load((REPO / 'training' / 'recipes' / 'demo.yaml').read_text())
    for stage in ('teacher', 'distill'):
        weights = recipe[stage]['weights']
        assert weights.startswith('../shared/models/') and weights.endswith('.pt')


def test_a_teacher_of_0_epochs_is_the_start_as_it_is(coco_n, bdd_yaml, tmp_path):
    """`teacher.epochs: 0`: the KD teacher is the mapped start ("learning without forgetting")."""
    from training.pipeline import Pipeline
    from training.pretrained import load_source

    recipe = {'data': str(bdd_yaml), 'device': 'cpu',
              'teacher': {'model': 'yolov8n', 'weights': str(coco_n), 'epochs': 0,
                          'init_classes': {'rider': 'person'}}}
    path = tmp_path / 'r.yaml'
    path.write_text(yaml.safe_dump(recipe))
    pipeline = Pipeline(path, tmp_path / 'run')
    pipeline.run_all(('teacher',))
    teacher = load_source(pipeline.teacher_weights())
    assert not list((tmp_path / 'run' / 'teacher').rglob('last.pt'))  # nothing was trained
    assert list(teacher.names.values()) == VRU
    source = load_source(coco_n)
    coco = {v: k for k, v in source.names.items()}
    image = _photos_with_people(1)[0]
    mine, theirs = _raw_scores(teacher, image), _raw_scores(source, image)
    for i, name in enumerate(VRU):
        ref = theirs[coco['person' if name == 'rider' else name]]
        assert (mine[i] - ref).abs().max().item() < 1e-4, name
