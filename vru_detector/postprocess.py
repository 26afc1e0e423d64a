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
YOLOv8 head decode, class-aware NMS and filtering, in numpy (no torch).

Mirrors ultralytics' ``non_max_suppression`` for the single-label case: candidates whose best
class score exceeds the threshold, greedy NMS with boxes offset per class, then ``max_det``.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .errors import ModelOutputError

MAX_WH = 7680.0  # class offset for class-aware NMS (same constant as ultralytics)
MAX_NMS = 30000  # boxes kept for NMS, highest scores first


@dataclass(frozen=True)
class Candidates:
    """Decoded boxes of one image in network-input pixels, before NMS."""

    xyxy: np.ndarray      # float32 [M, 4]
    scores: np.ndarray    # float32 [M]
    class_ids: np.ndarray  # int64 [M]


def decode_yolov8(output: np.ndarray, conf_thres: np.ndarray | float, num_classes: int,
                  ) -> Candidates:
    """
    Decode one image's raw head output ``[4+nc, N]`` (cx, cy, w, h, class scores).

    ``conf_thres`` is a scalar or one threshold per class; a box is kept when its best class
    score is strictly above that class's threshold.
    """
    if output.ndim != 2 or output.shape[0] != 4 + num_classes:
        raise ModelOutputError(
            f'model output has shape {tuple(output.shape)} per image; expected '
            f'[{4 + num_classes}, N] (4 box values + {num_classes} class scores, '
            'YOLOv8 raw head). '
            'Re-export the model with `vru-train export` or ultralytics `format=onnx, nms=False`.')
    thres = np.asarray(conf_thres, dtype=np.float32)
    cls = output[4:]
    best_score = cls.max(0)
    if not np.isfinite(best_score).all():  # max propagates NaN from any class
        raise ModelOutputError('model output contains NaN or infinite scores; frame skipped')
    cols = np.flatnonzero(best_score > thres.min())  # cheap prefilter; exact test below
    best = cls[:, cols].argmax(0)
    score = best_score[cols]
    passed = score > (thres[best] if thres.ndim else thres)
    cols, best, score = cols[passed], best[passed], score[passed]
    if not len(cols):
        return Candidates(np.zeros((0, 4), np.float32), np.zeros(0, np.float32),
                          np.zeros(0, np.int64))
    box = output[:4, cols].T.astype(np.float32)
    xyxy = np.empty_like(box)
    half_w, half_h = box[:, 2] / 2, box[:, 3] / 2
    xyxy[:, 0] = box[:, 0] - half_w
    xyxy[:, 1] = box[:, 1] - half_h
    xyxy[:, 2] = box[:, 0] + half_w
    xyxy[:, 3] = box[:, 1] + half_h
    if not np.isfinite(xyxy).all() or not np.isfinite(score).all():
        raise ModelOutputError('model output contains NaN or infinite values; frame skipped')
    return Candidates(xyxy, score.astype(np.float32), best.astype(np.int64))


def nms(xyxy: np.ndarray, scores: np.ndarray, iou_thres: float) -> np.ndarray:
    """
    Greedy NMS with torchvision's semantics (drop a box whose IoU with a kept one is > iou_thres).

    OpenCV's C++ ``NMSBoxes`` on float rectangles gives the same kept set and order as
    ``torchvision.ops.nms`` (tested), without torch. Returns indices by descending score.
    Its score threshold must be >= 0 and drops scores <= 0; callers pass scores above their
    confidence threshold, so only exact zeros at conf=0 differ (they carry no detection).
    """
    if not len(scores):
        return np.zeros(0, dtype=np.int64)
    xywh = np.empty((len(xyxy), 4), dtype=np.float64)
    xywh[:, :2] = xyxy[:, :2]
    xywh[:, 2:] = xyxy[:, 2:] - xyxy[:, :2]
    keep = cv2.dnn.NMSBoxes(xywh, scores.astype(np.float32), 0.0, float(iou_thres))
    return np.asarray(keep, dtype=np.int64).reshape(-1)


def select_detections(cand: Candidates, iou_thres: float, max_det: int,
                      agnostic: bool = False) -> Candidates:
    """Class-aware NMS (boxes offset by class id) then cap at ``max_det``."""
    if not len(cand.scores):
        return cand
    idx = np.arange(len(cand.scores))
    if len(idx) > MAX_NMS:
        idx = np.argsort(-cand.scores, kind='stable')[:MAX_NMS]
    offset = 0.0 if agnostic else MAX_WH
    boxes = cand.xyxy[idx] + (cand.class_ids[idx, None].astype(np.float32) * offset)
    kept = idx[nms(boxes, cand.scores[idx], iou_thres)][:max_det]
    return Candidates(cand.xyxy[kept], cand.scores[kept], cand.class_ids[kept])
