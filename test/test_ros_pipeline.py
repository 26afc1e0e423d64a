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

"""The node's per-frame work (convert, detect, build messages, count) with rosbags types."""
import math

import numpy as np
import pytest
from vru_detector import Detector
from vru_detector.class_config import load_class_config
from vru_detector.msgs.convert import image_to_numpy, numpy_to_compressed, numpy_to_image
from vru_detector.msgs.messages import make_header, rosbags_message_types
from vru_detector.ros.pipeline import DetectionPipeline
from vru_detector.stats import PipelineStats
from vru_detector.testing.fixed_output_model import (build_fixed_output_onnx, DEFAULT_BOXES,
                                                     expected_pixels)

TYPES = rosbags_message_types()
H, W = 480, 640


@pytest.fixture(scope='module')
def detector(tmp_path_factory):
    return Detector(build_fixed_output_onnx(tmp_path_factory.mktemp('fixed') / 'fixed.onnx'))


@pytest.fixture
def pipeline(detector):
    detector.set_thresholds(0.25)
    clock = iter(np.arange(0.0, 100.0, 0.05))
    return DetectionPipeline(detector, TYPES, PipelineStats(), load_class_config(None),
                             monotonic=lambda: float(next(clock)))


def frame(stamp_s: float = 100.0, frame_id: str = 'cam', value: int = 90):
    header = make_header(int(stamp_s), int(round(stamp_s % 1 * 1e9)), frame_id, TYPES)
    return numpy_to_image(np.full((H, W, 3), value, np.uint8), 'bgr8', header, TYPES.Image)


def labels(result):
    return [d.results[0].hypothesis.class_id for d in result.detections.detections]


def test_a_good_frame_gives_detections_with_its_header_and_latency(pipeline):
    result = pipeline.process(frame(100.25), ros_now_s=100.30)
    assert result.skipped is None
    assert result.detections.header.frame_id == 'cam'
    assert result.detections.header.stamp.nanosec == 250_000_000
    assert labels(result) == ['person', 'car']
    det = result.detections.detections[0]
    x1, y1, x2, y2 = expected_pixels(DEFAULT_BOXES[0], (H, W))
    assert det.bbox.center.position.x == pytest.approx((x1 + x2) / 2, abs=0.05)
    assert result.pipeline_ms == pytest.approx(50.0)
    assert result.inference_ms > 0 and result.debug_image is None
    snap = pipeline.stats.snapshot(1.0)
    assert snap.processed == 1 and snap.pipeline_p50_ms == pytest.approx(50.0)


def test_malformed_frames_are_counted_and_the_next_good_one_is_processed(pipeline):
    short = frame()
    short.data = short.data[:-5]
    unknown = frame()
    unknown.encoding = '32FC1'
    garbage = TYPES.CompressedImage(header=frame().header, format='jpeg',
                                    data=np.frombuffer(b'definitely not jpeg', np.uint8))
    results = [pipeline.process(m, 101.0) for m in (short, unknown, garbage, frame())]
    assert [r.skipped for r in results] == ['malformed_image', 'unsupported_encoding',
                                            'undecodable_compressed', None]
    assert 'bytes' in results[0].error and '32FC1' in results[1].error
    assert labels(results[3]) == ['person', 'car']
    snap = pipeline.stats.snapshot(1.0)
    assert (snap.skipped, snap.processed) == (3, 1)
    assert snap.skipped_by_reason == {'malformed_image': 1, 'unsupported_encoding': 1,
                                      'undecodable_compressed': 1}


def test_compressed_frames_work_the_same(pipeline):
    msg = numpy_to_compressed(np.full((H, W, 3), 90, np.uint8), frame().header,
                              TYPES.CompressedImage)
    assert labels(pipeline.process(msg, 101.0)) == ['person', 'car']


def test_debug_image_is_drawn_only_when_asked(pipeline):
    result = pipeline.process(frame(), 101.0, draw=True)
    image = image_to_numpy(result.debug_image)
    assert result.debug_image.encoding == 'bgr8' and image.shape == (H, W, 3)
    assert result.debug_image.header.frame_id == 'cam'
    x1, y1, x2, y2 = (int(round(v)) for v in expected_pixels(DEFAULT_BOXES[0], (H, W)))
    person = load_class_config(None)['person'].color_bgr
    assert tuple(image[(y1 + y2) // 2, x1]) == person
    assert tuple(image[(y1 + y2) // 2, (x1 + x2) // 2]) == (90, 90, 90)


def test_threshold_changes_apply_to_the_next_frame(pipeline, detector):
    detector.set_thresholds(0.7)
    assert labels(pipeline.process(frame(), 101.0)) == ['person']
    detector.set_thresholds(0.25, classes=['car'])
    assert labels(pipeline.process(frame(), 101.0)) == ['car']


def test_unstamped_frames_have_no_pipeline_latency(pipeline):
    result = pipeline.process(frame(0.0), 101.0)
    assert math.isnan(result.pipeline_ms)
    assert math.isnan(pipeline.stats.snapshot(1.0).pipeline_p50_ms)
