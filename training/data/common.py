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

"""What every converter shares: the VRU class list, box clipping, writing a YOLO split safely."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import shutil
from typing import Iterable, Sequence

import yaml

VRU_CLASSES = ('person', 'rider', 'bicycle', 'motorcycle', 'car')


def load_json(path: Path, what: str) -> object:
    """Parse an annotation file; a damaged one is a ValueError naming the file and the spot."""
    try:
        return json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f'{path}: not valid JSON ({exc}); expected {what}') from None


def class_list(with_car: bool = True) -> tuple[str, ...]:
    return VRU_CLASSES if with_car else VRU_CLASSES[:-1]


@dataclass
class ImageBoxes:
    """One source image and its kept boxes: (class name, x1, y1, x2, y2) in pixels."""

    image: Path
    name: str  # file name below images/<split>/ (may contain sub-folders)
    width: int
    height: int
    boxes: list[tuple[str, float, float, float, float]] = field(default_factory=list)


@dataclass
class SplitReport:
    images: int = 0
    images_with_boxes: int = 0
    boxes: Counter = field(default_factory=Counter)
    dropped: Counter = field(default_factory=Counter)  # source categories not kept


@dataclass
class ConvertReport:
    out: Path
    names: tuple[str, ...]
    splits: dict[str, SplitReport] = field(default_factory=dict)

    def table(self) -> str:
        head = ['split', 'images', 'with boxes', *self.names]
        rows = [[s, str(r.images), str(r.images_with_boxes),
                 *(str(r.boxes.get(n, 0)) for n in self.names)] for s, r in self.splits.items()]
        widths = [max(len(x) for x in col) for col in zip(head, *rows)]
        line = '  '.join
        return '\n'.join(line(c.rjust(w) for c, w in zip(r, widths)) for r in [head, *rows])


def inside(root: Path, relative: str | Path) -> Path:
    """Return ``root / relative``, refusing anything that would land outside ``root``."""
    root = root.resolve()
    target = (root / relative).resolve()
    if target != root and root not in target.parents:
        raise ValueError(f'{relative!s}: resolves to {target}, outside the output folder {root}; '
                         'refusing to write there (check the image names in the annotations)')
    return target


def to_yolo_line(cls: int, box: Sequence[float], width: int, height: int) -> str | None:
    """Format a ``cls cx cy w h`` line, box clipped to the image; None when nothing is left."""
    x1, y1, x2, y2 = (min(max(v, 0.0), lim) for v, lim in zip(box, (width, height) * 2))
    if x2 - x1 < 1 or y2 - y1 < 1:
        return None
    cx, cy = (x1 + x2) / 2 / width, (y1 + y2) / 2 / height
    return f'{cls} {cx:.6f} {cy:.6f} {(x2 - x1) / width:.6f} {(y2 - y1) / height:.6f}'


def place_image(src: Path, dest: Path, copy: bool) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists() or dest.is_symlink():
        dest.unlink()
    if copy:
        shutil.copy2(src, dest)
        return
    try:
        os.link(src, dest)  # hard link: survives moving the dataset, costs no space
    except OSError:
        dest.symlink_to(src.resolve())


def write_split(out: Path, split: str, items: Iterable[ImageBoxes], names: Sequence[str],
                copy: bool = False, keep_empty: bool = True,
                dropped: Counter | None = None) -> SplitReport:
    """Write ``images/<split>`` and ``labels/<split>`` under ``out``; returns the counts."""
    index = {n: i for i, n in enumerate(names)}
    report = SplitReport(dropped=dropped if dropped is not None else Counter())
    for item in items:
        image_dest = inside(out, Path('images') / split / item.name)
        label_dest = inside(out, (Path('labels') / split / item.name).with_suffix('.txt'))
        if not item.image.is_file():
            raise FileNotFoundError(f'{item.image}: image named in the annotations not found')
        lines = []
        for name, *box in item.boxes:
            line = to_yolo_line(index[name], box, item.width, item.height)
            if line is not None:
                lines.append(line)
                report.boxes[name] += 1
        if not lines and not keep_empty:
            continue
        place_image(item.image, image_dest, copy)
        label_dest.parent.mkdir(parents=True, exist_ok=True)
        label_dest.write_text('\n'.join(lines) + ('\n' if lines else ''))
        report.images += 1
        report.images_with_boxes += bool(lines)
    return report


def write_data_yaml(out: Path, splits: Sequence[str], names: Sequence[str]) -> Path:
    """``data.yaml`` without ``path:``: ultralytics then uses the yaml's folder as the root."""
    cfg = {split: f'images/{split}' for split in splits}
    cfg['names'] = dict(enumerate(names))
    path = inside(out, 'data.yaml')
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path
