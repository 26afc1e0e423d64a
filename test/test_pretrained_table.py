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

"""The results page answers the three questions from the run's numbers, or says what is left."""
import json
from pathlib import Path

from optional import requires
from training.experiments.pretrained_table import int8_change, render

pytestmark = requires('matplotlib')  # the page's plot


def _row(model: str, params: float, fp32: float, int8: float, person: float) -> dict:
    metrics = {'map50': fp32, 'map50_95': fp32 / 2, 'ap50': {'person': person},
               'precision_at_0.25': 0.7, 'recall_at_0.25': 0.4}
    return {'model': model, 'params': params, 'gflops': 8.0, 'fp32': metrics,
            'int8': {**metrics, 'map50': int8, 'ap50': {'person': person * int8 / fp32}},
            'fp32_latency_ms': 10.0, 'int8_latency_ms': 5.0}


def _run(tmp_path: Path, rows: list[dict]) -> Path:
    run = tmp_path / 'run'
    (run / 'evaluate').mkdir(parents=True)
    (run / 'evaluate' / 'metrics.json').write_text(json.dumps(rows))
    kept = {'person': 'person', 'rider': 'person'}
    start = {'transfer': {'weights': 'w/yolov8n_coco.pt', 'kept': kept, 'fresh': []},
             'imgsz': 480, 'epochs': 5, 'start': {'map50': 0.19, 'ap50': {'person': 0.31}},
             'trained': {'map50': 0.25, 'ap50': {'person': 0.36}}}
    (run / 'student' / 'train').mkdir(parents=True)
    (run / 'student' / 'train' / 'start.json').write_text(json.dumps(start))
    return run


def test_answers_follow_the_numbers(tmp_path):
    rows = [_row('teacher', 11e6, 0.40, 0.30, 0.5), _row('plain_student', 3e6, 0.30, 0.29, 0.4),
            _row('kd_student', 3e6, 0.33, 0.32, 0.45),
            _row('pruned_kd_student', 1e6, 0.31, 0.30, 0.42)]
    doc = tmp_path / 'doc.md'
    text = render(_run(tmp_path, rows), doc, 'bash x.sh')
    assert '**(a) Does KD beat the direct student (same start, epochs, seed)?** **yes**' in text
    assert '+3.0 points' in text
    assert 'teacher -25.0%, KD student -3.0%' in text and '**(b)' in text
    assert "INT8 drop smaller than the teacher's?** **yes**" in text
    assert '**(c)' in text and '**yes**: parameters -66.7%' in text and '-2.0 points' in text
    assert '| direct student | yolov8n_coco.pt | 480 | 5 | 31.0 -> 36.0 |' in text
    assert 'rider<-person' in text
    assert doc.with_suffix('.png').stat().st_size > 1000


def test_a_partial_run_says_what_is_still_to_run(tmp_path):
    rows = [_row('teacher', 11e6, 0.40, 0.30, 0.5), _row('plain_student', 3e6, 0.30, 0.29, 0.4),
            _row('kd_student', 3e6, 0.28, 0.20, 0.35)]
    text = render(_run(tmp_path, rows), tmp_path / 'doc.md', 'bash x.sh')
    assert '**(a) Does KD beat the direct student (same start, epochs, seed)?** **no**' in text
    assert "smaller than the teacher's?** **no**" in text  # -28.6% vs -25.0%
    assert '**(c)** not answered yet' in text
    assert '| pruned KD student | not run yet |' in text


def test_int8_change_is_relative_and_negative_when_worse():
    assert int8_change(_row('m', 1, 0.5, 0.4, 0.1)) == (0.4 - 0.5) / 0.5
    assert int8_change({'fp32': {'map50': 0.0}, 'int8': {'map50': 0.0}}) is None


def test_question_a_falls_back_to_the_training_size_figures(tmp_path):
    run = _run(tmp_path, [])
    record = json.loads((run / 'student' / 'train' / 'start.json').read_text())
    (run / 'distill' / 'train').mkdir(parents=True)
    record['trained'] = {'map50': 0.27, 'ap50': {'person': 0.38}}
    (run / 'distill' / 'train' / 'start.json').write_text(json.dumps(record))
    text = render(run, tmp_path / 'doc.md', 'bash x.sh')
    assert '**yes** at the training size' in text and '+2.0 points' in text
    assert '| teacher | not run yet |' in text


def _seeded(run: Path, seed: int) -> Path:
    manifest = {'stages': {'distill': {'inputs': {'settings': {'seed': seed}}}}}
    (run / 'manifest.json').write_text(json.dumps(manifest))
    return run


def test_a_second_seed_of_the_students_is_tabled_and_answers_a_over_both(tmp_path):
    rows = [_row('teacher', 11e6, 0.40, 0.30, 0.5), _row('plain_student', 3e6, 0.30, 0.29, 0.4),
            _row('kd_student', 3e6, 0.33, 0.32, 0.45)]
    main = _seeded(_run(tmp_path / 'a', rows), 0)
    seed1 = [_row('plain_student', 3e6, 0.31, 0.30, 0.4),
             _row('kd_student', 3e6, 0.30, 0.27, 0.41)]
    second = _seeded(_run(tmp_path / 'b', seed1), 1)
    text = render([main, second], tmp_path / 'doc.md', 'bash x.sh')
    assert 'Seeds: 0 (teacher and students) and 1' in text
    assert '| KD student (seed 1) | 3.00 |' in text and '| teacher (seed 1)' not in text
    assert '**mixed** over 2 seeds' in text  # +3.0 points in seed 0, -1.0 in seed 1
    assert 'seed 0: mAP50 33.0 vs 30.0 (+3.0 points)' in text and 'mean +1.0 points' in text
    assert 'KD student (seed 1) -10.0%' in text  # (b) lists every seed's KD student
