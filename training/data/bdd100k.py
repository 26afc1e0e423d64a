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

"""BDD100K detection JSON (``[{name, labels: [{category, box2d: {x1, y1, x2, y2}}]}]``)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Iterator

from .common import ImageBoxes, load_json

# 2018 release names and the 2020 (bdd100k-toolkit) names.
CATEGORY_MAP = {'person': 'person', 'pedestrian': 'person', 'rider': 'rider',
                'bike': 'bicycle', 'bicycle': 'bicycle', 'motor': 'motorcycle',
                'motorcycle': 'motorcycle', 'car': 'car'}
BDD_SIZE = (1280, 720)


def read_bdd100k(annotations: Path, images: Path, names: tuple[str, ...],
                 dropped: Counter) -> Iterator[ImageBoxes]:
    frames = load_json(annotations, 'a BDD100K detection JSON')
    if isinstance(frames, dict) and 'frames' in frames:
        frames = frames['frames']
    if not isinstance(frames, list):
        raise ValueError(f'{annotations}: expected a BDD100K detection JSON list of frames '
                         f'([{{name, labels: [...]}}]), got {type(frames).__name__}')
    for frame in frames:
        item = ImageBoxes(image=Path(images) / frame['name'], name=frame['name'],
                          width=int(frame.get('width', BDD_SIZE[0])),
                          height=int(frame.get('height', BDD_SIZE[1])))
        for label in frame.get('labels') or []:
            name = CATEGORY_MAP.get(label.get('category'))
            box = label.get('box2d')
            if name not in names or box is None:
                dropped[label.get('category')] += 1
                continue
            item.boxes.append((name, box['x1'], box['y1'], box['x2'], box['y2']))
        yield item
