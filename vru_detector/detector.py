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
Detector: one image (HxWx3 uint8 BGR) in, Detections in image pixels out.

Owns preprocessing, the backend and postprocessing so the node, the CLI and replay evaluation
all run exactly the same code path.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
import time
from typing import Iterable, Mapping, Sequence

import numpy as np

from .artifact import ArtifactInfo
from .backends import Backend, load_backend
from .class_config import DEFAULT_CONF
from .detections import Detections
from .errors import VruDetectorError
from .image import as_bgr8
from .postprocess import Candidates, decode_yolov8, select_detections
from .preprocess import preprocess


@dataclass
class StageTimes:
    """Wall-clock milliseconds of the last call, per stage (for diagnostics and benchmarks)."""

    preprocess_ms: float = 0.0
    inference_ms: float = 0.0
    postprocess_ms: float = 0.0

    @property
    def total_ms(self) -> float:
        return self.preprocess_ms + self.inference_ms + self.postprocess_ms


def class_thresholds(names: Sequence[str], conf: float,
                     class_conf: Mapping[str | int, float] | None = None,
                     classes: Iterable[str | int] | None = None) -> np.ndarray:
    """
    Per-class score thresholds; classes outside ``classes`` get +inf (never detected).

    Classes may be named or given by id; an unknown name is an error that lists the valid ones.
    """
    def index(key: str | int) -> int:
        if isinstance(key, (int, np.integer)) and 0 <= key < len(names):
            return int(key)
        if isinstance(key, str) and key in names:
            return names.index(key)
        raise VruDetectorError(f'class {key!r} is not in the model; its classes are {list(names)}')

    if not 0.0 <= conf <= 1.0:
        raise VruDetectorError(f'conf={conf} must be within [0, 1]')
    thres = np.full(len(names), conf, dtype=np.float32)
    for key, value in (class_conf or {}).items():
        if not 0.0 <= value <= 1.0:
            raise VruDetectorError(f'threshold {value} for class {key!r} must be within [0, 1]')
        thres[index(key)] = value
    if classes is not None:
        keep = np.zeros(len(names), dtype=bool)
        keep[[index(c) for c in classes]] = True
        thres[~keep] = np.inf
    return thres


class Detector:
    """
    YOLOv8 detector over any backend.

    >>> det = Detector('student_int8.onnx', conf=0.25)
    >>> dets = det(image_bgr)          # Detections(.xyxy, .scores, .class_ids, .names)

    Defaults (conf 0.25, iou 0.7, max_det 300) are ultralytics' so results are comparable.
    A missing, corrupt or inconsistent model raises ``ModelLoadError`` here, not at the first
    frame.
    """

    def __init__(self, model: str | Path | Backend, backend: str | None = None,
                 device: str = 'cpu', conf: float = DEFAULT_CONF, iou: float = 0.7,
                 max_det: int = 300,
                 class_conf: Mapping[str | int, float] | None = None,
                 classes: Iterable[str | int] | None = None, agnostic_nms: bool = False,
                 **backend_options) -> None:
        self.backend = model if isinstance(model, Backend) else load_backend(
            model, backend=backend, device=device, **backend_options)
        self.info: ArtifactInfo = self.backend.info
        self.names = self.info.names
        self.times = StageTimes()
        self.iou = iou
        self.max_det = max_det
        self.agnostic_nms = agnostic_nms
        self.set_thresholds(conf, class_conf, classes)

    def set_thresholds(self, conf: float, class_conf: Mapping[str | int, float] | None = None,
                       classes: Iterable[str | int] | None = None) -> None:
        """Change score thresholds / class filter (validated; the node calls this at runtime)."""
        thresholds = class_thresholds(self.names, conf, class_conf, classes)
        self.conf, self.class_conf = conf, dict(class_conf or {})
        self.classes = None if classes is None else list(classes)
        self.thresholds = thresholds

    def __call__(self, image: np.ndarray) -> Detections:
        return self.detect_batch([image])[0]

    def detect_batch(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """Detect on several images; batches larger than the model's are split."""
        images = [as_bgr8(im) for im in images]
        results: list[Detections] = []
        times = StageTimes()
        step = max(1, self.backend.max_batch)
        for start in range(0, len(images), step):
            chunk = images[start:start + step]
            t0 = time.perf_counter()
            blob, transforms = preprocess(chunk, self.info.input_shape, self.backend.input_dtype)
            t1 = time.perf_counter()
            raw = self.backend.infer(blob)
            t2 = time.perf_counter()
            for out, tf in zip(raw, transforms):
                cand = decode_yolov8(out, self.thresholds, self.info.num_classes)
                kept = select_detections(cand, self.iou, self.max_det, self.agnostic_nms)
                results.append(self._to_detections(kept, tf))
            t3 = time.perf_counter()
            times.preprocess_ms += (t1 - t0) * 1e3
            times.inference_ms += (t2 - t1) * 1e3
            times.postprocess_ms += (t3 - t2) * 1e3
        self.times = times
        return results

    def _to_detections(self, kept: Candidates, tf) -> Detections:
        if not len(kept.scores):
            return Detections.empty(self.names, tf.orig_shape)
        return Detections(tf.to_original(kept.xyxy), kept.scores, kept.class_ids, self.names,
                          tf.orig_shape)

    def close(self) -> None:
        """Free the backend's memory; the detector is unusable afterwards."""
        self.backend.close()
