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
What every command-line tool says to a user who got something wrong: no traceback, ever.

Each `vru-*` command runs as a subprocess (as a user starts it) on a missing or damaged file;
it must exit non-zero with one paragraph naming the file, and print no traceback. `--help`
of every command documents every flag with its default, and `vru-train SUB --help` does not
import torch.
"""
import argparse
import os
from pathlib import Path
import subprocess
import sys

import pytest

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, 'YOLO_OFFLINE': '1', 'OMP_NUM_THREADS': '1', 'PYTHONPATH': str(REPO)}


def _run(argv: list[str], cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    exe = BIN / argv[0]
    if not exe.is_file():
        pytest.skip(f'{argv[0]} is not installed in {BIN} (pip install -e .)')
    return subprocess.run([str(exe), *argv[1:]], cwd=cwd, env=ENV, capture_output=True,
                          text=True, timeout=timeout)


def _assert_one_paragraph_error(proc: subprocess.CompletedProcess, names: str) -> None:
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    assert 'Traceback' not in output, output
    err = proc.stderr.strip()
    assert err and '\n\n' not in err, output
    last = err.splitlines()[-1]
    assert names in last and 'error' in last, output


@pytest.fixture(scope='module')
def workdir(tmp_path_factory):
    """Make a folder with good and damaged models and data.yaml files, and image folders."""
    from fixed_output_model import build_fixed_output_onnx

    root = tmp_path_factory.mktemp('cli')
    good = build_fixed_output_onnx(root / 'good.onnx')
    (root / 'bad.onnx').write_bytes(good.read_bytes()[:-40] + b'\x00' * 7)
    (root / 'bad.pt').write_bytes(b'PK\x03\x04 not a whole zip archive')
    (root / 'bad.yaml').write_text('names: [person\ntrain: images/train\n')
    (root / 'bad.json').write_text('[{"name": "a.jpg", "labels": [')
    (root / 'good.yaml').write_text('names: [person]\ntrain: imgs\nval: imgs\n')
    (root / 'imgs').mkdir()
    return root


MISSING = [
    ['vru-detect', '--model', 'missing.onnx', '--source', 'imgs'],
    ['vru-detect', '--model', 'good.onnx', '--source', 'missing.jpg'],
    ['vru-eval-bag', 'missing_bag', '--model', 'good.onnx', '--image-topic', '/camera/image_raw',
     '--gt-topic', '/ground_truth/detections', '--out', 'eval'],
    ['vru-eval-bag', 'missing_bag', '--model', 'missing.onnx', '--image-topic', '/c',
     '--labels', 'missing_labels', '--out', 'eval'],
    ['vru-make-bag', '--images', 'missing_images'],
    ['vru-make-bag', '--video', 'missing.mp4'],
    ['vru-build-engine', 'missing.onnx'],
    ['vru-train', 'data', 'yolo', '--out', 'merged', '--train', 'missing.yaml'],
    ['vru-train', 'data', 'bdd100k', '--out', 'merged', '--train', 'missing.json', 'imgs'],
    ['vru-train', 'teacher', '--data', 'missing.yaml'],
    ['vru-train', 'distill', '--teacher', 'missing.pt', '--data', 'missing.yaml'],
    ['vru-train', 'prune', '--model', 'missing.pt', '--out', 'pruned'],
    ['vru-train', 'export', '--weights', 'missing.pt'],
    ['vru-train', 'calibrate', '--model', 'missing.onnx', '--images', 'imgs'],
    ['vru-train', 'calibrate', '--model', 'good.onnx', '--data', 'missing.yaml'],
    ['vru-train', 'evaluate', '--models', 'missing.onnx', '--data', 'missing.yaml'],
    ['vru-train', 'pipeline', 'missing.yaml'],
]


@pytest.mark.parametrize('argv', MISSING, ids=[' '.join(a[:2]) for a in MISSING])
def test_a_missing_file_is_one_paragraph_without_traceback(workdir, argv):
    _assert_one_paragraph_error(_run(argv, workdir), 'missing')


DAMAGED = [
    (['vru-detect', '--model', 'bad.onnx', '--source', 'imgs'], 'bad.onnx'),
    (['vru-train', 'export', '--weights', 'bad.pt'], 'bad.pt: not a PyTorch checkpoint'),
    (['vru-train', 'calibrate', '--model', 'bad.onnx', '--images', 'imgs'],
     'bad.onnx: not an ONNX model'),
    (['vru-train', 'evaluate', '--models', 'bad.pt', '--data', 'bad.yaml'],
     'bad.pt: not an ONNX model'),
    (['vru-train', 'distill', '--teacher', 'bad.pt', '--data', 'good.yaml'],
     '--teacher bad.pt: not a PyTorch checkpoint'),
    (['vru-train', 'teacher', '--data', 'good.onnx'], 'good.onnx: not valid YAML'),
    (['vru-train', 'data', 'yolo', '--out', 'merged', '--train', 'bad.yaml'],
     'bad.yaml: not valid YAML at line 2'),
    (['vru-train', 'pipeline', 'bad.yaml'], 'bad.yaml: not valid YAML'),
    (['vru-train', 'data', 'bdd100k', '--out', 'merged', '--train', 'bad.json', 'imgs'],
     'bad.json: not valid JSON'),
]


@pytest.mark.parametrize('argv, names', DAMAGED, ids=[' '.join(a[:2]) for a, _ in DAMAGED])
def test_a_damaged_file_is_named_without_traceback(workdir, argv, names):
    _assert_one_paragraph_error(_run(argv, workdir), names)


def test_detector_node_without_ros_says_to_source_ros(workdir):
    try:
        import rclpy  # noqa: F401
        pytest.skip('ROS 2 is sourced here: the node starts instead')
    except ImportError:
        pass
    proc = _run(['detector_node'], workdir, timeout=60)
    assert proc.returncode != 0 and 'Traceback' not in proc.stdout + proc.stderr
    assert 'needs a sourced ROS 2' in proc.stderr and 'source /opt/ros/' in proc.stderr


BLOCK_TRAINING = """
import importlib.abc, sys
class NoTraining(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition('.')[0] in ('torch', 'torchvision', 'ultralytics'):
            raise ModuleNotFoundError(f'No module named {name!r}', name=name)
sys.meta_path.insert(0, NoTraining())
from training.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_training_stage_on_a_runtime_only_install_names_the_extra(tmp_path):
    import cv2
    import numpy as np
    import yaml

    for split in ('train', 'val'):
        (tmp_path / 'd' / 'images' / split).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / 'd' / 'images' / split / 'a.jpg'), np.zeros((32, 32, 3), 'u1'))
    (tmp_path / 'd' / 'data.yaml').write_text(yaml.safe_dump(
        {'train': 'images/train', 'val': 'images/val', 'names': ['person']}))
    recipe = yaml.safe_load((REPO / 'training' / 'recipes' / 'demo.yaml').read_text())
    recipe['data'] = str(tmp_path / 'd' / 'data.yaml')
    (tmp_path / 'recipe.yaml').write_text(yaml.safe_dump(recipe))
    proc = subprocess.run([sys.executable, '-c', BLOCK_TRAINING, 'pipeline', 'recipe.yaml',
                           '--out', 'run'], cwd=tmp_path, env=ENV, capture_output=True,
                          text=True, timeout=120)
    _assert_one_paragraph_error(proc, 'pip install -e ./training')
    assert 'runtime-only install' in proc.stderr


@pytest.mark.parametrize('stage', ['data', 'teacher', 'distill', 'prune', 'export', 'calibrate',
                                   'evaluate', 'pipeline'])
def test_train_help_does_not_import_torch(stage):
    code = ('import sys\nfrom training.cli import main\ntry:\n    main([%r, "--help"])\n'
            'except SystemExit:\n    pass\nprint("heavy:", sorted(m for m in ("torch", '
            '"ultralytics") if m in sys.modules))' % stage)
    proc = subprocess.run([sys.executable, '-c', code], env=ENV, capture_output=True, text=True,
                          timeout=120, cwd=REPO)
    assert f'usage: vru-train {stage}' in proc.stdout, proc.stderr
    assert 'heavy: []' in proc.stdout


def _parsers() -> dict[str, argparse.ArgumentParser]:
    from training.cli import COMMANDS, stage_parser
    from vru_detector.backends.tensorrt import build_parser as engine_parser
    from vru_detector.cli.detect import build_parser as detect_parser
    from vru_detector.replay.evaluate_bag import build_parser as eval_parser
    from vru_detector.replay.make_bag import build_parser as bag_parser

    parsers = {'vru-detect': detect_parser(), 'vru-eval-bag': eval_parser(),
               'vru-make-bag': bag_parser(), 'vru-build-engine': engine_parser()}
    parsers.update({f'vru-train {n}': stage_parser(n)[0] for n in COMMANDS})
    return parsers


def test_every_flag_has_help_and_shows_its_default():
    for name, parser in _parsers().items():
        assert parser.prog == name
        text = parser.format_help()
        assert '``' not in text, f'{name}: raw reST markup in --help'
        formatter = parser._get_formatter()
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f'{name} {action.dest}: no help text'
            meaningful = action.default not in (None, False, [], '') and action.option_strings
            if meaningful:
                shown = formatter._get_help_string(action) % {'default': action.default}
                assert 'default' in shown.lower(), f'{name} {action.dest}: default not shown'


def test_a_segmentation_model_is_named_as_such(workdir):
    import onnx

    from vru_detector import Detector, ModelLoadError

    model = onnx.load(str(workdir / 'good.onnx'))
    for prop in model.metadata_props:
        if prop.key == 'task':
            prop.value = 'segment'
    onnx.save(model, str(workdir / 'seg.onnx'))
    with pytest.raises(ModelLoadError, match='is a segmentation model.*runs detection models'):
        Detector(workdir / 'seg.onnx')
