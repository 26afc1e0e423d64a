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

"""Teacher, direct student and KD student in one pipeline call (kd_bdd100k.sh) at toy size."""
from __future__ import annotations

import json
from pathlib import Path

from optional import requires
import pytest

pytestmark = requires('torch', 'ultralytics')
REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_teacher_direct_and_kd_student_from_one_recipe(bdd_yaml, tmp_path):
    from training.cli import main

    out = tmp_path / 'run'
    assert main(['pipeline', str(REPO / 'training' / 'recipes' / 'smoke_cpu.yaml'), '--data',
                 str(bdd_yaml), '--out', str(out), '--stages', 'teacher', 'student',
                 'distill']) == 0
    manifest = json.loads((out / 'manifest.json').read_text())
    assert list(manifest['stages']) == ['teacher', 'student', 'distill']
    for stage, weights in (('teacher', 'teacher.pt'), ('student', 'student.pt'),
                           ('distill', 'kd_student.pt')):
        assert manifest['stages'][stage]['seconds'] > 0
        assert (out / stage / weights).is_file()
    columns = (out / 'distill' / 'train' / 'results.csv').read_text().split('\n')[0]
    assert all(f'train/kd_{t}' in columns for t in ('score', 'box', 'cwd', 'feature'))
    assert 'kd_' not in (out / 'student' / 'train' / 'results.csv').read_text()
