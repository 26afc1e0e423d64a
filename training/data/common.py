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

"""What every converter shares: the class list, box clipping, writing a YOLO split safely."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
import os
from pathlib import Path
import shutil
from typing import Iterable, Sequence

from vru_detector.labels import class_names, vru_names
import yaml

from .readers import SourceImage


def class_list(with_car: bool = True) -> tuple[str, ...]:
    """Return the output classes: all of config/classes.yaml, or only its VRU classes."""
    return class_names() if with_car else vru_names()


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


def write_split(out: Path, split: str, items: Iterable[SourceImage], names: Sequence[str],
                copy: bool = False, keep_empty: bool = True,
                dropped: Counter | None = None) -> SplitReport:
    """Write ``images/<split>`` and ``labels/<split>`` under ``out``; returns the counts."""
    report = SplitReport(dropped=dropped if dropped is not None else Counter())
    for item in items:
        image_dest = inside(out, Path('images') / split / item.name)
        label_dest = inside(out, (Path('labels') / split / item.name).with_suffix('.txt'))
        height, width = item.truth.image_shape
        kept = ~item.truth.ignore
        lines = []
        for cls, box in zip(item.truth.class_ids[kept].tolist(), item.truth.xyxy[kept].tolist()):
            line = to_yolo_line(cls, box, width, height)
            if line is not None:
                lines.append(line)
                report.boxes[names[cls]] += 1
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
