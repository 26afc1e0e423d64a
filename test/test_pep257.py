"""ament_pep257 (docstring conventions) over every Python file of the repository."""
from pathlib import Path

import pytest

main = pytest.importorskip(
    'ament_pep257.main', reason='pip install ament-lint-pep257 (or source ROS 2)').main

REPO = Path(__file__).resolve().parents[1]
EXCLUDE = ['build', 'install', 'log', 'runs', 'test_assets']


@pytest.mark.pep257
@pytest.mark.linter
def test_pep257(monkeypatch):
    monkeypatch.chdir(REPO)
    rc = main(argv=['.', '--exclude', *EXCLUDE])
    assert rc == 0, 'Found code style errors / warnings (listed above)'
