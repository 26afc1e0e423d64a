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
Which training images calibrate INT8, and how they are fed: exactly the runtime preprocessing.

Images are drawn per class, rarest first, so the VRU classes (rider, bicycle, motorcycle...) that
a random draw from car-dominated street data would miss are present in the activation ranges.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
import hashlib
import json
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
from vru_detector.labels import IMAGE_SUFFIXES, parse_yolo_lines
from vru_detector.labels.truth import read_label_text

from ..datasets import dataset_split_dir, label_path  # noqa: F401 (callers import them here)

BACKGROUND = -1


def image_classes(image: Path) -> set[int]:
    """Class ids present in the image's YOLO label file (empty when it has none)."""
    path = label_path(image)
    if not path.is_file():
        return set()
    text = read_label_text(path, 'a YOLO label file')
    return set(parse_yolo_lines(text, (1, 1), None, str(path))[1])


def select_calibration_images(image_dir: str | Path, count: int = 512,
                              seed: int = 0) -> list[Path]:
    """
    ``count`` images from ``image_dir`` and its sub-folders, stratified by their rarest class.

    Each image joins the group of its rarest class (background images their own group); groups
    are shuffled with ``seed`` and drawn round-robin, so every class appears before common ones
    fill the rest. Fewer images than ``count`` means all of them are used.
    """
    # sub-folders too, as ultralytics reads them (a merged dataset has one per source)
    images = sorted(p for p in Path(image_dir).rglob('*')
                    if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not images:
        raise FileNotFoundError(
            f'{image_dir}: no images ({", ".join(sorted(IMAGE_SUFFIXES))}) to calibrate on')
    if count <= 0:
        raise ValueError(f'calibration image count must be positive, got {count}')
    classes = {im: image_classes(im) for im in images}
    frequency = Counter(c for cs in classes.values() for c in cs)
    groups: dict[int, list[Path]] = defaultdict(list)
    for im, cs in classes.items():
        groups[min(cs, key=lambda c: (frequency[c], c)) if cs else BACKGROUND].append(im)
    rng = np.random.default_rng(seed)
    order = sorted(groups, key=lambda g: (g == BACKGROUND, frequency.get(g, 0), g))
    queues = {g: [groups[g][i] for i in rng.permutation(len(groups[g]))] for g in order}
    chosen: list[Path] = []
    while len(chosen) < min(count, len(images)):
        for g in order:
            if queues[g] and len(chosen) < count:
                chosen.append(queues[g].pop())
    return chosen


def class_coverage(images: Sequence[Path]) -> dict[int, int]:
    """How many of ``images`` contain each class (for the report and the tests)."""
    return dict(sorted(Counter(c for im in images for c in image_classes(im)).items()))


def calibration_id(images: Sequence[Path], method: str, settings: Mapping[str, Any]) -> str:
    """Hash the image list (by name), the method and the settings into a short, stable id."""
    payload = json.dumps({'images': sorted(Path(p).name for p in images), 'method': method,
                          'settings': dict(settings)}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def load_batch(paths: Sequence[Path], input_shape: tuple[int, int]) -> np.ndarray:
    """Read and preprocess images exactly as the runtime Detector does (letterbox, RGB, /255)."""
    import cv2

    from vru_detector.preprocess import preprocess

    images = []
    for p in paths:
        im = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if im is None:
            raise ValueError(f'{p}: not a readable image')
        images.append(im)
    return preprocess(images, input_shape)[0]


@dataclass
class CalibrationBatches:
    """Preprocessed calibration batches, loaded once and replayed (ORT rewinds between passes)."""

    input_name: str
    images: Sequence[Path]
    input_shape: tuple[int, int]
    batch: int = 1

    def __post_init__(self) -> None:
        self._tensors: list[np.ndarray] | None = None

    def tensors(self) -> list[np.ndarray]:
        if self._tensors is None:
            from tqdm import tqdm

            self._tensors = [
                load_batch(self.images[i:i + self.batch], self.input_shape)
                for i in tqdm(range(0, len(self.images), self.batch), desc='calibration images',
                              unit='batch', leave=False)]
        return self._tensors

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter(self.tensors())

    def reader(self):
        """Make an ``onnxruntime.quantization.CalibrationDataReader`` over the batches."""
        from onnxruntime.quantization import CalibrationDataReader

        outer = self

        class _Reader(CalibrationDataReader):

            def __init__(self) -> None:
                self.set_range(0, len(outer.tensors()))

            def get_next(self):
                x = next(self._it, None)
                return None if x is None else {outer.input_name: x}

            def rewind(self) -> None:
                self._it = iter(outer)

            def set_range(self, start_index: int, end_index: int) -> None:
                self._it = iter(outer.tensors()[start_index:end_index])

            def __len__(self) -> int:
                return len(outer.tensors())

        return _Reader()
