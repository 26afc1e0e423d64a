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
Our classes and what "VRU" means, both from config/classes.yaml; public datasets' categories.

``class_names()`` is the student's class list in class-id order (the file's order);
``vru_names()`` are the classes the file marks ``vru: true`` (people outside a vehicle's
shell). Every VRU figure (replay's ``vru`` block, VRU misses and false alarms, ``vru-train data
--no-car``) uses ``vru_names()``, so the file is the one place to change it. The maps below
turn a public dataset's categories into our class names; :func:`map_class` then gives the id.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Sequence

from .errors import ClassConfigError, LabelFormatError

# Category names of the public datasets that differ from ours (BDD100K 2018 and 2020 names,
# COCO, KITTI, MOT); a name equal to one of ours needs no entry.
CATEGORY_ALIASES = {
    'pedestrian': 'person', 'bike': 'bicycle', 'motor': 'motorcycle', 'motorbike': 'motorcycle',
    'cyclist': 'rider',
}
# MOT16/17 gt.txt class column (9-column files): 1 pedestrian, 2 person on vehicle, 3 car,
# 4 bicycle, 5 motorbike, 7 static person; the rest (6 non-motorized vehicle, 8 distractor,
# 9 occluder, 10 occluder on ground, 11 occluder full, 12 reflection) are ignore regions.
MOT_CLASSES = {1: 'person', 2: 'rider', 3: 'car', 4: 'bicycle', 5: 'motorcycle', 7: 'person'}
# VisDrone2019-DET categories: 0 ignored region, 1 pedestrian, 2 people (persons not standing
# or walking, riders included), 3 bicycle, 4 car, 5 van, 6 truck, 7 tricycle, 8 awning-tricycle,
# 9 bus, 10 motor, 11 others. Unlisted ones are not our classes.
VISDRONE_CLASSES = {1: 'person', 2: 'person', 3: 'bicycle', 4: 'car', 10: 'motorcycle'}


@lru_cache(maxsize=8)
def _classes(path: str | None) -> tuple[tuple[str, bool], ...]:
    from .. import class_config

    path = path or class_config.default_class_config_path()
    if path is None:
        raise ClassConfigError(
            'config/classes.yaml was not found beside the package (share/vru_detector/config or '
            'the source tree); reinstall vru_detector, or pass the file explicitly')
    try:
        styles = class_config.load_class_config(path)
    except ValueError as exc:
        raise ClassConfigError(str(exc)) from None
    if not styles:
        raise ClassConfigError(f'{path}: lists no classes; expected classes: with one entry per '
                               'model class, in class-id order')
    return tuple((name, style.vru) for name, style in styles.items())


def class_names(path: str | None = None) -> tuple[str, ...]:
    """Return our classes in model class-id order: classes.yaml (or ``path``), file order."""
    return tuple(name for name, _ in _classes(None if path is None else str(path)))


def vru_names(path: str | None = None) -> tuple[str, ...]:
    """Return the vulnerable-road-user classes: those classes.yaml (or ``path``) marks vru."""
    return tuple(name for name, vru in _classes(None if path is None else str(path)) if vru)


def vru_ids(names: Sequence[str], path: str | None = None) -> list[int]:
    """Return the ids of the VRU classes among a model's ``names`` (by name; may be none)."""
    vru = set(vru_names(path))
    return [i for i, name in enumerate(names) if name in vru]


def map_class(name: Any, names: Sequence[str], where: str) -> int | None:
    """Return the model class id of a dataset category (aliases applied); None: not a class."""
    if not isinstance(name, str):
        raise LabelFormatError(f'{where}: category must be a string, got {name!r}')
    key = name.strip().lower()
    key = CATEGORY_ALIASES.get(key, key)
    lowered = [n.lower() for n in names]
    return lowered.index(key) if key in lowered else None


def source_class_map(source_names: Sequence[str], names: Sequence[str],
                     where: str) -> dict[int, int | None]:
    """Dataset class id -> model class id (None: not one of the model's), matched by name."""
    return {i: map_class(n, names, where) for i, n in enumerate(source_names)}
