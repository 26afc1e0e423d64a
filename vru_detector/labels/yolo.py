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
YOLO ``labels/<split>`` folders (normalised ``class cx cy w h``) read into pixel boxes.

The images beside the labels give each frame's size; the dataset's data.yaml gives its class
names, matched to the model's by name. An image without a label file has no boxes.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Mapping, Sequence

from .classes import source_class_map
from .data_yaml import default_image_dir, label_path
from .errors import LabelFormatError, LabelNotFoundError
from .truth import FrameTruth, GroundTruth, IMAGE_SUFFIXES, number_field, read_label_text


def image_size(path: Path) -> tuple[int, int]:
    """(height, width) of an image file, read from its header only."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            width, height = im.size
    except (OSError, UnidentifiedImageError) as exc:
        raise LabelFormatError(f'{path}: cannot read the image size ({exc})') from None
    return int(height), int(width)


def find_image(image_dir: Path, stem: str) -> Path | None:
    """Find the image ``stem.<any image suffix>`` in ``image_dir`` (None: there is none)."""
    for suffix in IMAGE_SUFFIXES + tuple(s.upper() for s in IMAGE_SUFFIXES):
        path = image_dir / f'{stem}{suffix}'
        if path.is_file():
            return path
    return None


def parse_yolo_lines(text: str, image_shape: tuple[int, int], n_classes: int | None, where: str,
                     class_map: Mapping[int, int | None] | None = None,
                     dropped: Counter | None = None) -> tuple[list, list]:
    """
    Boxes (pixels) and class ids of one YOLO label file's text ``class cx cy w h`` lines.

    ``class_map`` maps the dataset's class ids to the model's (None: not a model class; the
    line is skipped and its dataset class id counted in ``dropped``). Without a map, ids must
    be below ``n_classes`` (None: any id, the dataset's own).
    """
    height, width = image_shape
    boxes, classes = [], []
    for lineno, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        at = f'{where}:{lineno}'
        if len(fields) != 5:
            raise LabelFormatError(
                f'{at}: expected 5 fields "class cx cy w h" (normalised), found {len(fields)}: '
                f'{line[:80]!r}. Segment/pose labels are not supported.')
        cls_f = number_field(fields[0], at, 'class')
        if cls_f != int(cls_f) or cls_f < 0:
            raise LabelFormatError(f'{at}: class {fields[0]!r} must be a non-negative integer')
        cls = int(cls_f)
        if class_map is not None:
            if cls not in class_map:
                raise LabelFormatError(f'{at}: class {cls} is not in the dataset names')
            mapped = class_map[cls]
            if mapped is None:
                if dropped is not None:
                    dropped[cls] += 1
                continue
            cls = mapped
        elif n_classes is not None and cls >= n_classes:
            raise LabelFormatError(f'{at}: class {cls} >= number of model classes {n_classes}')
        cx, cy, w, h = (number_field(v, at, name)
                        for v, name in zip(fields[1:], 'cx cy w h'.split()))
        if w < 0 or h < 0 or not all(-0.01 <= v <= 1.01 for v in (cx, cy, w, h)):
            raise LabelFormatError(
                f'{at}: cx cy w h = {cx} {cy} {w} {h}; expected values normalised to [0, 1] '
                '(pixel coordinates are not YOLO format)')
        boxes.append([(cx - w / 2) * width, (cy - h / 2) * height,
                      (cx + w / 2) * width, (cy + h / 2) * height])
        classes.append(cls)
    return boxes, classes


def _dropped_names(dropped: Counter, source_names: Sequence[str] | None) -> Counter:
    """Dataset class ids counted by :func:`parse_yolo_lines` -> their names."""
    return Counter({(source_names[i] if source_names else f'class {i}'): n
                    for i, n in dropped.items()})


def read_yolo_labels(labels_dir: str | Path, names: Sequence[str],
                     image_dir: str | Path | None = None,
                     source_names: Sequence[str] | None = None) -> GroundTruth:
    """
    Read a YOLO ``labels/<split>`` folder (normalised ``class cx cy w h``) into pixels.

    One frame per label file. Image sizes come from the images beside (``images/<split>``, or
    ``image_dir``). ``source_names`` are the dataset's class names when they differ from the
    model's; classes the model does not have are dropped.
    """
    labels_dir = Path(labels_dir)
    if not labels_dir.is_dir():
        raise LabelNotFoundError(f'{labels_dir}: not a folder of YOLO .txt label files')
    image_dir = Path(image_dir) if image_dir else default_image_dir(labels_dir)
    class_map = None
    if source_names is not None:
        class_map = source_class_map(source_names, names, f'{labels_dir} names')
    frames, dropped = [], Counter()
    files = sorted(labels_dir.glob('*.txt'))
    if not files:
        raise LabelFormatError(f'{labels_dir}: no .txt label files found')
    for path in files:
        image = find_image(image_dir, path.stem)
        if image is None:
            raise LabelNotFoundError(
                f'{path}: no image {path.stem}.* in {image_dir}; YOLO boxes are normalised, so '
                'the image is needed for its size (pass image_dir / --images)')
        shape = image_size(image)
        text = read_label_text(path, 'a YOLO label file')
        boxes, classes = parse_yolo_lines(text, shape, len(names), str(path), class_map, dropped)
        frames.append(FrameTruth.from_lists(path.stem, boxes, classes, None, shape,
                                            image=image.name))
    return GroundTruth(tuple(names), frames, str(labels_dir),
                       _dropped_names(dropped, source_names))


def read_yolo_image(image: Path, names: Sequence[str],
                    source_names: Sequence[str] | None = None,
                    dropped: Counter | None = None) -> FrameTruth:
    """
    Ground truth of one image of a YOLO dataset: its label file, or no boxes when it has none.

    The label file is ``.../labels/<split>/x.txt`` for ``.../images/<split>/x.jpg``; classes
    map as in :func:`read_yolo_labels`, and the dropped ones are counted by name in ``dropped``.
    """
    image = Path(image)
    path = label_path(image)
    text = read_label_text(path, 'a YOLO label file') if path.is_file() else ''
    class_map = None
    if source_names is not None:
        class_map = source_class_map(source_names, names, f'{path.parent} names')
    skipped: Counter = Counter()
    shape = image_size(image)
    boxes, classes = parse_yolo_lines(text, shape, len(names), str(path), class_map, skipped)
    if dropped is not None:
        dropped.update(_dropped_names(skipped, source_names))
    return FrameTruth.from_lists(image.stem, boxes, classes, None, shape, image=image.name)
