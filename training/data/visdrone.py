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
VisDrone2019-DET txt: one ``x,y,w,h,score,category,truncation,occlusion`` line per box.

Categories: 0 ignored region, 1 pedestrian, 2 people (persons not standing/walking, riders
included), 3 bicycle, 4 car, 5 van, 6 truck, 7 tricycle, 8 awning-tricycle, 9 bus, 10 motor,
11 others. ``score`` 0 marks a box the benchmark ignores; those are dropped too.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Iterator


from .common import ImageBoxes

CATEGORY_MAP = {1: 'person', 2: 'person', 3: 'bicycle', 4: 'car', 10: 'motorcycle'}
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png')


def read_visdrone(annotations: Path, images: Path, names: tuple[str, ...],
                  dropped: Counter) -> Iterator[ImageBoxes]:
    annotations, images = Path(annotations), Path(images)
    if not annotations.is_dir():
        raise ValueError(f'{annotations}: expected the VisDrone annotations folder (one .txt per '
                         'image)')
    from PIL import Image  # pillow comes with ultralytics; only VisDrone needs image sizes

    for txt in sorted(annotations.glob('*.txt')):
        image = next((images / (txt.stem + s) for s in IMAGE_SUFFIXES
                      if (images / (txt.stem + s)).is_file()), None)
        if image is None:
            raise FileNotFoundError(f'{txt}: no image {txt.stem}.jpg/.png in {images}')
        with Image.open(image) as im:
            width, height = im.size
        item = ImageBoxes(image=image, name=image.name, width=width, height=height)
        for n, line in enumerate(txt.read_text().splitlines(), 1):
            fields = [f for f in line.replace(' ', '').split(',') if f != '']
            if not fields:
                continue
            if len(fields) < 6:
                raise ValueError(f'{txt}:{n}: expected x,y,w,h,score,category,truncation,'
                                 f'occlusion; found {line!r}')
            x, y, w, h = (float(v) for v in fields[:4])
            score, category = int(fields[4]), int(fields[5])
            name = CATEGORY_MAP.get(category)
            if score == 0 or name not in names:
                dropped[f'category {category}' if score else 'ignored (score 0)'] += 1
                continue
            item.boxes.append((name, x, y, x + w, y + h))
        yield item
