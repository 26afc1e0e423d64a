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

"""ament_flake8 over every Python file of the repository (the check `colcon test` runs)."""
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXCLUDE = ['build', 'install', 'log', 'runs', 'test_assets']


@pytest.mark.flake8
@pytest.mark.linter
def test_flake8(monkeypatch):
    main_with_errors = pytest.importorskip(
        'ament_flake8.main', reason='pip install ament-lint-flake8 (or source ROS 2)'
    ).main_with_errors
    monkeypatch.chdir(REPO)  # ament_flake8 skips dot- and underscore-folders below the cwd
    rc, errors = main_with_errors(argv=['.', '--exclude', *EXCLUDE])
    assert rc == 0, f'Found {len(errors)} code style errors / warnings:\n' + '\n'.join(errors)
