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
MOTChallenge ``gt.txt`` read into per-frame boxes, with seqinfo.ini for size and length.

Keys are 1-based frame numbers as strings; flag-0 boxes and distractor classes become
ignore regions; the MOT ``id`` column is kept as each box's object id (tracking evaluation).
"""
from __future__ import annotations

from collections import Counter
import configparser
from pathlib import Path
from typing import Sequence

from .classes import map_class, MOT_CLASSES
from .errors import LabelFormatError
from .truth import FrameTruth, GroundTruth, number_field, read_label_text


def read_seqinfo(path: Path) -> dict[str, str]:
    """Read a MOTChallenge seqinfo.ini as a dict (frameRate, seqLength, imWidth, imHeight)."""
    parser = configparser.ConfigParser()
    try:
        parser.read_string(path.read_text())
        return dict(parser['Sequence'])
    except (OSError, UnicodeDecodeError, configparser.Error, KeyError) as exc:
        raise LabelFormatError(f'{path}: not a MOT seqinfo.ini ([Sequence] section): {exc}')


def find_seqinfo(gt_path: Path) -> Path | None:
    """``<name>.seqinfo.ini`` beside ``<name>.gt.txt``, or MOT's ``<seq>/seqinfo.ini``."""
    stem = gt_path.name.split('.')[0]
    for cand in (gt_path.with_name(f'{stem}.seqinfo.ini'), gt_path.parent / 'seqinfo.ini',
                 gt_path.parent.parent / 'seqinfo.ini'):
        if cand.is_file():
            return cand
    return None


def read_mot_gt(path: str | Path, names: Sequence[str], num_frames: int | None = None,
                image_shape: tuple[int, int] | None = None) -> GroundTruth:
    """
    Read a MOTChallenge ``gt.txt``: ``frame,id,left,top,width,height,flag[,...]``.

    Keys are the 1-based frame numbers as strings. ``flag`` 0 boxes are ignore regions. 9-column
    files (MOT16/17) carry a class (pedestrian, car, ...; distractors become ignore regions);
    others are all pedestrians. Boxes are clipped to the image when its size is known (argument,
    or the seqinfo.ini beside); frames without boxes up to ``num_frames`` (or seqLength) exist
    with no boxes.
    """
    path = Path(path)
    text = read_label_text(path, 'a MOTChallenge gt.txt')
    seqinfo = find_seqinfo(path)
    if seqinfo is not None:
        info = read_seqinfo(seqinfo)
        if image_shape is None and 'imheight' in info and 'imwidth' in info:
            image_shape = (int(number_field(info['imheight'], str(seqinfo), 'imHeight')),
                           int(number_field(info['imwidth'], str(seqinfo), 'imWidth')))
        if num_frames is None and 'seqlength' in info:
            num_frames = int(number_field(info['seqlength'], str(seqinfo), 'seqLength'))
    person = map_class('person', names, str(path))
    per_frame: dict[int, tuple[list, list, list]] = {}
    dropped: Counter = Counter()
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        at = f'{path}:{lineno}'
        fields = [f.strip() for f in line.replace(' ', ',').split(',') if f.strip()]
        if len(fields) < 6:
            raise LabelFormatError(f'{at}: expected "frame,id,left,top,width,height,flag,..." '
                                   f'(>= 6 comma-separated values), found {line[:80]!r}')
        values = [number_field(v, at, 'field') for v in fields]
        number = values[0]
        if number != int(number) or number < 1:
            raise LabelFormatError(f'{at}: frame {fields[0]!r} must be an integer >= 1')
        x, y, w, h = values[2:6]
        if w < 0 or h < 0:
            raise LabelFormatError(f'{at}: negative width/height {w}, {h}')
        flag = values[6] if len(values) > 6 else 1
        cls: int | None = person
        mapped: str | None = 'person'
        ignore = flag == 0
        if len(values) == 9:  # MOT16/17: class column
            mot_class = int(values[7])
            mapped = MOT_CLASSES.get(mot_class)
            cls = map_class(mapped, names, at) if mapped else person
            ignore = ignore or mapped is None
        if cls is None:
            if not ignore:
                dropped[str(mapped)] += 1
                continue
            cls = person if person is not None else 0
        boxes, classes, ign, ids = per_frame.setdefault(int(number), ([], [], [], []))
        boxes.append([x, y, x + w, y + h])
        classes.append(cls)
        ign.append(ignore)
        ids.append(int(values[1]))  # the identity tracking evaluation follows
    if person is None and any(not all(v[2]) for v in per_frame.values()):
        raise LabelFormatError(f'{path}: MOT boxes are pedestrians but the model has no '
                               f'"person" class (its classes: {list(names)})')
    last = max([*per_frame, num_frames or 0])
    frames = []
    for index in range(1, last + 1):
        boxes, classes, ign, ids = per_frame.get(index, ([], [], [], []))
        frame = FrameTruth.from_lists(str(index), boxes, classes, ign, object_ids=ids)
        frames.append(frame.clipped(*image_shape) if image_shape else frame)
    return GroundTruth(tuple(names), frames, str(path), dropped)
