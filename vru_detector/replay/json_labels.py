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
COCO ``instances_*.json`` and BDD100K detection JSON read into pixel boxes.

Categories are matched to the model's classes by name (BDD100K's aliases applied); others
are dropped.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from .errors import LabelFormatError
from .truth import (check_box, FrameTruth, GroundTruth, image_key, load_json, map_class,
                    number_field)


def read_coco_json(path: str | Path, names: Sequence[str]) -> GroundTruth:
    """
    COCO ``instances_*.json``: ``bbox`` [x, y, w, h] pixels; ``iscrowd`` boxes are ignored.

    Categories are matched to the model's classes by name; others are dropped.
    """
    path = Path(path)
    data = load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get('images'), list) or \
            not isinstance(data.get('annotations'), list) or \
            not isinstance(data.get('categories'), list):
        raise LabelFormatError(f'{path}: expected a COCO object with images, annotations and '
                               'categories lists')
    cat_map: dict[Any, int | None] = {}
    for i, cat in enumerate(data['categories']):
        if not isinstance(cat, dict) or 'id' not in cat:
            raise LabelFormatError(f'{path}: categories[{i}] needs id and name, got {cat!r}'[:200])
        cat_map[cat['id']] = map_class(cat.get('name'), names, f'{path}: categories[{i}]')
    images: dict[Any, tuple[str, tuple[int, int] | None]] = {}
    for i, img in enumerate(data['images']):
        where = f'{path}: images[{i}]'
        if not isinstance(img, dict) or 'id' not in img or 'file_name' not in img:
            raise LabelFormatError(f'{where}: needs id and file_name, got {img!r}'[:200])
        shape = None
        if 'height' in img and 'width' in img:
            shape = (int(number_field(img['height'], where, 'height')),
                     int(number_field(img['width'], where, 'width')))
        try:
            images[img['id']] = (image_key(img['file_name'], where), shape)
        except TypeError:
            raise LabelFormatError(f'{where}: id {img["id"]!r} is not a valid key') from None
    per_image: dict[Any, tuple[list, list, list]] = {k: ([], [], []) for k in images}
    for i, ann in enumerate(data['annotations']):
        where = f'{path}: annotations[{i}]'
        if not isinstance(ann, dict):
            raise LabelFormatError(f'{where}: expected an object, got {ann!r}'[:200])
        try:
            image_id, cat_id = ann['image_id'], ann['category_id']
            bbox = ann['bbox']
        except KeyError as exc:
            raise LabelFormatError(f'{where}: missing {exc}') from None
        try:
            known_image, known_cat = image_id in per_image, cat_id in cat_map
        except TypeError:
            raise LabelFormatError(f'{where}: image_id/category_id must be scalars') from None
        if not known_image:
            raise LabelFormatError(f'{where}: image_id {image_id!r} is not in images')
        if not known_cat:
            raise LabelFormatError(f'{where}: category_id {cat_id!r} is not in categories')
        if cat_map[cat_id] is None:
            continue
        if not isinstance(bbox, list) or len(bbox) != 4:
            raise LabelFormatError(f'{where}: bbox must be [x, y, w, h], got {bbox!r}'[:200])
        x, y, w, h = (number_field(v, where, 'bbox value') for v in bbox)
        boxes, classes, ignore = per_image[image_id]
        boxes.append(check_box(x, y, x + w, y + h, where))
        classes.append(cat_map[cat_id])
        ignore.append(bool(ann.get('iscrowd', 0)))
    frames = [FrameTruth.from_lists(images[k][0], *per_image[k], image_shape=images[k][1])
              for k in images]
    return GroundTruth(tuple(names), frames, str(path))


def read_bdd_json(path: str | Path, names: Sequence[str]) -> GroundTruth:
    """
    BDD100K detection JSON: ``[{name, labels: [{category, box2d: {x1,y1,x2,y2}}]}]``.

    Also accepts the Scalabel ``{"frames": [...]}`` wrapper. Categories map by name
    (bike -> bicycle, motor -> motorcycle, pedestrian -> person); others are dropped.
    """
    path = Path(path)
    data = load_json(path)
    if isinstance(data, dict) and isinstance(data.get('frames'), list):
        data = data['frames']
    if not isinstance(data, list):
        raise LabelFormatError(f'{path}: expected a BDD100K list of frames [{{name, labels}}]')
    frames = []
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
            box = lab.get('box2d')
            if box is None:
                continue  # lanes / drivable-area polygons carry no box
            cls = map_class(lab.get('category'), names, at)
            if cls is None:
                continue
            if not isinstance(box, dict):
                raise LabelFormatError(f'{at}: box2d must be {{x1, y1, x2, y2}}, got {box!r}')
            try:
                coords = [number_field(box[k], at, k) for k in ('x1', 'y1', 'x2', 'y2')]
            except KeyError as exc:
                raise LabelFormatError(f'{at}: box2d lacks {exc}') from None
            boxes.append(check_box(coords[0], coords[1], coords[2], coords[3], at))
            classes.append(cls)
        frames.append(FrameTruth.from_lists(key, boxes, classes, None, shape))
    return GroundTruth(tuple(names), frames, str(path))
