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
BDD100K detection JSON read into pixel boxes: ``[{name, labels: [{category, box2d}]}]``.

Categories map by name with the 2018 and 2020 aliases (bike -> bicycle, motor -> motorcycle,
pedestrian -> person); others, and labels without a box (lanes, drivable area), are dropped
and counted. The official files carry no image size: ``image_shape`` is then None.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Sequence

from .classes import map_class
from .errors import LabelFormatError
from .truth import check_box, FrameTruth, GroundTruth, image_key, load_json, number_field


def read_bdd_json(path: str | Path, names: Sequence[str]) -> GroundTruth:
    """Read a BDD100K detection JSON (or its Scalabel ``{"frames": [...]}`` wrapper)."""
    path = Path(path)
    data = load_json(path, 'a BDD100K detection JSON')
    if isinstance(data, dict) and isinstance(data.get('frames'), list):
        data = data['frames']
    if not isinstance(data, list):
        raise LabelFormatError(f'{path}: expected a BDD100K detection JSON, a list of frames '
                               f'[{{name, labels: [...]}}]; got {type(data).__name__}')
    frames, dropped = [], Counter()
    for i, item in enumerate(data):
        where = f'{path}: [{i}]'
        if not isinstance(item, dict) or 'name' not in item:
            raise LabelFormatError(f'{where}: expected an object with "name", got {item!r}'[:200])
        key = image_key(item['name'], where)
        shape = None
        if 'height' in item and 'width' in item:
            shape = (int(number_field(item['height'], where, 'height')),
                     int(number_field(item['width'], where, 'width')))
        labels = item.get('labels') or []
        if not isinstance(labels, list):
            raise LabelFormatError(f'{where}: labels must be a list')
        boxes, classes = [], []
        for j, lab in enumerate(labels):
            at = f'{where}.labels[{j}]'
            if not isinstance(lab, dict):
                raise LabelFormatError(f'{at}: expected an object, got {lab!r}'[:200])
            box = lab.get('box2d')  # None: a lane / drivable-area polygon
            cls = None if box is None else map_class(lab.get('category'), names, at)
            if cls is None:
                dropped[str(lab.get('category'))] += 1
                continue
            if not isinstance(box, dict):
                raise LabelFormatError(f'{at}: box2d must be {{x1, y1, x2, y2}}, got {box!r}')
            try:
                coords = [number_field(box[k], at, k) for k in ('x1', 'y1', 'x2', 'y2')]
            except KeyError as exc:
                raise LabelFormatError(f'{at}: box2d lacks {exc}') from None
            boxes.append(check_box(coords[0], coords[1], coords[2], coords[3], at))
            classes.append(cls)
        frames.append(FrameTruth.from_lists(key, boxes, classes, None, shape,
                                            image=item['name']))
    return GroundTruth(tuple(names), frames, str(path), dropped)
