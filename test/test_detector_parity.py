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

"""Our Detector vs ultralytics' own predictor on the same exported ONNX and real street images."""
from __future__ import annotations

import cv2
import numpy as np
from optional import optional_import, requires
from parity import match_detections
import pytest

from vru_detector import Detector

ultralytics = optional_import('ultralytics')
pytestmark = requires('ultralytics')


def assert_parity(model_path, images, conf: float) -> int:
    theirs_model = ultralytics.YOLO(str(model_path), task='detect')
    # the same runtime as ultralytics' ONNX predictor, so only pre- and post-processing differ
    # (OpenVINO, the automatic CPU backend once installed, has its own parity tests)
    ours = Detector(model_path, conf=conf, backend='onnxruntime')
    total = 0
    for path in images:
        image = cv2.imread(str(path))
        ref = theirs_model.predict(image, conf=conf, verbose=False)[0].boxes
        dets = ours(image)
        assert len(dets) == len(ref), f'{path.name}: {len(dets)} boxes vs ultralytics {len(ref)}'
        unmatched, worst_iou, worst_ds = match_detections(
            ref.xyxy.numpy(), ref.conf.numpy(), ref.cls.numpy().astype(int),
            dets.xyxy, dets.scores, dets.class_ids)
        assert unmatched == 0, f'{path.name}: {unmatched} boxes without a twin (iou {worst_iou})'
        assert dets.image_shape == image.shape[:2]
        total += len(dets)
    return total


@pytest.mark.slow
def test_parity_random_init_model(random_onnx, street_images):
    assert assert_parity(random_onnx, street_images, conf=0.05) > 100


@pytest.mark.slow
def test_parity_trained_model(trained_tiny, street_images):
    _, onnx_path = trained_tiny
    assert assert_parity(onnx_path, street_images, conf=0.001) > 50


@pytest.mark.slow
def test_torch_backend_matches_onnx(trained_tiny, street_images):
    pt, onnx_path = trained_tiny
    by_pt, by_onnx = Detector(pt, conf=0.001), Detector(onnx_path, conf=0.001)
    assert by_pt.backend.name == 'torch' and by_onnx.backend.name in ('openvino', 'onnxruntime')
    assert by_pt.names == by_onnx.names and by_pt.info.input_shape == by_onnx.info.input_shape
    for path in street_images[:4]:
        image = cv2.imread(str(path))
        a, b = by_onnx(image), by_pt(image)
        unmatched, _, _ = match_detections(a.xyxy, a.scores, a.class_ids, b.xyxy, b.scores,
                                           b.class_ids, min_iou=0.98, score_tol=1e-3)
        assert unmatched <= max(1, len(a) // 50), path.name  # FP32 kernels differ slightly


def test_batch_equals_single_images(random_onnx, street_images):
    det = Detector(random_onnx, conf=0.05)
    images = [cv2.imread(str(p)) for p in street_images[:3]]
    batched = det.detect_batch(images)
    for image, got in zip(images, batched):
        want = det(image)
        np.testing.assert_array_equal(got.xyxy, want.xyxy)
        np.testing.assert_array_equal(got.class_ids, want.class_ids)
