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

"""Frames from an image, a folder of images, a video file or a rosbag2, one at a time."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from .errors import VruDetectorError
from .labels import IMAGE_SUFFIXES

VIDEO_SUFFIXES = {'.mp4', '.avi', '.mov', '.mkv', '.m4v', '.webm', '.mpg', '.mpeg'}
BAG_SUFFIXES = {'.mcap', '.db3'}


@dataclass
class Frame:
    """One input frame; ``image`` is None when it could not be decoded (counted, not fatal)."""

    key: str            # file stem, or '<video stem>_<index>'
    index: int
    image: np.ndarray | None
    stamp_ns: int | None = None
    problem: str | None = None  # why image is None, or what is wrong with a decoded one


def read_image(path: Path) -> tuple[np.ndarray | None, str | None]:
    """
    Decode an image file to BGR: (image, problem), problem None when all is well.

    OpenCV decodes a truncated JPEG without an error (the missing rows come out grey), so a
    JPEG without its end-of-image marker is returned with a warning instead of silently.
    """
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)  # imdecode refuses what imread shows
    if image is None:
        return None, 'could not be decoded (empty, corrupt or not an image)'
    try:
        with open(path, 'rb') as f:
            head = f.read(2)
            f.seek(max(f.seek(0, 2) - 64, 0))
            tail = f.read()
    except OSError as exc:
        return None, f'cannot be read ({exc.strerror or exc})'
    if head == b'\xff\xd8' and tail.rstrip(b'\x00\r\n ')[-2:] != b'\xff\xd9':
        return image, ('is a truncated JPEG (no end-of-image marker): its lower part is '
                       'missing and decodes as grey, so detections there are lost')
    return image, None


class Source:
    """Iterable of Frames with a known length (for progress bars) and a kind."""

    def __init__(self, path: str | Path, image_topic: str | None = None) -> None:
        self.path = Path(path)
        self.image_topic = image_topic
        self.count = 0
        if not self.path.exists():
            raise VruDetectorError(f'source {self.path} does not exist')
        if self.path.is_dir() and not (self.path / 'metadata.yaml').is_file():
            self.kind = 'images'
            self.files = sorted(p for p in self.path.iterdir()
                                if p.suffix.lower() in IMAGE_SUFFIXES)
            if not self.files:
                raise VruDetectorError(
                    f'source folder {self.path} has no images '
                    f'({", ".join(sorted(IMAGE_SUFFIXES))})')
        elif self.path.is_dir() or self.path.suffix.lower() in BAG_SUFFIXES:
            self.kind = 'bag'
            self.count = self._check_bag()
        elif self.path.suffix.lower() in IMAGE_SUFFIXES:
            self.kind, self.files = 'images', [self.path]
        elif self.path.suffix.lower() in VIDEO_SUFFIXES:
            self.kind = 'video'
        else:
            raise VruDetectorError(
                f'source {self.path}: unknown type {self.path.suffix!r}; expected an image, '
                'a folder of images, a video or a rosbag2 (folder with metadata.yaml, .mcap, '
                '.db3)')

    def __len__(self) -> int:
        if self.kind == 'images':
            return len(self.files)
        if self.kind == 'video':
            cap = cv2.VideoCapture(str(self.path))
            n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
            cap.release()
            return max(n, 0)
        return self.count

    @property
    def fps(self) -> float:
        if self.kind != 'video':
            return 0.0
        cap = cv2.VideoCapture(str(self.path))
        fps = cap.get(cv2.CAP_PROP_FPS)
        cap.release()
        return float(fps) if fps and fps > 0 else 30.0

    def __iter__(self) -> Iterator[Frame]:
        if self.kind == 'images':
            for i, p in enumerate(self.files):
                image, problem = read_image(p)
                yield Frame(p.stem, i, image, problem=problem)
        elif self.kind == 'video':
            yield from self._video()
        else:
            yield from self._bag()

    def _video(self) -> Iterator[Frame]:
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            raise VruDetectorError(
                f'video {self.path} cannot be opened (codec missing or file corrupt)')
        try:
            i = 0
            while True:
                ok, img = cap.read()
                if not ok:
                    break
                yield Frame(f'{self.path.stem}_{i:06d}', i, img)
                i += 1
        finally:
            cap.release()

    def _check_bag(self) -> int:
        """Open the bag now, so a missing or wrong topic is refused before any work."""
        from .replay.bag_images import bag_frame_count, IMAGE_TYPES, list_topics

        if not self.image_topic:
            topics = list_topics(self.path)
            images = sorted(t for t, m in topics.items() if m in IMAGE_TYPES)
            raise VruDetectorError(
                f'{self.path} is a rosbag2: pass --image-topic with one of its image topics: '
                + (', '.join(images) if images else
                   f'none (it has {", ".join(sorted(topics)) or "no topics"})'))
        return bag_frame_count(self.path, self.image_topic)

    def _bag(self) -> Iterator[Frame]:
        from .replay.bag_images import iter_bag_images

        for i, (key, img, stamp) in enumerate(iter_bag_images(self.path, self.image_topic)):
            yield Frame(key, i, img, stamp)
