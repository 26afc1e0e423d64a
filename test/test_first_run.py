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
A new user's first hour: the README's commands and snippet as written, and a clean checkout.

The README is read here, not copied: its two first-run commands, its merge command (run with
its relative paths from a checkout with ../shared beside it) and its Python snippet are the
ones tested, so the README cannot drift from what works.
"""
import os
from pathlib import Path
import re
import shlex
import shutil
import subprocess
import sys

import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / 'README.md').read_text()


def _blocks(language: str) -> list[str]:
    return re.findall(rf'```{language}\n(.*?)```', README, re.S)


def _first_run_commands() -> list[str]:
    return [line for line in _blocks('bash')[0].splitlines()
            if line.strip() and not line.lstrip().startswith('#')]


@pytest.fixture
def checkout(tmp_path, shared_data) -> Path:
    """Return an empty folder laid out like a checkout: ``../shared/data`` is beside it."""
    (tmp_path / 'shared').mkdir()
    (tmp_path / 'shared' / 'data').symlink_to(shared_data)
    (tmp_path / 'checkout').mkdir()
    return tmp_path / 'checkout'


def test_each_first_run_command_starts_its_own_venv_and_ci_runs_the_test_command():
    install, tests = _first_run_commands()
    assert install.startswith('python3 -m venv .venv && . .venv/bin/activate && ')
    assert tests == '. .venv/bin/activate && python -m pytest -q'
    ci = (REPO / '.ci' / 'run').read_text().splitlines()
    assert any(line == tests or line.startswith(tests + ' ') for line in ci), \
        '.ci/run must run the README test command as written'


def test_the_test_command_works_in_a_fresh_shell():
    """Run command 2 (on one small test file) in a shell without the venv on PATH."""
    if not (REPO / '.venv' / 'bin' / 'activate').is_file():
        pytest.skip('no .venv in the checkout (command 1 makes it)')
    tests = _first_run_commands()[1]
    venv_bin = str(Path(sys.prefix) / 'bin')
    path = os.pathsep.join(p for p in os.environ.get('PATH', '').split(os.pathsep)
                           if p != venv_bin and '.venv' not in p)
    env = {k: v for k, v in os.environ.items() if k not in ('VIRTUAL_ENV', 'PYTHONPATH')}
    env['PATH'] = path or '/usr/bin:/bin'
    proc = subprocess.run(['bash', '-c', f'{tests} -p no:cacheprovider test/test_stats.py'],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert 'passed' in proc.stdout


def test_the_merge_command_runs_as_written_with_relative_paths(checkout, shared_data,
                                                               monkeypatch):
    from training.cli import main
    from training.datasets import dataset_split_dir

    block = next(b for b in _blocks('bash') if 'vru-train data yolo' in b)
    argv = shlex.split(block.replace('\\\n', ' '))
    assert argv[:3] == ['vru-train', 'data', 'yolo']
    assert '../shared/data/coco_vru/data.yaml' in argv  # relative, as a user types it
    monkeypatch.chdir(checkout)
    assert main(argv[1:]) == 0
    merged = checkout / 'data' / 'street'
    assert sorted(p.name for p in (merged / 'images' / 'train').iterdir()) == \
        ['bdd100k_vru', 'coco_vru']
    assert len(list((merged / 'labels' / 'train').rglob('*.txt'))) == 200 + 168
    # calibrate resolves a relative data.yaml the same way (the same helper)
    val = dataset_split_dir(Path('../shared/data/bdd100k_vru/data.yaml'), 'val')
    assert val.resolve() == (shared_data / 'bdd100k_vru' / 'images' / 'val').resolve()
    assert dataset_split_dir(Path('data/street/data.yaml'), 'val').is_dir()
    assert not list(shared_data.rglob('*.cache'))


def test_the_python_snippet_runs_as_written(checkout):
    from training.pipeline import DEPLOYABLE
    from fixed_output_model import build_fixed_output_onnx

    snippet = next(b for b in _blocks('python') if 'from vru_detector import Detector' in b)
    model = f'runs/demo/{DEPLOYABLE["int8"]}'
    assert f'"{model}"' in snippet, 'the snippet loads the model the demo pipeline deploys'
    (checkout / 'runs' / 'demo').mkdir(parents=True)
    build_fixed_output_onnx(checkout / model)  # stands in for the demo's model: same names
    proc = subprocess.run([sys.executable, '-c', snippet], cwd=checkout, capture_output=True,
                          text=True, timeout=120, env={**os.environ, 'PYTHONPATH': str(REPO)})
    assert proc.returncode == 0, proc.stderr
    assert 'person' in proc.stdout  # the fixed model's boxes, printed with their class names


def test_the_checkout_holds_no_generated_files_and_ignores_what_tools_write():
    if shutil.which('git') is None or not (REPO / '.git').exists():
        pytest.skip('not a git checkout')
    tracked = subprocess.run(['git', 'ls-files'], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.splitlines()
    root = [p for p in tracked if '/' not in p]
    assert not [p for p in root if p.endswith('.whl') or re.fullmatch(r'vru-yolov8-.*\.yaml', p)]
    generated = ['vru-yolov8-n.yaml', 'isort-9.0.2-py3-none-any.whl', 'val_bag/metadata.yaml',
                 'runs/bags/val/metadata.yaml', 'runs/detect2/a.jpg', 'model_int8.onnx']
    ignored = subprocess.run(['git', 'check-ignore', '--no-index', *generated], cwd=REPO,
                             capture_output=True, text=True).stdout.split()
    assert ignored == generated


def test_building_a_model_from_a_scale_writes_nothing_into_the_current_folder(tmp_path,
                                                                              monkeypatch):
    pytest.importorskip('ultralytics')
    from training.models import build_yolo

    monkeypatch.chdir(tmp_path)
    build_yolo('tiny')
    assert list(tmp_path.iterdir()) == []


def test_make_bag_writes_under_runs_by_default(tmp_path, street_images, monkeypatch):
    from vru_detector.replay.make_bag import main

    (tmp_path / 'val').mkdir()
    shutil.copy(street_images[0], tmp_path / 'val')
    monkeypatch.chdir(tmp_path)
    for expected in ('runs/bags/val', 'runs/bags/val2'):
        assert main(['--images', 'val']) == 0
        assert (tmp_path / expected / 'metadata.yaml').is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ['runs', 'val']


def test_eval_bag_says_why_precision_is_missing_instead_of_none():
    from vru_detector.replay.evaluate_bag import headline

    metrics = {'frames': 3, 'coco': {'mAP50_95': 0.0, 'mAP50': 0.0},
               'operating_point': {'all': {'precision': None, 'recall': 0.0}}}
    line = headline(metrics, 0.25, Path('runs/eval'))
    assert 'None' not in line
    assert 'P - (no detection scored >= 0.25) R 0.000 at conf 0.25' in line
    no_truth = {'frames': 3, 'coco': {'mAP50_95': None, 'mAP50': None},
                'operating_point': {'all': {'precision': 0.5, 'recall': None}}}
    assert headline(no_truth, 0.25, Path('e')).count('(no ground-truth boxes)') == 3
