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
An existing YOLO dataset (its data.yaml) as a source: how several datasets become one.

Classes are matched by name onto the VRU list (others are dropped and counted); each image is
named ``<dataset folder>/<its name>`` so that two datasets' ``000001.jpg`` never collide.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Iterator

from vru_detector.sources import IMAGE_SUFFIXES
import yaml

from .common import ImageBoxes
from ..datasets import dataset_split_dir, label_path


def _config(data_yaml: Path, split: str) -> dict:
    cfg = yaml.safe_load(Path(data_yaml).read_text()) or {}
    if not isinstance(cfg, dict) or 'names' not in cfg:
        raise ValueError(f'{data_yaml}: not a YOLO data.yaml (no names: key)')
    if not isinstance(cfg.get(split), str):
        raise ValueError(f'{data_yaml}: has no single {split}: folder (found {cfg.get(split)!r})')
    return cfg


def read_yolo(data_yaml: Path, split: str, names: tuple[str, ...],
              dropped: Counter) -> Iterator[ImageBoxes]:
    """Yield every image of ``split`` with its boxes in pixels, classes mapped by name."""
    from PIL import Image

    cfg = _config(data_yaml, split)
    images = dataset_split_dir(data_yaml, split)
    source_names = (dict(enumerate(cfg['names'])) if isinstance(cfg['names'], list)
                    else {int(k): v for k, v in cfg['names'].items()})
    prefix = Path(data_yaml).resolve().parent.name
    for image in sorted(p for p in images.rglob('*') if p.suffix.lower() in IMAGE_SUFFIXES):
        relative = image.relative_to(images)
        with Image.open(image) as im:
            width, height = im.size
        item = ImageBoxes(image=image, name=f'{prefix}/{relative.as_posix()}', width=width,
                          height=height)
        label = label_path(image)
        text = label.read_text() if label.is_file() else ''
        for number, line in enumerate(text.splitlines(), 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 5:
                raise ValueError(f'{label}:{number}: expected "class cx cy w h", got {line!r}')
            cls, (cx, cy, w, h) = int(fields[0]), map(float, fields[1:])
            name = source_names.get(cls)
            if name not in names:
                dropped[name if name is not None else f'class {cls}'] += 1
                continue
            item.boxes.append((name, (cx - w / 2) * width, (cy - h / 2) * height,
                               (cx + w / 2) * width, (cy + h / 2) * height))
        yield item
