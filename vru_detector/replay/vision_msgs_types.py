"""vision_msgs 4.1.1 (Humble and Jazzy) registered into a rosbags Typestore from its .msg text.

rosbags ships sensor_msgs/std_msgs/geometry_msgs but not vision_msgs. The definitions below are
the package's own .msg files (comments dropped), so the hashes and message definitions written
into a bag are the ones ``ros2 bag play`` and Foxglove expect.
Duplicates ``vru_detector/ros/msg_types.py`` of the ROS branch (same function name): dedupe on
merge.
"""
from __future__ import annotations

from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

VISION_MSGS_4_1_1 = {
    'vision_msgs/msg/Point2D': 'float64 x\nfloat64 y\n',
    'vision_msgs/msg/Pose2D': 'vision_msgs/Point2D position\nfloat64 theta\n',
    'vision_msgs/msg/BoundingBox2D': (
        'vision_msgs/Pose2D center\nfloat64 size_x\nfloat64 size_y\n'),
    'vision_msgs/msg/ObjectHypothesis': 'string class_id\nfloat64 score\n',
    'vision_msgs/msg/ObjectHypothesisWithPose': (
        'vision_msgs/ObjectHypothesis hypothesis\ngeometry_msgs/PoseWithCovariance pose\n'),
    'vision_msgs/msg/Detection2D': (
        'std_msgs/Header header\nvision_msgs/ObjectHypothesisWithPose[] results\n'
        'vision_msgs/BoundingBox2D bbox\nstring id\n'),
    'vision_msgs/msg/Detection2DArray': (
        'std_msgs/Header header\nvision_msgs/Detection2D[] detections\n'),
}


def typestore_with_vision_msgs(store: Stores | Typestore = Stores.ROS2_HUMBLE) -> Typestore:
    """Return a typestore for ``store`` (a ``Stores`` member or a Typestore) plus vision_msgs."""
    typestore = get_typestore(store) if isinstance(store, Stores) else store
    if 'vision_msgs/msg/Detection2DArray' in typestore.fielddefs:
        return typestore
    types = {}
    for name, text in VISION_MSGS_4_1_1.items():
        types.update(get_types_from_msg(text, name))
    typestore.register(types)
    return typestore
