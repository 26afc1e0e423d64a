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
No test file skips itself at import time (module-level ``importorskip`` or ``skip``).

With ROS sourced, launch_testing's pytest plugin imports every test file, and one module-level
skip turned the whole folder into ``collected 0 items / 1 skipped``. Optional dependencies are
marked per test instead (test/optional.py).
"""
import ast
from pathlib import Path

import pytest

TEST_DIR = Path(__file__).resolve().parent
SKIPPERS = {'importorskip', 'skip'}


def module_level_skips(source: str) -> list:
    """Return the line numbers of pytest.importorskip/skip calls outside any def or class."""
    lines = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            return
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in SKIPPERS and isinstance(node.func.value, ast.Name)
                and node.func.value.id == 'pytest'):
            lines.append(node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    return lines


def test_the_checker_finds_module_level_skips_and_ignores_those_in_tests():
    source = ("import pytest\ntorch = pytest.importorskip('torch')\nif True:\n"
              "    pytest.skip('x', allow_module_level=True)\n"
              "def test_a():\n    pytest.importorskip('torch')\n"
              "class TestB:\n    def test_c(self):\n        pytest.skip('y')\n")
    assert module_level_skips(source) == [2, 4]


@pytest.mark.parametrize('path', sorted(TEST_DIR.glob('*.py')), ids=lambda p: p.name)
def test_no_test_file_skips_at_import(path):
    found = module_level_skips(path.read_text())
    assert not found, (
        f'{path.name}: pytest.importorskip/skip at module level, line(s) {found}. Under '
        'colcon test (launch_testing plugin) this skips the whole test folder. Mark the tests '
        "instead: `pytestmark = requires('pkg')` from test/optional.py, or importorskip "
        'inside the test or a fixture.')
