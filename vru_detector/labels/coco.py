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
COCO ``instances_*.json`` read into pixel boxes (``bbox`` [x, y, w, h]).

Categories are matched to the model's classes by name (aliases of ``classes``); others are
dropped and counted. ``iscrowd`` boxes are kept as ignore regions (COCO's own semantics).
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Sequence

from .classes import map_class
from .errors import LabelFormatError
from .truth import check_box, FrameTruth, GroundTruth, image_key, load_json, number_field


def read_coco_json(path: str | Path, names: Sequence[str]) -> GroundTruth:
    """Read a COCO ``instances_*.json``; ``iscrowd`` boxes become ignore regions."""
    path = Path(path)
    data = load_json(path, 'a COCO instances JSON')
    if not isinstance(data, dict) or not isinstance(data.get('images'), list) or \
            not isinstance(data.get('annotations'), list) or \
            not isinstance(data.get('categories'), list):
        raise LabelFormatError(f'{path}: not a COCO instances file; expected a JSON object with '
                               'images, annotations and categories lists')
    cat_map: dict[Any, int | None] = {}
    cat_name: dict[Any, str] = {}
    for i, cat in enumerate(data['categories']):
        if not isinstance(cat, dict) or 'id' not in cat:
            raise LabelFormatError(f'{path}: categories[{i}] needs id and name, got {cat!r}'[:200])
        try:
            cat_map[cat['id']] = map_class(cat.get('name'), names, f'{path}: categories[{i}]')
        except TypeError:
            raise LabelFormatError(f'{path}: categories[{i}]: id {cat["id"]!r} is not a valid '
                                   'key (a number or a string)') from None
        cat_name[cat['id']] = cat['name']
    images: dict[Any, tuple[str, tuple[int, int] | None, str]] = {}
    dropped: Counter = Counter()
    for i, img in enumerate(data['images']):
        where = f'{path}: images[{i}]'
        if not isinstance(img, dict) or 'id' not in img or 'file_name' not in img:
            raise LabelFormatError(f'{where}: needs id and file_name, got {img!r}'[:200])
        shape = None
        if 'height' in img and 'width' in img:
            shape = (int(number_field(img['height'], where, 'height')),
                     int(number_field(img['width'], where, 'width')))
        try:
            images[img['id']] = (image_key(img['file_name'], where), shape, img['file_name'])
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
            dropped[cat_name[cat_id]] += 1
            continue
        if not isinstance(bbox, list) or len(bbox) != 4:
            raise LabelFormatError(f'{where}: bbox must be [x, y, w, h], got {bbox!r}'[:200])
        x, y, w, h = (number_field(v, where, 'bbox value') for v in bbox)
        boxes, classes, ignore = per_image[image_id]
        boxes.append(check_box(x, y, x + w, y + h, where))
        classes.append(cat_map[cat_id])
        ignore.append(bool(ann.get('iscrowd', 0)))
    frames = [FrameTruth.from_lists(images[k][0], *per_image[k], image_shape=images[k][1],
                                    image=images[k][2]) for k in images]
    return GroundTruth(tuple(names), frames, str(path), dropped)
