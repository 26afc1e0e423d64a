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
What a live node would have dropped: replay arrivals against measured latency (no sleeping).

The node keeps one slot, newest frame wins: a frame that arrives while the detector is busy
waits in the slot and is replaced (dropped) by the next arrival. This is exact event
simulation on the recorded arrival times and the per-frame latency measured offline.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


@dataclass
class RealtimeResult:
    """processed[i]: frame i got detections. start/finish in ns on the arrival clock."""

    processed: np.ndarray
    start_ns: np.ndarray
    finish_ns: np.ndarray

    @property
    def dropped(self) -> np.ndarray:
        return np.flatnonzero(~self.processed)

    def end_to_end_ms(self, arrival_ns: ArrayLike) -> np.ndarray:
        """Arrival -> result latency of the processed frames (queueing included)."""
        arr = np.asarray(arrival_ns, np.int64)
        return (self.finish_ns[self.processed] - arr[self.processed]) / 1e6


def simulate_single_slot(arrival_ns: ArrayLike, latency_ms: ArrayLike) -> RealtimeResult:
    """
    Newest-frame-wins single-slot queue in front of one worker.

    ``arrival_ns`` must be non-decreasing (bag order). A frame that arrives while the worker is
    idle starts at once; otherwise it takes the slot, dropping the frame waiting there.
    """
    arr = np.asarray(arrival_ns, np.int64)
    lat = (np.asarray(latency_ms, np.float64) * 1e6).astype(np.int64)
    if len(arr) != len(lat):
        raise ValueError(f'{len(arr)} arrival times but {len(lat)} latencies')
    if len(arr) > 1 and np.any(np.diff(arr) < 0):
        raise ValueError('arrival times must be non-decreasing (sort the frames by log time)')
    n = len(arr)
    processed = np.zeros(n, bool)
    start = np.full(n, -1, np.int64)
    finish = np.full(n, -1, np.int64)
    free_at = np.iinfo(np.int64).min
    slot = -1

    def run(i: int, t: int) -> int:
        processed[i] = True
        start[i] = t
        finish[i] = t + lat[i]
        return int(finish[i])

    for i in range(n):
        a = int(arr[i])
        if slot >= 0 and free_at <= a:  # worker finished before this arrival: takes the slot
            free_at = run(slot, free_at)
            slot = -1
        if slot < 0 and free_at <= a:
            free_at = run(i, a)
        else:
            slot = i  # replaces (drops) any frame still waiting
    if slot >= 0:
        run(slot, free_at)
    return RealtimeResult(processed, start, finish)
