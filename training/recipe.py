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
Training recipes: one YAML file, one section per stage, each section a stage's settings.

Top level (every key optional; ``yaml.safe_load`` only)::

    name: vru-bdd100k          # run name (folder under ``project``)
    project: runs/vru          # where stages run by themselves write
    data: data/vru/data.yaml   # YOLO data.yaml (or a list of them) every stage trains on
    seed: 0                    # the teacher's and distill's seed unless they set their own
    device: cpu                # ultralytics device string: cpu, 0, 0,1 (DDP), ...
    teacher: {...}  distill: {...}  prune: {...}  export: {...}  calibrate: {...}
    evaluate: {...}  pipeline: {stages: [...]}

A section's keys are the fields of its stage's settings class (``training/stages/STAGE.py``,
``SETTINGS``), the same names as the ``vru-train STAGE`` flags; docs/training-map.md lists
them. A section takes some values it does not set from elsewhere (:data:`INHERIT`): data, seed
and device from the top level; prune its seed, device, imgsz, batch and train arguments from
distill; export its imgsz from distill. Unknown keys are errors that list the valid ones; a
renamed key's error names the new one.
"""
from __future__ import annotations

from dataclasses import dataclass
import importlib
from pathlib import Path
from typing import Any

import yaml

from .settings import option, RecipeError, Settings

__all__ = ['load_recipe', 'RecipeError', 'stage_settings', 'validate_recipe']

SECTIONS = ('teacher', 'distill', 'prune', 'export', 'calibrate', 'evaluate', 'pipeline')
TOP_KEYS = {'name', 'project', 'data', 'seed', 'device', *SECTIONS}
# Values a section takes when it does not set them: (from, keys); from None is the top level.
INHERIT: dict[str, tuple[tuple[str | None, tuple[str, ...]], ...]] = {
    'teacher': ((None, ('data', 'seed', 'device')),),
    'distill': ((None, ('data', 'seed', 'device')),),
    'prune': (('distill', ('seed', 'device', 'imgsz', 'batch', 'train')),),
    'export': (('distill', ('imgsz',)),),
    'calibrate': (),
    'evaluate': (),
    'pipeline': (),
}
PIPELINE_STAGES = ('teacher', 'student', 'distill', 'prune', 'export', 'calibrate', 'evaluate')


@dataclass
class PipelineSettings(Settings):
    """Which stages ``vru-train pipeline`` runs (in pipeline order whatever the list's)."""

    stages: list[str] = option(list(PIPELINE_STAGES), 'stages to run',
                               choices=PIPELINE_STAGES)

    STAGE = 'pipeline'


def settings_class(stage: str) -> type[Settings]:
    """Return the settings class of a recipe section (imports no framework)."""
    if stage == 'pipeline':
        return PipelineSettings
    return importlib.import_module(f'training.stages.{stage}').SETTINGS


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
    """Check the top-level keys and every section against its stage's settings."""
    if not isinstance(recipe, dict):
        raise RecipeError(f'{where}: expected a mapping at the top level, got '
                          f'{type(recipe).__name__}')
    unknown = sorted(set(recipe) - TOP_KEYS)
    if unknown:
        raise RecipeError(f'{where}: unknown top-level key(s) {unknown}; expected some of '
                          f'{sorted(TOP_KEYS)}')
    for stage in SECTIONS:
        if recipe.get(stage) is not None:
            stage_settings(recipe, stage, where=where, data_list_ok=True)


def stage_settings(recipe: dict[str, Any] | None, stage: str, where: str = 'recipe',
                   data_list_ok: bool = False, **given: Any) -> Any:
    """
    Return the validated settings of ``stage``: its section over what it inherits.

    ``given``: values the caller sets (the pipeline's staged data.yaml, a trained teacher),
    over the section's own. A recipe naming several datasets trains a stage on all of them
    only inside the pipeline (which merges them); ``data_list_ok`` leaves data unset then.
    """
    recipe = recipe or {}
    section = recipe.get(stage) or {}
    cls = settings_class(stage)
    if not isinstance(section, dict):
        raise RecipeError(f'{where}: {stage}: expected a mapping, got {section!r}')
    cls.refuse_unknown(section, f'{where}: {stage}')
    values = _inherited(recipe, stage, cls)
    _merge(values, section)  # a mapping (train) adds to the inherited one
    if isinstance(values.get('data'), (list, tuple)):
        if not data_list_ok and 'data' not in given:
            raise RecipeError(
                f'vru-train {stage}: error: the recipe lists {len(values["data"])} datasets; one '
                'stage trains on one data.yaml: pass --data DATA.yaml, merge them with '
                '`vru-train data yolo`, or run the stage from the recipe with `vru-train '
                f'pipeline RECIPE --stages {stage}`')
        values.pop('data')
    _merge(values, given)
    try:
        return cls(**values)
    except RecipeError as exc:
        raise RecipeError(f'{where}: {exc}') from None


def _merge(values: dict[str, Any], over: dict[str, Any]) -> None:
    """Set ``over``'s values; a mapping over a mapping adds its keys (train, kd)."""
    for key, value in over.items():
        below = values.get(key)
        both = isinstance(below, dict) and isinstance(value, dict)
        values[key] = {**below, **value} if both else value


def _inherited(recipe: dict[str, Any], stage: str, cls: type[Settings]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    keys = cls.keys()
    for source, names in INHERIT[stage]:
        if source is None:
            values.update({k: recipe[k] for k in names if k in keys and recipe.get(k) is not None})
            continue
        upstream = stage_settings(recipe, source, data_list_ok=True)
        values.update({k: getattr(upstream, k) for k in names})
    return values
