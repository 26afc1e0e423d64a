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

"""ament_pep257 (docstring conventions) over every Python file of the repository."""
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXCLUDE = ['build', 'install', 'log', 'runs', 'test_assets']


@pytest.mark.pep257
@pytest.mark.linter
def test_pep257(monkeypatch):
    main = pytest.importorskip(
        'ament_pep257.main', reason='pip install ament-lint-pep257 (or source ROS 2)').main
    monkeypatch.chdir(REPO)
    rc = main(argv=['.', '--exclude', *EXCLUDE])
    assert rc == 0, 'Found code style errors / warnings (listed above)'
