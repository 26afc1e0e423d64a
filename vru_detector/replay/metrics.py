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
Everything measured on a replay: COCO mAP, operating-point P/R/F1, misses, false alarms.

:class:`ReplayMetrics` takes one frame at a time (ground truth + detections at a low score
threshold) so a run that stops on a corrupt frame can still report what it saw. The operating
point (the score thresholds the node uses: one score, or one per class as config/classes.yaml
gives them) is applied afterwards, on the same matching as mAP.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import math
from typing import Sequence, Union

import numpy as np

from .coco_eval import (accumulate, AREA_RANGES, box_area, coco_iou, CocoResult,
                        evaluate_image_class, ImageClassEval)
from ..labels import FrameTruth, vru_ids, vru_names

Conf = Union[float, np.ndarray]  # one score threshold, or one per class id


def threshold_at(conf: Conf, class_ids: np.ndarray | int) -> np.ndarray | float:
    """Return the operating threshold of each box of ``class_ids``."""
    return np.asarray(conf)[class_ids] if np.ndim(conf) else conf


def describe_conf(conf: Conf, names: Sequence[str]) -> float | dict:
    """``conf`` for JSON and reports: the number, or class name -> threshold."""
    if not np.ndim(conf):
        return float(conf)
    return {name: round(float(c), 4) for name, c in zip(names, np.asarray(conf))}


def conf_text(conf: float | dict | str) -> str:
    """Write an operating threshold as people read it: '0.25', or '0.25 (car 0.4)'."""
    if not isinstance(conf, dict):
        return str(conf)
    common = max(set(conf.values()), key=list(conf.values()).count)
    own = ', '.join(f'{name} {value:g}' for name, value in conf.items() if value != common)
    return f'{common:g}' + (f' ({own})' if own else '')


@dataclass
class FrameRecord:
    """One evaluated frame: its truth, its detections and where each ended up at IoU 0.5."""

    index: int
    key: str
    stamp_ns: int
    truth: FrameTruth
    xyxy: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray
    det_tp: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))       # IoU .5 hit
    det_on_ignore: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    gt_score: np.ndarray = field(default_factory=lambda: np.zeros(0))           # -1: never hit


def size_bucket(area: float) -> str:
    """COCO size bucket of a box area in original pixels."""
    if area < AREA_RANGES['small'][1]:
        return 'small'
    return 'medium' if area < AREA_RANGES['medium'][1] else 'large'


def _f(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), 6)


class ReplayMetrics:
    """Accumulates frames; :meth:`summary` gives every number of the report."""

    def __init__(self, names: Sequence[str], max_dets: int = 100) -> None:
        self.names = tuple(names)
        self.max_dets = max_dets
        self.frames: list[FrameRecord] = []
        self.evals: list[list[ImageClassEval | None]] = [[] for _ in self.names]

    def add(self, index: int, key: str, stamp_ns: int, truth: FrameTruth, xyxy: np.ndarray,
            scores: np.ndarray, class_ids: np.ndarray) -> FrameRecord:
        xyxy = np.asarray(xyxy, np.float32).reshape(-1, 4)
        scores = np.asarray(scores, np.float32).reshape(-1)
        class_ids = np.asarray(class_ids, np.int64).reshape(-1)
        rec = FrameRecord(index, key, stamp_ns, truth, xyxy, scores, class_ids,
                          np.zeros(len(scores), bool), np.zeros(len(scores), bool),
                          np.full(len(truth), -1.0))
        for k in range(len(self.names)):
            d_idx = np.flatnonzero(class_ids == k)
            g_idx = np.flatnonzero(truth.class_ids == k)
            if len(d_idx) == 0 and len(g_idx) == 0:
                self.evals[k].append(None)
                continue
            ev = evaluate_image_class(xyxy[d_idx], scores[d_idx], truth.xyxy[g_idx],
                                      truth.ignore[g_idx], self.max_dets)
            self.evals[k].append(ev)
            kept = d_idx[ev.det_index]
            hit = ev.det_matched['all'][0]
            on_ignore = ev.det_ignored['all'][0] & hit
            rec.det_tp[kept] = hit & ~on_ignore
            rec.det_on_ignore[kept] = on_ignore
            # detections beyond max_dets per class never count as hits
            rec.gt_score[g_idx] = ev.gt_match_score
        self.frames.append(rec)
        return rec

    @classmethod
    def pooled(cls, parts: Sequence[ReplayMetrics]) -> ReplayMetrics:
        """
        One evaluation over every frame of ``parts`` (bags), in order: pooled, not averaged.

        The per-frame matching is kept, so this equals feeding all the frames to one instance.
        """
        if not parts:
            raise ValueError('no metrics to pool')
        out = cls(parts[0].names, parts[0].max_dets)
        for part in parts:
            if part.names != out.names or part.max_dets != out.max_dets:
                raise ValueError(f'cannot pool metrics of classes {part.names} with {out.names}')
            out.frames.extend(part.frames)
            for k, evals in enumerate(part.evals):
                out.evals[k].extend(evals)
        return out

    # ------------------------------------------------------------------ results
    def coco(self) -> CocoResult:
        return accumulate(self.evals, self.names)

    def operating_point(self, conf: Conf, lost: set[int] | frozenset[int] = frozenset(),
                        size_classes: Sequence[str] | None = None) -> dict:
        """
        Precision / recall / F1 per class and overall (micro) at score >= conf, IoU 0.5.

        ``lost``: positions of frames whose detections never came out (dropped by a live node):
        their objects count as missed and their detections not at all. ``size_classes``: the
        classes whose boxes ``recall_by_size`` counts (default: every class).
        """
        k_n = len(self.names)
        sized = np.array([size_classes is None or n in size_classes for n in self.names])
        tp, fp, fn = np.zeros(k_n), np.zeros(k_n), np.zeros(k_n)
        by_size = {'small': [0, 0], 'medium': [0, 0], 'large': [0, 0]}  # [found, missed]
        for pos, rec in enumerate(self.frames):
            if pos in lost:
                np.add.at(fn, rec.truth.class_ids[~rec.truth.ignore], 1)
                for area in box_area(rec.truth.xyxy[~rec.truth.ignore
                                                    & sized[rec.truth.class_ids]]):
                    by_size[size_bucket(float(area))][1] += 1
                continue
            above = rec.scores >= threshold_at(conf, rec.class_ids)
            counted = above & ~rec.det_on_ignore
            np.add.at(tp, rec.class_ids[counted & rec.det_tp], 1)
            np.add.at(fp, rec.class_ids[counted & ~rec.det_tp], 1)
            real = ~rec.truth.ignore
            found = rec.gt_score >= threshold_at(conf, rec.truth.class_ids)
            np.add.at(fn, rec.truth.class_ids[real & ~found], 1)
            real &= sized[rec.truth.class_ids]
            for area, hit in zip(box_area(rec.truth.xyxy[real]), found[real]):
                by_size[size_bucket(float(area))][0 if hit else 1] += 1

        def prf(t: float, f: float, n: float) -> dict:
            p = t / (t + f) if t + f else float('nan')
            r = t / (t + n) if t + n else float('nan')
            f1 = 2 * p * r / (p + r) if t else (0.0 if t + f + n else float('nan'))
            return {'precision': _f(p), 'recall': _f(r), 'f1': _f(f1), 'tp': int(t),
                    'fp': int(f), 'fn': int(n)}

        vru = vru_ids(self.names)
        return {
            'conf': describe_conf(conf, self.names),
            'all': prf(tp.sum(), fp.sum(), fn.sum()),
            'vru': prf(tp[vru].sum(), fp[vru].sum(), fn[vru].sum()) if vru else None,
            'by_class': {n: prf(tp[i], fp[i], fn[i]) for i, n in enumerate(self.names)},
            'false_positives_per_frame': _f(fp.sum() / max(1, len(self.frames))),
            'recall_by_size': {k: _f(v[0] / sum(v)) if sum(v) else None
                               for k, v in by_size.items()},
        }

    def precision_at_recall(self, coco: CocoResult, targets: Sequence[float] = (0.5, 0.7)
                            ) -> dict:
        """Best precision (and the score threshold giving it) at recall >= target, IoU 0.5."""
        out: dict = {}
        for k, name in enumerate(self.names):
            entry = {}
            curve = coco.pr_curves.get(k)
            for r in targets:
                if curve is None or not len(curve[0]):
                    entry[str(r)] = {'precision': None if curve is None else 0.0, 'conf': None}
                    continue
                rc, pr, sc = curve
                ok = rc >= r
                if not ok.any():
                    entry[str(r)] = {'precision': 0.0, 'conf': None}  # recall never reached
                    continue
                best = np.flatnonzero(ok)[np.argmax(pr[ok])]
                entry[str(r)] = {'precision': _f(pr[best]), 'conf': _f(sc[best])}
            out[name] = entry
        mean = {}
        for r in targets:
            vals = [v[str(r)]['precision'] for v in out.values()
                    if v[str(r)]['precision'] is not None]
            mean[str(r)] = _f(float(np.mean(vals))) if vals else None
        out['mean'] = mean
        return out

    def missed(self, conf: Conf, classes: Sequence[str] | None = None) -> list[dict]:
        """Every ground-truth VRU (or of ``classes``) not found at score >= conf, by frame."""
        classes = vru_names() if classes is None else classes
        wanted = [i for i, n in enumerate(self.names) if n in classes]
        out = []
        for rec in self.frames:
            miss = np.isin(rec.truth.class_ids, wanted) & ~rec.truth.ignore & \
                (rec.gt_score < threshold_at(conf, rec.truth.class_ids))
            if miss.any():
                boxes = rec.truth.xyxy[miss]
                out.append({'frame': rec.index, 'key': rec.key, 'stamp_ns': rec.stamp_ns,
                            'objects': [
                                {'class': self.names[int(c)],
                                 'box': [round(float(v), 1) for v in b],
                                 'size': size_bucket(float(box_area(b[None])[0])),
                                 'best_score': _f(max(0.0, float(s)))}
                                for c, b, s in zip(rec.truth.class_ids[miss], boxes,
                                                   rec.gt_score[miss])]})
        return out

    def frame_errors(self, conf: Conf) -> list[tuple[int, int, int, int]]:
        """(frame position, missed VRUs, other misses, false alarms) per frame at ``conf``."""
        vru = vru_ids(self.names)
        out = []
        for pos, rec in enumerate(self.frames):
            miss = ~rec.truth.ignore & (rec.gt_score < threshold_at(conf, rec.truth.class_ids))
            vru_miss = int((miss & np.isin(rec.truth.class_ids, vru)).sum())
            above = rec.scores >= threshold_at(conf, rec.class_ids)
            fa = int((above & ~rec.det_tp & ~rec.det_on_ignore).sum())
            out.append((pos, vru_miss, int(miss.sum()) - vru_miss, fa))
        return out

    def confusion_matrix(self, conf: Conf, iou: float = 0.5) -> np.ndarray:
        """
        [K+1, K+1] counts, rows = predicted class, columns = true class; last = background.

        Class-agnostic one-to-one matching at IoU >= ``iou`` (highest IoU first), as
        ultralytics draws it; ignore regions and detections on them are left out.
        """
        k_n = len(self.names)
        mat = np.zeros((k_n + 1, k_n + 1), np.int64)
        for rec in self.frames:
            keep_d = (rec.scores >= threshold_at(conf, rec.class_ids)) & ~rec.det_on_ignore
            dx, dc = rec.xyxy[keep_d], rec.class_ids[keep_d]
            real = ~rec.truth.ignore
            gx, gc = rec.truth.xyxy[real], rec.truth.class_ids[real]
            ious = coco_iou(dx, gx, np.zeros(len(gx), bool))
            pairs = np.argwhere(ious >= iou)
            used_d, used_g = set(), set()
            if len(pairs):
                order = np.argsort(-ious[pairs[:, 0], pairs[:, 1]], kind='mergesort')
                for d, g in pairs[order]:
                    if d in used_d or g in used_g:
                        continue
                    used_d.add(d)
                    used_g.add(g)
                    mat[dc[d], gc[g]] += 1
            for g in range(len(gx)):
                if g not in used_g:
                    mat[k_n, gc[g]] += 1
            for d in range(len(dx)):
                if d not in used_d:
                    mat[dc[d], k_n] += 1
        return mat

    def summary(self, conf: Conf) -> dict:
        """All metrics as JSON-ready dict (NaN -> null)."""
        coco = self.coco()
        cs = coco.summary()
        clean = {
            'mAP50_95': _f(cs['mAP50_95']), 'mAP50': _f(cs['mAP50']),
            'by_area': {a: {k: _f(v) for k, v in d.items()} for a, d in cs['by_area'].items()},
            'by_class': {n: {k: (_f(v) if not isinstance(v, dict) else
                                 {kk: _f(vv) for kk, vv in v.items()}) for k, v in d.items()}
                         for n, d in cs['by_class'].items()},
        }
        gt_counts = dict.fromkeys(self.names, 0)
        size_counts = {n: {'small': 0, 'medium': 0, 'large': 0} for n in self.names}
        for rec in self.frames:
            real = ~rec.truth.ignore
            for c, a in zip(rec.truth.class_ids[real], box_area(rec.truth.xyxy[real])):
                gt_counts[self.names[c]] += 1
                size_counts[self.names[c]][size_bucket(float(a))] += 1
        return {
            'frames': len(self.frames),
            'ground_truth_boxes': gt_counts,
            'ground_truth_by_size': size_counts,
            'coco': clean,
            'operating_point': self.operating_point(conf),
            'precision_at_recall': self.precision_at_recall(coco),
            'missed_vru': self.missed(conf),
            'confusion_matrix': {'labels': [*self.names, 'background'],
                                 'rows': 'predicted', 'columns': 'true',
                                 'matrix': self.confusion_matrix(conf).tolist()},
        }
