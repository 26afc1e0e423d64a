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
COCO box mAP (pycocotools' algorithm, reimplemented in numpy without its file formats).

Same matching and accumulation as ``pycocotools.cocoeval.COCOeval`` for ``iouType='bbox'``:
10 IoU thresholds .50:.05:.95, 101 recall points, area ranges all / small (< 32^2) /
medium (32^2..96^2) / large (> 96^2) on the ground-truth box area, 100 detections per image and
class, crowd/ignore boxes matched with IoU = intersection / detection area and never counted.
Results agree with pycocotools to floating-point noise (tested against it).

Besides mAP it keeps, per frame, which ground-truth box each detection hit at IoU 0.5, so the
operating-point metrics (precision/recall at a score threshold, missed VRUs, false alarms per
frame) come from the very same matching.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
RECALL_POINTS = np.linspace(0.0, 1.0, 101)
AREA_RANGES = {'all': (0.0, 1e10), 'small': (0.0, 32.0 ** 2), 'medium': (32.0 ** 2, 96.0 ** 2),
               'large': (96.0 ** 2, 1e10)}
AREAS = tuple(AREA_RANGES)


def box_area(xyxy: np.ndarray) -> np.ndarray:
    return (xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1])


def coco_iou(dets: np.ndarray, gts: np.ndarray, crowd: np.ndarray) -> np.ndarray:
    """Return IoU [D, G] of xyxy boxes; for crowd gts the union is the detection's own area."""
    if len(dets) == 0 or len(gts) == 0:
        return np.zeros((len(dets), len(gts)))
    d = dets.astype(np.float64)
    g = gts.astype(np.float64)
    iw = np.minimum(d[:, None, 2], g[None, :, 2]) - np.maximum(d[:, None, 0], g[None, :, 0])
    ih = np.minimum(d[:, None, 3], g[None, :, 3]) - np.maximum(d[:, None, 1], g[None, :, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    da, ga = box_area(d)[:, None], box_area(g)[None, :]
    union = np.where(crowd[None, :], da, da + ga - inter)
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


@dataclass
class ImageClassEval:
    """Matching of one frame and one class, for every area range (pycocotools evaluateImg)."""

    scores: np.ndarray                      # [D] sorted descending, truncated to max_dets
    det_matched: dict[str, np.ndarray]      # area -> [T, D] bool
    det_ignored: dict[str, np.ndarray]      # area -> [T, D] bool
    num_gt: dict[str, int]                  # area -> non-ignored gt count
    det_index: np.ndarray                   # [D] index of each det in the frame's detections
    gt_index: np.ndarray                    # [G] index of each gt in the frame's ground truth
    gt_match_score: np.ndarray              # [G] score of the det matched at IoU .5 (all), or -1
    gt_ignored: np.ndarray                  # [G] ignored at area 'all' (crowd / ignore region)


def evaluate_image_class(det_xyxy: np.ndarray, det_scores: np.ndarray, gt_xyxy: np.ndarray,
                         gt_crowd: np.ndarray, max_dets: int = 100,
                         iou_thresholds: np.ndarray = IOU_THRESHOLDS) -> ImageClassEval:
    """Match one (image, class) greedily as pycocotools does, for all areas and thresholds."""
    order = np.argsort(-det_scores, kind='mergesort')[:max_dets]
    dets, scores = det_xyxy[order], det_scores[order]
    ious_all = coco_iou(dets, gt_xyxy, gt_crowd)
    gt_area = box_area(gt_xyxy.astype(np.float64))
    det_area = box_area(dets.astype(np.float64))
    n_t, n_d = len(iou_thresholds), len(dets)
    matched, ignored, num_gt = {}, {}, {}
    gt_match_score = np.full(len(gt_xyxy), -1.0)
    for area in AREAS:
        lo, hi = AREA_RANGES[area]
        g_ign_orig = gt_crowd | (gt_area < lo) | (gt_area > hi)
        gind = np.argsort(g_ign_orig, kind='mergesort')
        g_ign = g_ign_orig[gind]
        crowd = gt_crowd[gind]
        ious = ious_all[:, gind]
        dtm = np.full((n_t, n_d), -1, np.int64)
        gtm = np.zeros((n_t, len(gind)), bool)
        if len(gind):
            thr = np.minimum(iou_thresholds, 1 - 1e-10)
            for d in range(n_d):
                avail = ~gtm | crowd[None, :]
                ok = avail & (ious[d][None, :] >= thr[:, None])
                for pool in (~g_ign, g_ign):
                    cand = ok & pool[None, :]
                    rows = cand.any(1) & (dtm[:, d] < 0)
                    if not rows.any():
                        continue
                    vals = np.where(cand, ious[d][None, :], -1.0)[rows]
                    last_max = vals.shape[1] - 1 - np.argmax(vals[:, ::-1], axis=1)
                    dtm[rows, d] = last_max
                    gtm[np.flatnonzero(rows), last_max] |= ~crowd[last_max]
        is_m = dtm >= 0
        d_ign = np.zeros((n_t, n_d), bool)
        if len(gind):
            d_ign[is_m] = g_ign[dtm[is_m]]
        out_of_range = (det_area < lo) | (det_area > hi)
        d_ign |= ~is_m & out_of_range[None, :]
        matched[area], ignored[area] = is_m, d_ign
        num_gt[area] = int((~g_ign).sum())
        if area == 'all' and n_d:
            for di in np.flatnonzero(is_m[0]):
                gi = int(gind[dtm[0, di]])
                if not gt_crowd[gi] and gt_match_score[gi] < 0:
                    gt_match_score[gi] = scores[di]
    return ImageClassEval(scores, matched, ignored, num_gt, order, np.arange(len(gt_xyxy)),
                          gt_match_score, gt_crowd.copy())


@dataclass
class CocoResult:
    """precision [T, R, K, A] (-1 where a class has no gt), recall [T, K, A], plus summaries."""

    names: tuple[str, ...]
    precision: np.ndarray
    recall: np.ndarray
    scores: np.ndarray                  # [T, R, K, A] score at each recall point
    pr_curves: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)

    @staticmethod
    def _mean(p: np.ndarray) -> float:
        p = p[p > -1]
        return float(p.mean()) if p.size else float('nan')

    def mean_ap(self, area: str = 'all', cls: int | None = None,
                iou: float | None = None) -> float:
        """Return mAP over IoU .50:.95 (or at ``iou``), one class or the mean over classes."""
        a = AREAS.index(area)
        p = self.precision[..., a]
        if iou is not None:
            p = p[np.flatnonzero(np.isclose(IOU_THRESHOLDS, iou))]
        if cls is not None:
            p = p[:, :, cls]
        return self._mean(p)

    def summary(self) -> dict:
        """Return mAP50-95 / mAP50 overall, per area, per class, per class x area (NaN: no gt)."""
        out: dict[str, Any] = {'mAP50_95': self.mean_ap(), 'mAP50': self.mean_ap(iou=0.5),
                               'by_area': {}, 'by_class': {}}
        for area in AREAS[1:]:
            out['by_area'][area] = {'mAP50_95': self.mean_ap(area),
                                    'mAP50': self.mean_ap(area, iou=0.5)}
        for k, name in enumerate(self.names):
            entry: dict[str, Any] = {'mAP50_95': self.mean_ap(cls=k),
                                     'mAP50': self.mean_ap(cls=k, iou=0.5),
                                     'recall_max': float(self.recall[0, k, 0])}
            for area in AREAS[1:]:
                entry[area] = {'mAP50_95': self.mean_ap(area, cls=k),
                               'mAP50': self.mean_ap(area, cls=k, iou=0.5)}
            out['by_class'][name] = entry
        return out


def accumulate(evals: list[list[ImageClassEval | None]], names: tuple[str, ...]) -> CocoResult:
    """Accumulate as pycocotools does; ``evals[k]``: per-frame evaluations of class k, in order."""
    n_t, n_r, n_k, n_a = len(IOU_THRESHOLDS), len(RECALL_POINTS), len(names), len(AREAS)
    precision = -np.ones((n_t, n_r, n_k, n_a))
    recall = -np.ones((n_t, n_k, n_a))
    score_at = -np.ones((n_t, n_r, n_k, n_a))
    curves = {}
    for k in range(n_k):
        items = [e for e in evals[k] if e is not None]
        if not items:
            continue
        scores = np.concatenate([e.scores for e in items])
        inds = np.argsort(-scores, kind='mergesort')
        scores_sorted = scores[inds]
        for a, area in enumerate(AREAS):
            npig = sum(e.num_gt[area] for e in items)
            if npig == 0:
                continue
            dtm = np.concatenate([e.det_matched[area] for e in items], axis=1)[:, inds]
            dti = np.concatenate([e.det_ignored[area] for e in items], axis=1)[:, inds]
            tps = np.cumsum(dtm & ~dti, axis=1, dtype=np.float64)
            fps = np.cumsum(~dtm & ~dti, axis=1, dtype=np.float64)
            for t in range(n_t):
                tp, fp = tps[t], fps[t]
                rc = tp / npig
                pr = tp / (fp + tp + np.spacing(1))
                recall[t, k, a] = rc[-1] if len(tp) else 0
                if t == 0 and area == 'all':
                    curves[k] = (rc.copy(), pr.copy(), scores_sorted.copy())
                pr = np.maximum.accumulate(pr[::-1])[::-1] if len(pr) else pr
                idx = np.searchsorted(rc, RECALL_POINTS, side='left')
                q = np.zeros(n_r)
                ss = np.zeros(n_r)
                valid = idx < len(pr)
                q[valid] = pr[idx[valid]]
                ss[valid] = scores_sorted[idx[valid]]
                precision[t, :, k, a] = q
                score_at[t, :, k, a] = ss
    return CocoResult(tuple(names), precision, recall, score_at, curves)
