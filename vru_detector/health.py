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
a bag is played without ``--clock`` / ``use_sim_time``. The node keeps running in every case.
"""
from __future__ import annotations

import math
from typing import Dict, Optional, Tuple

from .stats import StatsSnapshot

MODEL_FAULT = 'inference_error'
ABSURD_LATENCY_MS = 3600e3  # an hour: no frame waits that long in a newest-frame-wins node


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


def detector_health(snap: StatsSnapshot, previous_skips: Dict[str, int], idle_s: float,
                    topic: str, qos: str, no_input_warn_s: float = 3.0,
                    idle_reason: Optional[str] = None) -> Tuple[str, str]:
    """
    Return (level name, message) for the period since ``previous_skips`` was taken.

    ``previous_skips`` is the ``skipped_by_reason`` of the last published snapshot.
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
    warnings = []
    clock = clock_problem(snap.pipeline_p50_ms)
    if clock:
        warnings.append(clock)
    if new:
        detail = ', '.join(f'{n} {reason}' for reason, n in sorted(new.items()))
        warnings.append(f'malformed frame(s) skipped since the last report: {detail}')
    if warnings:
        return 'WARN', '; '.join(warnings)
    return 'OK', 'running'
