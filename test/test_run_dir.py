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

"""Pipeline run directory: skip when unchanged, resume when interrupted, never overwrite."""
import json

import pytest

from training.run_dir import RunDir, StageResult


def make_stage(calls, text='a'):
    def fn(workdir, resuming):
        calls.append(resuming)
        (workdir / 'out.txt').write_text(text)
        return StageResult({'out': 'out.txt'}, {'value': len(text)})
    return fn


def test_completed_stage_is_skipped_when_inputs_unchanged(tmp_path):
    calls = []
    run = RunDir(tmp_path)
    run.stage('teacher', {'epochs': 1}, make_stage(calls))
    RunDir(tmp_path).stage('teacher', {'epochs': 1}, make_stage(calls))
    assert calls == [False]
    manifest = json.loads((tmp_path / 'manifest.json').read_text())
    entry = manifest['stages']['teacher']
    assert entry['status'] == 'complete' and entry['metrics'] == {'value': 1}
    assert entry['output_hashes']['out']


def test_changed_inputs_rerun_beside_the_old_artifacts(tmp_path):
    run = RunDir(tmp_path)
    run.stage('teacher', {'epochs': 1}, make_stage([], 'old'))
    entry = run.stage('teacher', {'epochs': 2}, make_stage([], 'new'))
    assert (tmp_path / 'teacher' / 'out.txt').read_text() == 'old'  # never overwritten
    assert entry['dir'] != 'teacher'
    assert run.output('teacher', 'out').read_text() == 'new'


def test_interrupted_stage_resumes_from_its_partial_folder(tmp_path):
    run = RunDir(tmp_path)

    def crash(workdir, resuming):
        (workdir / 'last.pt').write_text('epoch 3')
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run.stage('distill', {'epochs': 5}, crash)
    seen = {}

    def finish(workdir, resuming):
        seen['resuming'] = resuming
        seen['checkpoint'] = (workdir / 'last.pt').read_text()
        (workdir / 'best.pt').write_text('done')
        return StageResult({'weights': 'best.pt'})

    RunDir(tmp_path).stage('distill', {'epochs': 5}, finish)
    assert seen == {'resuming': True, 'checkpoint': 'epoch 3'}
    assert not (tmp_path / 'distill.partial').exists()


def test_partial_from_other_inputs_is_set_aside_not_resumed_or_deleted(tmp_path):
    run = RunDir(tmp_path)
    (tmp_path / 'prune.partial').mkdir()
    (tmp_path / 'prune.partial' / '.input_hash').write_text('0123456789abcdef')
    (tmp_path / 'prune.partial' / 'last.pt').write_text('hours of training')
    calls = []
    run.stage('prune', {'ratio': 0.5}, make_stage(calls))
    assert calls == [False]  # not resumed: its inputs differ
    kept = tmp_path / 'prune.partial.01234567'
    assert (kept / 'last.pt').read_text() == 'hours of training'


def test_stage_without_its_outputs_fails_loudly(tmp_path):
    with pytest.raises(RuntimeError, match='without its outputs'):
        RunDir(tmp_path).stage('export', {}, lambda w, r: StageResult({'onnx': 'model.onnx'}))
