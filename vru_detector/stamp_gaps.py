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
Frames lost before the node, counted from gaps between the header stamps it receives.

A camera stamps its frames at a steady period, so a stamp-to-stamp gap of k periods means k - 1
frames never arrived: lost by the middleware (UDP fragments over a full socket buffer, WiFi),
published before discovery, or pushed out of the QoS history. The node's callback cannot see
these otherwise. The period is estimated from the gaps themselves: roughly from the gaps near
the smallest ones (their 5th percentile), then as the median of every gap divided by the
periods it spans. That holds with stamp jitter up to about a tenth of the period and with most
frames lost (tested down to 28% received), as long as some gaps are single periods. A stamp
that goes backwards (a bag replayed with ``--loop``) or repeats restarts the count and is no
loss; a gap longer than ``pause_s`` is a paused source (the node reports "no images" for it),
not transport loss. A source that is not steady (triggered, on demand) looks lossy: turn the
check off there (``min_input_completeness: 0``). No ROS in here.
"""
from __future__ import annotations

from collections import deque
import statistics
from typing import Deque, List, Optional, Tuple

LOW_QUANTILE = 0.05  # gaps this low in the sorted list are single periods down to 20% received
NEAR = 1.5          # gaps under NEAR x the low quantile are taken as one period
NO_INPUT_S = 3.0    # silence this long is a paused source: no loss; /diagnostics: "no images"


class StampGaps:
    """
    Count frames implied missing by header stamp gaps; report completeness over a time window.

    >>> gaps = StampGaps()
    >>> for k in [0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12]:  # frame 4 never arrived
    ...     _ = gaps.on_stamp(k * 0.1, now=k * 0.1)
    >>> gaps.missing
    1
    """

    def __init__(self, window_s: float = 5.0, history: int = 100, min_gaps: int = 20,
                 pause_s: float = NO_INPUT_S) -> None:
        self.window_s, self.min_gaps, self.pause_s = window_s, min_gaps, pause_s
        self._gaps: Deque[float] = deque(maxlen=history)
        self._pending: List[float] = []  # gaps seen before the period could be estimated
        self._recent: Deque[Tuple[float, int]] = deque()  # (arrival, frames missing before it)
        self._last: Optional[float] = None
        self.period_s: Optional[float] = None
        self.missing = 0   # since creation
        self.received = 0  # stamped frames since creation

    def on_stamp(self, stamp_s: float, now: float) -> int:
        """Record a header stamp (s) that arrived at ``now``; return the frames it shows lost."""
        self.received += 1
        last, self._last = self._last, stamp_s
        lost = 0
        if last is not None and 0.0 < stamp_s - last <= self.pause_s:
            gap = stamp_s - last
            self._gaps.append(gap)
            self.period_s = self._estimate_period()
            if self.period_s is None:
                self._pending.append(gap)
            else:
                lost = sum(self._missing_in(g) for g in [*self._pending, gap])
                self._pending.clear()
        self.missing += lost
        self._recent.append((now, lost))
        self._trim(now)
        return lost

    def _estimate_period(self) -> Optional[float]:
        if len(self._gaps) < self.min_gaps:
            return None
        ordered = sorted(self._gaps)
        low = ordered[int(LOW_QUANTILE * (len(ordered) - 1))]
        rough = statistics.median(g for g in ordered if g < NEAR * low)
        # every gap, divided by the periods it spans: unbiased by the cut above
        return statistics.median(g / max(1, round(g / rough)) for g in ordered)

    def _missing_in(self, gap: float) -> int:
        return max(0, round(gap / self.period_s) - 1)

    def _trim(self, now: float) -> None:
        while self._recent and self._recent[0][0] < now - self.window_s:
            self._recent.popleft()

    def completeness(self, now: float) -> Optional[float]:
        """Received / (received + missing) over the window ending at ``now``; None if unknown."""
        received, lost = self.window_counts(now)
        if self.period_s is None or not received:
            return None
        return received / (received + lost)

    def window_counts(self, now: float) -> Tuple[int, int]:
        """(received, missing) over the window ending at ``now``."""
        self._trim(now)
        return len(self._recent), sum(n for _, n in self._recent)
