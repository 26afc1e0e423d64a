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

"""Hostile arrays into the Detector: either detections or InvalidImageError, nothing else."""
from hypothesis import given, HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
import numpy as np
import pytest

from vru_detector import Detections, Detector, InvalidImageError
from vru_detector.image import as_bgr8

DTYPES = st.sampled_from([np.uint8, np.uint16, np.int8, np.int32, np.float16, np.float32,
                          np.float64, np.bool_])
ARRAYS = hnp.arrays(
    dtype=DTYPES,
    shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=40))


@settings(max_examples=300, deadline=None)
@given(ARRAYS)
def test_as_bgr8_converts_or_refuses(array):
    try:
        out = as_bgr8(array)
    except InvalidImageError:
        return
    assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
    assert out.flags.c_contiguous and out.shape[:2] == array.shape[:2]


@pytest.fixture(scope='module')
def detector(random_onnx):
    return Detector(random_onnx, conf=0.05)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hnp.arrays(dtype=st.sampled_from([np.uint8, np.uint16]),
                  shape=st.tuples(st.integers(1, 300), st.integers(1, 300),
                                  st.sampled_from([1, 3, 4]))))
def test_detector_on_any_valid_image_returns_boxes_inside_it(detector, image):
    dets = detector(image)
    assert isinstance(dets, Detections)
    h, w = image.shape[:2]
    assert dets.image_shape == (h, w)
    assert ((dets.xyxy[:, [0, 2]] >= 0) & (dets.xyxy[:, [0, 2]] <= w)).all()
    assert ((dets.xyxy[:, [1, 3]] >= 0) & (dets.xyxy[:, [1, 3]] <= h)).all()
