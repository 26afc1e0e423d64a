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


"""``--max-drop``: layers kept float in sensitivity order until INT8 is within the budget."""
from __future__ import annotations

from pathlib import Path

import pytest

from training.quantize.drop_budget import search


def _run(drops, budget, tmp_path):
    written = []

    def write(kept):
        written.append(kept)
        return tmp_path / f'keep_{len(kept)}.onnx'

    measured = iter(drops)
    return search(['a', 'b', 'c'], write, lambda _: next(measured), budget,
                  progress=lambda _: None), written


def test_keeps_ranked_layers_float_one_at_a_time_until_within_budget(tmp_path):
    result, written = _run([3.0, 2.5, 0.8, 0.2], 1.0, tmp_path)
    assert written == [(), ('a',), ('a', 'b')]  # stops at the first model within budget
    assert result.met and result.chosen.kept == ('a', 'b')
    assert result.chosen.model == tmp_path / 'keep_2.onnx'
    result.latency_ms = [10.0, 10.5, 11.5]
    assert result.layer_costs() == [('a', 2.5, 0.5), ('b', 0.8, 1.0)]
    assert 'drop 0.80 points with 2 layer(s) in float' in result.message()
    plain, written = _run([0.5], 1.0, tmp_path)
    assert written == [()] and plain.met and plain.chosen.kept == ()


def test_says_clearly_when_the_budget_cannot_be_met(tmp_path):
    result, written = _run([3.0, 1.5, 2.0, 1.8], 1.0, tmp_path)
    assert len(written) == 4 and not result.met  # every ranked layer tried
    assert result.chosen.kept == ('a',)  # the most accurate candidate is kept
    message = result.message()
    assert 'cannot be met' in message and '3 most sensitive' in message
    assert 'still 1.80 points' in message and 'smallest: 1.50 with 1' in message


@pytest.fixture(scope='module')
def coco_small(shared_data, tmp_path_factory) -> Path:
    """Export the COCO YOLOv8n at 160 px: a real detector that calibrates in seconds."""
    pytest.importorskip('ultralytics')
    weights = shared_data.parent / 'models' / 'yolov8n_coco' / 'yolov8n_coco.pt'
    if not weights.is_file():
        pytest.skip(f'{weights} not found')
    from training.export import export_onnx

    return export_onnx(weights, tmp_path_factory.mktemp('coco') / 'coco160.onnx', 160)


@pytest.mark.slow
def test_calibrate_max_drop_on_a_small_model(coco_small, bdd_yaml, tmp_path, monkeypatch):
    import json

    import onnx

    from training.quantize import paired_eval
    from training.quantize.calibration_set import dataset_split_dir, select_calibration_images
    from training.quantize.calibrate import calibrate
    from training.quantize.qdq import conv_layers

    calib = select_calibration_images(dataset_split_dir(bdd_yaml, 'train'), 8, seed=0)
    val = select_calibration_images(dataset_split_dir(bdd_yaml, 'val'), 6, seed=0)
    layers = conv_layers(onnx.load(str(coco_small)))[:2]
    easy = calibrate(coco_small, calib, tmp_path / 'easy' / 'int8.onnx', max_drop=100.0,
                     val_images=val, layers=layers, sensitivity_images=2)
    assert easy.budget.met and easy.keep_float == [] and len(easy.budget.steps) == 1
    summary = json.loads((tmp_path / 'easy' / 'int8_report' / 'calibration.json').read_text())
    assert summary['max_drop']['met'] and summary['max_drop']['val_images'] == 6
    assert easy.report['max_drop'].read_text().startswith('# INT8 accuracy budget')

    scores = iter([50.0, 40.0, 45.0, 44.0])  # FP32, then INT8 with 0, 1, 2 layers float
    monkeypatch.setattr(paired_eval, 'ap50', lambda *a, **k: next(scores))
    hard = calibrate(coco_small, calib, tmp_path / 'hard' / 'int8.onnx', max_drop=1.0,
                     val_images=val, layers=layers, sensitivity_images=2)
    assert not hard.budget.met and [s.drop for s in hard.budget.steps] == [10.0, 5.0, 6.0]
    ranked = [r.layer for r in hard.sensitivity]
    assert hard.keep_float == ranked[:1]  # the smallest drop was written, and said so
    assert set(ranked[:1]) <= set(hard.float_nodes)
    assert 'cannot be met' in hard.budget.message()
    costs = hard.budget.layer_costs()
    assert [c[0] for c in costs] == ranked[:1] and costs[0][2] is not None
    report = hard.report['max_drop'].read_text()
    assert ranked[0] in report and 'latency added' in report


@pytest.mark.slow
def test_max_drop_needs_labelled_val_images(coco_small, bdd_yaml, capsys):
    from training.cli import main

    images = bdd_yaml.parent / 'images' / 'train'
    assert main(['calibrate', '--model', str(coco_small), '--images', str(images),
                 '--num-images', '4', '--max-drop', '1']) == 2
    err = capsys.readouterr().err
    assert 'val split of --data' in err and 'Traceback' not in err
    assert main(['calibrate', '--model', str(coco_small), '--data', str(bdd_yaml),
                 '--max-drop', '-1']) == 2
    assert 'max_drop: expected a non-negative number, got -1.0' in capsys.readouterr().err
