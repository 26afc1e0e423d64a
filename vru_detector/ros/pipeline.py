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

Conversion, detection, tracking (optional: the header stamp is the tracker's clock, so tracks
survive dropped frames), message building, publishing (through callables the node passes in),
latency and skip accounting, with no ROS calls, so it is tested with rosbags message classes.
Pipeline latency is the ROS clock read right after the detections are published, minus the
image's header stamp (Autoware's ``pipeline_latency_ms``): everything the node did to the frame
is inside it. Each stage's time is kept too, for /diagnostics. The debug image is drawn and
published after the detections, off their critical path. Bad frames never raise: they come
back as skipped with a reason and a message.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import gc
import math
import time
from typing import Any, Callable, Dict, Optional, Tuple, Union

import numpy as np

from ..class_config import color_for
from ..detections import Detections
from ..errors import InvalidImageError, ModelOutputError
from ..msgs.convert import message_to_bgr8, numpy_to_image, skip_reason
from ..msgs.messages import (copy_header, detections_to_msg, make_header, MessageTypes,
                             stamp_seconds)
from ..stats import PipelineStats
from ..visualize import draw_detections

Clock = Union[float, Callable[[], float]]
Publish = Optional[Callable[[Any], None]]
WARMUP_SHAPE = (720, 1280)  # a common camera size: exercises letterbox resizing, unlike HxW=input
WARMUP_TRACK_STEPS = 3      # frames of synthetic boxes: ByteTrack confirms a track on the 2nd


@dataclass
class FrameResult:
    """What one frame produced: output messages, or why it was skipped."""

    detections: Any = None        # vision_msgs/Detection2DArray
    debug_image: Any = None       # sensor_msgs/Image (bgr8), when asked for
    skipped: Optional[str] = None  # skip reason key, e.g. 'malformed_image'
    error: str = ''               # human-readable reason for the log
    inference_ms: float = math.nan
    pipeline_ms: float = math.nan  # ROS clock at publish - header stamp; NaN if unstamped
    processing_ms: float = math.nan  # frame taken -> detections published (our own work)
    stages_ms: Dict[str, float] = field(default_factory=dict)  # stats.STAGES -> ms


def _read(clock: Clock) -> float:
    return clock() if callable(clock) else float(clock)


class DetectionPipeline:
    """Image or CompressedImage -> Detection2DArray (+ annotated image), counting as it goes."""

    def __init__(self, detector: Any, types: MessageTypes, stats: PipelineStats,
                 styles: Optional[Dict[str, Any]] = None,
                 monotonic: Callable[[], float] = time.monotonic,
                 tracker: Any = None) -> None:
        self.detector = detector
        self.types = types
        self.stats = stats
        self.styles = styles or {}
        self.monotonic = monotonic
        self.tracker = tracker  # vru_detector.tracker.Tracker, or None: no track IDs

    def _color_of(self, name: str, class_id: int) -> Any:
        return color_for(name, class_id, self.styles)

    def process(self, msg: Any, ros_now_s: Clock, draw: bool = False,
                publish: Publish = None, publish_debug: Publish = None) -> FrameResult:
        """
        Run one frame: convert, detect, build, ``publish`` the detections, then the debug image.

        ``ros_now_s`` is the ROS clock: a callable read right after ``publish`` returns (the
        node passes its clock), or a fixed time in seconds. Malformed images (``skip_reason``
        keys) and model output errors ('inference_error') are counted and returned as skipped.
        """
        t0 = time.perf_counter()
        try:
            image = message_to_bgr8(msg)
        except InvalidImageError as exc:
            reason = skip_reason(msg)
            self.stats.on_skip(reason)
            return FrameResult(skipped=reason, error=f'skipped an input image: {exc}')
        t1 = time.perf_counter()
        try:
            dets = self.detector(image)
        except (InvalidImageError, ModelOutputError) as exc:
            self.stats.on_skip('inference_error')
            return FrameResult(skipped='inference_error', error=f'skipped a frame: {exc}')
        t2 = time.perf_counter()
        if self.tracker is not None:
            stamp = stamp_seconds(msg.header)
            dets = self.tracker.update(dets, stamp if stamp > 0 else self.monotonic())
            self.stats.on_tracks(self.tracker.active_tracks, self.tracker.resets)
        t_track = time.perf_counter()
        result = FrameResult(detections=detections_to_msg(dets, msg.header, self.types),
                             inference_ms=self.detector.times.inference_ms)
        t3 = time.perf_counter()
        if publish is not None:
            publish(result.detections)
        now_s = _read(ros_now_s)
        t4 = time.perf_counter()
        stamp = stamp_seconds(msg.header)
        if stamp > 0:
            result.pipeline_ms = (now_s - stamp) * 1e3
        times = self.detector.times
        result.processing_ms = (t4 - t0) * 1e3
        result.stages_ms = {
            'conversion': (t1 - t0) * 1e3,
            # the detector's own split; what it does outside its timers counts as preprocess
            'preprocess': (t2 - t1) * 1e3 - times.inference_ms - times.postprocess_ms,
            'inference': times.inference_ms, 'postprocess': times.postprocess_ms,
            'tracking': (t_track - t2) * 1e3, 'messages': (t3 - t_track) * 1e3,
            'publish': (t4 - t3) * 1e3, 'debug_image': math.nan}
        if draw:
            result.debug_image = numpy_to_image(
                draw_detections(image, dets, color_of=self._color_of), 'bgr8',
                copy_header(msg.header, self.types), self.types.Image)
            if publish_debug is not None:
                publish_debug(result.debug_image)
            result.stages_ms['debug_image'] = (time.perf_counter() - t4) * 1e3
        self.stats.on_output(self.monotonic(), result.pipeline_ms, result.inference_ms,
                             result.stages_ms, result.processing_ms)
        return result

    def warm_up(self, runs: int = 3, shape: Tuple[int, int] = WARMUP_SHAPE,
                draw: bool = True, serialize: Publish = None) -> list:
        """
        Run the whole per-frame path ``runs`` times on a synthetic frame; return each run's ms.

        One inference on a blank input-sized image left the first camera frames slow (first
        letterbox resize, first message building and drawing, the runtime's first runs), so
        the frames arriving meanwhile were dropped. A real model finds nothing on this frame,
        so what only detections run (tracker matching, per-box messages, box drawing) is then
        warmed on synthetic boxes. ``serialize`` (the node passes rclpy's) converts each output
        message as publishing would. Nothing is published or counted here.
        """
        h, w = shape
        frame = np.zeros((h, w, 3), np.uint8)
        frame[h // 4:h // 2, w // 4:w // 2] = 128  # not uniform: something to letterbox
        header = make_header(0, 0, 'warmup', self.types)
        msg = numpy_to_image(frame, 'bgr8', header, self.types.Image)
        stats, self.stats = self.stats, PipelineStats()
        times = []
        try:
            for _ in range(runs):
                t0 = time.perf_counter()
                self.process(msg, 0.0, draw=draw, publish=serialize, publish_debug=serialize)
                times.append((time.perf_counter() - t0) * 1e3)
            self._warm_with_boxes(frame, header, draw, serialize)
        finally:
            self.stats = stats
            if self.tracker is not None:
                self.tracker.reset()  # no track of the synthetic frame survives
        return times

    def _warm_with_boxes(self, frame: np.ndarray, header: Any, draw: bool,
                         serialize: Publish) -> None:
        """Track, build, draw (and serialize) one moving box per class for a few frames."""
        h, w = frame.shape[:2]
        names = tuple(self.detector.names)
        k = np.arange(len(names))
        x, y = (k % 10) * (w / 10), (k // 10 % 10) * (h / 10)
        boxes = np.stack([x, y, x + w / 20, y + h / 20], 1).astype(np.float32)
        if self.tracker is not None:
            self.tracker.reset()  # its clock restarts at the stamps below (no reset counted)
        for step in range(WARMUP_TRACK_STEPS):
            dets = Detections(boxes + step, np.full(len(k), 0.9, np.float32), k, names, (h, w))
            if self.tracker is not None:
                dets = self.tracker.update(dets, 1.0 + step / 25)
            out = detections_to_msg(dets, header, self.types)
            if serialize is not None:
                serialize(out)
            if draw:
                debug = numpy_to_image(draw_detections(frame, dets, color_of=self._color_of),
                                       'bgr8', copy_header(header, self.types), self.types.Image)
                if serialize is not None:
                    serialize(debug)


def settle_heap() -> float:
    """
    Collect garbage once, then freeze what survives (``gc.freeze``); return the ms it took.

    After the imports, the model and the warm-up, the process holds ~10^5 long-lived objects
    and is one step from a full collection, which scans them all while holding the GIL: 257-283
    ms on a 2-core CPU (bench/bench_startup_drops.py), stopping the camera callback and
    inference alike. That is the likely cause of the 6-7 frames dropped right after the first
    one on a Humble graph. Run once before subscribing: later collections skip frozen objects.
    """
    t0 = time.perf_counter()
    gc.collect()
    gc.freeze()
    return (time.perf_counter() - t0) * 1e3
