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

"""Box-set matching used by parity tests: every reference box must have a twin in ours."""
from __future__ import annotations

import numpy as np


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area_a = (a[:, 2:] - a[:, :2]).prod(-1)
    area_b = (b[:, 2:] - b[:, :2]).prod(-1)
    return inter / np.maximum(area_a[:, None] + area_b[None] - inter, 1e-9)


def match_detections(ref_xyxy, ref_scores, ref_cls, xyxy, scores, cls,
                     min_iou: float = 0.99, score_tol: float = 1e-4) -> tuple[int, float, float]:
    """
    Match greedily one-to-one on class + IoU.

    Returns (unmatched count, worst IoU, worst score diff).
    """
    ref_xyxy, xyxy = np.asarray(ref_xyxy, np.float64), np.asarray(xyxy, np.float64)
    ious = iou_matrix(ref_xyxy, xyxy)
    # boxes clipped flat at the image border have no area: equal corners count as a match
    same = np.abs(ref_xyxy[:, None] - xyxy[None]).max(-1) < 1e-2
    ious = np.where(same, 1.0, ious)
    used = np.zeros(len(scores), bool)
    unmatched, worst_iou, worst_ds = 0, 1.0, 0.0
    for i in np.argsort(-np.asarray(ref_scores)):
        ok = ((~used) & (np.asarray(cls) == ref_cls[i])
              & (np.abs(scores - ref_scores[i]) <= score_tol))
        cand = np.where(ok, ious[i], -1.0)
        j = int(cand.argmax()) if len(cand) else -1
        if j < 0 or cand[j] < min_iou:
            unmatched += 1
            continue
        used[j] = True
        worst_iou = min(worst_iou, float(ious[i, j]))
        worst_ds = max(worst_ds, float(abs(scores[j] - ref_scores[i])))
    return unmatched, worst_iou, worst_ds
