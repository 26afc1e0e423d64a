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
VisDrone2019-DET txt read into pixel boxes, one file per image.

Each line is ``x,y,w,h,score,category,truncation,occlusion`` (pixels).
Categories map through ``classes.VISDRONE_CLASSES``; others are dropped and counted as
``category N``. ``score`` 0 marks a box the benchmark ignores (category 0 regions included):
it becomes an ignore region.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Sequence

from .classes import map_class, VISDRONE_CLASSES
from .errors import LabelFormatError, LabelNotFoundError
from .truth import FrameTruth, GroundTruth, number_field, read_label_text
from .yolo import find_image, image_size


def read_visdrone(annotations: str | Path, images: str | Path,
                  names: Sequence[str]) -> GroundTruth:
    """Read a VisDrone annotations folder; image sizes come from the images folder."""
    annotations, images = Path(annotations), Path(images)
    if not annotations.is_dir():
        raise LabelNotFoundError(f'{annotations}: expected the VisDrone annotations folder (one '
                                 '.txt per image)')
    person = map_class('person', names, str(annotations))
    frames, dropped = [], Counter()
    for txt in sorted(annotations.glob('*.txt')):
        image = find_image(images, txt.stem)
        if image is None:
            raise LabelNotFoundError(f'{txt}: no image {txt.stem}.* in {images}')
        boxes, classes, ignore = [], [], []
        for n, line in enumerate(read_label_text(txt, 'a VisDrone label file').splitlines(), 1):
            fields = [f for f in line.replace(' ', '').split(',') if f != '']
            if not fields:
                continue
            at = f'{txt}:{n}'
            if len(fields) < 6:
                raise LabelFormatError(f'{at}: expected x,y,w,h,score,category,truncation,'
                                       f'occlusion; found {line[:80]!r}')
            x, y, w, h, score, category = (number_field(v, at, what) for v, what in zip(
                fields, ('x', 'y', 'w', 'h', 'score', 'category')))
            if w < 0 or h < 0:
                raise LabelFormatError(f'{at}: negative width/height {w}, {h}')
            name = VISDRONE_CLASSES.get(int(category))
            cls = map_class(name, names, at) if name else None
            if score != 0 and cls is None:
                dropped[f'category {int(category)}'] += 1
                continue
            boxes.append([x, y, x + w, y + h])
            classes.append(cls if cls is not None else (person or 0))
            ignore.append(score == 0)
        frames.append(FrameTruth.from_lists(txt.stem, boxes, classes, ignore,
                                            image_size(image), image=image.name))
    return GroundTruth(tuple(names), frames, str(annotations), dropped)
