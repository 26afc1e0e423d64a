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

Run with ``colcon test --packages-select vru_detector``, or on its own with ``launch_test
test/test_node_launch.py`` from the package folder after sourcing the workspace (it puts its
own folder on ``sys.path`` for its helper). The node runs a tiny ONNX model whose output is
fixed (test/fixed_output_model.py), so class names and pixel boxes
are known exactly. Without rclpy / launch_testing / vision_msgs (a plain pip environment) the
tests here are skipped one by one with the reason; the module itself always imports, so a
missing ROS package never skips the rest of the folder.
"""
import importlib
import importlib.util
import os
from pathlib import Path
import sys
import tempfile
import time
import unittest

import numpy as np
import pytest
from vru_detector.msgs.convert import numpy_to_compressed, numpy_to_image

# `launch_test test/test_node_launch.py` runs without pytest.ini's `pythonpath = test`: the
# helper beside this file was `No module named ...` there
HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
fixed = importlib.import_module('fixed_output_model')
build_fixed_output_onnx, DEFAULT_BOXES = fixed.build_fixed_output_onnx, fixed.DEFAULT_BOXES
expected_pixels = fixed.expected_pixels

ROS = all(importlib.util.find_spec(m) is not None  # not test/optional.py: see the docstring
          for m in ('rclpy', 'launch', 'launch_ros', 'launch_testing', 'vision_msgs',
                    'rosgraph_msgs'))
NO_ROS = ('needs ROS 2 (rclpy, launch_testing, vision_msgs): run under `colcon test` on '
          'Humble/Jazzy')

if ROS:
    from ament_index_python.packages import get_package_share_directory
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
    import launch
    from launch.launch_description_sources import PythonLaunchDescriptionSource
    import launch_ros.actions
    import launch_testing.actions
    import launch_testing.asserts
    from lifecycle_msgs.msg import State, Transition
    from lifecycle_msgs.srv import ChangeState, GetState
    from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
    from rcl_interfaces.srv import GetParameters, SetParameters
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import CompressedImage, Image
    from std_msgs.msg import Header
    from vision_msgs.msg import Detection2DArray
    post_shutdown_test = launch_testing.post_shutdown_test
else:
    def post_shutdown_test():
        """Stand in for launch_testing's decorator where it is missing (the tests skip)."""
        return lambda cls: cls

WORKDIR = Path(tempfile.mkdtemp(prefix='vru_launch_test_'))
MODEL = WORKDIR / 'fixed_output.onnx'
CLASSES = WORKDIR / 'classes.yaml'  # car has its own threshold (0.5), person follows `conf`
DDS_FILE = WORKDIR / 'test_cyclonedds.xml'  # harmless settings: the test checks it is passed on
DDS_XML = ('<CycloneDDS xmlns="https://cdds.io/config"><Domain Id="any"><Internal>'
           '<SocketReceiveBufferSize min="default"/></Internal></Domain></CycloneDDS>\n')
SIM_CLOCK_START_S = 1000.0  # the /clock this test publishes: far behind the wall-clock stamps
CAMERA_TOPIC = '/test_camera/image_raw'
NODE = '/cam/vru_detector'
COMPRESSED_NODE = '/cam_c/vru_detector'
NO_MODEL_NODE = '/cam/no_model'
H, W = 480, 640
TIMEOUT = 30.0
# what an .onnx on the CPU runs on by default, and what the launch file's node is given
OPENVINO = importlib.util.find_spec('openvino') is not None
AUTO_BACKEND = 'openvino' if OPENVINO else 'onnxruntime'
LAUNCH_BACKEND = 'openvino' if OPENVINO else 'onnxruntime'


if ROS:  # only then is this a launch test (launch_testing's plugin looks for this function)
    @pytest.mark.launch_test
    def generate_test_description():
        """Three nodes: plain, through the package's launch file (sim time, DDS file), none."""
        return _test_description()


def _test_description():
    build_fixed_output_onnx(MODEL)
    CLASSES.write_text("classes:\n  person: {color: '#FF0000'}\n  car: {conf: 0.5}\n")
    DDS_FILE.write_text(DDS_XML)
    common = {'model': str(MODEL), 'class_config': str(CLASSES), 'diagnostics_period': 0.5}
    detector = launch_ros.actions.Node(
        package='vru_detector', executable='detector_node', name='vru_detector',
        namespace='cam', parameters=[common], remappings=[('image', CAMERA_TOPIC)],
        output='screen')
    # the compressed-input node comes through the package's own launch file (tests it too),
    # on sim time from the /clock this test publishes, with a CycloneDDS file passed on
    compressed = launch.actions.IncludeLaunchDescription(
        PythonLaunchDescriptionSource(os.path.join(
            get_package_share_directory('vru_detector'), 'launch', 'detector.launch.py')),
        launch_arguments={'model': str(MODEL), 'namespace': 'cam_c', 'compressed': 'true',
                          'image_topic': CAMERA_TOPIC, 'debug_image': 'false',
                          'use_sim_time': 'true', 'cyclonedds_config': str(DDS_FILE),
                          'backend': LAUNCH_BACKEND, 'threads': '1'}.items())
    no_model = launch_ros.actions.Node(
        package='vru_detector', executable='detector_node', name='no_model', namespace='cam',
        parameters=[{'model': '/nonexistent/model.onnx', 'autostart': False}], output='screen')
    return (launch.LaunchDescription([detector, compressed, no_model,
                                      launch_testing.actions.ReadyToTest()]),
            {'detector': detector, 'no_model': no_model})


@unittest.skipUnless(ROS, NO_ROS)
class TestDetectorNode(unittest.TestCase):
    """Talks to the running nodes like a user would: topics, parameters, lifecycle services."""

    @classmethod
    def setUpClass(cls):
        rclpy.init()
        cls.node = rclpy.create_node('vru_detector_launch_test')
        # sim time for the cam_c node: a /clock far behind the wall clock the images carry
        cls.clock_pub = cls.node.create_publisher(Clock, '/clock', 10)
        cls.clock_paused = False  # True: /clock stops, as when a played bag ends
        cls.clock_start = time.monotonic()
        cls.node.create_timer(0.05, cls.publish_clock)
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
    def publish_clock(cls):
        if cls.clock_paused:
            return
        now = SIM_CLOCK_START_S + time.monotonic() - cls.clock_start
        msg = Clock()
        msg.clock.sec, msg.clock.nanosec = int(now), int(now % 1 * 1e9)
        cls.clock_pub.publish(msg)

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

    def test_detection2d_id_carries_a_stable_track_id(self):
        """The default tracker (bytetrack) confirms the static person; its ID stays put."""
        outs = [self.detections_now() for _ in range(5)]
        person = [[d.id for d in out.detections
                   if d.results[0].hypothesis.class_id == 'person'] for out in outs]
        self.assertTrue(person[-1] and person[-1][0].isdigit(), person)
        self.assertEqual(person[-1], person[-2], person)
        # the car scores 0.60, under ByteTrack's track_activation_threshold 0.7: no track
        cars = [d.id for d in outs[-1].detections if d.results[0].hypothesis.class_id == 'car']
        self.assertEqual(cars, [''] * len(cars))

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

    def latest_status(self, node_name, ready=lambda status, kv: True):
        """Spin until /diagnostics has a status of ``node_name`` that is ``ready``; return it."""
        found = None
        end = time.monotonic() + TIMEOUT
        while time.monotonic() < end and found is None:
            rclpy.spin_once(self.node, timeout_sec=0.1)
            for msg in self.received['diag']:
                for status in msg.status:
                    kv = {v.key: v.value for v in status.values}
                    if status.name == node_name + ': detector' and ready(status, kv):
                        found = status, kv
        self.assertIsNotNone(found, 'no matching /diagnostics status from ' + node_name)
        return found

    def test_diagnostics_report_rates_latency_stages_backend_and_precision(self):
        self.detections_now()
        _, values = self.latest_status(NODE, lambda s, kv: int(kv['frames_processed']) > 0)
        for key in ('input_rate_hz', 'output_rate_hz', 'frames_dropped', 'frames_skipped',
                    'pipeline_latency_p50_ms', 'pipeline_latency_p95_ms', 'inference_p50_ms',
                    'inference_p95_ms', 'processing_time_p50_ms', 'stage_conversion_p50_ms',
                    'stage_preprocess_p50_ms', 'stage_inference_p50_ms',
                    'stage_postprocess_p50_ms', 'stage_messages_p50_ms', 'stage_publish_p50_ms',
                    'stage_debug_image_p50_ms', 'frames_missing_upstream',
                    'input_completeness', 'input_stamp_period_ms'):
            self.assertIn(key, values)
        self.assertEqual(values['backend'], AUTO_BACKEND)
        self.assertEqual(values['precision'], 'fp32')
        self.assertEqual(values['use_sim_time'], 'false')
        inference = float(values['inference_p50_ms'])
        self.assertGreater(inference, 0.0)
        # read at publish: every frame's latency includes its own inference and processing
        self.assertGreaterEqual(float(values['pipeline_latency_p50_ms']), inference)
        self.assertGreaterEqual(float(values['processing_time_p50_ms']), inference)

    def test_sim_time_node_reads_clock_and_warns_about_wall_clock_stamps(self):
        """cam_c runs on /clock (1000 s here) while the images carry wall-clock stamps."""
        def make():
            return numpy_to_compressed(self.frame, self.new_header('cam_c'), CompressedImage)
        self.assertIsNotNone(self.publish_and_wait('det_c', make, self.compressed_pub))
        self.received['diag'].clear()  # only statuses from now on: frames have just arrived
        request = GetParameters.Request(names=['use_sim_time'])
        answer = self.call(GetParameters, COMPRESSED_NODE + '/get_parameters', request)
        self.assertTrue(answer.values[0].bool_value)
        status, values = self.latest_status(
            COMPRESSED_NODE, lambda s, kv: int(kv['frames_processed']) > 0
            and kv['pipeline_latency_p50_ms'] != 'n/a')
        self.assertEqual(values['use_sim_time'], 'true')
        self.assertLess(float(values['pipeline_latency_p50_ms']), 0.0)
        self.assertEqual(status.level, DiagnosticStatus.WARN)
        self.assertIn('another clock', status.message)
        self.assertIn('use_sim_time', status.message)
        # the launch file's cyclonedds_config reached the node's environment
        self.assertEqual(values['cyclonedds_uri'], 'file://' + str(DDS_FILE))

    def test_launch_backend_argument_reaches_the_node(self):
        """cam_c comes through detector.launch.py with backend:=openvino (where installed)."""
        if LAUNCH_BACKEND != 'openvino':
            self.skipTest('backend:=openvino needs openvino: pip install "vru_detector[openvino]"')
        request = GetParameters.Request(names=['backend', 'threads'])
        answer = self.call(GetParameters, COMPRESSED_NODE + '/get_parameters', request)
        self.assertEqual((answer.values[0].string_value, answer.values[1].integer_value),
                         ('openvino', 1))

        def make():
            return numpy_to_compressed(self.frame, self.new_header('cam_c'), CompressedImage)
        self.assertIsNotNone(self.publish_and_wait('det_c', make, self.compressed_pub))
        _, values = self.latest_status(COMPRESSED_NODE,
                                       lambda s, kv: int(kv['frames_processed']) > 0)
        self.assertEqual(values['backend'], 'openvino')

    def test_diagnostics_go_on_and_say_no_images_when_the_clock_stops(self):
        """cam_c runs on /clock: when it stops (a bag ended), its steady timer still reports."""
        def make():
            return numpy_to_compressed(self.frame, self.new_header('cam_c'), CompressedImage)
        self.assertIsNotNone(self.publish_and_wait('det_c', make, self.compressed_pub))
        type(self).clock_paused = True
        try:
            self.received['diag'].clear()
            status, _ = self.latest_status(
                COMPRESSED_NODE, lambda s, kv: 'no images' in s.message)
            self.assertEqual(status.level, DiagnosticStatus.WARN)
        finally:
            type(self).clock_paused = False

    def test_the_package_installs_its_cyclonedds_config(self):
        path = Path(get_package_share_directory('vru_detector')) / 'config' / 'cyclonedds.xml'
        text = path.read_text()
        self.assertIn('<SocketReceiveBufferSize min="4MB"/>', text)
        self.assertIn('net.core.rmem_max', text)  # says how to let the kernel allow it

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
            # what `ros2 param set ... classes all` sends (Humble's ros2cli fails on '')
            self.assertTrue(self.set_params(NODE, classes='all')[0].successful)
            self.assertEqual(labels(), ['person', 'car'])
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


@post_shutdown_test()
@unittest.skipUnless(ROS, NO_ROS)
class TestShutdown(unittest.TestCase):
    """Every node exits cleanly when the launch shuts down (SIGINT)."""

    def test_exit_codes(self, proc_info):
        launch_testing.asserts.assertExitCodes(proc_info)
