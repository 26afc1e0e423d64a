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
Newest-frame-wins hand-over between a fast producer (a camera) and a slow consumer (inference).

A single slot instead of a queue: when inference is slower than the camera, the frame waiting
in the slot is replaced by the newer one and counted as dropped, so latency never grows with a
backlog. Thread-safe; ``put`` never blocks. No ROS in here: the node, replay and soak
tests share it.
"""
from __future__ import annotations

from dataclasses import dataclass
import threading
from typing import Generic, Optional, TypeVar

T = TypeVar('T')


@dataclass(frozen=True)
class Frame(Generic[T]):
    """One frame in the gate: payload, arrival time (caller's clock) and arrival index."""

    item: T
    arrived: float
    seq: int


@dataclass(frozen=True)
class GateCounts:
    """Totals since the gate was created: each arrived frame is taken, dropped or pending."""

    arrived: int
    taken: int
    dropped: int
    pending: int


class FrameGate(Generic[T]):
    """
    Single-slot mailbox: ``put`` replaces an untaken frame (a drop), ``take`` gets the newest.

    >>> gate = FrameGate()
    >>> gate.put('a', 0.0); gate.put('b', 0.033)   # 'a' was never taken: dropped
    >>> gate.poll().item
    'b'
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._slot: Optional[Frame[T]] = None
        self._arrived = 0
        self._taken = 0
        self._dropped = 0
        self._closed = False

    def put(self, item: T, arrived: float) -> bool:
        """Offer a frame; return True when it replaced one that was never taken (a drop)."""
        with self._cond:
            if self._closed:
                return False
            replaced = self._slot is not None
            if replaced:
                self._dropped += 1
            self._slot = Frame(item, arrived, self._arrived)
            self._arrived += 1
            self._cond.notify()
            return replaced

    def poll(self) -> Optional[Frame[T]]:
        """Take the pending frame without waiting; None when the slot is empty."""
        with self._cond:
            return self._take_locked()

    def take(self, timeout: Optional[float] = None) -> Optional[Frame[T]]:
        """Wait up to ``timeout`` seconds for a frame; None on timeout or after ``close``."""
        with self._cond:
            self._cond.wait_for(lambda: self._slot is not None or self._closed, timeout)
            return self._take_locked()

    def _take_locked(self) -> Optional[Frame[T]]:
        frame, self._slot = self._slot, None
        if frame is not None:
            self._taken += 1
        return frame

    def close(self) -> None:
        """Wake any waiting ``take`` and refuse further frames (a pending one is discarded)."""
        with self._cond:
            self._closed = True
            if self._slot is not None:
                self._dropped += 1
                self._slot = None
            self._cond.notify_all()

    def reopen(self) -> None:
        """Accept frames again after ``close`` (a lifecycle node that is re-activated)."""
        with self._cond:
            self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def counts(self) -> GateCounts:
        """Consistent snapshot of the counters."""
        with self._cond:
            return GateCounts(self._arrived, self._taken, self._dropped,
                              int(self._slot is not None))
