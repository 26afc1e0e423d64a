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

"""`vru-train pipeline` on the demo recipe, shortened to CI size, end to end and resumed."""
import json
from pathlib import Path

import cv2
import pytest
from vru_detector import Detector
import yaml

REPO = Path(__file__).resolve().parents[1]


# The demo's deployable INT8 student, shortened to CI size (training at 320 px on 50 images),
# must still find pedestrians on bdd100k_vru val at 640 px. Measured on this shortened run
# (2026-12-01): person AP50 0.381 and recall 0.258 at conf 0.25 (FP32 0.418 / 0.323); a model
# from random initialisation gets 0.000. The full demo: 0.406 / 0.346.
PERSON_AP50_MIN = 0.25
PERSON_RECALL_MIN = 0.2  # of the 155 labelled pedestrians, at the node's conf 0.25


def _shared_path(path: str) -> str:
    """Return the recipe's ``../shared/...`` path wherever this test finds ../shared."""
    from conftest import SHARED_DATA

    resolved = SHARED_DATA.parent / Path(path).relative_to('../shared')
    if not resolved.is_file():
        pytest.skip(f'{resolved} not found: the demo starts from ../shared/models')
    return str(resolved)


def shortened_demo(tmp_path: Path, data_yaml: Path) -> Path:
    """Write the demo recipe (pretrained start kept) with one epoch per stage on 50 images."""
    recipe = yaml.safe_load((REPO / 'training' / 'recipes' / 'demo.yaml').read_text())
    recipe['data'] = str(data_yaml)
    for stage in ('teacher', 'distill'):
        recipe[stage]['weights'] = _shared_path(recipe[stage]['weights'])
        recipe[stage]['epochs'] = min(recipe[stage]['epochs'], 1)  # a 0-epoch teacher stays 0
        recipe[stage]['imgsz'] = 320
        recipe[stage].setdefault('train', {})['fraction'] = 0.25
    recipe['calibrate']['num_images'] = 16
    recipe['evaluate']['latency_runs'] = 2
    recipe['evaluate']['benchmark'] = ['street_vru']   # the pooled set takes minutes more
    path = tmp_path / 'demo_short.yaml'
    path.write_text(yaml.safe_dump(recipe))
    return path


@pytest.mark.slow
def test_demo_pipeline_end_to_end_and_resume(tmp_path, bdd_yaml, street_images, capfd):
    pytest.importorskip('ultralytics')
    from training.cli import main

    recipe, out = shortened_demo(tmp_path, bdd_yaml), tmp_path / 'run'
    assert main(['pipeline', str(recipe), '--out', str(out)]) == 0
    log = capfd.readouterr().out
    stages = ('teacher', 'distill', 'export', 'calibrate', 'evaluate')
    for k, stage in enumerate(stages, 1):
        assert f'[stage {k}/5] {stage}: ' in log
    assert 'ETA ~' in log
    for noise in ('Freezing layer', 'no model scale passed', 'no one-to-one head',
                  "'half' is deprecated"):
        assert noise not in log, f'{noise!r} is still logged'
    assert f'deployable model (kd_student, INT8): {out / "deployable_int8.onnx"}' in log
    assert 'KD student' in log.split('pipeline complete in')[-1]  # the summary table
    manifest = json.loads((out / 'manifest.json').read_text())
    assert list(manifest['stages']) == list(stages)
    assert all(s['status'] == 'complete' for s in manifest['stages'].values())
    assert manifest['deployed']['model'] == 'kd_student'

    rows = {r['model']: r for r in json.loads((out / 'evaluate' / 'metrics.json').read_text())}
    assert set(rows) == {'teacher', 'kd_student'}
    for row in rows.values():
        assert {'map50', 'map50_95', 'precision', 'recall'} <= set(row['fp32']) == set(row['int8'])
        assert row['fp32_latency_ms'] > 0 and row['int8_latency_ms'] > 0
    report = (out / 'report.md').read_text()
    assert 'KD student' in report and 'INT8 drop' in report
    assert (out / 'evaluate' / 'accuracy.png').stat().st_size > 1000
    assert '![accuracy](evaluate/accuracy.png)' in report  # the link works from the run folder
    # the deployable model beside its pretrained start, on the street benchmark (paired)
    assert '## Street benchmark' in report and '| start |' in report
    verdict = manifest['stages']['evaluate']['metrics']['start_verdict']
    assert verdict['start'] == 'start' and verdict['deployable'] == 'kd_student_int8'
    summary = log.split('pipeline complete in')[-1]
    assert ('WARNING: the deployable model is WORSE' in summary) == (verdict['verdict'] == 'worse')
    assert 'deployable vs its start' in summary or verdict['better_file'] in summary
    calibrated = {p.name for p in (out / 'calibrate').glob('*.onnx')}
    assert {'teacher_int8.onnx', 'kd_student_int8.onnx'} <= calibrated
    assert not list(out.rglob('student_int8.onnx'))  # no two models share a name

    # The pretrained start makes a model that finds people, even this briefly trained.
    deployed = rows['kd_student']['int8']
    assert deployed['ap50']['person'] >= PERSON_AP50_MIN
    assert deployed['pr_at_0.25']['person'][1] >= PERSON_RECALL_MIN
    short = yaml.safe_load(recipe.read_text())
    trained = [s for s in ('teacher', 'distill') if short[s]['epochs']]
    for stage in trained:  # every trained stage started from the COCO weights
        start = json.loads((out / stage / 'train' / 'start.json').read_text())
        assert start['transfer']['kept']['person'] == 'person'
        assert start['start']['ap50']['person'] > 0.1 and 'trained' in start

    det = Detector(out / 'deployable_int8.onnx', conf=0.001)
    assert det.info.precision == 'int8' and det.info.calibration_id
    assert det(cv2.imread(str(street_images[0]))).image_shape == (720, 1280)

    int8_before = (out / 'deployable_int8.onnx').read_bytes()
    capfd.readouterr()
    assert main(['pipeline', str(recipe), '--out', str(out)]) == 0  # nothing changed: all skipped
    assert capfd.readouterr().out.count('up to date') == 5
    assert (out / 'deployable_int8.onnx').read_bytes() == int8_before
