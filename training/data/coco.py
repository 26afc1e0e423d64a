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

"""COCO instances JSON: person, bicycle, motorcycle, car (crowd boxes dropped, as ultralytics)."""
from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Iterator

from .common import ImageBoxes, load_json

CATEGORY_MAP = {'person': 'person', 'bicycle': 'bicycle', 'motorcycle': 'motorcycle',
                'car': 'car'}


def read_coco(annotations: Path, images: Path, names: tuple[str, ...],
              dropped: Counter) -> Iterator[ImageBoxes]:
    coco = load_json(annotations, 'a COCO instances JSON')
    if not isinstance(coco, dict):
        raise ValueError(f'{annotations}: not a COCO instances file (a JSON object with images, '
                         'annotations and categories)')
    missing = {'images', 'annotations', 'categories'} - set(coco)
    if missing:
        raise ValueError(f'{annotations}: not a COCO instances file (missing {sorted(missing)})')
    categories = {c['id']: c['name'] for c in coco['categories']}
    per_image = defaultdict(list)
    for ann in coco['annotations']:
        per_image[ann['image_id']].append(ann)
    for img in coco['images']:
        item = ImageBoxes(image=Path(images) / img['file_name'], name=img['file_name'],
                          width=int(img['width']), height=int(img['height']))
        for ann in per_image[img['id']]:
            category = categories.get(ann['category_id'])
            name = CATEGORY_MAP.get(category)
            if name not in names or ann.get('iscrowd', 0):
                dropped['crowd' if ann.get('iscrowd', 0) else category] += 1
                continue
            x, y, w, h = ann['bbox']
            item.boxes.append((name, x, y, x + w, y + h))
        yield item
