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
detector_node end to end under launch_testing, on a real ROS 2 (Humble or Jazzy) machine.

Run with ``colcon test --packages-select vru_detector`` (or ``launch_test
test/test_node_launch.py`` after sourcing the workspace). The node runs a tiny ONNX model
whose output is fixed (vru_detector.testing.fixed_output_model), so class names and pixel boxes are
known exactly. Without rclpy / launch_testing (a plain pip environment) the module is skipped.
"""
import os
from pathlib import Path
import tempfile
import time
import unittest

import numpy as np
import pytest

rclpy = pytest.importorskip(
    'rclpy', reason='needs ROS 2 (rclpy): run under `colcon test` on Humble/Jazzy')
pytest.importorskip('launch_testing', reason='needs launch_testing (ROS 2 test tooling)')
pytest.importorskip('vision_msgs', reason='needs ros-$ROS_DISTRO-vision-msgs')

from ament_index_python.packages import get_package_share_directory  # noqa: E402, I100
from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
import launch  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402
import launch_ros.actions  # noqa: E402
import launch_testing.actions  # noqa: E402
import launch_testing.asserts  # noqa: E402
from lifecycle_msgs.msg import State, Transition  # noqa: E402
from lifecycle_msgs.srv import ChangeState, GetState  # noqa: E402
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue  # noqa: E402
from rcl_interfaces.srv import SetParameters  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import CompressedImage, Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402
from vision_msgs.msg import Detection2DArray  # noqa: E402

from vru_detector.msgs.convert import numpy_to_compressed, numpy_to_image  # noqa: E402
from vru_detector.testing.fixed_output_model import (  # noqa: E402
    build_fixed_output_onnx, DEFAULT_BOXES, expected_pixels)

WORKDIR = Path(tempfile.mkdtemp(prefix='vru_launch_test_'))
MODEL = WORKDIR / 'fixed_output.onnx'
CLASSES = WORKDIR / 'classes.yaml'  # car has its own threshold (0.5), person follows `conf`
CAMERA_TOPIC = '/test_camera/image_raw'
NODE = '/cam/vru_detector'
COMPRESSED_NODE = '/cam_c/vru_detector'
NO_MODEL_NODE = '/cam/no_model'
H, W = 480, 640
TIMEOUT = 30.0


@pytest.mark.launch_test
def generate_test_description():
    build_fixed_output_onnx(MODEL)
    CLASSES.write_text("classes:\n  person: {color: '#FF0000'}\n  car: {conf: 0.5}\n")
    common = {'model': str(MODEL), 'class_config': str(CLASSES), 'diagnostics_period': 0.5}
    detector = launch_ros.actions.Node(
        package='vru_detector', executable='detector_node', name='vru_detector',
        namespace='cam', parameters=[common], remappings=[('image', CAMERA_TOPIC)],
        output='screen')
    # the compressed-input node comes through the package's own launch file (tests it too)
    compressed = launch.actions.IncludeLaunchDescription(
        PythonLaunchDescriptionSource(os.path.join(
            get_package_share_directory('vru_detector'), 'launch', 'detector.launch.py')),
        launch_arguments={'model': str(MODEL), 'namespace': 'cam_c', 'compressed': 'true',
                          'image_topic': CAMERA_TOPIC, 'debug_image': 'false'}.items())
    no_model = launch_ros.actions.Node(
        package='vru_detector', executable='detector_node', name='no_model', namespace='cam',
        parameters=[{'model': '/nonexistent/model.onnx', 'autostart': False}], output='screen')
    return (launch.LaunchDescription([detector, compressed, no_model,
                                      launch_testing.actions.ReadyToTest()]),
            {'detector': detector, 'no_model': no_model})


class TestDetectorNode(unittest.TestCase):
    """Talks to the running nodes like a user would: topics, parameters, lifecycle services."""

    @classmethod
    def setUpClass(cls):
        rclpy.init()
        cls.node = rclpy.create_node('vru_detector_launch_test')
        cls.image_pub = cls.node.create_publisher(Image, CAMERA_TOPIC, 10)
        cls.compressed_pub = cls.node.create_publisher(
            CompressedImage, CAMERA_TOPIC + '/compressed', 10)
        cls.received = {'det': [], 'det_c': [], 'debug': [], 'diag': []}
        cls.node.create_subscription(Detection2DArray, '/cam/detections',
                                     cls.received['det'].append, 10)
        cls.node.create_subscription(Detection2DArray, '/cam_c/detections',
                                     cls.received['det_c'].append, 10)
        cls.node.create_subscription(Image, '/cam/debug_image', cls.received['debug'].append,
                                     QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE))
        cls.node.create_subscription(DiagnosticArray, '/diagnostics',
                                     cls.received['diag'].append, 10)
        cls.frame = np.full((H, W, 3), 90, np.uint8)
        cls.wait_until_active(NODE)

    @classmethod
    def tearDownClass(cls):
        cls.node.destroy_node()
        rclpy.shutdown()

    # -- helpers ------------------------------------------------------------------------------
    @classmethod
    def call(cls, srv_type, name, request, timeout=10.0):
        client = cls.node.create_client(srv_type, name)
        try:
            assert client.wait_for_service(timeout_sec=timeout), f'{name} not available'
            future = client.call_async(request)
            rclpy.spin_until_future_complete(cls.node, future, timeout_sec=timeout)
            assert future.done(), f'{name} did not answer'
            return future.result()
        finally:
            cls.node.destroy_client(client)

    @classmethod
    def state(cls, node_name):
        return cls.call(GetState, node_name + '/get_state', GetState.Request()).current_state.id

    @classmethod
    def wait_until_active(cls, node_name):
        end = time.monotonic() + TIMEOUT
        while time.monotonic() < end:
            try:
                if cls.state(node_name) == State.PRIMARY_STATE_ACTIVE:
                    return
            except AssertionError:
                pass
            time.sleep(0.2)
        raise AssertionError(f'{node_name} did not become active within {TIMEOUT} s')

    def transition(self, node_name, transition_id):
        request = ChangeState.Request()
        request.transition = Transition(id=transition_id)
        return self.call(ChangeState, node_name + '/change_state', request).success

    def set_params(self, node_name, **values):
        request = SetParameters.Request()
        for name, value in values.items():
            pv = ParameterValue()
            if isinstance(value, float):
                pv.type, pv.double_value = ParameterType.PARAMETER_DOUBLE, value
            else:
                pv.type, pv.string_value = ParameterType.PARAMETER_STRING, value
            request.parameters.append(Parameter(name=name, value=pv))
        return self.call(SetParameters, node_name + '/set_parameters', request).results

    def new_header(self, frame_id='test_camera'):
        return Header(stamp=self.node.get_clock().now().to_msg(), frame_id=frame_id)

    def publish_and_wait(self, key, make_msg, publisher, timeout=TIMEOUT):
        """Publish fresh frames until an output with one of their stamps arrives; return it."""
        stamps = []
        end = time.monotonic() + timeout
        next_pub = 0.0
        while time.monotonic() < end:
            if time.monotonic() >= next_pub:
                msg = make_msg()
                stamps.append((msg.header.stamp.sec, msg.header.stamp.nanosec))
                publisher.publish(msg)
                next_pub = time.monotonic() + 0.2
            rclpy.spin_once(self.node, timeout_sec=0.05)
            for out in self.received[key]:
                if (out.header.stamp.sec, out.header.stamp.nanosec) in stamps:
                    return out
        return None

    def good_image(self):
        return numpy_to_image(self.frame, 'bgr8', self.new_header(), Image)

    def detections_now(self):
        out = self.publish_and_wait('det', self.good_image, self.image_pub)
        self.assertIsNotNone(out, 'no Detection2DArray for the published frames')
        return out

    # -- tests --------------------------------------------------------------------------------
    def test_detections_carry_the_header_class_names_and_pixel_boxes(self):
        out = self.detections_now()
        self.assertEqual(out.header.frame_id, 'test_camera')
        labels = [d.results[0].hypothesis.class_id for d in out.detections]
        self.assertEqual(labels, ['person', 'car'])
        for det, box in zip(out.detections, DEFAULT_BOXES):
            x1, y1, x2, y2 = expected_pixels(box, (H, W))
            self.assertAlmostEqual(det.bbox.center.position.x, (x1 + x2) / 2, delta=0.1)
            self.assertAlmostEqual(det.bbox.center.position.y, (y1 + y2) / 2, delta=0.1)
            self.assertAlmostEqual(det.bbox.size_x, x2 - x1, delta=0.1)
            self.assertAlmostEqual(det.bbox.size_y, y2 - y1, delta=0.1)
            self.assertAlmostEqual(det.results[0].hypothesis.score, box.score, delta=1e-4)
            self.assertEqual(det.header.stamp, out.header.stamp)

    def test_compressed_input(self):
        def make():
            return numpy_to_compressed(self.frame, self.new_header('cam_c'), CompressedImage)
        out = self.publish_and_wait('det_c', make, self.compressed_pub)
        self.assertIsNotNone(out, 'no detections from the compressed-input node')
        self.assertEqual(out.header.frame_id, 'cam_c')
        self.assertEqual([d.results[0].hypothesis.class_id for d in out.detections],
                         ['person', 'car'])

    def test_debug_image_is_annotated_and_stamped(self):
        out = self.publish_and_wait('debug', self.good_image, self.image_pub)
        self.assertIsNotNone(out, 'no debug image although this test subscribes to it')
        self.assertEqual((out.height, out.width, out.encoding), (H, W, 'bgr8'))
        pixels = np.frombuffer(out.data, np.uint8).reshape(H, out.step)[:, :W * 3]
        pixels = pixels.reshape(H, W, 3)
        x1, y1, x2, y2 = (int(round(v)) for v in expected_pixels(DEFAULT_BOXES[0], (H, W)))
        self.assertFalse(np.array_equal(pixels[(y1 + y2) // 2, x1], [90, 90, 90]))  # box edge
        self.assertTrue(np.array_equal(pixels[(y1 + y2) // 2, (x1 + x2) // 2], [90, 90, 90]))

    def test_diagnostics_report_rates_latency_backend_and_precision(self):
        self.detections_now()
        values = None
        end = time.monotonic() + TIMEOUT
        while time.monotonic() < end and values is None:
            rclpy.spin_once(self.node, timeout_sec=0.1)
            for msg in self.received['diag']:
                for status in msg.status:
                    kv = {v.key: v.value for v in status.values}
                    if status.name == NODE + ': detector' and int(kv['frames_processed']) > 0:
                        values = kv
        self.assertIsNotNone(values, 'no /diagnostics status from ' + NODE)
        for key in ('input_rate_hz', 'output_rate_hz', 'frames_dropped', 'frames_skipped',
                    'pipeline_latency_p50_ms', 'pipeline_latency_p95_ms', 'inference_p50_ms',
                    'inference_p95_ms'):
            self.assertIn(key, values)
        self.assertEqual(values['backend'], 'onnxruntime')
        self.assertEqual(values['precision'], 'fp32')
        self.assertGreater(float(values['inference_p50_ms']), 0.0)

    def test_thresholds_and_class_filter_change_at_runtime(self):
        # the model gives person 0.9 and car 0.6; car has its own threshold 0.5 (CLASSES)
        def labels():
            return [d.results[0].hypothesis.class_id for d in self.detections_now().detections]
        try:
            self.assertTrue(self.set_params(NODE, conf=0.95)[0].successful)
            self.assertEqual(labels(), ['car'])
            self.assertTrue(self.set_params(NODE, conf=0.25, class_conf='car:0.7')[0].successful)
            self.assertEqual(labels(), ['person'])
            self.assertTrue(self.set_params(NODE, class_conf='', classes='car')[0].successful)
            self.assertEqual(labels(), ['car'])
            refused = self.set_params(NODE, classes='pedestrian')[0]
            self.assertFalse(refused.successful)
            self.assertIn('pedestrian', refused.reason)
            self.assertFalse(self.set_params(NODE, conf=1.5)[0].successful)
        finally:
            self.set_params(NODE, conf=0.25, class_conf='', classes='')
        self.assertEqual(labels(), ['person', 'car'])

    def test_malformed_frames_are_skipped_and_the_next_good_one_is_processed(self):
        short = self.good_image()
        short.data = short.data[:-7]  # data no longer matches step * height
        unknown = self.good_image()
        unknown.encoding = '32FC1'
        for bad in (short, unknown):
            self.image_pub.publish(bad)
            time.sleep(0.3)
            rclpy.spin_once(self.node, timeout_sec=0.05)
        self.detections_now()  # the node is still alive and processing
        self.assertEqual(self.state(NODE), State.PRIMARY_STATE_ACTIVE)
        skipped = 0
        end = time.monotonic() + TIMEOUT
        while time.monotonic() < end and skipped < 2:
            rclpy.spin_once(self.node, timeout_sec=0.1)
            for msg in self.received['diag']:
                for status in msg.status:
                    if status.name == NODE + ': detector':
                        kv = {v.key: v.value for v in status.values}
                        skipped = max(skipped, int(kv['frames_skipped']))
        self.assertGreaterEqual(skipped, 2)

    def test_lifecycle_deactivate_stops_and_activate_resumes(self):
        self.assertEqual(self.state(NODE), State.PRIMARY_STATE_ACTIVE)
        self.assertTrue(self.transition(NODE, Transition.TRANSITION_DEACTIVATE))
        try:
            self.assertEqual(self.state(NODE), State.PRIMARY_STATE_INACTIVE)
            out = self.publish_and_wait('det', self.good_image, self.image_pub, timeout=2.0)
            self.assertIsNone(out, 'an inactive node must not publish detections')
        finally:
            self.assertTrue(self.transition(NODE, Transition.TRANSITION_ACTIVATE))
        self.assertEqual(self.state(NODE), State.PRIMARY_STATE_ACTIVE)
        self.detections_now()

    def test_missing_model_makes_configure_fail(self):
        self.assertEqual(self.state(NO_MODEL_NODE), State.PRIMARY_STATE_UNCONFIGURED)
        self.assertFalse(self.transition(NO_MODEL_NODE, Transition.TRANSITION_CONFIGURE))
        self.assertEqual(self.state(NO_MODEL_NODE), State.PRIMARY_STATE_UNCONFIGURED)


@launch_testing.post_shutdown_test()
class TestShutdown(unittest.TestCase):
    """Every node exits cleanly when the launch shuts down (SIGINT)."""

    def test_exit_codes(self, proc_info):
        launch_testing.asserts.assertExitCodes(proc_info)
