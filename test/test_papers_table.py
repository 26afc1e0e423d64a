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

"""The papers' table pairs the right models: KD with direct per seed, INT8 with its FP32."""
from __future__ import annotations

import json
from pathlib import Path
import re

import numpy as np
from optional import requires
import pytest
from training.experiments.papers_table import answers, collect, markdown, Table

SOURCES = ('bdd100k_vru', 'street_vru')


def _run(root: Path, seed: int, roles: tuple[str, ...]) -> Path:
    for role in roles:
        for path in (root / 'export' / f'{role}.onnx', root / 'calibrate' / f'{role}_int8.onnx'):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b'')
    manifest = {'stages': {'distill': {'inputs': {'settings': {'seed': seed}}}}}
    (root / 'manifest.json').write_text(json.dumps(manifest))
    return root


def _table(levels: dict[str, float], frames: int = 40) -> Table:
    """Make a Table whose figures are frame means of noisy scores around ``levels``."""
    rng = np.random.default_rng(1)
    groups = [f'g{i // 4}' for i in range(frames)]
    noise = rng.normal(scale=0.05, size=frames)  # shared by all models: the paired part

    def stat(values):
        return lambda w: (w * values).sum(axis=1) / w.sum(axis=1)

    table = Table.__new__(Table)
    table.resamples = 500
    per_model = {k: {m: stat(v + noise + rng.normal(scale=0.01, size=frames))
                     for m in ('person_ap50', 'map50')} for k, v in levels.items()}
    half = frames // 2
    table.scopes = {'pooled': (groups, per_model)}
    for i, source in enumerate(SOURCES):
        part = slice(i * half, (i + 1) * half)
        pad = ((0, 0), (part.start, frames - part.stop))  # a source: its frames, others 0
        table.scopes[source] = (groups[part], {
            k: {m: (lambda f, pad=pad: lambda w: f(np.pad(w, pad)))(f) for m, f in d.items()}
            for k, d in per_model.items()})
    table.labels = list(levels)
    return table


def test_collect_takes_each_runs_files_and_the_teacher_once(tmp_path):
    s0 = _run(tmp_path / 's0', 0, ('teacher', 'plain_student', 'kd_student'))
    s1 = _run(tmp_path / 's1', 1, ('teacher', 'plain_student', 'kd_student'))
    entries = collect([s0, s1])
    labels = [e.label for e in entries]
    assert labels.count('teacher FP32') == 1 and labels.count('teacher INT8') == 1
    assert 'KD student s1 INT8' in labels and 'direct student s0 FP32' in labels
    assert len(entries) == 2 + 4 + 4
    assert next(e for e in entries if e.label == 'teacher FP32').path.parent.parent == s0


@requires('scipy')
def test_answers_pair_kd_with_direct_per_seed_and_each_int8_with_its_fp32(tmp_path):
    entries = collect([_run(tmp_path / 's0', 0, ('teacher', 'plain_student', 'kd_student')),
                       _run(tmp_path / 's1', 1, ('plain_student', 'kd_student'))])
    levels = {'teacher FP32': 0.60, 'teacher INT8': 0.45,
              'direct student s0 FP32': 0.50, 'direct student s0 INT8': 0.49,
              'KD student s0 FP32': 0.55, 'KD student s0 INT8': 0.54,
              'direct student s1 FP32': 0.50, 'direct student s1 INT8': 0.49,
              'KD student s1 FP32': 0.50, 'KD student s1 INT8': 0.49}
    result = answers(_table(levels), entries)
    a = {(r['seed'], r['precision']): r for r in result['kd_vs_direct']}
    assert a[(0, 'fp32')]['person_ap50']['estimate'] == pytest.approx(0.05, abs=0.01)
    assert a[(0, 'fp32')]['person_ap50']['verdict'] == 'better'
    assert a[(1, 'fp32')]['person_ap50']['verdict'] == 'no significant difference'
    assert a[('mean of 2', 'int8')]['person_ap50']['estimate'] == pytest.approx(0.025, abs=0.01)
    assert set(a[(0, 'int8')]['sources']) == set(SOURCES)
    drops = {r['model']: r for r in result['int8_drop']}
    assert drops['teacher']['person_ap50']['estimate'] == pytest.approx(-0.15, abs=0.01)
    assert drops['teacher']['person_ap50']['verdict'] == 'worse'
    assert drops['KD student s0']['relative_map50'] == pytest.approx(-0.01 / 0.55, abs=0.02)
    gap = {r['seed']: r for r in result['teacher_vs_kd_drop']}
    assert gap[0]['person_ap50']['estimate'] == pytest.approx(-0.14, abs=0.01)
    assert gap[0]['person_ap50']['verdict'] == 'worse'
    text = markdown(result, 'CMD')
    assert re.search(r'\| teacher \| -1[45]\.\d \[', text)
    assert "Teacher's INT8 change minus the KD student's" in text
    assert '| mean of 2 | INT8 |' in text


@requires('onnxruntime')
def test_a_corrupt_model_file_is_refused_without_a_traceback(tmp_path, capsys, shared_data):
    from training.experiments.papers_table import main

    run = tmp_path / 'run'
    (run / 'export').mkdir(parents=True)
    (run / 'export' / 'teacher.onnx').write_text('garbage')
    assert main([str(run), '--cache', str(tmp_path / 'cache'),
                 '--data-root', str(shared_data)]) == 2
    assert 'could not load the model' in capsys.readouterr().err
    assert main([str(tmp_path / 'missing')]) == 2
