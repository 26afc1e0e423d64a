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
Check the files a ``vru-train`` stage is given before it starts, so a bad one is named at once.

A stage that hits a missing or damaged file minutes into a run dies with a library traceback
(torch's unpickler, protobuf, yaml). Each flag that names an input is checked here first:
it exists, and it is the kind of file the flag expects (a torch zip checkpoint, a parseable
ONNX model, a data.yaml mapping with class names). Problems are :class:`InputError` with one
paragraph naming the flag, the file, what is wrong and what to do.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Callable

DATA_HINT = ('give a YOLO data.yaml (names, train, val), e.g. '
             '../shared/data/bdd100k_vru/data.yaml or the one `vru-train data` wrote')
PT_HINT = 'give the .pt that training wrote (e.g. runs/<run>/weights/best.pt)'
ONNX_HINT = 'export one with `vru-train export --weights W.pt`'


class InputError(ValueError):
    """An input file of a stage is missing or is not what its flag expects."""


def _exists(path: Path, flag: str, hint: str, folder: bool = False) -> None:
    if not path.exists():
        raise InputError(f'{flag} {path}: no such {"folder" if folder else "file"}; {hint}')
    if folder and not path.is_dir():
        raise InputError(f'{flag} {path}: not a folder; {hint}')
    if not folder and path.is_dir():
        raise InputError(f'{flag} {path}: is a folder, expected a file; {hint}')


def check_pt(path: Path, flag: str) -> None:
    """Check a torch checkpoint: a zip archive (torch.save), or a legacy pickle."""
    import zipfile

    _exists(path, flag, PT_HINT)
    with open(path, 'rb') as f:
        head = f.read(2)
    if not zipfile.is_zipfile(path) and head[:1] != b'\x80':
        raise InputError(f'{flag} {path}: not a PyTorch checkpoint (torch.save writes a zip '
                         'archive; this file is damaged, truncated or something else); '
                         f'{PT_HINT}')


def check_onnx(path: Path, flag: str) -> None:
    """Parse the model (not its external weights): a damaged file fails here, not mid-run."""
    import onnx
    from google.protobuf.message import DecodeError

    _exists(path, flag, ONNX_HINT)
    try:
        model = onnx.load(str(path), load_external_data=False)
    except (DecodeError, ValueError, OSError) as exc:
        raise InputError(f'{flag} {path}: not an ONNX model ({exc}); the file is damaged or '
                         f'something else: {ONNX_HINT}') from None
    if not model.graph.node:
        raise InputError(f'{flag} {path}: an ONNX file without a graph (empty or damaged); '
                         f'{ONNX_HINT}')


def _yaml_mapping(path: Path, flag: str, hint: str) -> dict[str, Any]:
    import yaml

    _exists(path, flag, hint)
    try:
        data = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        where = getattr(exc, 'problem_mark', None)
        at = f' at line {where.line + 1}' if where is not None else ''
        raise InputError(f'{flag} {path}: not valid YAML{at} '
                         f'({getattr(exc, "problem", None) or exc}); {hint}') from None
    if not isinstance(data, dict):
        raise InputError(f'{flag} {path}: expected a YAML mapping, found '
                         f'{type(data).__name__}; {hint}')
    return data


def check_data(path: Path, flag: str) -> None:
    """Check a YOLO data.yaml: a mapping with class names."""
    if 'names' not in _yaml_mapping(path, flag, DATA_HINT):
        raise InputError(f'{flag} {path}: a YAML file without `names:`, so not a YOLO '
                         f'data.yaml; {DATA_HINT}')


def check_recipe(path: Path, flag: str) -> None:
    """Check a recipe: a YAML mapping (training/recipe.py checks its keys)."""
    _yaml_mapping(path, flag, 'see training/recipes/ for examples')


def check_model(value: str, flag: str) -> None:
    """Check a model flag: a scale name (nothing to check), a model .yaml, or a .pt."""
    if value.endswith('.pt'):
        check_pt(Path(value), flag)
    elif value.endswith(('.yaml', '.yml')):
        _exists(Path(value), flag, 'give a model yaml, or a scale name such as yolov8s')


def check_folder(path: Path, flag: str) -> None:
    """Return when ``path`` is an existing folder."""
    _exists(path, flag, 'give an existing folder', folder=True)


def check_exists(path: Path, flag: str) -> None:
    """Return when ``path`` exists (a file or a folder)."""
    if not Path(path).exists():
        raise InputError(f'{flag} {path}: no such file or folder')


Check = Callable[[Any, str], None]
TRAIN = {'recipe': check_recipe, 'data': check_data, 'weights': check_pt}
INPUTS: dict[str, dict[str, Check]] = {
    'teacher': {**TRAIN, 'model': check_model},
    'distill': {**TRAIN, 'student': check_model, 'teacher': check_pt, 'resume': check_pt},
    'prune': {'recipe': check_recipe, 'model': check_pt, 'data': check_data,
              'teacher': check_pt},
    'export': {'recipe': check_recipe, 'weights': check_pt},
    'calibrate': {'recipe': check_recipe, 'model': check_onnx, 'data': check_data,
                  'images': check_folder},
    'evaluate': {'recipe': check_recipe, 'models': check_onnx, 'int8': check_onnx,
                 'data': check_data},
    'pipeline': {'recipe': check_recipe, 'data': check_data},
}


def check_inputs(stage: str, parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Run the checks of ``stage`` on every input flag that was given."""
    checks = dict(INPUTS.get(stage, {}))
    if stage == 'data':
        each = check_data if args.source == 'yolo' else check_exists
        checks = {split: each for split in ('train', 'val', 'test')}
    flags = {a.dest: (a.option_strings or [a.dest])[-1] for a in parser._actions}
    for dest, check in checks.items():
        value = getattr(args, dest, None)
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if item is not None and str(item) != '':
                check(item if check is check_model else Path(item), flags.get(dest, dest))
