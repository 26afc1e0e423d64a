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

"""The GPU experiment script runs end to end at toy size on the CPU and writes its table."""
from __future__ import annotations

import json

from optional import requires
import pytest

pytestmark = requires('torch', 'ultralytics')


@pytest.mark.slow
def test_kd_experiment_smoke_writes_markdown_and_json(bdd_yaml, tmp_path):
    from training.experiments.kd_bdd100k import main

    out = tmp_path / 'out'
    assert main(['--smoke', '--data', str(bdd_yaml), '--out', str(out),
                 '--work', str(tmp_path / 'work')]) == 0
    report = json.loads((out / 'results.json').read_text())
    assert [r['model'] for r in report['rows']] == ['teacher', 'student (no KD)', 'student (KD)']
    for row in report['rows']:
        assert set(row) >= {'mAP50', 'mAP50-95', 'P', 'R'}
        assert 0.0 <= row['mAP50-95'] <= row['mAP50'] <= 1.0
    assert report['rows'][1]['arch'] == report['rows'][2]['arch']  # same student both ways
    md = (out / 'results.md').read_text()
    assert md.count('\n| ') == 4 and 'mAP50-95' in md
    assert 'train/kd_cwd' in (out / 'student_kd_results.csv').read_text()
