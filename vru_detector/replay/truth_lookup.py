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
Match a bag frame to its ground truth: by stored frame key, header stamp or frame index.

Truth comes from a label file/folder (any format ``ground_truth`` reads) or from a
Detection2DArray topic in the bag. YOLO labels without images beside them are scaled with
each bag frame's own size, so they are parsed lazily, frame by frame.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from .bag_images import BagFrame, BagImages, stamp_to_ns
from .errors import BagReadError
from ..errors import VruDetectorError
from ..labels import (dataset_names, default_image_dir, detect_format, find_image, FrameTruth,
                      GroundTruth, load_ground_truth, parse_yolo_lines, source_class_map)
from ..labels.truth import read_label_text


class TruthLookup:
    """Finds the ground truth of a bag frame: by stored frame key, header stamp or index."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = tuple(names)
        self.by_key: dict[str, FrameTruth] = {}
        self.by_stamp: dict[int, FrameTruth] = {}
        self.ordered: list[FrameTruth] = []
        self.lazy_yolo: dict[str, str] = {}
        self.ordered_keys: list[str] = []
        self.class_map: dict[int, int | None] | None = None
        self.stamps = np.zeros(0, np.int64)
        self.mode = 'key'
        self.description = ''

    @classmethod
    def from_labels(cls, path: Path, names: Sequence[str], bag_keys: list[str] | None,
                    match: str, image_dir: Path | None = None) -> TruthLookup:
        self = cls(names)
        fmt = detect_format(path)
        truth: GroundTruth | None = None
        first = next(iter(sorted(path.glob('*.txt'))), None) if fmt == 'yolo' else None
        if first is not None and image_dir is None and \
                find_image(default_image_dir(path), first.stem) is None:
            # normalised boxes and no images beside: scale with each bag frame's size
            self.lazy_yolo = {p.stem: read_label_text(p, 'a YOLO label file')
                              for p in sorted(path.glob('*.txt'))}
            keys = sorted(self.lazy_yolo)
            source = dataset_names(path)
            if source is not None:
                self.class_map = source_class_map(source, names, str(path))
        else:
            truth = load_ground_truth(path, names, image_dir=image_dir)
            self.by_key = truth.by_key
            self.ordered = truth.frames
            keys = list(truth.by_key)
        if match == 'auto':
            match = 'key' if bag_keys and set(bag_keys) & set(keys) else 'index'
        if match == 'stamp':
            raise VruDetectorError('--match stamp needs --gt-topic (label files carry no stamps)')
        self.mode = match
        if self.lazy_yolo and match == 'index':
            self.ordered_keys = keys
        self.description = f'{path} ({fmt}, matched by frame {match})'
        return self

    @classmethod
    def from_topic(cls, frames: BagImages, topic: str, names: Sequence[str]) -> TruthLookup:
        from .messages import read_detection_array_ids

        self = cls(names)
        if topic not in frames.topics:
            raise BagReadError(f'ground-truth topic {topic!r} is not in {frames.bag}; it has: '
                               + ', '.join(f'{t} [{m}]' for t, m in sorted(frames.topics.items())))
        if frames.topics[topic] != 'vision_msgs/msg/Detection2DArray':
            raise BagReadError(f'ground-truth topic {topic!r} carries {frames.topics[topic]}, '
                               'expected vision_msgs/msg/Detection2DArray')
        for _, msg in frames.messages(topic):
            xyxy, cls_ids, _, ignore, object_ids = read_detection_array_ids(msg, names)
            stamp = stamp_to_ns(msg.header.stamp)
            self.by_stamp[stamp] = FrameTruth(str(stamp), xyxy, cls_ids, ignore,
                                              object_ids=object_ids)
        self.stamps = np.array(sorted(self.by_stamp), np.int64)
        self.mode = 'stamp'
        self.description = f'topic {topic} ({len(self.by_stamp)} messages, matched by stamp)'
        return self

    def find(self, frame: BagFrame, tolerance_ns: int = 1_000_000) -> FrameTruth | None:
        if self.mode == 'stamp':
            if frame.stamp_ns in self.by_stamp:
                return self.by_stamp[frame.stamp_ns]
            if not len(self.stamps):
                return None
            i = int(np.clip(np.searchsorted(self.stamps, frame.stamp_ns), 1, len(self.stamps)) - 1)
            near = min(self.stamps[i:i + 2], key=lambda s: abs(int(s) - frame.stamp_ns))
            return self.by_stamp[int(near)] if abs(int(near) - frame.stamp_ns) <= \
                tolerance_ns else None
        if self.lazy_yolo:
            key = frame.key if self.mode == 'key' else (
                self.ordered_keys[frame.index] if frame.index < len(self.ordered_keys) else None)
            if key is None or key not in self.lazy_yolo:
                return None
            shape = frame.image.shape[:2]
            boxes, classes = parse_yolo_lines(self.lazy_yolo[key], shape, len(self.names), key,
                                              self.class_map)
            return FrameTruth.from_lists(key, boxes, classes, None, shape)
        if self.mode == 'key':
            return self.by_key.get(frame.key)
        return self.ordered[frame.index] if frame.index < len(self.ordered) else None
