"""
The ROS 2 shell around the ROS-free core.

Only ``node.py`` imports rclpy. ``convert``, ``messages``, ``msg_types`` and ``params`` work on
any object with the message fields (rclpy messages or rosbags dataclasses), so they are tested
and reused (replay, bag writing) without a ROS installation.
"""
