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
One bag evaluated as a self-contained task: the unit of work of a fleet run.

It needs only the runtime (numpy, OpenCV, ONNX Runtime, rosbags): no torch, no ROS, so a Ray
worker or a plain process runs it alike. The model comes as a local path or as bytes in Ray's
object store, fetched once per worker process and kept with its Detector for the next bag.
Any failure becomes the result's ``error``: one corrupt bag never sinks the run.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import asdict, dataclass, field
import hashlib
import json
import os
from pathlib import Path
import tempfile
import time
from typing import Any

import numpy as np

from .bag_images import BagImages
from .eval_run import EvalRun, latency_summary, realtime_summary, run_evaluation
from .metrics import ReplayMetrics
from .tracking_eval import check_identities, evaluate_tracking, recorded_fps, TrackingRecorder
from .truth_lookup import TruthLookup
from ..errors import VruDetectorError

_DETECTORS: OrderedDict = OrderedDict()   # (model sha256, settings) -> Detector, per process
_KEEP_DETECTORS = 2                       # a candidate and its baseline


@dataclass(frozen=True)
class EvalSettings:
    """What decides a bag's figures besides the model and the bag (part of the cache key)."""

    image_topic: str
    gt_topic: str
    conf: tuple[float, ...]     # operating threshold per class id
    eval_conf: float
    iou: float
    backend: str | None
    device: str
    threads: int | None
    max_frames: int | None
    realtime: bool
    tracking: str | None

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class ModelSource:
    """A model file as a task finds it: a path readable there, or its bytes in the object store."""

    name: str
    sha256: str
    path: str | None = None
    ref: tuple = ()      # (ObjectRef,): inside a tuple so Ray does not fetch it for every task


@dataclass
class BagResult:
    """A bag's evaluation: per-frame matching (for pooling), latency, realtime, tracking."""

    bag: str
    bag_sha256: str
    model_sha256: str
    metrics: ReplayMetrics | None = None
    detector_ms: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    latency: dict | None = None
    realtime: dict | None = None
    tracking: dict | None = None
    frames_in_bag: int = 0
    error: str | None = None
    wall_s: float = 0.0
    cpu_s: float = 0.0          # CPU time of the task's process (what a cluster pays for)
    cached: bool = False

    @property
    def frames(self) -> int:
        return 0 if self.metrics is None else len(self.metrics.frames)


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _model_path(model: ModelSource) -> Path:
    """Return a local file of the model: its own path, else written once from the store."""
    if model.path is not None and Path(model.path).is_file():
        return Path(model.path)
    import ray

    folder = Path(tempfile.gettempdir()) / 'vru_fleet_models'
    path = folder / f'{model.sha256[:16]}{Path(model.name).suffix}'
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f'.{os.getpid()}.part')
        tmp.write_bytes(ray.get(model.ref[0]))
        os.replace(tmp, path)  # atomic: workers sharing the folder never read half a file
    return path


def load_detector(model: ModelSource, settings: EvalSettings) -> Any:
    """Return the Detector of ``model`` for these settings, reused across bags in this process."""
    from ..detector import Detector

    key = (model.sha256, settings.backend, settings.device, settings.eval_conf, settings.iou,
           settings.threads)
    if key in _DETECTORS:
        _DETECTORS.move_to_end(key)
        return _DETECTORS[key]
    options = {} if settings.threads is None else {'threads': settings.threads}
    detector = Detector(_model_path(model), backend=settings.backend, device=settings.device,
                        conf=settings.eval_conf, iou=settings.iou, max_det=300, **options)
    _DETECTORS[key] = detector
    while len(_DETECTORS) > _KEEP_DETECTORS:
        _DETECTORS.popitem(last=False)
    return detector


def has_identities(lookup: TruthLookup) -> bool:
    """Tell whether a bag's ground truth carries object identities (what tracking scores)."""
    try:
        check_identities(lookup)
    except VruDetectorError:
        return False
    return True


def evaluate_bag(bag: str, model: ModelSource, settings: EvalSettings,
                 bag_sha256: str = '') -> BagResult:
    """Detect on every frame of ``bag`` and match its ground-truth topic; never raises."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    result = BagResult(bag, bag_sha256, model.sha256)
    try:
        detector = load_detector(model, settings)
        with BagImages(bag, settings.image_topic) as frames:
            lookup = TruthLookup.from_topic(frames, settings.gt_topic, detector.names)
            recorder = None
            if settings.tracking and has_identities(lookup):  # else: a bag without tracks
                recorder = TrackingRecorder(settings.conf)
            run = run_evaluation(frames, detector, lookup,
                                 EvalRun(ReplayMetrics(detector.names)), settings.max_frames,
                                 progress=False, on_frame=recorder)
        result.metrics, result.frames_in_bag, result.error = \
            run.metrics, run.frames_in_bag, run.error
        result.detector_ms = np.array([t.ms['detector'] for t in run.timings], np.float32)
        result.latency = latency_summary(run)
        if settings.realtime:
            result.realtime = realtime_summary(run, settings.conf)
        if recorder is not None and recorder.index:
            dropped = set(result.realtime['dropped']) if result.realtime else None
            result.tracking = evaluate_tracking(recorder, settings.tracking,
                                                recorded_fps(recorder), dropped)
    except Exception as exc:  # noqa: B902 (whatever breaks on this bag is this bag's error)
        result.error = f'{type(exc).__name__}: {exc}'
    result.wall_s = time.perf_counter() - t0
    result.cpu_s = time.process_time() - cpu0
    return result
