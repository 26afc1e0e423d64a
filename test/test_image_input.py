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

"""Images as cameras and files deliver them: converted when unambiguous, refused with a reason."""
import cv2
import numpy as np
import pytest

from vru_detector import Detector, InvalidImageError
from vru_detector.image import as_bgr8


def test_conversions(rng):
    bgr = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    np.testing.assert_array_equal(as_bgr8(gray), cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))
    np.testing.assert_array_equal(as_bgr8(gray[..., None]), as_bgr8(gray))
    bgra = np.dstack([bgr, np.full(bgr.shape[:2], 7, np.uint8)])
    np.testing.assert_array_equal(as_bgr8(bgra), bgr)
    np.testing.assert_array_equal(as_bgr8(bgr.astype(np.uint16) * 257), bgr)
    strided = np.asfortranarray(bgr)[:, ::-1]
    out = as_bgr8(strided)
    assert out.flags.c_contiguous
    np.testing.assert_array_equal(out, bgr[:, ::-1])


@pytest.mark.parametrize('bad, reason', [
    (np.zeros((0, 10, 3), np.uint8), 'empty'),
    (np.zeros((10, 10, 3), np.float32), 'dtype is float32'),
    (np.zeros((10, 10, 2), np.uint8), '2 channels'),
    (np.zeros((2, 10, 10, 3), np.uint8), 'shape'),
    (None, 'numpy array'),
    (b'\xff\xd8', 'numpy array'),
])
def test_refusals_name_the_problem(bad, reason):
    with pytest.raises(InvalidImageError, match=reason):
        as_bgr8(bad)


def test_detector_accepts_gray_and_refuses_garbage(random_onnx, street_images):
    det = Detector(random_onnx, conf=0.05)
    gray = cv2.imread(str(street_images[0]), cv2.IMREAD_GRAYSCALE)
    a, b = det(gray), det(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))
    np.testing.assert_array_equal(a.xyxy, b.xyxy)
    with pytest.raises(InvalidImageError):
        det(np.zeros((0, 0, 3), np.uint8))
    assert len(det(np.zeros((1, 1, 3), np.uint8))) >= 0  # tiny frames are valid input


def test_padded_rows_are_used_in_place_and_detect_like_packed(random_onnx, street_images):
    image = cv2.imread(str(street_images[0]))
    padded = np.zeros((image.shape[0], image.shape[1] + 5, 3), np.uint8)
    padded[:, :image.shape[1]] = image
    view = padded[:, :image.shape[1]]  # rows padded like a ROS Image with step > width*3
    assert as_bgr8(view).base is not None and np.shares_memory(as_bgr8(view), padded)
    det = Detector(random_onnx, conf=0.05)
    a, b = det(view), det(image)
    np.testing.assert_array_equal(a.xyxy, b.xyxy)
    np.testing.assert_array_equal(a.scores, b.scores)
