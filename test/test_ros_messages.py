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

"""Detections -> vision_msgs 4.1.1 Detection2DArray and diagnostics, on rosbags types."""
import dataclasses
import math

import cv2
from fixed_output_model import (build_fixed_output_onnx, CLASS_NAMES, DEFAULT_BOXES,
                                expected_pixels, FixedBox)
import numpy as np
import pytest
from rosbags.typesys import get_typestore, Stores

from vru_detector import Detections, Detector
from vru_detector.msgs.messages import (detection_to_msg, detections_to_msg, diagnostic_values,
                                        diagnostics_msg, make_header, msg_to_detections,
                                        rosbags_message_types)
from vru_detector.msgs.msg_types import (register_vision_msgs, typestore_with_vision_msgs,
                                         VISION_MSGS_DEFINITIONS)
from vru_detector.stats import PipelineStats

TS = typestore_with_vision_msgs()
TYPES = rosbags_message_types(TS)
ARRAY = 'vision_msgs/msg/Detection2DArray'


def fields(name: str) -> list:
    return [(f.name, f.type) for f in dataclasses.fields(TS.types[name])
            if f.name != '__msgtype__']


def test_vision_msgs_types_have_the_4_1_1_layout():
    assert set(VISION_MSGS_DEFINITIONS) <= set(TS.types)
    assert fields('vision_msgs/msg/Detection2D') == [
        ('header', 'std_msgs__msg__Header'),
        ('results', 'list[vision_msgs__msg__ObjectHypothesisWithPose]'),
        ('bbox', 'vision_msgs__msg__BoundingBox2D'), ('id', 'str')]
    assert fields('vision_msgs/msg/BoundingBox2D') == [
        ('center', 'vision_msgs__msg__Pose2D'), ('size_x', 'float'), ('size_y', 'float')]
    assert fields('vision_msgs/msg/Pose2D') == [('position', 'vision_msgs__msg__Point2D'),
                                                ('theta', 'float')]
    assert fields('vision_msgs/msg/ObjectHypothesisWithPose') == [
        ('hypothesis', 'vision_msgs__msg__ObjectHypothesis'),
        ('pose', 'geometry_msgs__msg__PoseWithCovariance')]
    assert fields('vision_msgs/msg/ObjectHypothesis') == [('class_id', 'str'),
                                                          ('score', 'float')]


def test_registration_is_idempotent_and_works_for_jazzy():
    assert register_vision_msgs(TS) is TS
    jazzy = typestore_with_vision_msgs(Stores.ROS2_JAZZY)
    assert ARRAY in jazzy.types
    assert ARRAY not in get_typestore(Stores.ROS2_HUMBLE).types  # the stock store is untouched


def sample_detections() -> Detections:
    return Detections(np.array([[10.5, 20.0, 110.5, 220.0], [300, 50, 340, 90]], np.float32),
                      np.array([0.91, 0.42], np.float32), np.array([0, 4], np.int64),
                      CLASS_NAMES, (480, 640))


def test_detection2darray_carries_header_boxes_names_and_scores():
    src_header = make_header(1700000000, 123456789, 'front_camera', TYPES)
    msg = detections_to_msg(sample_detections(), src_header, TYPES)
    assert isinstance(msg, TS.types[ARRAY])
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec, msg.header.frame_id) == (
        1700000000, 123456789, 'front_camera')
    assert msg.header is not src_header
    first, second = msg.detections
    assert first.header.frame_id == 'front_camera'
    assert (first.bbox.center.position.x, first.bbox.center.position.y) == (60.5, 120.0)
    assert (first.bbox.size_x, first.bbox.size_y, first.bbox.center.theta) == (100.0, 200.0, 0.0)
    assert first.results[0].hypothesis.class_id == 'person'
    assert first.results[0].hypothesis.score == pytest.approx(0.91)
    assert second.results[0].hypothesis.class_id == 'car'
    assert first.results[0].pose.pose.orientation.w == 1.0  # a valid (identity) quaternion


def test_detection2darray_serializes_and_reads_back():
    dets = sample_detections()
    msg = detections_to_msg(dets, make_header(5, 6, 'cam', TYPES), TYPES)
    back = TS.deserialize_cdr(TS.serialize_cdr(msg, ARRAY), ARRAY)
    again = msg_to_detections(back, CLASS_NAMES, (480, 640))
    np.testing.assert_allclose(again.xyxy, dets.xyxy, atol=1e-4)
    np.testing.assert_allclose(again.scores, dets.scores, atol=1e-6)
    np.testing.assert_array_equal(again.class_ids, dets.class_ids)


def test_no_detections_gives_an_empty_array_with_the_header():
    msg = detections_to_msg(Detections.empty(CLASS_NAMES, (10, 10)), make_header(1, 2, 'c', TYPES),
                            TYPES)
    assert msg.detections == [] and msg.header.frame_id == 'c'
    TS.serialize_cdr(msg, ARRAY)


def test_unknown_class_name_is_an_error_when_reading_back():
    msg = detections_to_msg(sample_detections(), make_header(1, 2, 'c', TYPES), TYPES)
    with pytest.raises(ValueError, match='car'):
        msg_to_detections(msg, ('person', 'rider'))


def test_fixed_output_model_end_to_end_to_message(tmp_path):
    """The tiny ONNX the launch test uses gives known boxes in source pixels (here, ROS-free)."""
    model = build_fixed_output_onnx(tmp_path / 'fixed.onnx')
    detector = Detector(model)
    for h, w in ((480, 640), (720, 1280), (400, 300)):
        dets = detector(np.full((h, w, 3), 90, np.uint8))
        msg = detections_to_msg(dets, make_header(3, 4, 'cam', TYPES), TYPES)
        assert [d.results[0].hypothesis.class_id for d in msg.detections] == ['person', 'car']
        for det, box in zip(msg.detections, DEFAULT_BOXES):
            x1, y1, x2, y2 = expected_pixels(box, (h, w))
            assert det.bbox.center.position.x == pytest.approx((x1 + x2) / 2, abs=0.05)
            assert det.bbox.center.position.y == pytest.approx((y1 + y2) / 2, abs=0.05)
            assert det.bbox.size_x == pytest.approx(x2 - x1, abs=0.05)
            assert det.bbox.size_y == pytest.approx(y2 - y1, abs=0.05)
    detector.set_thresholds(0.7)
    assert detector(np.zeros((480, 640, 3), np.uint8)).labels == ['person']
    detector.set_thresholds(0.25, classes=['car'])
    assert detector(np.zeros((480, 640, 3), np.uint8)).labels == ['car']


def test_fixed_output_model_refuses_a_bad_class_id(tmp_path):
    with pytest.raises(ValueError, match='class_id 7'):
        build_fixed_output_onnx(tmp_path / 'x.onnx', boxes=[FixedBox((0, 0, 1, 1), 7, 0.5)])


def test_fixed_output_model_ignores_image_content(tmp_path):
    detector = Detector(build_fixed_output_onnx(tmp_path / 'fixed.onnx'))
    noise = np.random.default_rng(0).integers(0, 256, (480, 640, 3)).astype(np.uint8)
    a, b = detector(noise), detector(cv2.GaussianBlur(noise, (9, 9), 3))
    np.testing.assert_array_equal(a.xyxy, b.xyxy)


def test_diagnostics_message_reports_rates_drops_skips_and_latency():
    stats = PipelineStats(window_s=5.0)
    for k in range(60):  # 2 s of a 30 Hz camera, every other frame processed
        t = k / 30
        stats.on_input(t)
        if k % 2:
            stats.on_drop()
        else:
            stats.on_output(t + 0.04, pipeline_ms=40.0 + k, inference_ms=25.0)
    stats.on_skip('malformed_image')
    snap = stats.snapshot(2.0)
    header = make_header(10, 0, '', TYPES)
    msg = diagnostics_msg(snap, header, TYPES, name='/cam/vru_detector: detector',
                          hardware_id='cpu', extra={'backend': 'onnxruntime',
                                                    'precision': 'int8'}, level='WARN',
                          message='1 malformed frame(s) skipped')
    raw = TS.serialize_cdr(msg, 'diagnostic_msgs/msg/DiagnosticArray')
    msg = TS.deserialize_cdr(raw, 'diagnostic_msgs/msg/DiagnosticArray')
    status = msg.status[0]
    assert status.level == TYPES.DiagnosticStatus.WARN
    assert status.name == '/cam/vru_detector: detector'
    values = diagnostic_values(msg)
    assert float(values['input_rate_hz']) == pytest.approx(30, rel=0.03)
    assert float(values['output_rate_hz']) == pytest.approx(15, rel=0.05)
    assert values['frames_dropped'] == '30' and values['frames_skipped'] == '1'
    assert values['skipped_malformed_image'] == '1'
    assert float(values['pipeline_latency_p50_ms']) == pytest.approx(
        np.percentile([40.0 + k for k in range(0, 60, 2)], 50), abs=0.05)
    assert float(values['inference_p95_ms']) == pytest.approx(25.0)
    assert values['backend'] == 'onnxruntime' and values['precision'] == 'int8'


def test_diagnostics_without_samples_say_n_a():
    snap = PipelineStats().snapshot(0.0)
    values = diagnostic_values(diagnostics_msg(snap, make_header(0, 0, '', TYPES), TYPES, 'x'))
    assert values['pipeline_latency_p95_ms'] == 'n/a'
    assert math.isnan(snap.pipeline_p95_ms)


def test_the_per_frame_builder_serializes_exactly_like_one_message_per_box(rng):
    """detections_to_msg shares one header and pose per frame: same bytes as box by box."""
    xy = rng.uniform(0, 1200, (100, 2)).astype(np.float32)
    xyxy = np.concatenate([xy, xy + rng.uniform(1, 300, (100, 2)).astype(np.float32)], 1)
    dets = Detections(xyxy, rng.uniform(0.01, 1, 100).astype(np.float32),
                      rng.integers(0, len(CLASS_NAMES), 100), CLASS_NAMES, (720, 1280))
    header = make_header(7, 8, 'cam', TYPES)
    fast = detections_to_msg(dets, header, TYPES)
    slow = TYPES.Detection2DArray(header=header, detections=[
        detection_to_msg(dets.xyxy[i], dets.scores[i], dets.labels[i], header, TYPES)
        for i in range(len(dets))])
    assert bytes(TS.serialize_cdr(fast, ARRAY)) == bytes(TS.serialize_cdr(slow, ARRAY))
