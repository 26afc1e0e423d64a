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
Diagnostic level of the detector from two stats snapshots (ROS-free, used by the node).

A model that emits NaN/inf or malformed output is a fault of the deployed artifact, not of one
camera frame: it raises the status to ERROR. Malformed input frames and a silent input topic
are WARN (usually a driver or QoS problem), and so is a pipeline latency no pipeline can have
(negative, or over an hour): the image stamps and the node's clock are different clocks, as when
a bag is played without ``--clock`` / ``use_sim_time``. So is an input that misses frames the
header stamps say were sent (transport loss). The node keeps running in every case. Every time
here is on a steady clock, never ROS time: under ``use_sim_time`` ROS time stops with ``/clock``
when a bag ends, and the "no images" WARN must still come.
"""
from __future__ import annotations

import math
from typing import Dict, Optional, Tuple

from .stamp_gaps import NO_INPUT_S
from .stats import StatsSnapshot

MODEL_FAULT = 'inference_error'
ABSURD_LATENCY_MS = 3600e3  # an hour: no frame waits that long in a newest-frame-wins node
LOSS_FIX = ('Large raw images overflow the socket receive buffer of the middleware (CycloneDDS by '
            'default): run `sudo sysctl -w net.core.rmem_max=4194304` and launch with '
            'cyclonedds_config:=true (config/cyclonedds.xml), or subscribe to CompressedImage '
            '(compressed:=true), or publish smaller images. Over WiFi, fragments are lost too.')


def clock_problem(pipeline_ms: float) -> Optional[str]:
    """
    Say why a pipeline latency (ms, publish time minus header stamp) cannot be real, or None.

    Negative means the stamps are ahead of the node's clock, over an hour that they are far
    behind it: either way the two are different clocks, so the figure measures nothing.
    """
    if math.isnan(pipeline_ms) or 0.0 <= pipeline_ms <= ABSURD_LATENCY_MS:
        return None
    seen = (f'{pipeline_ms / 1e3:.3f} s, negative' if pipeline_ms < 0
            else f'{pipeline_ms / 3600e3:.1f} h')
    return (f'pipeline latency (publish time minus image stamp) is {seen}: the image stamps '
            'come from another clock than the node. Replaying a bag? Play it with '
            '`ros2 bag play --clock` and launch with use_sim_time:=true. Live camera: sync the '
            "camera driver's clock with this machine (chrony/PTP), or it stamps from its own.")


def transport_loss(snap: StatsSnapshot, min_completeness: float) -> Optional[str]:
    """Say what the stamp gaps show and how to fix it, when completeness is below the minimum."""
    completeness = snap.input_completeness
    if completeness is None or completeness >= min_completeness:
        return None
    return (f'input_completeness {completeness:.2f} is below {min_completeness:g}: the header '
            f'stamps (one every {snap.stamp_period_ms:.0f} ms) show frames sent that never '
            f'reached the node ({snap.missing_upstream} since activation). {LOSS_FIX}')


def detector_health(snap: StatsSnapshot, previous_skips: Dict[str, int], idle_s: float,
                    topic: str, qos: str, no_input_warn_s: float = NO_INPUT_S,
                    idle_reason: Optional[str] = None,
                    min_completeness: float = 0.0) -> Tuple[str, str]:
    """
    Return (level name, message) for the period since ``previous_skips`` was taken.

    ``previous_skips`` is the ``skipped_by_reason`` of the last published snapshot;
    ``min_completeness`` is the node's ``min_input_completeness`` (0 turns the check off).
    """
    new = {reason: n - previous_skips.get(reason, 0)
           for reason, n in snap.skipped_by_reason.items()
           if n > previous_skips.get(reason, 0)}
    if new.get(MODEL_FAULT):
        return 'ERROR', (f'model output invalid (NaN/inf or wrong shape) on '
                         f'{new[MODEL_FAULT]} frame(s) since the last report; frames skipped. '
                         'Check the model file and its export/calibration.')
    if idle_reason:
        return 'OK', idle_reason
    if idle_s > no_input_warn_s:
        return 'WARN', (f'no images on {topic} for {idle_s:.0f} s: check the topic name and '
                        f'QoS (we use {qos})')
    warnings = [w for w in (transport_loss(snap, min_completeness),
                            clock_problem(snap.pipeline_p50_ms)) if w]
    if new:
        detail = ', '.join(f'{n} {reason}' for reason, n in sorted(new.items()))
        warnings.append(f'malformed frame(s) skipped since the last report: {detail}')
    if warnings:
        return 'WARN', '; '.join(warnings)
    return 'OK', 'running'


class HealthMonitor:
    """
    The node's /diagnostics level and message, report after report, on the steady clock.

    ``now`` is ``time.monotonic()`` in the node (a fake clock in tests), like the stats' times;
    before the first image, the idle time counts from ``start``.
    """

    def __init__(self, start: float, qos: str, min_completeness: float,
                 no_input_warn_s: float = NO_INPUT_S) -> None:
        self.start, self.qos = start, qos
        self.min_completeness, self.no_input_warn_s = min_completeness, no_input_warn_s
        self._previous_skips: Dict[str, int] = {}

    def report(self, snap: StatsSnapshot, now: float, topic: str,
               idle_reason: Optional[str] = None) -> Tuple[str, str]:
        """Return (level, message) for ``snap`` taken at ``now``; remembers its skip counts."""
        idle = snap.last_input_age_s if snap.last_input_age_s is not None else now - self.start
        result = detector_health(snap, self._previous_skips, idle, topic, self.qos,
                                 self.no_input_warn_s, idle_reason, self.min_completeness)
        self._previous_skips = dict(snap.skipped_by_reason)
        return result
