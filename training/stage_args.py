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

"""Command-line arguments shared by the training stages, merged over a recipe's settings."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from .recipe import load_recipe, stage_settings, StageSettings


def add_train_arguments(parser: argparse.ArgumentParser, model_flag: str, model_help: str) -> None:
    parser.add_argument('--recipe', type=Path, help='recipe YAML (schema: training/recipe.py)')
    parser.add_argument('--data', help='YOLO data.yaml (overrides the recipe)')
    parser.add_argument(model_flag, dest='model', help=model_help)
    parser.add_argument('--weights', help='pretrained .pt to start from (head classes matched '
                        "by name; the architecture is the checkpoint's)")
    parser.add_argument('--init-class', action='append', default=[], metavar='OURS=THEIRS',
                        dest='init_class', help='start a class the weights lack from one they '
                        'have, e.g. rider=person (repeatable)')
    parser.add_argument('--epochs', type=int, help='training epochs (default: recipe, else 100)')
    parser.add_argument('--imgsz', type=int, help='square input size in pixels, a multiple of 32 '
                        '(default: recipe, else 640)')
    parser.add_argument('--batch', type=int, help='images per batch (default: recipe, else 16)')
    parser.add_argument('--seed', type=int, help='random seed (default: recipe, else 0)')
    parser.add_argument('--device', help='ultralytics device: cpu, 0, or 0,1 for DDP')
    parser.add_argument('--fraction', type=float, help='use this fraction of the training images')
    parser.add_argument('--project', type=Path, help='runs folder (default: recipe or runs/vru)')
    parser.add_argument('--name', help='run name (default: the stage name)')
    parser.add_argument('--set', nargs='*', default=[], metavar='KEY=VALUE',
                        help='extra ultralytics train arguments, e.g. amp=false workers=0')


def settings_from_args(args: argparse.Namespace, stage: str) -> tuple[StageSettings, Path, str]:
    """Return (settings, project dir, run name): recipe values, then command-line overrides."""
    recipe = load_recipe(args.recipe) if args.recipe else {}
    extra = _parse_set(args.set)
    if extra:
        section = dict(recipe.get(stage) or {})
        section['train'] = {**(section.get('train') or {}), **extra}
        recipe = {**recipe, stage: section}
    settings = stage_settings(recipe, stage)
    for key in ('data', 'model', 'epochs', 'imgsz', 'batch', 'seed', 'device'):
        value = getattr(args, key, None)
        if value is not None:
            setattr(settings, key, str(value) if key in ('data', 'model', 'device') else value)
    if getattr(args, 'weights', None):
        settings.weights = str(args.weights)
    for item in getattr(args, 'init_class', None) or []:
        ours, sep, theirs = item.partition('=')
        if not sep or not ours or not theirs:
            raise SystemExit(f'--init-class {item!r}: expected OURS=THEIRS, e.g. rider=person')
        settings.init_classes[ours] = theirs
    if getattr(args, 'fraction', None) is not None:
        settings.train['fraction'] = args.fraction
    if not settings.data:
        raise SystemExit(f'vru-train {stage}: no dataset: give --data DATA.yaml or data: in the '
                         'recipe')
    if isinstance(settings.data, (list, tuple)):
        raise SystemExit(f'vru-train {stage}: error: the recipe lists {len(settings.data)} '
                         'datasets; one stage trains on one data.yaml: pass --data DATA.yaml, '
                         'merge them with `vru-train data yolo`, or run the stage from the '
                         f'recipe with `vru-train pipeline RECIPE --stages {stage}`')
    if not Path(settings.data).is_file():
        raise SystemExit(f'vru-train {stage}: {settings.data} not found (expected a YOLO '
                         'data.yaml, e.g. from `vru-train data`)')
    project = Path(args.project or recipe.get('project') or 'runs/vru').resolve()
    name = args.name or (f"{recipe['name']}-{stage}" if recipe.get('name') else stage)
    return settings, project, name


def dataset_names(data_yaml: str | Path) -> list[str]:
    """Class names of a YOLO data.yaml, in index order."""
    names = yaml.safe_load(Path(data_yaml).read_text()).get('names')
    if isinstance(names, dict):
        return [names[k] for k in sorted(names)]
    if isinstance(names, list) and names:
        return list(names)
    raise ValueError(f'{data_yaml}: no class names (expected names: {{0: person, ...}})')


def _parse_set(items: list[str]) -> dict[str, Any]:
    out = {}
    for item in items:
        key, sep, value = item.partition('=')
        if not sep or not key:
            raise SystemExit(f'--set {item!r}: expected KEY=VALUE')
        out[key] = yaml.safe_load(value)
    return out
