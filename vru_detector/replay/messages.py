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
Ground-truth ignore regions (COCO crowd, MOT flag 0) travel as detections with ``id`` 'ignore'.
"""
from __future__ import annotations

from typing import Any, Sequence

import cv2
import numpy as np
from rosbags.typesys.store import Typestore

IGNORE_ID = 'ignore'


def header(ts: Typestore, stamp_ns: int, frame_id: str) -> Any:
    Time = ts.types['builtin_interfaces/msg/Time']
    Header = ts.types['std_msgs/msg/Header']
    return Header(stamp=Time(sec=int(stamp_ns // 1_000_000_000),
                             nanosec=int(stamp_ns % 1_000_000_000)), frame_id=frame_id)


def image_message(ts: Typestore, bgr: np.ndarray, hdr: Any, compressed: bool = False,
                  jpeg_quality: int = 90) -> tuple[Any, str]:
    """(message, msgtype): ``bgr8`` Image, or JPEG CompressedImage as image_transport writes it."""
    if compressed:
        ok, buf = cv2.imencode('.jpg', bgr, [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)])
        if not ok:
            raise ValueError('JPEG encoding failed')
        msgtype = 'sensor_msgs/msg/CompressedImage'
        return ts.types[msgtype](header=hdr, format='bgr8; jpeg compressed bgr8',
                                 data=buf.reshape(-1)), msgtype
    bgr = np.ascontiguousarray(bgr)
    height, width = bgr.shape[:2]
    msgtype = 'sensor_msgs/msg/Image'
    return ts.types[msgtype](header=hdr, height=height, width=width, encoding='bgr8',
                             is_bigendian=0, step=width * 3, data=bgr.reshape(-1)), msgtype


def detection_array(ts: Typestore, hdr: Any, xyxy: np.ndarray, labels: Sequence[str],
                    scores: Sequence[float] | None = None,
                    ids: Sequence[str] | None = None) -> Any:
    """vision_msgs 4.1.1 Detection2DArray; class_id carries the class *name*."""
    t = ts.types
    dets = []
    for i, (box, label) in enumerate(zip(np.asarray(xyxy, np.float64).reshape(-1, 4), labels)):
        x1, y1, x2, y2 = (float(v) for v in box)
        pose = t['geometry_msgs/msg/PoseWithCovariance'](
            pose=t['geometry_msgs/msg/Pose'](
                position=t['geometry_msgs/msg/Point'](x=0.0, y=0.0, z=0.0),
                orientation=t['geometry_msgs/msg/Quaternion'](x=0.0, y=0.0, z=0.0, w=1.0)),
            covariance=np.zeros(36, np.float64))
        hyp = t['vision_msgs/msg/ObjectHypothesisWithPose'](
            hypothesis=t['vision_msgs/msg/ObjectHypothesis'](
                class_id=str(label), score=float(1.0 if scores is None else scores[i])),
            pose=pose)
        bbox = t['vision_msgs/msg/BoundingBox2D'](
            center=t['vision_msgs/msg/Pose2D'](
                position=t['vision_msgs/msg/Point2D'](x=(x1 + x2) / 2, y=(y1 + y2) / 2),
                theta=0.0),
            size_x=x2 - x1, size_y=y2 - y1)
        dets.append(t['vision_msgs/msg/Detection2D'](
            header=hdr, results=[hyp], bbox=bbox, id='' if ids is None else str(ids[i])))
    return t['vision_msgs/msg/Detection2DArray'](header=hdr, detections=dets)


def read_detection_array(msg: Any, names: Sequence[str]
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """
    (xyxy float32, class_ids int64, scores float32, ignore bool) of a Detection2DArray.

    The best hypothesis of each detection names the class (by name, or by a numeric id);
    classes the model does not know are dropped.
    """
    from .ground_truth import map_class

    boxes, classes, scores, ignore = [], [], [], []
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
    return (np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(classes, np.int64),
            np.asarray(scores, np.float32), np.asarray(ignore, bool))
