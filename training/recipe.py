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
Training recipes: one YAML file that says how each offline stage trains.

Schema (every key optional unless marked; ``yaml.safe_load`` only)::

    name: vru-bdd100k          # run name (folder under ``project``)
    project: runs/vru          # where runs are written
    data: data/vru/data.yaml   # YOLO data.yaml used by every stage unless a stage sets its own
    seed: 0
    device: cpu                # ultralytics device string: cpu, 0, 0,1 (DDP), ...
    teacher:
      model: yolov8l           # scale name (yolov8n/s/m/l/x, tiny, nano), a .yaml, or a .pt
      weights: null            # pretrained .pt to start from (architecture from the .pt, head
                               # classes matched to the dataset's by name; training/pretrained.py)
      init_classes: {}         # a class the weights lack, started from one they have,
                               # e.g. {rider: person}
      data, epochs (100), imgsz (640), batch (16), seed, device
                               # epochs: 0 takes the pretrained start as it is (the
                               # teacher of "learning without forgetting"), no training
      train: {lr0: 0.01, ...}  # any other ultralytics train argument, passed through
    distill:
      student: yolov8s         # scale name, .yaml, or .pt (e.g. a pruned checkpoint)
      weights, init_classes    # pretrained start, as for the teacher (the direct student too)
      teacher: null            # teacher .pt; the pipeline fills in the teacher stage's best.pt
      data, epochs (100), imgsz (640), batch (16), seed, device, train: {...}
      kd:                      # see training/distill/config.py (KDConfig); defaults per paper
        score:   {enabled: true, weight: 1.0, temperature: 1.0, mode: bce}   # or mode: kl
        box:     {enabled: true, weight: 1.0, temperature: 10.0}             # DFL bins, LD
        cwd:     {enabled: true, weight: 1.0, temperature: 1.0}              # neck outputs
        feature: {enabled: true, weight: 1.0, tau: 1.0, layers: [4, 6, 9, 15, 18, 21]}
    prune: {...}, export: {...}, calibrate: {...}, evaluate: {...}
                               # other stages' sections, validated by their own modules

Errors name the offending key, what was expected and what was found.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TOP_KEYS = {'name', 'project', 'data', 'seed', 'device', 'teacher', 'distill', 'prune',
            'export', 'calibrate', 'evaluate', 'pipeline'}
COMMON_STAGE_KEYS = {'data', 'epochs', 'imgsz', 'batch', 'seed', 'device', 'train'}
# Arguments the stage owns itself (set from the keys above or by the stage).
RESERVED_TRAIN_KEYS = {'model', 'data', 'epochs', 'imgsz', 'batch', 'seed', 'device',
                       'distill_model', 'resume', 'mode', 'task'}


class RecipeError(ValueError):
    """A recipe that does not match the schema in this module's docstring."""


@dataclass
class StageSettings:
    """What one training stage needs: model, data, schedule and extra ultralytics arguments."""

    model: str
    data: str | None = None
    epochs: int = 100
    imgsz: int = 640
    batch: int = 16
    seed: int = 0
    device: str | None = None
    train: dict[str, Any] = field(default_factory=dict)
    teacher: str | None = None  # distill only
    kd: dict[str, Any] = field(default_factory=dict)  # distill only
    weights: str | None = None  # pretrained start (training/pretrained.py)
    init_classes: dict[str, str] = field(default_factory=dict)

    def train_args(self) -> dict[str, Any]:
        """Keyword arguments for ultralytics' trainer (without model / teacher)."""
        args = {'data': self.data, 'epochs': self.epochs, 'imgsz': self.imgsz,
                'batch': self.batch, 'seed': self.seed, **self.train}
        if self.device is not None:
            args['device'] = self.device
        return args


def load_recipe(path: str | Path) -> dict[str, Any]:
    """Read and validate a recipe file; returns the raw mapping."""
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f'recipe {path} not found')
    try:
        recipe = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise RecipeError(f'recipe {path}: not valid YAML ({exc})') from exc
    validate_recipe(recipe, where=str(path))
    return recipe


def validate_recipe(recipe: Any, where: str = 'recipe') -> None:
    if not isinstance(recipe, dict):
        raise RecipeError(f'{where}: expected a mapping at the top level, got '
                          f'{type(recipe).__name__}')
    unknown = sorted(set(recipe) - TOP_KEYS)
    if unknown:
        raise RecipeError(f'{where}: unknown top-level key(s) {unknown}; expected some of '
                          f'{sorted(TOP_KEYS)}')
    for stage in ('teacher', 'distill'):
        if recipe.get(stage) is not None:
            stage_settings(recipe, stage, where=where)


def stage_settings(recipe: dict[str, Any] | None, stage: str,
                   where: str = 'recipe') -> StageSettings:
    """Return the validated settings of ``stage`` ('teacher' or 'distill') with defaults."""
    recipe = recipe or {}
    section = recipe.get(stage) or {}
    if not isinstance(section, dict):
        raise RecipeError(f'{where}: {stage}: expected a mapping, got {section!r}')
    own = {'teacher': {'model'}, 'distill': {'student', 'teacher', 'kd'}}[stage]
    own = own | {'weights', 'init_classes'}
    unknown = sorted(set(section) - COMMON_STAGE_KEYS - own)
    if unknown:
        raise RecipeError(f'{where}: {stage}: unknown key(s) {unknown}; expected some of '
                          f'{sorted(COMMON_STAGE_KEYS | own)} (other ultralytics arguments '
                          f'go under {stage}.train)')
    for key in ('epochs', 'imgsz', 'batch', 'seed'):
        value = section.get(key)
        least = 0 if key == 'seed' or (key, stage) == ('epochs', 'teacher') else 1
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < least):
            raise RecipeError(f'{where}: {stage}.{key}: expected a '
                              f'{"non-negative" if least == 0 else "positive"} integer, got '
                              f'{value!r}')
    if section.get('epochs') == 0 and not section.get('weights'):
        raise RecipeError(f'{where}: teacher.epochs: 0 takes the pretrained start as the teacher '
                          'as it is, so teacher.weights must name it (a .pt)')
    train = section.get('train') or {}
    if not isinstance(train, dict):
        raise RecipeError(f'{where}: {stage}.train: expected a mapping of ultralytics train '
                          f'arguments, got {train!r}')
    _check_train_keys(train, f'{where}: {stage}.train')
    default_model = 'yolov8l' if stage == 'teacher' else 'yolov8s'
    model = section.get('model' if stage == 'teacher' else 'student', default_model)
    settings = StageSettings(
        model=str(model), data=section.get('data', recipe.get('data')),
        epochs=section.get('epochs', 100), imgsz=section.get('imgsz', 640),
        batch=section.get('batch', 16), seed=section.get('seed', recipe.get('seed', 0)),
        device=_device(section.get('device', recipe.get('device'))), train=dict(train),
        weights=_weights(section.get('weights'), f'{where}: {stage}.weights'),
        init_classes=_init_classes(section.get('init_classes'), f'{where}: {stage}.init_classes'))
    if stage == 'distill':
        from training.distill.config import KDConfig

        settings.teacher = section.get('teacher')
        try:
            settings.kd = KDConfig.from_dict(section.get('kd'), where=f'{stage}.kd').to_dict()
        except (TypeError, ValueError) as exc:
            raise RecipeError(f'{where}: {exc}') from exc
    return settings


def _weights(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, (str, Path)) or not str(value).endswith('.pt'):
        raise RecipeError(f'{where}: expected the path of a .pt checkpoint, got {value!r}')
    return str(value)


def _init_classes(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                              for k, v in value.items()):
        raise RecipeError(f'{where}: expected a mapping of our class to a class of the '
                          f'weights, e.g. {{rider: person}}; got {value!r}')
    return dict(value)


def _device(value: Any) -> str | None:
    return None if value is None else str(value)


def _check_train_keys(train: dict[str, Any], where: str) -> None:
    from ultralytics.utils import DEFAULT_CFG_KEYS

    reserved = sorted(set(train) & RESERVED_TRAIN_KEYS)
    if reserved:
        raise RecipeError(f'{where}: {reserved} are set by the stage itself (use the stage keys '
                          'or the command line instead)')
    unknown = sorted(set(train) - set(DEFAULT_CFG_KEYS))
    if unknown:
        raise RecipeError(f'{where}: {unknown} are not ultralytics train arguments')
