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
Optional test dependencies: a missing one skips only the tests that need it.

Never ``pytest.importorskip`` at module level: with ROS sourced, launch_testing's pytest plugin
imports every test file, and one module-level skip there left ``collected 0 items / 1 skipped``
for the whole folder. Mark the tests instead (``pytestmark = requires('torch')`` for a file,
``@requires('pycocotools')`` for one test) and import through ``optional_import``.
"""
from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType
from typing import Optional

import pytest

INSTALL_HINT = {
    'torch': 'pip install -e ./training', 'torchvision': 'pip install -e ./training',
    'ultralytics': 'pip install -e ./training', 'torch_pruning': 'pip install -e ./training',
    'cloudpickle': 'pip install -e ./training', 'pycocotools': 'pip install -e ".[dev]"',
    'trackers': 'pip install -e ".[tracking]"',
    'matplotlib': 'pip install -e ".[eval]"', 'scipy': 'pip install -e ".[eval]"',
    'trackeval': 'pip install -e ".[eval]"', 'motmetrics': 'pip install -e ".[dev]"',
    'ray': 'pip install -e ".[fleet]"', 'openvino': 'pip install -e ".[openvino]"',
}


def has(module: str) -> bool:
    """Tell whether ``module`` (dotted names too) can be imported, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a missing parent package
        return False


def optional_import(name: str) -> Optional[ModuleType]:
    """Import ``name``, or return None when it is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def requires(*modules: str) -> pytest.MarkDecorator:
    """Skip the marked tests (or file, as ``pytestmark``) unless every module is installed."""
    missing = [m for m in modules if not has(m)]
    hints = sorted({INSTALL_HINT.get(m.split('.')[0], f'pip install {m}') for m in missing})
    return pytest.mark.skipif(bool(missing), reason=f'needs {", ".join(missing)} '
                              f'({"; ".join(hints)})')


#: what `vru-eval-bag` needs beyond the runtime (setup.py's `eval` extra)
EVAL_EXTRA = ('matplotlib', 'scipy', 'trackeval')
