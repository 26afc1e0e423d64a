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

"""Turn whatever a camera or file gives us into the HxWx3 uint8 BGR array the Detector expects."""
from __future__ import annotations

import cv2
import numpy as np

from .errors import InvalidImageError


def as_bgr8(image: object) -> np.ndarray:
    """
    Convert grayscale, BGRA, 16-bit or strided images; refuse the rest with a reason.

    16-bit images are scaled to 8 bits (``v / 257``); float, bool and other dtypes are refused
    because their value range is ambiguous.
    """
    if not isinstance(image, np.ndarray):
        raise InvalidImageError(f'image must be a numpy array, got {type(image).__name__}')
    if image.size == 0 or image.ndim < 2:
        raise InvalidImageError(f'image is empty (shape {image.shape}); expected HxWx3')
    if image.ndim > 3:
        raise InvalidImageError(
            f'image has shape {image.shape}; expected HxW, HxWx1, HxWx3 or HxWx4')
    if image.dtype == np.uint16:
        image = cv2.convertScaleAbs(image, alpha=1 / 257)
    elif image.dtype != np.uint8:
        raise InvalidImageError(
            f'image dtype is {image.dtype}; expected uint8 (or uint16, scaled to 8 bits). '
            'Convert float images with (img * 255).clip(0, 255).astype(np.uint8).')
    channels = 1 if image.ndim == 2 else image.shape[2]
    if channels == 1:
        return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_GRAY2BGR)
    if channels == 4:
        return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_BGRA2BGR)
    if channels != 3:
        raise InvalidImageError(f'image has {channels} channels; expected 1, 3 (BGR) or 4 (BGRA)')
    if image.strides[1:] == (3, 1):  # packed pixels; padded rows (ROS `step`) are fine for
        return image                  # OpenCV, so a camera buffer view is not copied
    return np.ascontiguousarray(image)
