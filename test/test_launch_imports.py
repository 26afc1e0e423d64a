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
``ros2 launch`` runs on the system Python: the launch files must import nothing from pip.

On Humble the Python dependencies often live in a venv that ``ros2 launch``
(``#!/usr/bin/python3``) does not see. A launch file that pulled in cv2 through our package
``__init__`` failed there with ``No module named 'cv2'``. The launch files may import the
standard library, launch, launch_ros, ament_index_python (ROS's own, a dependency of
launch_ros) and our stdlib-only ``vru_detector.ros.dds_config``.
"""
import ast
from pathlib import Path
import subprocess
import sys

import pytest

REPO = Path(__file__).resolve().parents[1]
LAUNCH_FILES = sorted((REPO / 'launch').glob('*.launch.py'))
ROS_LAUNCH = ('launch', 'launch_ros', 'ament_index_python')
OURS = ('vru_detector.ros.dds_config',)  # ROS-free, stdlib only (checked below)

# Runs in a fresh interpreter: import ``modules`` where only the standard library and
# vru_detector can be imported, as in `ros2 launch` on a system Python without our pip packages.
STDLIB_ONLY = """
import importlib, sys
class OnlyStdlib:
    def find_spec(self, name, path=None, target=None):
        top = name.split('.')[0]
        if top in sys.stdlib_module_names or top in sys.builtin_module_names \\
                or top == 'vru_detector':
            return None
        raise ImportError(f'{name} is not in the standard library', name=name)
sys.meta_path.insert(0, OnlyStdlib())
for module in sys.argv[1:]:
    importlib.import_module(module)
heavy = sorted({m.split('.')[0] for m in sys.modules} & {'cv2', 'onnxruntime', 'numpy'})
print('loaded:', heavy)
"""


def imported_modules(path: Path) -> list:
    """Every module an ``import`` or ``from ... import`` in ``path`` names (absolute only)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f'{path.name}: relative import of {node.module}'
            names.append(node.module)
    return names


def allowed(module: str) -> bool:
    top = module.split('.')[0]
    return top in sys.stdlib_module_names or top in ROS_LAUNCH or module in OURS


def test_there_are_launch_files():
    assert {p.name for p in LAUNCH_FILES} >= {'detector.launch.py', 'two_cameras.launch.py'}


@pytest.mark.parametrize('path', LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_files_import_only_the_stdlib_launch_and_dds_config(path):
    refused = [m for m in imported_modules(path) if not allowed(m)]
    assert not refused, (f'{path.name} imports {refused}: `ros2 launch` runs on the system '
                         'Python, where pip packages of a venv are missing')


def test_our_launch_imports_load_with_nothing_but_the_standard_library():
    ours = sorted({m for p in LAUNCH_FILES for m in imported_modules(p) if m in OURS})
    assert ours == list(OURS)
    done = subprocess.run([sys.executable, '-c', STDLIB_ONLY, *ours], capture_output=True,
                          text=True, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == 'loaded: []'


@pytest.mark.parametrize('module', ['vru_detector', 'vru_detector.ros', 'vru_detector.msgs',
                                    'vru_detector.replay', 'vru_detector.cli'])
def test_package_inits_do_not_load_opencv_or_onnxruntime(module):
    code = (f'import sys, {module}; '
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'cv2', 'onnxruntime'}))")
    done = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == '[]'


def test_the_public_names_still_import_from_the_package():
    import vru_detector
    from vru_detector import Detections, Detector, InvalidImageError, Tracker, VruDetectorError

    assert Detector.__module__ == 'vru_detector.detector'
    assert issubclass(InvalidImageError, VruDetectorError)
    assert {Detections.__name__, Tracker.__name__} == {'Detections', 'Tracker'}
    assert set(vru_detector.__all__) <= set(dir(vru_detector))
    with pytest.raises(AttributeError, match='no attribute'):
        vru_detector.not_a_name  # noqa: B018
