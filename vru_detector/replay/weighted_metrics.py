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
A replay's figures as functions of frame weights, for bootstrap resamples (see ``bootstrap``).

Every frame is matched once (``ReplayMetrics.add``, pycocotools' matching); a resample only
changes how many times each frame counts. AP50 under weights ``w`` is exactly the AP50 that
``coco_eval.accumulate`` gives on the list of frames with frame ``f`` repeated ``w[f]`` times
(tested): detections are sorted by score once, and the true / false positive counts
accumulate ``w`` per detection instead of 1. So one resample costs a weighted cumulative sum,
not a re-evaluation, and 1,000 resamples of a few thousand frames take seconds.

A class is scored only on frames whose source labels it (``labelled``): a video labelled
for pedestrians only says nothing about the bicycles a model finds in it.
"""
from __future__ import annotations

from typing import Sequence
import warnings

import numpy as np

from .coco_eval import RECALL_POINTS
from .metrics import ReplayMetrics

# Pedestrian height buckets (pixels of the original image), the Caltech pedestrian
# benchmark's convention (Dollar et al., PAMI 2012): far < 30 px, medium 30-80 px, near >= 80
# px. Height, not area, because a pedestrian's width changes with pose, its height with
# distance; 30 px is where detectors of the time failed, 80 px a person a few metres away.
HEIGHT_BUCKETS = {'small': (0.0, 30.0), 'medium': (30.0, 80.0), 'large': (80.0, float('inf'))}


class WeightedReplay:
    """
    One model's per-frame matching, as vectorised statistics of frame weights ``[B, F]``.

    ``metrics``: the model's ReplayMetrics (frames in the order the weights refer to).
    ``labelled``: bool ``[F, K]``, whether frame f's source labels class k (default: all).
    ``conf``: score threshold per class (the node's operating point) for recall and false
    positives. ``frames``: positions in ``metrics.frames`` to keep (a source of a pooled
    run), in the order the weights refer to; ``labelled`` then has one row per kept frame.
    """

    def __init__(self, metrics: ReplayMetrics, conf: Sequence[float] | float,
                 labelled: np.ndarray | None = None,
                 frames: Sequence[int] | None = None) -> None:
        self.names = metrics.names
        self.keep = np.arange(len(metrics.frames)) if frames is None else \
            np.asarray(frames, np.int64)
        n_f, n_k = len(self.keep), len(self.names)
        self.frames = n_f
        self.labelled = np.ones((n_f, n_k), bool) if labelled is None else \
            np.asarray(labelled, bool)
        if self.labelled.shape != (n_f, n_k):
            raise ValueError(f'labelled is {self.labelled.shape}, expected {(n_f, n_k)}')
        self.conf = np.broadcast_to(np.asarray(conf, np.float64), (n_k,)).copy()
        self._ap = [self._ap_arrays(metrics, k) for k in range(n_k)]
        self._found, self._total, self._fp = self._operating_point(metrics)

    # ----------------------------------------------------------------- preparation
    def _ap_arrays(self, metrics: ReplayMetrics, k: int):
        """Sort class k's detections by score (frame, tp, fp at IoU .5); count gts per frame."""
        frame_of, scores, tp, fp = [], [], [], []
        num_gt = np.zeros(self.frames)
        for f, pos in enumerate(self.keep):
            ev = metrics.evals[k][pos]
            if ev is None or not self.labelled[f, k]:
                continue
            num_gt[f] = ev.num_gt['all']
            m, ign = ev.det_matched['all'][0], ev.det_ignored['all'][0]
            frame_of.append(np.full(len(ev.scores), f))
            scores.append(ev.scores)
            tp.append(m & ~ign)
            fp.append(~m & ~ign)
        if not scores:
            return np.zeros(0, np.int64), np.zeros(0), np.zeros(0), num_gt
        order = np.argsort(-np.concatenate(scores), kind='mergesort')
        return (np.concatenate(frame_of)[order], np.concatenate(tp)[order].astype(float),
                np.concatenate(fp)[order].astype(float), num_gt)

    def _operating_point(self, metrics: ReplayMetrics):
        """Per frame: found / total gts by class and height bucket, false positives by class."""
        n_k, n_b = len(self.names), len(HEIGHT_BUCKETS)
        found = np.zeros((self.frames, n_k, n_b + 1))   # last bucket: all heights
        total = np.zeros((self.frames, n_k, n_b + 1))
        fp = np.zeros((self.frames, n_k))
        edges = [lo for lo, _ in HEIGHT_BUCKETS.values()][1:]
        for f, pos in enumerate(self.keep):
            rec = metrics.frames[pos]
            real = ~rec.truth.ignore
            cls = rec.truth.class_ids[real]
            heights = rec.truth.xyxy[real, 3] - rec.truth.xyxy[real, 1]
            bucket = np.searchsorted(edges, heights, side='right')
            hit = rec.gt_score[real] >= self.conf[cls]
            for b_idx in (bucket, np.full(len(cls), n_b)):
                np.add.at(total[f], (cls, b_idx), 1)
                np.add.at(found[f], (cls, b_idx), hit)
            above = rec.scores >= self.conf[rec.class_ids]
            wrong = above & ~rec.det_tp & ~rec.det_on_ignore
            np.add.at(fp[f], rec.class_ids[wrong], 1)
        lab = self.labelled[:, :, None]
        return found * lab, total * lab, fp * self.labelled

    # ----------------------------------------------------------------- statistics
    def class_index(self, name: str) -> int:
        return self.names.index(name)

    def ap50(self, weights: np.ndarray, cls: int) -> np.ndarray:
        """AP at IoU 0.5 of class ``cls`` ([B]; NaN where the resample has no gt of it)."""
        w = np.atleast_2d(weights)
        frame_of, tp, fp, num_gt = self._ap[cls]
        npig = w @ num_gt
        out = np.full(len(w), np.nan)
        has = npig > 0
        if not has.any():
            return out
        if not len(frame_of):
            out[has] = 0.0
            return out
        wd = w[has][:, frame_of]
        tps = np.cumsum(wd * tp, axis=1)
        fps = np.cumsum(wd * fp, axis=1)
        rc = tps / npig[has, None]
        pr = tps / (tps + fps + np.spacing(1))
        pr = np.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]
        # searchsorted of every row at once: shift row b by 2b (recalls lie in [0, 1])
        rows, n_d = len(rc), rc.shape[1]
        shift = 2.0 * np.arange(rows)[:, None]
        idx = np.searchsorted((rc + shift).ravel(), (RECALL_POINTS[None, :] + shift).ravel(),
                              side='left').reshape(rows, -1) - n_d * np.arange(rows)[:, None]
        valid = idx < n_d
        q = np.where(valid, np.take_along_axis(pr, np.minimum(idx, n_d - 1), axis=1), 0.0)
        out[has] = q.mean(axis=1)
        return out

    def map50(self, weights: np.ndarray, classes: Sequence[int] | None = None) -> np.ndarray:
        """Mean AP50 over ``classes`` (default all) that have gt in the resample ([B])."""
        classes = range(len(self.names)) if classes is None else classes
        aps = np.stack([self.ap50(weights, k) for k in classes])
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', RuntimeWarning)  # a resample with no gt at all
            return np.nanmean(aps, axis=0)

    def recall(self, weights: np.ndarray, cls: int, height: str | None = None) -> np.ndarray:
        """Recall of class ``cls`` at the operating threshold, one height bucket or all."""
        b = len(HEIGHT_BUCKETS) if height is None else list(HEIGHT_BUCKETS).index(height)
        w = np.atleast_2d(weights)
        num, den = w @ self._found[:, cls, b], w @ self._total[:, cls, b]
        with np.errstate(invalid='ignore', divide='ignore'):
            return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)

    def false_positives_per_frame(self, weights: np.ndarray, cls: int) -> np.ndarray:
        """Count false positives of ``cls`` at the operating threshold per frame labelling it."""
        w = np.atleast_2d(weights)
        den = w @ self.labelled[:, cls].astype(float)
        with np.errstate(invalid='ignore', divide='ignore'):
            return np.where(den > 0, (w @ self._fp[:, cls]) / np.where(den > 0, den, 1), np.nan)

    def gt_count(self, cls: int, height: str | None = None) -> int:
        """Ground-truth boxes of class ``cls`` (in a height bucket) on the labelled frames."""
        b = len(HEIGHT_BUCKETS) if height is None else list(HEIGHT_BUCKETS).index(height)
        return int(self._total[:, cls, b].sum())
