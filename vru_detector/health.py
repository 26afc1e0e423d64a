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
are WARN (usually a driver or QoS problem). The node keeps running in every case.
"""
from __future__ import annotations

from typing import Dict, Optional, Tuple

from .stats import StatsSnapshot

MODEL_FAULT = 'inference_error'


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
    if new:
        detail = ', '.join(f'{n} {reason}' for reason, n in sorted(new.items()))
        return 'WARN', f'malformed frame(s) skipped since the last report: {detail}'
    return 'OK', 'running'
