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
Launch detector_node for one camera.

Examples::

    ros2 launch vru_detector detector.launch.py model:=/models/student_int8.onnx \
        image_topic:=/camera/image_raw
    # a CPU robot: OpenVINO, two inference threads
    ros2 launch vru_detector detector.launch.py model:=/models/student_int8.onnx \
        backend:=openvino threads:=2 image_topic:=/camera/image_raw
    ros2 launch vru_detector detector.launch.py model:=/models/student_int8.engine \
        image_topic:=/camera/image_raw compressed:=true namespace:=front log_level:=debug
    # replaying a bag: `ros2 bag play BAG --clock` in another shell
    ros2 launch vru_detector detector.launch.py model:=... use_sim_time:=true
    # raw 720p images on CycloneDDS need a 4 MB socket receive buffer (config/cyclonedds.xml);
    # the default cyclonedds_config:=auto uses it once `sudo sysctl -w net.core.rmem_max=4194304`
    ros2 launch vru_detector detector.launch.py model:=... cyclonedds_config:=true

Outputs (inside ``namespace``): ``detections`` (vision_msgs/Detection2DArray),
``debug_image`` (sensor_msgs/Image, drawn only while subscribed) and ``/diagnostics``.
Every node parameter is documented in config/detector.yaml; pass your own copy with
``params_file:=``. Arguments given here override the file.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, LogInfo, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from vru_detector.ros.dds_config import cyclonedds_environment, rmem_warning, TRUE


def package_file(*parts: str) -> str:
    """Return a file installed in the package's share folder."""
    return os.path.join(get_package_share_directory('vru_detector'), *parts)


def default_params_file() -> str:
    """Return the installed config/detector.yaml."""
    return package_file('config', 'detector.yaml')


def input_remapping(image_topic: str, compressed: bool) -> tuple:
    """Map the node's input name onto the camera topic (``/compressed`` added if missing)."""
    if compressed:
        topic = image_topic if image_topic.endswith('/compressed') else image_topic + '/compressed'
        return ('image/compressed', topic)
    return ('image', image_topic)


def _detector_node(context, *args, **kwargs):
    def arg(name: str) -> str:
        return LaunchConfiguration(name).perform(context)

    compressed = arg('compressed').lower() in TRUE
    overrides = {'image_type': 'compressed' if compressed else 'raw',
                 'autostart': arg('autostart').lower() in TRUE,
                 'use_sim_time': arg('use_sim_time').lower() in TRUE}
    for name in ('model', 'backend', 'device'):
        if arg(name):
            overrides[name] = arg(name)
    if arg('threads'):
        overrides['threads'] = int(arg('threads'))
    if arg('debug_image'):
        overrides['debug_image'] = arg('debug_image').lower() in TRUE
    if arg('qos_reliability'):
        overrides['qos_reliability'] = arg('qos_reliability')
    params = [arg('params_file')] if arg('params_file') else []
    dds = package_file('config', 'cyclonedds.xml')
    warning = rmem_warning(arg('cyclonedds_config'), dds)
    return [LogInfo(msg='WARNING: ' + warning)] * bool(warning) + [Node(
        package='vru_detector', executable='detector_node', name=arg('node_name'),
        namespace=arg('namespace'), output='screen', emulate_tty=True,
        parameters=params + [overrides],
        remappings=[input_remapping(arg('image_topic'), compressed)],
        arguments=['--ros-args', '--log-level', arg('log_level')],
        additional_env=cyclonedds_environment(arg('cyclonedds_config'), dds),
    )]


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument('model', default_value='',
                              description='Model file (.onnx, .engine, .pt); overrides the '
                                          'params file'),
        DeclareLaunchArgument('backend', default_value='',
                              description='onnxruntime, openvino, tensorrt or torch; empty '
                                          'keeps the params file value (empty: chosen from '
                                          'the model file)'),
        DeclareLaunchArgument('device', default_value='',
                              description='cpu, cuda[:N], gpu or npu; empty keeps the params '
                                          'file value (cpu)'),
        DeclareLaunchArgument('threads', default_value='',
                              description='CPU inference threads (onnxruntime, openvino); '
                                          'empty keeps the params file value (0: all cores)'),
        DeclareLaunchArgument('image_topic', default_value='/camera/image_raw',
                              description='Camera topic (for compressed:=true the '
                                          '/compressed suffix is added when missing)'),
        DeclareLaunchArgument('namespace', default_value='',
                              description='Namespace of the node and its outputs'),
        DeclareLaunchArgument('node_name', default_value='vru_detector',
                              description='Node name'),
        DeclareLaunchArgument('params_file', default_value=default_params_file(),
                              description='Node parameters (see config/detector.yaml)'),
        DeclareLaunchArgument('compressed', default_value='false',
                              description='Subscribe to sensor_msgs/CompressedImage'),
        DeclareLaunchArgument('debug_image', default_value='',
                              description='true/false: publish the annotated image; empty '
                                          'keeps the params file value'),
        DeclareLaunchArgument('qos_reliability', default_value='',
                              description='best_effort or reliable; empty keeps the params '
                                          'file value (best_effort)'),
        DeclareLaunchArgument('autostart', default_value='true',
                              description='false: leave the node unconfigured for a '
                                          'lifecycle manager'),
        DeclareLaunchArgument('log_level', default_value='info',
                              description='debug, info, warn, error or fatal'),
        DeclareLaunchArgument('use_sim_time', default_value='false',
                              description='true: take time from /clock, as `ros2 bag play '
                                          '--clock` publishes it (else latency reads years)'),
        DeclareLaunchArgument('cyclonedds_config', default_value='auto',
                              description='auto: the package config/cyclonedds.xml (4 MB '
                                          'socket receive buffer for raw images) when the node '
                                          'runs on CycloneDDS, CYCLONEDDS_URI is unset and '
                                          'net.core.rmem_max allows it; true: that file '
                                          'always; a path: your own file; false: leave '
                                          'CYCLONEDDS_URI as it is'),
        OpaqueFunction(function=_detector_node),
    ])
