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
Build and read the few ROS messages replay needs, as rosbags dataclasses (no rclpy).

Image / CompressedImage from a BGR array; vision_msgs/Detection2DArray from boxes and back.
Ground-truth ignore regions (COCO crowd, MOT flag 0) travel as detections with ``id`` 'ignore';
a ground-truth object's identity (MOT ``id``) travels as its ``id`` string.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Sequence

import numpy as np
from rosbags.typesys.store import Typestore

from ..msgs.convert import numpy_to_compressed, numpy_to_image
from ..msgs.messages import (copy_header, detection_to_msg, make_header, MessageTypes,
                             rosbags_message_types as _message_types)

IGNORE_ID = 'ignore'


@lru_cache(maxsize=8)
def rosbags_message_types(ts: Typestore) -> MessageTypes:
    """Resolve the message classes in ``ts`` once (bags are written frame by frame)."""
    return _message_types(ts)


def header(ts: Typestore, stamp_ns: int, frame_id: str) -> Any:
    """Build a std_msgs/Header from a nanosecond stamp."""
    return make_header(stamp_ns // 1_000_000_000, stamp_ns % 1_000_000_000, frame_id,
                       rosbags_message_types(ts))


def image_message(ts: Typestore, bgr: np.ndarray, hdr: Any, compressed: bool = False,
                  jpeg_quality: int = 90) -> tuple[Any, str]:
    """Return (message, msgtype): ``bgr8`` Image, or a JPEG CompressedImage."""
    types = rosbags_message_types(ts)
    if compressed:
        msg = numpy_to_compressed(bgr, hdr, types.CompressedImage, 'jpeg', jpeg_quality)
        msg.format = 'bgr8; jpeg compressed bgr8'  # as image_transport's compressed plugin
        return msg, 'sensor_msgs/msg/CompressedImage'
    return numpy_to_image(bgr, 'bgr8', hdr, types.Image), 'sensor_msgs/msg/Image'


def detection_array(ts: Typestore, hdr: Any, xyxy: np.ndarray, labels: Sequence[str],
                    scores: Sequence[float] | None = None,
                    ids: Sequence[str] | None = None) -> Any:
    """Build a vision_msgs 4.1.1 Detection2DArray; class_id carries the class *name*."""
    types = rosbags_message_types(ts)
    boxes = np.asarray(xyxy, np.float64).reshape(-1, 4)
    dets = [detection_to_msg(box, 1.0 if scores is None else scores[i], label, hdr, types,
                             '' if ids is None else str(ids[i]))
            for i, (box, label) in enumerate(zip(boxes, labels))]
    return types.Detection2DArray(header=copy_header(hdr, types), detections=dets)


def read_detection_array(msg: Any, names: Sequence[str]
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """
    (xyxy float32, class_ids int64, scores float32, ignore bool) of a Detection2DArray.

    The best hypothesis of each detection names the class (by name, or by a numeric id);
    classes the model does not know are dropped.
    """
    return read_detection_array_ids(msg, names)[:4]


def read_detection_array_ids(msg: Any, names: Sequence[str]
                             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                        np.ndarray]:
    """Read as :func:`read_detection_array`, plus each ``id`` as an int64 (-1: none)."""
    from ..labels import map_class

    boxes, classes, scores, ignore, object_ids = [], [], [], [], []
    for det in msg.detections:
        if not det.results:
            continue
        best = max(det.results, key=lambda r: r.hypothesis.score)
        label = best.hypothesis.class_id
        cls = int(label) if label.isdigit() and int(label) < len(names) else \
            map_class(label, names, 'Detection2D')
        if cls is None:
            continue
        cx, cy = det.bbox.center.position.x, det.bbox.center.position.y
        w, h = det.bbox.size_x, det.bbox.size_y
        boxes.append([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
        classes.append(cls)
        scores.append(best.hypothesis.score)
        ignore.append(det.id == IGNORE_ID)
        object_ids.append(int(det.id) if det.id.isdigit() else -1)
    return (np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(classes, np.int64),
            np.asarray(scores, np.float32), np.asarray(ignore, bool),
            np.asarray(object_ids, np.int64))
