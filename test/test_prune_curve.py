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

"""The pruning curve tables each cut beside the reference, and refuses missing models."""
from __future__ import annotations

from optional import requires
from training.experiments import prune_curve


def _iv(estimate: float, half: float = 0.02) -> dict:
    return {'estimate': estimate, 'low': estimate - half, 'high': estimate + half}


def _rows() -> tuple[list[dict], dict, dict]:
    base = {'criterion': 'uncut', 'achieved_ratio': 0.0, 'params': 11.1e6,
            'pooled': _iv(0.83), 'vs_reference': _iv(0.01), 'verdict': 'no significant difference'}
    rows = [{'criterion': c, 'achieved_ratio': r, 'params': 11.1e6 * (1 - r) ** 2,
             'pooled': _iv(0.83 - r), 'vs_reference': _iv(0.01 - r), 'verdict': 'worse'}
            for c in ('bn_scale', 'lamp') for r in (0.3, 0.5)]
    return rows, base, {'name': 'student (reference)', 'params': 3.0e6, 'pooled': _iv(0.82)}


def test_table_has_the_uncut_model_then_each_cut_with_its_paired_difference():
    rows, base, ref = _rows()
    lines = [x for x in prune_curve.markdown(rows, base, ref, 'CMD').splitlines()
             if x.startswith('| ')]
    assert len(lines) == 1 + 1 + 4
    assert lines[1].startswith('| uncut | 0% | 11.10 | 83.0 [81.0, 85.0] | +1.0 [-1.0, +3.0]')
    assert lines[-1] == '| lamp | 50% | 2.77 | 33.0 [31.0, 35.0] | -49.0 [-51.0, -47.0] worse |'


@requires('matplotlib')
def test_plot_is_written(tmp_path):
    rows, base, ref = _rows()
    png = prune_curve.plot(rows, base, ref, tmp_path / 'curve.png')
    assert png.read_bytes()[:4] == b'\x89PNG'


def test_a_missing_model_is_refused_with_the_command_that_makes_it(tmp_path, capsys):
    assert prune_curve.main([str(tmp_path / 'teacher.pt')]) == 2
    assert 'pretrained_cpu.sh' in capsys.readouterr().err
    assert prune_curve.main([__file__, '--ratios', '1.2']) == 2


@requires('torch', 'ultralytics')
def test_a_corrupt_checkpoint_is_refused_without_a_traceback(tmp_path, capsys):
    bad = tmp_path / 'teacher.pt'
    bad.write_text('not a checkpoint')
    assert prune_curve.main([str(bad), '--cache', str(tmp_path / 'cache')]) == 2
    assert 'is not a readable ultralytics checkpoint' in capsys.readouterr().err
