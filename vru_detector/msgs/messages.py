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
Build the node's output messages from ROS-free values: Detection2DArray and DiagnosticArray.

Message classes are looked up by their full name ('vision_msgs/msg/Detection2D') through a
function you pass in, so the same code builds rclpy messages in the node
(``rosidl_runtime_py.utilities.get_message``) and rosbags dataclasses in tests and bag writers
(``typestore.types.__getitem__``). Every field is given explicitly, which both accept.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

import numpy as np

from ..detections import Detections
from ..stats import StatsSnapshot

MessageLookup = Callable[[str], type]

_NAMES = {
    'Time': 'builtin_interfaces/msg/Time',
    'Header': 'std_msgs/msg/Header',
    'Image': 'sensor_msgs/msg/Image',
    'CompressedImage': 'sensor_msgs/msg/CompressedImage',
    'Point': 'geometry_msgs/msg/Point',
    'Quaternion': 'geometry_msgs/msg/Quaternion',
    'Pose': 'geometry_msgs/msg/Pose',
    'PoseWithCovariance': 'geometry_msgs/msg/PoseWithCovariance',
    'Point2D': 'vision_msgs/msg/Point2D',
    'Pose2D': 'vision_msgs/msg/Pose2D',
    'BoundingBox2D': 'vision_msgs/msg/BoundingBox2D',
    'ObjectHypothesis': 'vision_msgs/msg/ObjectHypothesis',
    'ObjectHypothesisWithPose': 'vision_msgs/msg/ObjectHypothesisWithPose',
    'Detection2D': 'vision_msgs/msg/Detection2D',
    'Detection2DArray': 'vision_msgs/msg/Detection2DArray',
    'KeyValue': 'diagnostic_msgs/msg/KeyValue',
    'DiagnosticStatus': 'diagnostic_msgs/msg/DiagnosticStatus',
    'DiagnosticArray': 'diagnostic_msgs/msg/DiagnosticArray',
}


@dataclass(frozen=True)
class MessageTypes:
    """The message classes the node publishes or reads, from one source (rclpy or rosbags)."""

    Time: type
    Header: type
    Image: type
    CompressedImage: type
    Point: type
    Quaternion: type
    Pose: type
    PoseWithCovariance: type
    Point2D: type
    Pose2D: type
    BoundingBox2D: type
    ObjectHypothesis: type
    ObjectHypothesisWithPose: type
    Detection2D: type
    Detection2DArray: type
    KeyValue: type
    DiagnosticStatus: type
    DiagnosticArray: type

    @classmethod
    def from_lookup(cls, lookup: MessageLookup) -> MessageTypes:
        """Resolve every class through ``lookup('pkg/msg/Name')``."""
        return cls(**{field: lookup(full) for field, full in _NAMES.items()})


def rosbags_message_types(typestore: Any = None) -> MessageTypes:
    """Resolve MessageTypes in a rosbags typestore (default: Humble plus vision_msgs)."""
    if typestore is None:
        from .msg_types import typestore_with_vision_msgs
        typestore = typestore_with_vision_msgs()
    return MessageTypes.from_lookup(typestore.types.__getitem__)


def copy_header(header: Any, types: MessageTypes) -> Any:
    """Make a new Header with the same stamp and frame_id (outputs must not alias the input)."""
    stamp = types.Time(sec=int(header.stamp.sec), nanosec=int(header.stamp.nanosec))
    return types.Header(stamp=stamp, frame_id=str(header.frame_id))


def make_header(sec: int, nanosec: int, frame_id: str, types: MessageTypes) -> Any:
    """Make a Header from a stamp and frame id."""
    return types.Header(stamp=types.Time(sec=int(sec), nanosec=int(nanosec)),
                        frame_id=str(frame_id))


def stamp_seconds(header: Any) -> float:
    """Header stamp in seconds (0.0 for an unstamped message)."""
    return int(header.stamp.sec) + int(header.stamp.nanosec) * 1e-9


def _identity_pose(types: MessageTypes) -> Any:
    pose = types.Pose(position=types.Point(x=0.0, y=0.0, z=0.0),
                      orientation=types.Quaternion(x=0.0, y=0.0, z=0.0, w=1.0))
    return types.PoseWithCovariance(pose=pose, covariance=np.zeros(36, dtype=np.float64))


def detection_to_msg(box: np.ndarray, score: float, label: str, header: Any,
                     types: MessageTypes, det_id: str = '') -> Any:
    """One vision_msgs/Detection2D: an axis-aligned box (pixels) and one class hypothesis."""
    x1, y1, x2, y2 = (float(v) for v in box)
    center = types.Pose2D(position=types.Point2D(x=(x1 + x2) / 2, y=(y1 + y2) / 2), theta=0.0)
    hypothesis = types.ObjectHypothesisWithPose(
        hypothesis=types.ObjectHypothesis(class_id=str(label), score=float(score)),
        pose=_identity_pose(types))
    return types.Detection2D(
        header=copy_header(header, types), results=[hypothesis],
        bbox=types.BoundingBox2D(center=center, size_x=x2 - x1, size_y=y2 - y1), id=det_id)


def detections_to_msg(dets: Detections, header: Any, types: MessageTypes) -> Any:
    """
    vision_msgs/Detection2DArray for ``dets`` with the input image's header (stamp, frame_id).

    Boxes are in pixels of the input image; ``results[0].hypothesis.class_id`` is the class
    name and ``.score`` the confidence, highest first. ``id`` is the track ID of tracked
    detections ('' while a track is not confirmed, and without a tracker).
    """
    # Per frame, not per box: one header copy and one identity pose, shared by every Detection2D
    # (nothing mutates them after this), and the box arithmetic done once in numpy. At 100
    # boxes this halves the node's message building (bench/bench_node_pipeline.py --profile).
    out_header = copy_header(header, types)
    pose = _identity_pose(types)
    xyxy = np.asarray(dets.xyxy, np.float64).reshape(-1, 4)
    cx, cy = ((xyxy[:, 0] + xyxy[:, 2]) / 2).tolist(), ((xyxy[:, 1] + xyxy[:, 3]) / 2).tolist()
    w, h = (xyxy[:, 2] - xyxy[:, 0]).tolist(), (xyxy[:, 3] - xyxy[:, 1]).tolist()
    scores = np.asarray(dets.scores, np.float64).tolist()
    track_ids = [''] * len(scores) if dets.track_ids is None else [
        str(int(t)) if t >= 0 else '' for t in dets.track_ids]
    Pose2D, Point2D, Box = types.Pose2D, types.Point2D, types.BoundingBox2D
    Hyp, HypWithPose, Detection2D = (types.ObjectHypothesis, types.ObjectHypothesisWithPose,
                                     types.Detection2D)
    detections = [
        Detection2D(header=out_header, results=[HypWithPose(
            hypothesis=Hyp(class_id=str(label), score=score), pose=pose)],
            bbox=Box(center=Pose2D(position=Point2D(x=x, y=y), theta=0.0), size_x=bw,
                     size_y=bh), id=track_id)
        for label, score, x, y, bw, bh, track_id in zip(dets.labels, scores, cx, cy, w, h,
                                                        track_ids)]
    return types.Detection2DArray(header=out_header, detections=detections)


def msg_to_detections(msg: Any, names: tuple, image_shape: tuple = (0, 0)) -> Detections:
    """
    Read a Detection2DArray back into Detections (replay, tests); unknown names are an error.

    Rotation (``theta``) is ignored: our boxes are axis-aligned.
    """
    xyxy, scores, ids = [], [], []
    for det in msg.detections:
        c, (w, h) = det.bbox.center.position, (det.bbox.size_x, det.bbox.size_y)
        hyp = max(det.results, key=lambda r: r.hypothesis.score).hypothesis
        if hyp.class_id not in names:
            raise ValueError(f'class {hyp.class_id!r} is not one of {list(names)}')
        xyxy.append([c.x - w / 2, c.y - h / 2, c.x + w / 2, c.y + h / 2])
        scores.append(hyp.score)
        ids.append(names.index(hyp.class_id))
    return Detections(np.asarray(xyxy, np.float32).reshape(-1, 4),
                      np.asarray(scores, np.float32), np.asarray(ids, np.int64),
                      tuple(names), tuple(image_shape))


def diagnostics_msg(snapshot: StatsSnapshot, header: Any, types: MessageTypes, name: str,
                    hardware_id: str = '', extra: Optional[Mapping[str, str]] = None,
                    level: str = 'OK', message: str = '') -> Any:
    """
    diagnostic_msgs/DiagnosticArray with one status: rates, drops, skips, latencies + ``extra``.

    ``level`` is the constant's name ('OK', 'WARN', 'ERROR', 'STALE'): rclpy stores it as
    bytes and rosbags as int, so the class constant is used as is.
    """
    values = {**snapshot.as_strings(), **{k: str(v) for k, v in (extra or {}).items()}}
    status = types.DiagnosticStatus(
        level=getattr(types.DiagnosticStatus, level), name=name,
        message=message or level.lower(), hardware_id=hardware_id,
        values=[types.KeyValue(key=k, value=v) for k, v in values.items()])
    return types.DiagnosticArray(header=header, status=[status])


def diagnostic_values(msg: Any) -> dict:
    """Return the first status's key/values of a DiagnosticArray as a dict."""
    return {kv.key: kv.value for kv in msg.status[0].values}
