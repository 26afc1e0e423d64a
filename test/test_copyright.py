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

"""
ament_copyright: every source file carries a copyright and license header.

ament_copyright is not on PyPI; this runs where ROS 2 is sourced (``colcon test``).
"""
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXCLUDE = ['build', 'install', 'log', 'runs', 'test_assets']


@pytest.mark.copyright
@pytest.mark.linter
def test_copyright(monkeypatch):
    main = pytest.importorskip(
        'ament_copyright.main', reason='ament_copyright is not on PyPI: runs under colcon '
        'test with ROS 2 sourced').main
    monkeypatch.chdir(REPO)
    rc = main(argv=['.', '--exclude', *EXCLUDE])
    assert rc == 0, 'Found errors (listed above)'
