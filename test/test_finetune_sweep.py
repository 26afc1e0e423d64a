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

"""The fine-tune sweep runs each trial with its own epochs and batch, and records it so."""
import json

import pytest

from training.experiments.finetune_sweep import main, render, trial_data, trial_settings, TRIALS


def test_trial_epochs_and_batch_are_stage_settings_not_ultralytics_overrides():
    epochs, batch, train = trial_settings('adamw_step8', epochs=2)
    assert (epochs, batch) == (1, 8)
    assert 'epochs' not in train and 'batch' not in train and train['nbs'] == 8
    assert trial_settings('sgd_frozen', epochs=2)[:2] == (2, 16)  # the sweep's defaults


def test_every_trial_only_sets_arguments_ultralytics_knows():
    cfg = pytest.importorskip('ultralytics.cfg')
    for name in TRIALS:
        unknown = set(trial_settings(name, 2)[2]) - set(cfg.DEFAULT_CFG_DICT)
        assert not unknown, f'{name}: {unknown}'


def test_page_shows_each_trials_epochs_and_start_vs_trained():
    record = {'start': {'map50': 0.191, 'ap50': {'person': 0.313, 'rider': 0.01}},
              'trained': {'map50': 0.207, 'ap50': {'person': 0.343, 'rider': 0.015}}}
    page = render({('auto_frozen_3ep', 0): record, ('sgd_frozen', 0): {'start': record['start']}},
                  2, 480)
    row = '| auto_frozen_3ep | as auto_frozen, 3 epochs | 3 | 16 | 480 | 0 | 31.3 -> 34.3 |'
    assert row in page
    assert '| sgd_frozen |' in page and '31.3 -> - |' in page  # not trained yet
    assert 'across seeds' not in page  # one seed: no summary


def test_page_gives_each_trials_worst_seed_and_own_image_size():
    def record(start, trained):
        return {'start': {'map50': 0.2, 'ap50': {'person': start}},
                'trained': {'map50': 0.2, 'ap50': {'person': trained}}}

    page = render({('auto_frozen_3ep_640', 0): record(0.42, 0.45),
                   ('auto_frozen_3ep_640', 1): record(0.42, 0.41)}, 3, 480)
    assert ('| auto_frozen_3ep_640 | as auto_frozen_3ep, trained and validated at 640 px '
            '| 3 | 16 | 640 | 1 | 42.0 -> 41.0 |') in page
    assert '| auto_frozen_3ep_640 | 2 | +3.0, -1.0 | +1.0 | -1.0 |' in page


def test_repeated_dataset_is_listed_that_many_times_in_the_trials_data():
    assert trial_data('bdd_x3_3ep') == (None, {'bdd100k_vru': 3})
    assert trial_data('auto_frozen_3ep_640') == (640, {})
    assert 'repeat' not in trial_settings('bdd_x3_3ep', 2)[2]  # not an ultralytics argument


def test_report_writes_the_page_from_finished_trials_only(tmp_path, capsys):
    def write(name, record):
        path = tmp_path / name / 'train' / 'start.json'
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(record))

    start = {'map50': 0.19, 'ap50': {'person': 0.313}}
    write('auto_frozen_3ep', {'start': start, 'trained': {'map50': 0.2, 'ap50': {'person': 0.34}}})
    write('auto_frozen_3ep-seed1', {'start': start})  # stopped before its end: not on the page
    doc = tmp_path / 'docs' / 'page.md'
    assert main(['--out', str(tmp_path), '--doc', str(doc), '--report', '--seeds', '0', '1',
                 '--trials', 'auto_frozen_3ep', 'bdd_x3_3ep']) == 0
    page = doc.read_text()
    assert '| as auto_frozen, 3 epochs | 3 | 16 | 480 | 0 | 31.3 -> 34.0 |' in page
    assert '| 1 |' not in page and 'bdd_x3_3ep |' not in page
    assert not (tmp_path / 'data').exists()  # nothing staged, nothing trained
