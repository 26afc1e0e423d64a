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
Tracker: Detections of successive frames in, the same Detections with a ``track_id`` out.

A safety stack acts on tracks (age, motion), not on single boxes. The Kalman filter and the
assignment come from Roboflow's ``trackers`` library (no torch); why that library and which
algorithm is the default is measured in docs/tracking.md. This wrapper adds what a camera
node needs around it:

- time comes from the message stamps (seconds), so a track survives frames the node dropped:
  the library's Kalman step and its lost-track budget are driven by the elapsed time;
- a stamp earlier than the previous one (``ros2 bag play --loop``) resets every track;
- one library tracker per class, so a rider and the bicycle under it never swap identities;
- track IDs are unique over the Tracker's lifetime, also across resets.
"""
from __future__ import annotations

from dataclasses import replace
import inspect
import math
from typing import Any

import numpy as np

from .detections import Detections
from .errors import VruDetectorError
from .extras import install_hint, MissingExtraError

#: Algorithms offered (``none`` turns tracking off); names are the library's tracker ids.
TRACKERS = ('none', 'bytetrack', 'sort', 'ocsort')
#: The default: lowest ID switches of the three on the clips (docs/tracking.md).
DEFAULT_TRACKER = 'bytetrack'
#: Seconds an unmatched track is kept (the library's ``lost_track_buffer`` / 30 fps).
DEFAULT_LOST_TRACK_SECONDS = 1.0


def _library_class(algorithm: str) -> type:
    try:
        import trackers
    except ImportError as exc:
        raise MissingExtraError(
            f'tracker {algorithm!r} needs the "tracking" extra ({exc}); install it with '
            f'`{install_hint("tracking")}`, or set the tracker to "none"') from None
    return {'bytetrack': trackers.ByteTrackTracker, 'sort': trackers.SORTTracker,
            'ocsort': trackers.OCSORTTracker}[algorithm]


class Tracker:
    """
    Multi-object tracker over the ``trackers`` library, fed with message stamps.

    >>> tracker = Tracker('bytetrack', frame_rate=25)
    >>> tracked = tracker.update(detector(image), stamp=msg_stamp_seconds)
    >>> tracked.track_ids          # int64 [N]; -1 while a track is not yet confirmed

    ``frame_rate`` is the camera's nominal rate: the library's motion model counts in frames of
    that rate, and a stamp gap of k frames predicts k frames ahead. ``options`` go to the
    library tracker unchanged (e.g. ``track_activation_threshold``); unknown names are errors.
    """

    def __init__(self, algorithm: str = DEFAULT_TRACKER, frame_rate: float = 30.0,
                 lost_track_seconds: float = DEFAULT_LOST_TRACK_SECONDS,
                 **options: Any) -> None:
        if algorithm not in TRACKERS or algorithm == 'none':
            raise VruDetectorError(
                f'tracker {algorithm!r} is not offered; choose one of {list(TRACKERS[1:])} '
                '(or "none" for no tracking, which builds no Tracker)')
        if not (math.isfinite(frame_rate) and frame_rate > 0):
            raise VruDetectorError(f'tracker frame_rate={frame_rate} must be a positive number '
                                   '(the camera rate in frames per second)')
        if not (math.isfinite(lost_track_seconds) and lost_track_seconds >= 0):
            raise VruDetectorError(f'lost_track_seconds={lost_track_seconds} must be >= 0')
        self.algorithm = algorithm
        self._cls = _library_class(algorithm)
        accepted = set(inspect.signature(self._cls.__init__).parameters) - {
            'self', 'frame_rate', 'lost_track_buffer', 'state_estimator_class', 'iou'}
        unknown = sorted(set(options) - accepted)
        if unknown:
            raise VruDetectorError(
                f'tracker option(s) {unknown} are not options of {algorithm}; its options are '
                f'{sorted(accepted)} (frame_rate and lost_track_seconds are set separately)')
        # The library counts its lost-track buffer in 30 fps frames and converts to seconds.
        self._kwargs = dict(options, frame_rate=float(frame_rate),
                            lost_track_buffer=int(round(lost_track_seconds * 30.0)))
        self._per_class: dict[int, Any] = {}
        self._ids: dict[tuple[int, int], int] = {}
        self._next_id = 0
        self._last_stamp: float | None = None
        self.resets = 0

    def update(self, detections: Detections, stamp: float) -> Detections:
        """
        Track one frame's detections at ``stamp`` (seconds, e.g. the header stamp).

        Returns the same detections in the same order with ``track_ids`` set. A stamp earlier
        than the previous one resets every track first (the input looped or jumped back).
        """
        stamp = float(stamp)
        if not math.isfinite(stamp):
            raise VruDetectorError(f'tracker stamp {stamp} is not a finite number of seconds')
        if self._last_stamp is not None and stamp < self._last_stamp:
            self.reset()
            self.resets += 1
        self._last_stamp = stamp
        track_ids = np.full(len(detections), -1, dtype=np.int64)
        classes = set(np.unique(detections.class_ids).tolist()) | {
            c for c, lib in self._per_class.items() if lib.tracks}
        for class_id in sorted(classes):
            index = np.flatnonzero(detections.class_ids == class_id)
            lib = self._per_class.get(class_id)
            if lib is None:
                lib = self._per_class[class_id] = self._cls(**self._kwargs)
            result = lib.update(_to_supervision(detections, index), timestamp=stamp)
            if not len(result):  # no detections of this class: the library only aged its tracks
                continue
            for i, lib_id in zip(result.data['index'], result.tracker_id):
                if lib_id >= 0:
                    track_ids[i] = self._global_id(class_id, int(lib_id))
        return replace(detections, track_ids=track_ids)

    def _global_id(self, class_id: int, lib_id: int) -> int:
        key = (class_id, lib_id)
        if key not in self._ids:
            self._ids[key] = self._next_id
            self._next_id += 1
        return self._ids[key]

    def reset(self) -> None:
        """Drop every track (IDs already given out are never reused)."""
        for lib in self._per_class.values():
            lib.reset()
        self._ids.clear()
        self._last_stamp = None

    @property
    def active_tracks(self) -> int:
        """Count the confirmed tracks alive now, briefly unmatched ones included (diagnostics)."""
        return sum(1 for lib in self._per_class.values() for t in lib.tracks
                   if t.tracker_id != -1)


def make_tracker(algorithm: str, **kwargs: Any) -> Tracker | None:
    """Build the tracker a parameter or flag names; ``none`` gives None (no tracking)."""
    if algorithm == 'none':
        return None
    return Tracker(algorithm, **kwargs)


def _to_supervision(detections: Detections, index: np.ndarray):
    """Convert to the library's input type, with each row's index so results map back."""
    import supervision as sv

    return sv.Detections(xyxy=detections.xyxy[index].astype(np.float32, copy=False),
                         confidence=detections.scores[index],
                         class_id=detections.class_ids[index],
                         data={'index': index})
