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
vision_msgs 4.1.1 message types for rosbags, without a ROS installation.

rosbags' built-in typestores carry sensor_msgs, geometry_msgs and diagnostic_msgs but not
vision_msgs, so bag readers/writers and ROS-free tests register these definitions first:

>>> from vru_detector.msgs.msg_types import typestore_with_vision_msgs
>>> ts = typestore_with_vision_msgs()
>>> Detection2DArray = ts.types['vision_msgs/msg/Detection2DArray']

The definitions below are the field lines of ros-perception/vision_msgs 4.1.1 (the version
shipped by Humble and Jazzy), https://github.com/ros-perception/vision_msgs, Apache-2.0,
Copyright the vision_msgs authors; their comments are abridged. Field names, types and order
are unchanged, so messages serialize exactly like the real ones.
"""
from __future__ import annotations

from typing import Dict

from rosbags.typesys import get_types_from_msg, get_typestore, Stores
from rosbags.typesys.store import Typestore

VISION_MSGS_VERSION = '4.1.1'

VISION_MSGS_DEFINITIONS: Dict[str, str] = {
    'vision_msgs/msg/Point2D': """
# Represents a 2D point in pixel coordinates.
# XY matches the sensor_msgs/Image convention: X is positive right and Y is positive down.
float64 x
float64 y
""",
    'vision_msgs/msg/Pose2D': """
# Represents a 2D pose (coordinates and a radian rotation). Rotation is positive counterclockwise.
vision_msgs/Point2D position
float64 theta
""",
    'vision_msgs/msg/BoundingBox2D': """
# A 2D bounding box that can be rotated about its center. All dimensions are in pixels.
# The 2D position (in pixels) and orientation of the bounding box center.
vision_msgs/Pose2D center
# The total size (in pixels) of the bounding box surrounding the object.
float64 size_x
float64 size_y
""",
    'vision_msgs/msg/ObjectHypothesis': """
# An object hypothesis that contains no pose information.
# The unique ID of the object class.
string class_id
# The probability or confidence value of the detected object.
float64 score
""",
    'vision_msgs/msg/ObjectHypothesisWithPose': """
# An object hypothesis that contains pose information.
ObjectHypothesis hypothesis
# The 6D pose of the object hypothesis.
geometry_msgs/PoseWithCovariance pose
""",
    'vision_msgs/msg/Detection2D': """
# Defines a 2D detection result.
std_msgs/Header header
# Class probabilities
ObjectHypothesisWithPose[] results
# 2D bounding box surrounding the object.
BoundingBox2D bbox
# ID used for consistency across multiple detection messages. This field may be empty.
string id
""",
    'vision_msgs/msg/Detection2DArray': """
# A list of 2D detections, for a multi-object 2D detector.
std_msgs/Header header
# A list of the detected proposals.
Detection2D[] detections
""",
}


def register_vision_msgs(typestore: Typestore) -> Typestore:
    """Add the vision_msgs 4.1.1 definitions to ``typestore`` (idempotent) and return it."""
    missing = {name: text for name, text in VISION_MSGS_DEFINITIONS.items()
               if name not in typestore.types}
    types = {}
    for name, text in missing.items():
        types.update(get_types_from_msg(text, name))
    if types:
        typestore.register(types)
    return typestore


def typestore_with_vision_msgs(store: Stores = Stores.ROS2_HUMBLE) -> Typestore:
    """Return a rosbags typestore for ``store`` with vision_msgs 4.1.1 registered."""
    return register_vision_msgs(get_typestore(store))
