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
The one shape every ground-truth reader returns, and the checks the readers share.

:class:`GroundTruth` holds frames of :class:`FrameTruth`: xyxy boxes in original-image pixels
and class ids in the *model's* class list. Malformed input raises :class:`LabelFormatError`
naming the file, the line/entry and what was expected. Image paths named in label files are
checked not to escape the dataset folder.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
import json
import math
from pathlib import Path, PurePosixPath, PureWindowsPath
import re
from typing import Any, Sequence

import numpy as np

from .errors import LabelFormatError, LabelNotFoundError

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')


@dataclass(frozen=True)
class FrameTruth:
    """
    Ground truth of one image / video frame.

    key: image file stem (image datasets) or 1-based frame number as a string (MOT).
    xyxy: float32 [N, 4] boxes in pixels of the original image.
    class_ids: int64 [N] indices into the model's class names.
    ignore: bool [N] boxes that count neither as hits nor as misses (COCO iscrowd, MOT flag 0):
        detections on them are not false alarms (COCO "crowd" semantics).
    image_shape: (height, width) when the label file says it, else None.
    object_ids: int64 [N] identity of each box across frames (MOT ``id``; tracking evaluation),
        -1 where the format has none.
    image: the image path as the label file names it (relative, checked to stay inside the
        dataset), '' where the format names none (MOT frames, bag topics).
    """

    key: str
    xyxy: np.ndarray
    class_ids: np.ndarray
    ignore: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    image_shape: tuple[int, int] | None = None
    object_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    image: str = ''

    def __post_init__(self) -> None:
        n = len(self.class_ids)
        if len(self.ignore) != n:
            object.__setattr__(self, 'ignore', np.zeros(n, bool))
        if len(self.object_ids) != n:
            object.__setattr__(self, 'object_ids', np.full(n, -1, np.int64))
        if self.xyxy.shape != (n, 4):
            raise LabelFormatError(
                f'{self.key}: boxes {self.xyxy.shape} and classes ({n}) disagree')

    def __len__(self) -> int:
        return len(self.class_ids)

    @classmethod
    def from_lists(cls, key: str, boxes: Sequence[Sequence[float]], class_ids: Sequence[int],
                   ignore: Sequence[bool] | None = None,
                   image_shape: tuple[int, int] | None = None,
                   object_ids: Sequence[int] | None = None, image: str = '') -> FrameTruth:
        """Build a frame from plain lists (boxes xyxy in pixels); ids default to none (-1)."""
        xyxy = np.asarray(boxes, np.float32).reshape(-1, 4)
        ign = np.zeros(len(class_ids), bool) if ignore is None else np.asarray(ignore, bool)
        oids = np.zeros(0, np.int64) if object_ids is None else np.asarray(object_ids, np.int64)
        return cls(key, xyxy, np.asarray(class_ids, np.int64).reshape(-1), ign, image_shape,
                   oids, image)

    def clipped(self, height: int, width: int) -> FrameTruth:
        """Boxes clipped to the image (MOT boxes may extend past the border)."""
        xyxy = self.xyxy.copy()
        xyxy[:, [0, 2]] = xyxy[:, [0, 2]].clip(0, width)
        xyxy[:, [1, 3]] = xyxy[:, [1, 3]].clip(0, height)
        return FrameTruth(self.key, xyxy, self.class_ids, self.ignore, (height, width),
                          self.object_ids, self.image)


@dataclass
class GroundTruth:
    """
    Frames of one dataset in natural key order, with the class names the ids refer to.

    ``dropped`` counts the labels a reader left out, by the dataset's own category (classes
    the model does not have, boxes the format marks as not counted): what a conversion reports.
    """

    names: tuple[str, ...]
    frames: list[FrameTruth]
    source: str = ''
    dropped: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.frames = sorted(self.frames, key=lambda f: natural_key(f.key))
        self.by_key = {f.key: f for f in self.frames}
        if len(self.by_key) != len(self.frames):
            keys = [f.key for f in self.frames]
            dup = next(k for i, k in enumerate(keys) if k in keys[:i])
            raise LabelFormatError(f'{self.source}: image/frame {dup!r} appears twice')

    def __len__(self) -> int:
        return len(self.frames)

    def get(self, key: str) -> FrameTruth | None:
        return self.by_key.get(key)


def natural_key(text: str) -> tuple:
    """Sort key that orders 'frame2' before 'frame10' (and MOT '2' before '10')."""
    return tuple((0, int(t), '') if t.isdigit() else (1, 0, t)
                 for t in re.split(r'(\d+)', text) if t)


def safe_relative(name: str, where: str) -> str:
    """Check a label file's image path: refused if absolute or leaving the dataset ('..')."""
    if not isinstance(name, str) or not name.strip():
        raise LabelFormatError(f'{where}: image name must be a non-empty string, got {name!r}')
    if '\x00' in name:
        raise LabelFormatError(f'{where}: image name {name!r} contains a NUL byte')
    for pure in (PurePosixPath(name), PureWindowsPath(name)):
        if pure.is_absolute() or pure.anchor or '..' in pure.parts:
            raise LabelFormatError(
                f'{where}: image path {name!r} is absolute or leaves the dataset folder; '
                'label files may only name images below the dataset root')
    return name


def resolve_inside(root: Path, name: str, where: str = '') -> Path:
    """``root / name`` for a label-file image path, guaranteed to stay inside ``root``."""
    safe_relative(name, where or str(root))
    root = Path(root).resolve()
    path = (root / name).resolve()
    if root != path and root not in path.parents:
        raise LabelFormatError(f'{where or root}: {name!r} resolves outside {root} (symlink?)')
    return path


def number_field(value: Any, where: str, what: str) -> float:
    """Read a finite number from a label field (int, float or numeric string)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise LabelFormatError(f'{where}: {what} must be a number, got {value!r}')
    try:
        out = float(value)
    except ValueError:
        raise LabelFormatError(f'{where}: {what} must be a number, got {value!r}') from None
    if not math.isfinite(out):
        raise LabelFormatError(f'{where}: {what} is {value!r}; expected a finite number')
    return out


def check_box(x1: float, y1: float, x2: float, y2: float, where: str) -> list[float]:
    """Return the corners as a list; refuse a box with negative width or height."""
    if x2 < x1 or y2 < y1:
        raise LabelFormatError(f'{where}: box {[x1, y1, x2, y2]} has negative width or height')
    return [x1, y1, x2, y2]


def read_label_text(path: Path, what: str) -> str:
    """Text of a label file; missing is a LabelNotFoundError, unreadable a LabelFormatError."""
    path = Path(path)
    if not path.is_file():
        raise LabelNotFoundError(f'{path}: no such file; expected {what}. Check the path')
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelFormatError(f'{path}: unreadable {what} ({exc})') from None


def load_json(path: Path, what: str = 'a JSON label file') -> Any:
    """Parse a JSON label file; missing, unreadable or invalid JSON is a LabelFormatError."""
    text = read_label_text(path, what)
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise LabelFormatError(f'{path}: not valid JSON ({exc}); expected {what}') from None


def image_key(name: str, where: str) -> str:
    """Frame key (file stem) of an image path named in a label file, checked to be safe."""
    safe_relative(name, where)
    return PurePosixPath(name.replace('\\', '/')).stem
