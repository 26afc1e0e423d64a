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

"""The lean runtime install: what it declares, and what a missing extra says."""
from importlib import metadata
import os
from pathlib import Path
import subprocess
import sys

import pytest

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, 'PYTHONPATH': str(REPO), 'OMP_NUM_THREADS': '1'}
# run a snippet with some top-level packages made unimportable, as on an install without them
WITHOUT = """
import importlib.abc, sys
class Without(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition('.')[0] in {blocked!r}:
            raise ModuleNotFoundError(f'No module named {{name!r}}', name=name)
sys.meta_path.insert(0, Without())
"""


def _run_without(blocked: tuple[str, ...], code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', WITHOUT.format(blocked=blocked) + code],
                          env=ENV, cwd=REPO, capture_output=True, text=True, timeout=120)


def test_the_runtime_install_requires_no_training_plotting_or_metrics():
    try:
        requires = metadata.requires('vru_detector') or []
    except metadata.PackageNotFoundError:
        pytest.skip('vru_detector is not installed (pip install -e .)')
    runtime = {r.split(';')[0].split('>')[0].split('=')[0].split('<')[0].strip().lower()
               for r in requires if 'extra ==' not in r}
    assert 'onnxruntime' in runtime and 'numpy' in runtime
    heavy = {'torch', 'torchvision', 'ultralytics', 'matplotlib', 'scipy', 'trackeval',
             'trackers', 'supervision'}
    assert not runtime & heavy, runtime & heavy


def test_eval_bag_without_the_eval_extra_names_it(tmp_path):
    proc = _run_without(('matplotlib', 'scipy', 'trackeval'), (
        'from vru_detector.replay.evaluate_bag import main\n'
        f'sys.exit(main([{str(tmp_path / "no_bag")!r}, "--model", "m.onnx", '
        '"--image-topic", "/i", "--labels", "l", "--out", "o"]))'))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert 'Traceback' not in proc.stderr, proc.stderr
    assert 'vru_detector[eval]' in proc.stderr and 'vru-eval-bag' in proc.stderr, proc.stderr


def test_a_tracker_without_the_tracking_extra_names_it():
    proc = _run_without(('trackers',), (
        'from vru_detector.tracker import make_tracker\n'
        'from vru_detector.extras import MissingExtraError\n'
        'try:\n    make_tracker("bytetrack")\n'
        'except MissingExtraError as exc:\n    print("error:", exc)\n'))
    assert 'error:' in proc.stdout, proc.stdout + proc.stderr
    assert 'vru_detector[tracking]' in proc.stdout and '"none"' in proc.stdout
