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
Two cameras, one detector_node each, in their own namespaces (an example to copy).

    ros2 launch vru_detector two_cameras.launch.py model:=/models/student_int8.onnx

gives /front/vru_detector and /rear/vru_detector publishing /front/detections and
/rear/detections; both report on /diagnostics under their own names. Each node loads its
own copy of the model: on a GPU that is two engines' worth of memory. The rear camera here is
a compressed stream to show both input kinds; change the topics to your cameras'.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration

CAMERAS = (
    # namespace, image topic, compressed
    ('front', '/front_camera/image_raw', 'false'),
    ('rear', '/rear_camera/image_raw/compressed', 'true'),
)


def generate_launch_description():
    single = os.path.join(get_package_share_directory('vru_detector'), 'launch',
                          'detector.launch.py')
    actions = [DeclareLaunchArgument('model', description='Model file for both cameras'),
               DeclareLaunchArgument('log_level', default_value='info'),
               DeclareLaunchArgument('use_sim_time', default_value='false',
                                     description='true when replaying with ros2 bag play --clock'),
               DeclareLaunchArgument('cyclonedds_config', default_value='auto',
                                     description='see detector.launch.py')]
    for namespace, topic, compressed in CAMERAS:
        actions.append(IncludeLaunchDescription(
            PythonLaunchDescriptionSource(single),
            launch_arguments={
                'model': LaunchConfiguration('model'),
                'namespace': namespace,
                'image_topic': topic,
                'compressed': compressed,
                'log_level': LaunchConfiguration('log_level'),
                'use_sim_time': LaunchConfiguration('use_sim_time'),
                'cyclonedds_config': LaunchConfiguration('cyclonedds_config'),
            }.items()))
    return LaunchDescription(actions)
