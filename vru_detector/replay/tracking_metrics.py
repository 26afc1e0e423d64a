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
Tracking metrics of one sequence: MOTA, IDF1, HOTA, ID switches, and time to first track.

MOTA/IDSW (CLEAR), IDF1 (Identity) and HOTA are computed by ``trackeval``, the MOTChallenge
reference code, from the same per-frame data its MOT15 loader builds (ignored ground truth is
removed, IoU similarity, IDs relabelled contiguously); we write none of the formulas. The
safety figure is ours to define: for each ground-truth pedestrian, the frames and seconds from
its first appearance to the first frame where a confirmed track covers it (IoU >= 0.5, one
box per pedestrian by optimal assignment, as CLEAR matches).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MATCH_IOU = 0.5  # CLEAR's and the latency figure's match threshold


@dataclass
class TrackFrame:
    """One frame: ground truth (ids, xyxy) and confirmed tracker output (ids, xyxy)."""

    stamp: float
    gt_ids: np.ndarray
    gt_xyxy: np.ndarray
    track_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    track_xyxy: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float64))
    evaluated: bool = True  # False: a frame the node dropped (no output; counts for latency)


def _ious(gt: np.ndarray, trk: np.ndarray) -> np.ndarray:
    from trackeval.datasets._base_dataset import _BaseDataset

    gt = np.asarray(gt, np.float64).reshape(-1, 4)
    trk = np.asarray(trk, np.float64).reshape(-1, 4)
    return _BaseDataset._calculate_box_ious(gt, trk, box_format='x0y0x1y1')


def _relabel(per_frame: list[np.ndarray]) -> tuple[list[np.ndarray], int]:
    unique = np.unique(np.concatenate(per_frame)) if per_frame else np.zeros(0, np.int64)
    lookup = {int(v): i for i, v in enumerate(unique)}
    return [np.array([lookup[int(v)] for v in ids], dtype=int) for ids in per_frame], len(unique)


def trackeval_data(frames: list[TrackFrame]) -> dict:
    """Build the per-sequence dict trackeval's metrics take (as its dataset loaders do)."""
    frames = [f for f in frames if f.evaluated]
    gt_ids, n_gt = _relabel([np.asarray(f.gt_ids, np.int64) for f in frames])
    trk_ids, n_trk = _relabel([np.asarray(f.track_ids, np.int64) for f in frames])
    return {
        'num_timesteps': len(frames), 'num_gt_ids': n_gt, 'num_tracker_ids': n_trk,
        'num_gt_dets': int(sum(len(i) for i in gt_ids)),
        'num_tracker_dets': int(sum(len(i) for i in trk_ids)),
        'gt_ids': gt_ids, 'tracker_ids': trk_ids,
        'gt_dets': [np.asarray(f.gt_xyxy, np.float64).reshape(-1, 4) for f in frames],
        'tracker_dets': [np.asarray(f.track_xyxy, np.float64).reshape(-1, 4) for f in frames],
        'similarity_scores': [_ious(f.gt_xyxy, f.track_xyxy) for f in frames],
    }


def clear_identity_hota(frames: list[TrackFrame]) -> dict:
    """MOTA, MOTP, IDF1, HOTA (mean over alpha), DetA, AssA, IDSW, FP, FN of one sequence."""
    from trackeval.metrics import CLEAR, HOTA, Identity

    data = trackeval_data(frames)
    clear = CLEAR({'PRINT_CONFIG': False}).eval_sequence(data)
    ident = Identity({'PRINT_CONFIG': False}).eval_sequence(data)
    hota = HOTA().eval_sequence(data)
    return {
        'MOTA': float(clear['MOTA']), 'MOTP': float(clear['MOTP']),
        'IDF1': float(ident['IDF1']), 'HOTA': float(np.mean(hota['HOTA'])),
        'DetA': float(np.mean(hota['DetA'])), 'AssA': float(np.mean(hota['AssA'])),
        'IDSW': int(clear['IDSW']), 'FP': int(clear['CLR_FP']), 'FN': int(clear['CLR_FN']),
        'TP': int(clear['CLR_TP']), 'MT': int(clear['MT']), 'ML': int(clear['ML']),
        'gt_ids': int(data['num_gt_ids']), 'track_ids': int(data['num_tracker_ids']),
        'frames': int(data['num_timesteps']),
    }


def time_to_first_track(frames: list[TrackFrame]) -> dict[int, dict]:
    """
    Per ground-truth id: first frame seen, first frame tracked, and the gap in frames/seconds.

    Frames count from the pedestrian's first ground-truth box, dropped frames included (a live
    node publishes nothing for them). A pedestrian never tracked has ``None`` gaps.
    """
    from scipy.optimize import linear_sum_assignment  # the eval extra

    first_seen: dict[int, int] = {}
    first_tracked: dict[int, int] = {}
    for k, f in enumerate(frames):
        ids = [int(i) for i in f.gt_ids]
        for i in ids:
            first_seen.setdefault(i, k)
        if not f.evaluated or not len(ids) or not len(f.track_ids):
            continue
        iou = _ious(f.gt_xyxy, f.track_xyxy)
        rows, cols = linear_sum_assignment(-np.where(iou >= MATCH_IOU, iou, 0.0))
        for r, c in zip(rows, cols):
            if iou[r, c] >= MATCH_IOU:
                first_tracked.setdefault(ids[r], k)
    out = {}
    for gid, k0 in sorted(first_seen.items()):
        k1 = first_tracked.get(gid)
        out[gid] = {'first_frame': k0, 'tracked_frame': k1,
                    'frames': None if k1 is None else k1 - k0,
                    'seconds': None if k1 is None else frames[k1].stamp - frames[k0].stamp}
    return out


def latency_summary(per_id: dict[int, dict]) -> dict:
    """Median, p90 and max of the time to first track (frames and seconds), never-tracked count."""
    tracked = [v for v in per_id.values() if v['frames'] is not None]
    out: dict = {'pedestrians': len(per_id), 'never_tracked': len(per_id) - len(tracked)}
    for unit in ('frames', 'seconds'):
        values = np.array([v[unit] for v in tracked], np.float64)
        for name, q in (('median', 50), ('p90', 90), ('max', 100)):
            out[f'{unit}_{name}'] = float(np.percentile(values, q)) if len(values) else None
    return out


def tracking_report(frames: list[TrackFrame]) -> dict:
    """Everything one sequence reports: trackeval's metrics and the time-to-first-track."""
    per_id = time_to_first_track(frames)
    return {'metrics': clear_identity_hota(frames), 'first_track': latency_summary(per_id),
            'first_track_per_id': {str(k): v for k, v in per_id.items()}}
