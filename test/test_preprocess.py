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

"""Letterbox must match ultralytics' pixel for pixel, and undoing it must match scale_boxes."""
import numpy as np
from optional import optional_import, requires
import pytest

from vru_detector.preprocess import letterbox, preprocess, to_input_tensor

torch = optional_import('torch')
ultra_augment = optional_import('ultralytics.data.augment')
ultra_ops = optional_import('ultralytics.utils.ops')
needs_ultralytics = requires('torch', 'ultralytics')

SHAPES = [(720, 1280), (426, 640), (333, 500), (480, 640), (1, 3000), (3000, 1), (100, 100),
          (37, 53), (640, 640), (1080, 1920)]


@needs_ultralytics
@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('input_shape', [(320, 320), (640, 640), (384, 640)])
def test_letterbox_matches_ultralytics(shape, input_shape, rng):
    image = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    theirs = ultra_augment.LetterBox(input_shape, auto=False, stride=32)(image=image)
    ours, tf = letterbox(image, input_shape)
    assert ours.shape == theirs.shape == (*input_shape, 3)
    np.testing.assert_array_equal(ours, theirs)
    assert tf.orig_shape == shape


@needs_ultralytics
@pytest.mark.parametrize('shape', SHAPES)
def test_box_mapping_matches_scale_boxes(shape, rng):
    input_shape = (320, 320)
    boxes = np.sort(rng.uniform(0, 320, (50, 4)).astype(np.float32).reshape(50, 2, 2), axis=1)
    boxes = boxes.transpose(0, 2, 1).reshape(50, 4)  # x1<x2, y1<y2
    _, tf = letterbox(np.zeros((*shape, 3), np.uint8), input_shape)
    theirs = ultra_ops.scale_boxes(input_shape, torch.from_numpy(boxes.copy()), shape).numpy()
    np.testing.assert_allclose(tf.to_original(boxes), theirs, rtol=0, atol=1e-3)


def test_boxes_clipped_to_image():
    _, tf = letterbox(np.zeros((100, 200, 3), np.uint8), (320, 320))
    out = tf.to_original(np.array([[-50, -50, 400, 400]], np.float32))
    np.testing.assert_array_equal(out, [[0, 0, 200, 100]])


def test_input_tensor_layout_is_rgb_nchw_unit_range():
    bgr = np.zeros((64, 64, 3), np.uint8)
    bgr[..., 0] = 255  # pure blue
    blob, _ = preprocess([bgr, bgr], (64, 64))
    assert blob.shape == (2, 3, 64, 64) and blob.dtype == np.float32
    np.testing.assert_array_equal(blob[:, 2], 1.0)  # blue is the last channel in RGB
    np.testing.assert_array_equal(blob[:, :2], 0.0)


@pytest.mark.parametrize('shape', SHAPES)
def test_fused_preprocess_equals_letterbox_then_tensor(shape, rng):
    image = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    boxed, tf = letterbox(image, (320, 256))
    blob, (tf2,) = preprocess([image], (320, 256))
    np.testing.assert_array_equal(blob, to_input_tensor([boxed]))
    assert tf2 == tf
