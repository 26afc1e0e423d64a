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

"""Hostile camera messages through the per-frame pipeline: published or skipped, never raised."""
import cv2
from fixed_output_model import build_fixed_output_onnx
from hypothesis import given, HealthCheck, settings
from hypothesis import strategies as st
import numpy as np
import pytest
from vru_detector import Detector
from vru_detector.msgs.convert import numpy_to_compressed
from vru_detector.msgs.messages import make_header, rosbags_message_types
from vru_detector.ros.pipeline import DetectionPipeline
from vru_detector.stats import PipelineStats

TYPES = rosbags_message_types()
ENCODINGS = ['rgb8', 'bgr8', 'rgba8', 'bgra8', 'mono8', 'mono16', 'yuv422', 'yuyv', 'uyvy',
             'yuv422_yuy2', 'bayer_rggb8', 'bayer_bggr16', '8UC3', '16UC1', '32FC1', 'jpeg',
             '', 'bgr 8', 'nv12', 'rgb16']
SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@pytest.fixture(scope='module')
def pipeline(tmp_path_factory):
    det = Detector(build_fixed_output_onnx(tmp_path_factory.mktemp('m') / 'fixed.onnx', imgsz=64))
    return DetectionPipeline(det, TYPES, PipelineStats())


def check(pipeline, msg):
    result = pipeline.process(msg, ros_now_s=1.0)
    if result.skipped is None:
        assert result.detections.header.frame_id == msg.header.frame_id
    else:
        assert result.detections is None and result.error


@SETTINGS
@given(encoding=st.sampled_from(ENCODINGS), height=st.integers(0, 40), width=st.integers(0, 40),
       step_extra=st.integers(-8, 16), size_extra=st.integers(-50, 50),
       bigendian=st.booleans(), seed=st.integers(0, 2**16))
def test_random_raw_images(pipeline, encoding, height, width, step_extra, size_extra, bigendian,
                           seed):
    step = max(0, width * 3 + step_extra)
    size = max(0, height * step + size_extra)
    data = np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8)
    msg = TYPES.Image(header=make_header(1, 0, 'cam', TYPES), height=height, width=width,
                      encoding=encoding, is_bigendian=int(bigendian), step=step, data=data)
    check(pipeline, msg)


@SETTINGS
@given(fmt=st.sampled_from(['jpeg', 'png', 'bgr8; jpeg compressed bgr8', 'rgb8; png compressed',
                            'tiff', '', 'jpeg\x00']),
       cut=st.integers(0, 2000), flip=st.integers(0, 2000), seed=st.integers(0, 2**16))
def test_random_and_truncated_compressed_images(pipeline, fmt, cut, flip, seed):
    image = np.random.default_rng(seed).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    good = numpy_to_compressed(image, make_header(1, 0, 'cam', TYPES), TYPES.CompressedImage,
                               'png' if 'png' in fmt else 'jpeg')
    data = np.array(good.data, dtype=np.uint8)[:max(cut, 1)].copy()
    if len(data):
        data[flip % len(data)] ^= 0xFF
    msg = TYPES.CompressedImage(header=good.header, format=fmt, data=data)
    check(pipeline, msg)


def test_good_frame_after_hostile_ones_is_published(pipeline):
    header = make_header(2, 0, 'cam', TYPES)
    bad = TYPES.Image(header=header, height=10, width=10, encoding='bgr8', is_bigendian=0,
                      step=30, data=np.zeros(7, np.uint8))
    assert pipeline.process(bad, 2.0).skipped
    good = numpy_to_compressed(cv2.resize(np.full((8, 8, 3), 90, np.uint8), (64, 48)), header,
                               TYPES.CompressedImage, 'jpeg')
    assert pipeline.process(good, 2.0).skipped is None
