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


"""DESIGN.md's layout, checked: only ``ros/`` is the ROS shell, and nothing else imports it."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / 'vru_detector'


def _imports(path: Path) -> set[str]:
    """Return the absolute module names ``path`` imports (relative ones resolved)."""
    parts = path.relative_to(PACKAGE.parent).with_suffix('').parts
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = parts[:len(parts) - node.level] if node.level else ()
            module = '.'.join([*base, *(node.module.split('.') if node.module else [])])
            names.add(module)
    return names


def test_only_ros_imports_rclpy_and_nothing_outside_ros_imports_it():
    for path in sorted(PACKAGE.rglob('*.py')):
        inside_ros = 'ros' in path.relative_to(PACKAGE).parts[:1]
        imported = _imports(path)
        ros_libs = {m for m in imported if m.split('.')[0] in ('rclpy', 'rcl_interfaces')}
        if not inside_ros:
            assert not ros_libs, f'{path}: imports {ros_libs}; only vru_detector/ros/ may'
            shell = {m for m in imported if m.startswith('vru_detector.ros')}
            assert not shell, f'{path}: imports the ROS shell {shell}'
        elif ros_libs:
            assert path.name == 'node.py', f'{path}: only ros/node.py imports rclpy'


def test_the_runtime_does_not_import_torch():
    for path in sorted(PACKAGE.rglob('*.py')):
        if path.parent.name == 'backends' and path.name == 'torch.py':
            continue  # the optional .pt backend, imported only for a .pt model
        heavy = {m for m in _imports(path) if m.split('.')[0] in ('torch', 'ultralytics')}
        assert not heavy, f'{path}: imports {heavy}'
