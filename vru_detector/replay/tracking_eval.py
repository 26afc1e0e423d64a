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
``vru-eval-bag --tracking``: track the replayed detections and score the tracks.

The evaluation pass records, per frame, its header stamp, the detections at the operating
threshold and the ground truth with identities. Afterwards the Tracker runs over them with the
header stamps, once over every frame and, with ``--realtime``, once over only the frames a live
node would have processed (the same single-slot simulation as the detection figures): dropped
frames are simply not seen, as in the node. Scores are trackeval's (tracking_metrics).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .metrics import Conf, threshold_at
from .tracking_metrics import TrackFrame, tracking_report
from ..errors import VruDetectorError


@dataclass
class TrackingRecorder:
    """``on_frame`` callback of run_evaluation: keeps what tracking needs from each frame."""

    conf: Conf  # the operating threshold(s), as in ReplayMetrics.operating_point
    index: list[int] = field(default_factory=list)
    stamps: list[float] = field(default_factory=list)
    detections: list[Any] = field(default_factory=list)
    truth: list[Any] = field(default_factory=list)

    def __call__(self, frame: Any, dets: Any, truth: Any) -> None:
        self.index.append(frame.index)
        self.stamps.append(frame.stamp_ns / 1e9)
        kept = dets.scores >= threshold_at(self.conf, dets.class_ids)
        self.detections.append(dets.select(kept))
        if truth is not None:
            h, w = frame.image.shape[:2]
            truth = truth.clipped(h, w)
        self.truth.append(truth)


def truth_classes(recorder: TrackingRecorder) -> list[int]:
    """Classes whose ground truth carries identities (MOT: person); an error if none does."""
    classes = sorted({int(c) for t in recorder.truth if t is not None
                      for c, oid in zip(t.class_ids, t.object_ids) if oid >= 0})
    if not classes:
        raise VruDetectorError(
            '--tracking needs ground truth with object identities (MOTChallenge gt.txt via '
            '--labels, or a --gt-topic written by vru-make-bag from one, whose Detection2D.id '
            'is the identity); this ground truth has none')
    return classes


def track_frames(recorder: TrackingRecorder, tracker: Any, classes: list[int],
                 processed: np.ndarray | None = None) -> list[TrackFrame]:
    """Run ``tracker`` over the recorded frames (only ``processed`` ones) into TrackFrames."""
    frames = []
    for k, (dets, truth, stamp) in enumerate(zip(recorder.detections, recorder.truth,
                                                 recorder.stamps)):
        if truth is None:
            gt_ids, gt_xyxy = np.zeros(0, np.int64), np.zeros((0, 4))
        else:
            keep = np.isin(truth.class_ids, classes) & ~truth.ignore & (truth.object_ids >= 0)
            gt_ids, gt_xyxy = truth.object_ids[keep], truth.xyxy[keep]
        frame = TrackFrame(stamp, gt_ids, gt_xyxy, evaluated=truth is not None)
        if processed is None or processed[k]:
            out = tracker.update(dets, stamp)
            keep = (out.track_ids >= 0) & np.isin(out.class_ids, classes)
            frame.track_ids, frame.track_xyxy = out.track_ids[keep], out.xyxy[keep]
        else:
            frame.evaluated = False
        frames.append(frame)
    return frames


def evaluate_tracking(recorder: TrackingRecorder, algorithm: str, frame_rate: float,
                      dropped: set[int] | None = None) -> dict:
    """Tracking section of metrics.json: all frames, and after realtime drops when given."""
    from ..tracker import Tracker

    classes = truth_classes(recorder)
    section: dict = {'tracker': algorithm, 'frame_rate': round(frame_rate, 3),
                     'classes': classes, 'all_frames': None, 'realtime': None}
    section['all_frames'] = tracking_report(
        track_frames(recorder, Tracker(algorithm, frame_rate=frame_rate), classes))
    if dropped is not None:
        processed = np.array([i not in dropped for i in recorder.index], bool)
        section['realtime'] = tracking_report(
            track_frames(recorder, Tracker(algorithm, frame_rate=frame_rate), classes,
                         processed))
        section['realtime']['dropped_frames'] = int((~processed).sum())
    return section


def recorded_fps(recorder: TrackingRecorder) -> float:
    """Median frame rate of the recorded stamps (the Tracker's nominal rate); 30 if unknown."""
    gaps = np.diff(np.sort(np.asarray(recorder.stamps, np.float64)))
    gaps = gaps[gaps > 0]
    return float(1.0 / np.median(gaps)) if len(gaps) else 30.0


def tracking_markdown(section: dict) -> str:
    """Render the report.md section: one row per mode (all frames, realtime)."""
    lines = ['', f"## Tracking ({section['tracker']}, trackeval)", '',
             '| frames | MOTA | IDF1 | HOTA | ID switches | FP | FN | GT ids | track ids | '
             'first track median / p90 / max (frames) | (seconds) | never tracked |',
             '|---|---|---|---|---|---|---|---|---|---|---|---|']
    for mode in ('all_frames', 'realtime'):
        r = section.get(mode)
        if not r:
            continue
        m, f = r['metrics'], r['first_track']
        label = 'all' if mode == 'all_frames' else f"realtime ({r['dropped_frames']} dropped)"
        lines.append(
            f"| {label} | {m['MOTA']:.3f} | {m['IDF1']:.3f} | {m['HOTA']:.3f} | {m['IDSW']} | "
            f"{m['FP']} | {m['FN']} | {m['gt_ids']} | {m['track_ids']} | "
            f"{_fmt(f['frames_median'])} / {_fmt(f['frames_p90'])} / {_fmt(f['frames_max'])} | "
            f"{_fmt(f['seconds_median'], 3)} / {_fmt(f['seconds_p90'], 3)} / "
            f"{_fmt(f['seconds_max'], 3)} | {f['never_tracked']} |")
    lines.append('')
    lines.append("First track: frames and seconds from a pedestrian's first ground-truth box to "
                 'the first frame a confirmed track covers it (IoU >= 0.5); dropped frames '
                 'count.')
    return '\n'.join(lines) + '\n'


def _fmt(value: float | None, digits: int = 1) -> str:
    return '-' if value is None else f'{value:.{digits}f}'


def check_identities(lookup: Any) -> None:
    """Fail before the replay when the ground truth has no identities to track against."""
    frames = [*lookup.by_key.values(), *lookup.by_stamp.values(), *lookup.ordered]
    if not any((f.object_ids >= 0).any() for f in frames):
        truth_classes(TrackingRecorder(0.0))  # raises the explanation


def chain(*callbacks: Any) -> Any:
    """One on_frame callback calling each given one (None entries skipped)."""
    live = [c for c in callbacks if c is not None]
    if not live:
        return None

    def on_frame(frame: Any, dets: Any, truth: Any) -> None:
        for callback in live:
            callback(frame, dets, truth)
    return on_frame


def add_tracking(out: Any, metrics: dict, recorder: TrackingRecorder, algorithm: str) -> dict:
    """Track, score, and add the section to OUT/metrics.json and OUT/report.md."""
    from . import report

    realtime = metrics.get('realtime')
    dropped = set(realtime['dropped']) if realtime else None
    section = evaluate_tracking(recorder, algorithm, recorded_fps(recorder), dropped)
    metrics['tracking'] = section
    report.write_json(out / 'metrics.json', metrics)
    with open(out / 'report.md', 'a') as f:
        f.write(tracking_markdown(section))
    return section
