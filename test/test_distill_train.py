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

"""KD training end to end on real street images: CLI, frozen teacher, resume, YOLO() + ONNX."""
from __future__ import annotations

import csv
import hashlib
from pathlib import Path

from optional import optional_import, requires
import pytest

torch = optional_import('torch')
pytestmark = requires('torch', 'ultralytics')

FAST = {'imgsz': 160, 'batch': 8, 'fraction': 0.1, 'workers': 0, 'device': 'cpu',
        'plots': False, 'amp': False, 'seed': 0, 'deterministic': True, 'val': False}


@pytest.fixture(scope='module')
def staged(bdd_yaml, tmp_path_factory) -> Path:
    from training.datasets import stage_dataset

    return stage_dataset(bdd_yaml, tmp_path_factory.mktemp('bdd') / 'data')


@pytest.fixture(scope='module')
def teacher_pt(staged, tmp_path_factory) -> Path:
    """Train a 'nano' teacher for one short epoch through `vru-train teacher`."""
    from training.cli import main

    project = tmp_path_factory.mktemp('teacher')
    rc = main(['teacher', '--data', str(staged), '--model', 'nano', '--epochs', '1',
               '--imgsz', '160', '--batch', '8', '--device', 'cpu',
               '--project', str(project), '--name', 't',
               '--train', 'fraction=0.1', 'workers=0', 'plots=false', 'amp=false', 'val=false'])
    assert rc == 0
    best = project / 't' / 'weights' / 'last.pt'
    assert best.is_file()
    return best


def _rows(csv_path: Path) -> list[dict[str, str]]:
    with open(csv_path) as f:
        return [{k.strip(): v.strip() for k, v in row.items()} for row in csv.DictReader(f)]


def _student():
    from training.models import build_yolo

    torch.manual_seed(0)
    return build_yolo('tiny', workdir=Path('/tmp'), exact_scale=True).model


@pytest.mark.slow
def test_distill_cli_student_loads_with_yolo_and_exports_onnx(staged, teacher_pt, tmp_path):
    import numpy as np
    import onnxruntime as ort
    from ultralytics import YOLO

    from training.cli import main

    digest = hashlib.sha256(teacher_pt.read_bytes()).hexdigest()
    rc = main(['distill', '--data', str(staged), '--teacher', str(teacher_pt), '--student',
               'tiny', '--epochs', '2', '--imgsz', '160', '--batch', '8',
               '--device', 'cpu', '--project', str(tmp_path), '--name', 'kd',
               '--train', 'fraction=0.1', 'workers=0', 'plots=false', 'amp=false'])
    assert rc == 0
    run = tmp_path / 'kd'
    rows = _rows(run / 'results.csv')
    assert [r['epoch'] for r in rows] == ['1', '2']
    for col in ('train/kd_score', 'train/kd_box', 'train/kd_cwd', 'train/kd_feature'):
        assert float(rows[-1][col]) > 0, col  # each KD term is its own results column
    weights = [float(rows[-1][f'kd/align_w{i}']) for i in (4, 6, 9, 15, 18, 21)]
    assert abs(sum(weights) - 6) < 0.05 and max(weights) > min(weights)
    assert hashlib.sha256(teacher_pt.read_bytes()).hexdigest() == digest

    best = run / 'weights' / 'best.pt'
    yolo = YOLO(str(best))
    assert type(yolo.model).__name__ == 'DetectionModel'
    keys = yolo.model.state_dict().keys()
    assert not any('kd' in k or 'adapter' in k or 'teacher' in k for k in keys)
    assert yolo.model.model[4].cv2.conv.out_channels == 16  # the tiny student, not the teacher
    onnx_path = Path(yolo.export(format='onnx', imgsz=160, simplify=False, dynamic=False))
    sess = ort.InferenceSession(str(onnx_path), providers=['CPUExecutionProvider'])
    out = sess.run(None, {sess.get_inputs()[0].name: np.zeros((1, 3, 160, 160), np.float32)})
    assert out[0].shape == (1, 4 + 5, 525)  # 5 VRU classes, 20^2 + 10^2 + 5^2 anchors


@pytest.mark.slow
def test_teacher_module_stays_frozen_and_resume_continues(staged, teacher_pt, tmp_path):
    from ultralytics.nn.tasks import load_checkpoint

    from training.distill.model import KDDetectionModel
    from training.distill.trainer import DistillTrainer

    teacher = load_checkpoint(teacher_pt)[0]
    reference = {k: v.clone() for k, v in teacher.state_dict().items()}

    class Interrupt(Exception):
        pass

    def stop_after_first_epoch(trainer):
        if trainer.epoch == 0:
            raise Interrupt

    trainer = DistillTrainer(overrides=dict(FAST, data=str(staged), epochs=2,
                                            project=str(tmp_path), name='kd', exist_ok=True),
                             teacher=teacher, student=_student(),
                             kd={'cwd': {'weight': 2.0}, 'feature': {'layers': [6, 15]}})
    trainer.add_callback('on_fit_epoch_end', stop_after_first_epoch)
    with pytest.raises(Interrupt):
        trainer.train()
    wrapped = trainer.model
    assert isinstance(wrapped, KDDetectionModel)
    assert not wrapped.teacher_model.training  # trainer called .train() on the wrapper
    assert all(not p.requires_grad for p in wrapped.teacher_model.parameters())
    after = wrapped.teacher_model.state_dict()
    assert all(torch.equal(reference[k], after[k]) for k in reference)  # bit-identical
    assert trainer.ema.ema.teacher_model is None  # the EMA never averages the teacher

    last = tmp_path / 'kd' / 'weights' / 'last.pt'
    resumed = DistillTrainer(overrides={'resume': str(last), 'workers': 0})
    assert resumed.args.kd['cwd']['weight'] == 2.0 and resumed.args.kd['feature']['layers'] == [
        6, 15]
    resumed.train()
    assert resumed.start_epoch == 1
    rows = _rows(tmp_path / 'kd' / 'results.csv')
    assert [r['epoch'] for r in rows] == ['1', '2']
    resumed_teacher = resumed.model.teacher_model.state_dict()
    assert all(torch.equal(reference[k], resumed_teacher[k]) for k in reference)


def _pruned_student(path: Path) -> Path:
    """Save a 'tiny' student whose stem conv lost half its channels (shape no yaml describes)."""
    import torch_pruning as tp

    from training.distill.trainer import save_module_checkpoint

    model = _student()
    stem, nxt = model.model[0], model.model[1]
    keep = stem.conv.out_channels // 2
    idxs = list(range(keep, stem.conv.out_channels))
    tp.prune_conv_out_channels(stem.conv, idxs)
    tp.prune_batchnorm_out_channels(stem.bn, idxs)
    tp.prune_conv_in_channels(nxt.conv, idxs)
    return save_module_checkpoint(model, path)


@pytest.mark.slow
def test_pruned_checkpoint_student_is_distilled_as_saved(staged, teacher_pt, tmp_path):
    pytest.importorskip('torch_pruning')
    from ultralytics import YOLO

    from training.cli import main

    pruned = _pruned_student(tmp_path / 'pruned.pt')
    rc = main(['distill', '--data', str(staged), '--teacher', str(teacher_pt), '--student',
               str(pruned), '--epochs', '1', '--imgsz', '160', '--batch', '8',
               '--device', 'cpu', '--project', str(tmp_path), '--name', 'kd',
               '--train', 'fraction=0.1', 'workers=0', 'plots=false', 'amp=false', 'val=false'])
    assert rc == 0
    student = YOLO(str(tmp_path / 'kd' / 'weights' / 'last.pt')).model
    assert _student().model[0].conv.out_channels == 8
    assert student.model[0].conv.out_channels == 4  # trained as saved, not rebuilt from yaml
    assert student.model[1].conv.in_channels == 4
