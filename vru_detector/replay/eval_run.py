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
One evaluation pass over a bag: detect every frame, feed the metrics, time each stage.

The run's state (:class:`EvalRun`) is kept outside the loop so the frames evaluated before a
bag error or Ctrl-C still make a report; latency and realtime summaries are read from it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import time
from typing import Any, Callable, Sequence

import numpy as np

from .bag_images import BagFrame, BagImages
from .errors import BagReadError
from .metrics import Conf, ReplayMetrics
from .realtime import simulate_single_slot
from .truth_lookup import TruthLookup
from ..errors import VruDetectorError
from ..labels import FrameTruth

STAGES = ('read_decode', 'preprocess', 'inference', 'postprocess', 'detector', 'total')


@dataclass
class FrameTiming:
    """Per-stage milliseconds of one frame, with its bag index and log time."""

    index: int
    log_ns: int
    ms: dict[str, float]


@dataclass
class EvalRun:
    """State of one evaluation (kept so partial results survive an error)."""

    metrics: ReplayMetrics
    timings: list[FrameTiming] = field(default_factory=list)
    unlabelled: list[int] = field(default_factory=list)
    frames_in_bag: int = 0
    wall_s: float = 0.0
    error: str | None = None


def percentiles(values: Sequence[float] | np.ndarray) -> dict[str, float | None]:
    if not len(values):
        return {'p50': None, 'p95': None, 'p99': None, 'mean': None}
    v = np.asarray(values, np.float64)
    p50, p95, p99 = np.percentile(v, [50, 95, 99])
    return {'p50': round(float(p50), 3), 'p95': round(float(p95), 3),
            'p99': round(float(p99), 3), 'mean': round(float(v.mean()), 3)}


def run_evaluation(frames: BagImages, detector: Any, lookup: TruthLookup, run: EvalRun,
                   max_frames: int | None = None, progress: bool = True,
                   on_frame: Callable[[BagFrame, Any, FrameTruth | None], None] | None = None
                   ) -> EvalRun:
    """Detect on every frame, feeding metrics and timings; stops cleanly on a bag error."""
    from tqdm import tqdm

    total = frames.count if max_frames is None else min(frames.count, max_frames)
    run.frames_in_bag = frames.count
    it = iter(frames)
    bar = tqdm(total=total, desc='evaluating', unit='frame', disable=not progress)
    t_start = time.perf_counter()
    try:
        while max_frames is None or len(run.timings) < max_frames:
            t0 = time.perf_counter()
            try:
                frame = next(it)
            except StopIteration:
                break
            t1 = time.perf_counter()
            dets = detector(frame.image)
            t2 = time.perf_counter()
            st = detector.times
            run.timings.append(FrameTiming(frame.index, frame.log_ns, {
                'read_decode': (t1 - t0) * 1e3, 'preprocess': st.preprocess_ms,
                'inference': st.inference_ms, 'postprocess': st.postprocess_ms,
                'detector': (t2 - t1) * 1e3, 'total': (t2 - t0) * 1e3}))
            truth = lookup.find(frame)
            if truth is None:
                run.unlabelled.append(frame.index)
            else:
                h, w = frame.image.shape[:2]
                run.metrics.add(frame.index, frame.key, frame.stamp_ns, truth.clipped(h, w),
                                dets.xyxy, dets.scores, dets.class_ids)
            if on_frame is not None:
                on_frame(frame, dets, truth)
            bar.update(1)
    except (BagReadError, VruDetectorError, ValueError) as exc:
        run.error = f'{type(exc).__name__}: {exc}'
    except KeyboardInterrupt:
        run.error = 'interrupted (Ctrl-C)'
    finally:
        bar.close()
        run.wall_s = time.perf_counter() - t_start
    return run


def latency_summary(run: EvalRun) -> dict:
    stages = {s: percentiles([t.ms[s] for t in run.timings]) for s in STAGES}
    n = len(run.timings)
    det_mean = stages['detector']['mean']
    return {'stages': stages, 'frames': n,
            'throughput_fps': round(n / run.wall_s, 3) if run.wall_s > 0 and n else None,
            'detector_fps': round(1000.0 / det_mean, 3) if det_mean else None}


def realtime_summary(run: EvalRun, conf: Conf) -> dict | None:
    if len(run.timings) < 2:
        return None
    arrival = [t.log_ns for t in run.timings]
    order = np.argsort(arrival, kind='mergesort')
    arrival_sorted = np.asarray(arrival)[order]
    latency = np.asarray([run.timings[i].ms['read_decode'] + run.timings[i].ms['detector']
                          for i in order])
    sim = simulate_single_slot(arrival_sorted, latency)
    dropped_idx = {run.timings[order[i]].index for i in sim.dropped}
    pos = {rec.index: p for p, rec in enumerate(run.metrics.frames)}
    lost = frozenset(pos[i] for i in dropped_idx if i in pos)
    op = run.metrics.operating_point(conf, lost)
    span = (arrival_sorted[-1] - arrival_sorted[0]) / 1e9
    return {
        'policy': 'single slot, newest frame wins',
        'frames': len(arrival), 'recorded_fps': round((len(arrival) - 1) / span, 3)
        if span > 0 else None,
        'dropped_frames': len(dropped_idx), 'drop_rate': round(len(dropped_idx) / len(arrival), 4),
        'dropped': sorted(dropped_idx),
        'recall': op['all']['recall'], 'vru_recall': (op['vru'] or {}).get('recall'),
        'precision': op['all']['precision'],
        'end_to_end_ms': percentiles(sim.end_to_end_ms(arrival_sorted)),
    }
