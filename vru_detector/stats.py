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
Rates, latency percentiles and skip counters for a live pipeline (what diagnostics report).

Every method takes the time explicitly (seconds on any monotonic clock) so the same code runs
with a real clock in the node and a fake one in tests and simulations. No ROS in here.
"""
from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
import math
import threading
from typing import Deque, Dict, Mapping, Optional

import numpy as np

from .stamp_gaps import StampGaps

# The node's per-frame stages, in order (the keys of ``stage_p50_ms``); see ros/pipeline.py.
STAGES = ('conversion', 'preprocess', 'inference', 'postprocess', 'tracking', 'messages',
          'debug_image', 'publish')


class RateMeter:
    """Events per second over a sliding time window (e.g. camera frames in, detections out)."""

    def __init__(self, window_s: float = 5.0) -> None:
        if window_s <= 0:
            raise ValueError(f'window_s must be > 0, got {window_s}')
        self.window_s = window_s
        self._times: Deque[float] = deque()
        self.total = 0

    def tick(self, now: float) -> None:
        """Record one event at time ``now``."""
        self._times.append(now)
        self.total += 1
        self._trim(now)

    def _trim(self, now: float) -> None:
        while self._times and self._times[0] < now - self.window_s:
            self._times.popleft()

    def rate(self, now: float) -> float:
        """
        Events per second in the window ending at ``now``.

        Measured from the first event in the window to ``now``: exact to within one period for
        a steady source, and decaying to 0 once events stop arriving.
        """
        self._trim(now)
        n = len(self._times)
        if n < 2:
            return n / self.window_s
        return (n - 1) / max(now - self._times[0], 1e-9)


class LatencyWindow:
    """The last ``size`` latency samples (milliseconds) with percentiles."""

    def __init__(self, size: int = 300) -> None:
        if size < 1:
            raise ValueError(f'size must be >= 1, got {size}')
        self._samples: Deque[float] = deque(maxlen=size)
        self.count = 0

    def add(self, ms: float) -> None:
        """Record one sample; NaN or infinite values are ignored (an unstamped frame)."""
        if math.isfinite(ms):
            self._samples.append(float(ms))
            self.count += 1

    def percentile(self, q: float) -> float:
        """Return the q-th percentile, 0 to 100, interpolated linearly; NaN without samples."""
        if not self._samples:
            return math.nan
        return float(np.percentile(np.fromiter(self._samples, float), q))

    @property
    def p50(self) -> float:
        return self.percentile(50)

    @property
    def p95(self) -> float:
        return self.percentile(95)

    @property
    def largest(self) -> float:
        return max(self._samples) if self._samples else math.nan


@dataclass(frozen=True)
class StatsSnapshot:
    """What a diagnostics message reports at one moment."""

    input_hz: float
    output_hz: float
    received: int
    processed: int
    dropped: int
    skipped: int
    skipped_by_reason: Dict[str, int] = field(default_factory=dict)
    pipeline_p50_ms: float = math.nan
    pipeline_p95_ms: float = math.nan
    inference_p50_ms: float = math.nan
    inference_p95_ms: float = math.nan
    last_input_age_s: Optional[float] = None
    processing_p50_ms: float = math.nan
    processing_p95_ms: float = math.nan
    stage_p50_ms: Dict[str, float] = field(default_factory=dict)
    active_tracks: Optional[int] = None  # None: tracking is off
    track_resets: Optional[int] = None   # tracks dropped on a stamp jumping backwards
    missing_upstream: int = 0            # frames the header stamps say never arrived
    input_completeness: Optional[float] = None  # received / (received + missing), window
    stamp_period_ms: float = math.nan    # the camera's period, estimated from the stamps

    def as_strings(self) -> Dict[str, str]:
        """Flat key -> value strings (diagnostic_msgs/KeyValue needs strings)."""
        def ms(v: float) -> str:
            return 'n/a' if math.isnan(v) else f'{v:.1f}'

        values = {
            'input_rate_hz': f'{self.input_hz:.2f}',
            'output_rate_hz': f'{self.output_hz:.2f}',
            'frames_received': str(self.received),
            'frames_processed': str(self.processed),
            'frames_dropped': str(self.dropped),
            'frames_skipped': str(self.skipped),
            'pipeline_latency_p50_ms': ms(self.pipeline_p50_ms),
            'pipeline_latency_p95_ms': ms(self.pipeline_p95_ms),
            'inference_p50_ms': ms(self.inference_p50_ms),
            'inference_p95_ms': ms(self.inference_p95_ms),
            'processing_time_p50_ms': ms(self.processing_p50_ms),
            'processing_time_p95_ms': ms(self.processing_p95_ms),
            'frames_missing_upstream': str(self.missing_upstream),
            'input_completeness': ('n/a' if self.input_completeness is None
                                   else f'{self.input_completeness:.3f}'),
            'input_stamp_period_ms': ms(self.stamp_period_ms),
        }
        for stage, v in self.stage_p50_ms.items():
            values[f'stage_{stage}_p50_ms'] = ms(v)
        for reason, n in sorted(self.skipped_by_reason.items()):
            values[f'skipped_{reason}'] = str(n)
        if self.active_tracks is not None:
            values['active_tracks'] = str(self.active_tracks)
            values['track_resets'] = str(self.track_resets or 0)
        return values


class PipelineStats:
    """
    Counters and windows for one input -> inference -> output pipeline; thread-safe.

    ``dropped`` are frames replaced before inference (newest-frame-wins), ``skipped`` are
    frames that could not be processed (malformed image, bad model output), by reason.
    ``pipeline_ms`` is the time at publish minus the frame's header stamp (on the ROS clock);
    ``processing`` is the node's own work on the frame, split into ``STAGES``. Frames lost
    before the node are counted from the gaps in the header stamps (``StampGaps``).
    """

    def __init__(self, window_s: float = 5.0, latency_samples: int = 300) -> None:
        self._lock = threading.Lock()
        self.input_rate = RateMeter(window_s)
        self.output_rate = RateMeter(window_s)
        self.pipeline_ms = LatencyWindow(latency_samples)
        self.inference_ms = LatencyWindow(latency_samples)
        self.processing_ms = LatencyWindow(latency_samples)
        self.stage_ms = {stage: LatencyWindow(latency_samples) for stage in STAGES}
        self.dropped = 0
        self.skipped: Counter = Counter()
        self._last_input: Optional[float] = None
        self.active_tracks: Optional[int] = None
        self.track_resets: Optional[int] = None
        self.stamp_gaps = StampGaps(window_s)

    def on_input(self, now: float, stamp_s: Optional[float] = None) -> None:
        """Count an arrived frame; its header stamp (seconds, 0/None: unstamped) shows losses."""
        with self._lock:
            self.input_rate.tick(now)
            self._last_input = now
            if stamp_s:
                self.stamp_gaps.on_stamp(stamp_s, now)

    def on_drop(self, n: int = 1) -> None:
        """Count ``n`` frames replaced by newer ones before inference."""
        with self._lock:
            self.dropped += n

    def on_tracks(self, active: int, resets: int) -> None:
        """Record the tracker's confirmed live tracks and its resets so far."""
        with self._lock:
            self.active_tracks, self.track_resets = int(active), int(resets)

    def on_skip(self, reason: str) -> None:
        """Count a frame that could not be processed; ``reason`` is a key like 'bad_encoding'."""
        with self._lock:
            self.skipped[reason] += 1

    def on_output(self, now: float, pipeline_ms: float, inference_ms: float,
                  stages: Optional[Mapping[str, float]] = None,
                  processing_ms: float = math.nan) -> None:
        """
        Count a published result; ``pipeline_ms`` is the clock at publish minus the frame stamp.

        ``stages`` maps names in ``STAGES`` to milliseconds (NaN: the stage did not run);
        ``processing_ms`` is their sum, from the frame taken to its detections published.
        """
        with self._lock:
            self.output_rate.tick(now)
            self.pipeline_ms.add(pipeline_ms)
            self.inference_ms.add(inference_ms)
            self.processing_ms.add(processing_ms)
            for stage, ms in (stages or {}).items():
                if stage not in self.stage_ms:
                    raise ValueError(f'unknown stage {stage!r}; the stages are {STAGES}')
                self.stage_ms[stage].add(ms)

    def snapshot(self, now: float) -> StatsSnapshot:
        """Return the current rates, counts and percentiles."""
        with self._lock:
            return StatsSnapshot(
                input_hz=self.input_rate.rate(now),
                output_hz=self.output_rate.rate(now),
                received=self.input_rate.total,
                processed=self.output_rate.total,
                dropped=self.dropped,
                skipped=sum(self.skipped.values()),
                skipped_by_reason=dict(self.skipped),
                pipeline_p50_ms=self.pipeline_ms.p50,
                pipeline_p95_ms=self.pipeline_ms.p95,
                inference_p50_ms=self.inference_ms.p50,
                inference_p95_ms=self.inference_ms.p95,
                last_input_age_s=None if self._last_input is None else now - self._last_input,
                processing_p50_ms=self.processing_ms.p50,
                processing_p95_ms=self.processing_ms.p95,
                stage_p50_ms={stage: w.p50 for stage, w in self.stage_ms.items()},
                active_tracks=self.active_tracks, track_resets=self.track_resets,
                missing_upstream=self.stamp_gaps.missing,
                input_completeness=self.stamp_gaps.completeness(now),
                stamp_period_ms=(math.nan if self.stamp_gaps.period_s is None
                                 else self.stamp_gaps.period_s * 1e3),
            )
