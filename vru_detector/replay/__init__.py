"""
Rosbag2 replay evaluation without ROS: bag images, ground truth, metrics, report, bag writer.

Only ``rosbags`` is needed (no rclpy, no torch), so evaluation runs on any machine.
"""
from .errors import BagReadError, LabelFormatError

__all__ = ['BagReadError', 'LabelFormatError']
