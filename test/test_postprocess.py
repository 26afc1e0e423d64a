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

"""Decode + NMS against torchvision / ultralytics, thresholds, class filter, bad outputs."""
import numpy as np
import pytest

from vru_detector.detector import class_thresholds
from vru_detector.errors import ModelOutputError, VruDetectorError
from vru_detector.postprocess import decode_yolov8, nms, select_detections

NAMES = ('person', 'rider', 'bicycle', 'motorcycle', 'car')


def random_head(rng, n=400, nc=5, size=320):
    cxcy = rng.uniform(0, size, (2, n))
    wh = rng.uniform(4, size / 3, (2, n))
    scores = rng.uniform(0, 1, (nc, n)) ** 3
    return np.concatenate([cxcy, wh, scores]).astype(np.float32)


def test_nms_matches_torchvision(rng):
    torch = pytest.importorskip('torch')
    tv_ops = pytest.importorskip('torchvision.ops')
    for _ in range(20):
        xy = rng.uniform(0, 200, (300, 2))
        wh = rng.uniform(5, 80, (300, 2))
        boxes = np.concatenate([xy, xy + wh], 1).astype(np.float32)
        scores = rng.uniform(0, 1, 300).astype(np.float32)
        for thr in (0.3, 0.5, 0.7):
            theirs = tv_ops.nms(torch.from_numpy(boxes), torch.from_numpy(scores), thr).numpy()
            np.testing.assert_array_equal(nms(boxes, scores, thr), theirs)


def test_decode_and_nms_match_ultralytics(rng):
    torch = pytest.importorskip('torch')
    ultra_nms = pytest.importorskip('ultralytics.utils.nms')
    for _ in range(5):
        head = random_head(rng)
        theirs = ultra_nms.non_max_suppression(
            torch.from_numpy(head[None]), 0.1, 0.5, max_det=50)[0]
        cand = decode_yolov8(head, 0.1, 5)
        ours = select_detections(cand, 0.5, 50)
        np.testing.assert_allclose(ours.xyxy, theirs[:, :4].numpy(), atol=1e-4)
        np.testing.assert_allclose(ours.scores, theirs[:, 4].numpy(), atol=1e-6)
        np.testing.assert_array_equal(ours.class_ids, theirs[:, 5].numpy().astype(int))


def test_class_aware_nms_keeps_overlapping_boxes_of_different_classes():
    head = np.zeros((4 + 2, 2), np.float32)
    head[:4, 0] = head[:4, 1] = [50, 50, 20, 40]  # identical boxes
    head[4, 0], head[5, 1] = 0.9, 0.8             # class 0 and class 1
    cand = decode_yolov8(head, 0.25, 2)
    assert len(select_detections(cand, 0.5, 10).scores) == 2
    assert len(select_detections(cand, 0.5, 10, agnostic=True).scores) == 1


def test_per_class_thresholds_and_filter(rng):
    head = random_head(rng)
    thr = class_thresholds(NAMES, 0.2, {'car': 0.9}, classes=['person', 'car'])
    cand = decode_yolov8(head, thr, 5)
    assert set(cand.class_ids.tolist()) <= {0, 4}
    assert (cand.scores[cand.class_ids == 4] > 0.9).all()
    assert (cand.scores[cand.class_ids == 0] > 0.2).all()
    assert (cand.class_ids == 0).any()


def test_unknown_class_names_are_reported():
    with pytest.raises(VruDetectorError, match='pedestrian.*person'):
        class_thresholds(NAMES, 0.25, classes=['pedestrian'])
    with pytest.raises(VruDetectorError, match='within'):
        class_thresholds(NAMES, 1.5)


def test_wrong_output_shape_and_nan_are_model_output_errors(rng):
    with pytest.raises(ModelOutputError, match=r'expected \[9, N\]'):
        decode_yolov8(np.zeros((84, 10), np.float32), 0.25, 5)
    head = random_head(rng)
    head[0, :] = np.nan
    with pytest.raises(ModelOutputError, match='NaN'):
        decode_yolov8(head, 0.0, 5)


def test_max_det_caps_output(rng):
    cand = decode_yolov8(random_head(rng, n=2000), 0.0, 5)
    assert len(select_detections(cand, 0.99, 7).scores) == 7
