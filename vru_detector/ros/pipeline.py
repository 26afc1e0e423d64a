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
One camera message in, the node's output messages out: the per-frame work of detector_node.

Conversion, detection, message building, latency and skip accounting, with no ROS calls, so
it is tested with rosbags message classes. The node only moves messages between this and its
publishers. Bad frames never raise: they come back as skipped with a reason and a message.
"""
from __future__ import annotations

from dataclasses import dataclass
import math
import time
from typing import Any, Callable, Dict, Optional

from ..class_config import color_for
from ..errors import InvalidImageError, ModelOutputError
from ..msgs.convert import message_to_bgr8, numpy_to_image, skip_reason
from ..msgs.messages import copy_header, detections_to_msg, MessageTypes, stamp_seconds
from ..stats import PipelineStats
from ..visualize import draw_detections


@dataclass
class FrameResult:
    """What one frame produced: output messages, or why it was skipped."""

    detections: Any = None        # vision_msgs/Detection2DArray
    debug_image: Any = None       # sensor_msgs/Image (bgr8), when asked for
    skipped: Optional[str] = None  # skip reason key, e.g. 'malformed_image'
    error: str = ''               # human-readable reason for the log
    inference_ms: float = math.nan
    pipeline_ms: float = math.nan  # now - header stamp; NaN for an unstamped frame


class DetectionPipeline:
    """Image or CompressedImage -> Detection2DArray (+ annotated image), counting as it goes."""

    def __init__(self, detector: Any, types: MessageTypes, stats: PipelineStats,
                 styles: Optional[Dict[str, Any]] = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.detector = detector
        self.types = types
        self.stats = stats
        self.styles = styles or {}
        self.monotonic = monotonic

    def _color_of(self, name: str, class_id: int) -> Any:
        return color_for(name, class_id, self.styles)

    def process(self, msg: Any, ros_now_s: float, draw: bool = False) -> FrameResult:
        """
        Run one frame; ``ros_now_s`` is the ROS clock now (seconds) for pipeline latency.

        Malformed images (``skip_reason`` keys) and model output errors ('inference_error')
        are counted in ``stats`` and returned as skipped.
        """
        try:
            image = message_to_bgr8(msg)
        except InvalidImageError as exc:
            reason = skip_reason(msg)
            self.stats.on_skip(reason)
            return FrameResult(skipped=reason, error=f'skipped an input image: {exc}')
        try:
            dets = self.detector(image)
        except (InvalidImageError, ModelOutputError) as exc:
            self.stats.on_skip('inference_error')
            return FrameResult(skipped='inference_error', error=f'skipped a frame: {exc}')
        result = FrameResult(detections=detections_to_msg(dets, msg.header, self.types),
                             inference_ms=self.detector.times.inference_ms)
        if draw:
            result.debug_image = numpy_to_image(
                draw_detections(image, dets, color_of=self._color_of), 'bgr8',
                copy_header(msg.header, self.types), self.types.Image)
        stamp = stamp_seconds(msg.header)
        if stamp > 0:
            result.pipeline_ms = (ros_now_s - stamp) * 1e3
        self.stats.on_output(self.monotonic(), result.pipeline_ms, result.inference_ms)
        return result
