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

"""The teacher curve finds every epoch's checkpoint and rewrites only its part of the page."""
from pathlib import Path

from optional import requires
from training.experiments import teacher_curve
from training.experiments.teacher_curve import checkpoints, markdown, training_done


def _iv(estimate: float, half: float = 0.02) -> dict:
    return {'estimate': estimate, 'low': estimate - half, 'high': estimate + half}


def _summary(epochs: list[int]) -> dict:
    rows = [{'model': f'epoch {e}', 'epoch': e, 'pooled': _iv(0.80 + e / 100),
             'bdd100k_vru': _iv(0.40 + e / 100), 'vs_reference': _iv(e / 100, 0.01),
             'verdict_vs_reference': 'better'} for e in epochs]
    return {'reference': {'pooled': _iv(0.80), 'bdd100k_vru': _iv(0.42)},
            'scopes': ['pooled', 'bdd100k_vru'], 'epochs': rows,
            'latest_vs_best': {'best_earlier': 'epoch 1', 'latest': 'epoch 2',
                               'difference': _iv(0.01), 'verdict': 'no significant difference'}}


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b'')
    return path


def test_checkpoints_count_epochs_from_one_and_follow_the_stage_folder(tmp_path):
    # ultralytics names the checkpoint after the first epoch epoch0.pt
    partial = tmp_path / 'teacher.partial' / 'train' / 'weights'
    _touch(partial / 'epoch0.pt')
    _touch(partial / 'epoch1.pt')
    _touch(partial / 'last.pt')
    assert list(checkpoints(tmp_path)) == [1, 2]
    assert not training_done(tmp_path)
    # once complete, the pipeline renames the stage folder: the curve keeps finding them
    done = tmp_path / 'teacher'
    (tmp_path / 'teacher.partial').rename(done)
    _touch(done / 'teacher.pt')
    assert checkpoints(tmp_path) == {1: done / 'train' / 'weights' / 'epoch0.pt',
                                     2: done / 'train' / 'weights' / 'epoch1.pt'}
    assert training_done(tmp_path)


def test_table_has_a_row_per_epoch_with_its_interval_and_the_paired_gain():
    text = markdown(_summary([1, 2]), 'CMD')
    rows = [line for line in text.splitlines() if line.startswith('| ')]
    assert len(rows) == 1 + 1 + 2  # header, the reference, two epochs
    assert rows[-1].startswith('| 2 | 82.0 [80.0, 84.0] | 42.0 | +2.0 [+1.0, +3.0] better')
    assert 'Newest (epoch 2) minus the best earlier (epoch 1)' in text
    assert 'Command: `CMD`' in text


@requires('matplotlib')
def test_page_is_rewritten_between_its_markers_only(tmp_path, monkeypatch):
    class FakeCurve:  # summaries come from the benchmark; this test is about the page
        folder = tmp_path / 'curve'

        def summarize(self, runs):
            return _summary(runs)

    FakeCurve.folder.mkdir()
    doc = tmp_path / 'page.md'
    doc.write_text('intro written by hand\n<!-- curve -->\nold\n<!-- curve -->\noutro\n')
    teacher_curve.write(tmp_path, FakeCurve(), [1], doc, 'CMD')
    teacher_curve.write(tmp_path, FakeCurve(), [1, 2, 3], doc, 'CMD')
    text = doc.read_text()
    assert text.startswith('intro written by hand\n<!-- curve -->\n![curve](page.png)')
    assert text.endswith('<!-- curve -->\noutro\n')
    assert 'old' not in text and text.count('| 3 |') == 1
    assert (tmp_path / 'page.png').stat().st_size > 0
    assert (FakeCurve.folder / 'curve.json').is_file()
