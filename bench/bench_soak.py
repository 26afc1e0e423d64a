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
Soak: many camera messages through conversion + Detector + message building, like the node.

    python bench/bench_soak.py [--frames 20000] [--model M.onnx]

Reports resident-memory growth after warm-up (target < 20 MB) and the p99 latency of the last
1,000 frames against the first 1,000 after warm-up (target: within 10%). Frames are real street
images in rotating encodings (bgr8, rgb8, mono8, JPEG) with a malformed one every 500 frames.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
import gc
import os
from pathlib import Path
import time

import cv2
import numpy as np
import psutil
from tqdm import tqdm

from vru_detector import Detector
from vru_detector.msgs.convert import numpy_to_compressed, numpy_to_image
from vru_detector.msgs.messages import make_header, rosbags_message_types
from vru_detector.ros.pipeline import DetectionPipeline
from vru_detector.stats import PipelineStats


@dataclass
class SoakResult:
    frames: int
    skipped: int
    rss_after_warmup_mb: float
    rss_end_mb: float
    p99_first_ms: float
    p99_last_ms: float
    processing_over_timer: float = float('nan')  # pipeline's own processing_ms / outside timer

    @property
    def rss_growth_mb(self) -> float:
        return self.rss_end_mb - self.rss_after_warmup_mb

    @property
    def p99_ratio(self) -> float:
        return self.p99_last_ms / self.p99_first_ms


def camera_messages(images: list[np.ndarray], types) -> list:
    """Encode the same frames as a camera driver may publish them, plus one malformed message."""
    header = make_header(0, 0, 'camera', types)
    msgs = []
    for im in images:
        msgs.append(numpy_to_image(im, 'bgr8', header, types.Image))
        rgb = np.ascontiguousarray(im[..., ::-1])
        msgs.append(numpy_to_image(rgb, 'rgb8', header, types.Image))
        mono = cv2.cvtColor(im, cv2.COLOR_BGR2GRAY)
        msgs.append(numpy_to_image(mono, 'mono8', header, types.Image))
        msgs.append(numpy_to_compressed(im, header, types.CompressedImage, 'jpeg'))
    bad = numpy_to_image(images[0], 'bgr8', header, types.Image)
    bad.step = bad.step + 7  # size/step mismatch: must be skipped and counted
    return msgs + [bad]


def soak(model: Path, images: list[np.ndarray], frames: int, warmup: int = 200,
         window: int = 1000, progress: bool = True) -> SoakResult:
    """Run ``frames`` messages; returns memory and latency figures (no assertions)."""
    types = rosbags_message_types()
    msgs = camera_messages(images, types)
    good, bad = msgs[:-1], msgs[-1]
    pipeline = DetectionPipeline(Detector(model), types, PipelineStats())
    proc = psutil.Process(os.getpid())
    latencies = np.zeros(frames)
    processing = np.full(frames, np.nan)  # what the pipeline reports (node: /diagnostics)
    rss_warm = 0.0
    skipped = 0
    for i in tqdm(range(frames), desc='soak', unit='frame', disable=not progress, mininterval=1):
        msg = bad if i % 500 == 499 else good[i % len(good)]
        t0 = time.perf_counter()
        result = pipeline.process(msg, ros_now_s=0.0)
        latencies[i] = (time.perf_counter() - t0) * 1e3
        processing[i] = result.processing_ms
        skipped += result.skipped is not None
        if i == warmup - 1:
            gc.collect()
            rss_warm = proc.memory_info().rss / 2**20
    gc.collect()
    rss_end = proc.memory_info().rss / 2**20
    steady = latencies[warmup:]
    w = min(window, len(steady) // 2)
    ok = ~np.isnan(processing[warmup:])
    return SoakResult(frames, skipped, rss_warm, rss_end,
                      float(np.percentile(steady[:w], 99)), float(np.percentile(steady[-w:], 99)),
                      float(np.median(processing[warmup:][ok]) / np.median(steady[ok])))


def main() -> None:
    from common import exported_model, print_table, street_images

    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument('--frames', type=int, default=20000)
    p.add_argument('--model', type=Path, help='default: random-init YOLOv8-nano at 320')
    args = p.parse_args()
    model = args.model or exported_model('nano', 320)
    images = [cv2.imread(str(path)) for path in street_images(4)]
    r = soak(model, images, args.frames)
    print(f'{r.frames} frames, {r.skipped} malformed skipped, model {model.name}')
    print_table(['measure', 'value', 'target', 'ok'], [
        ['RSS after warm-up (MB)', r.rss_after_warmup_mb, '', ''],
        ['RSS growth (MB)', r.rss_growth_mb, '< 20', r.rss_growth_mb < 20],
        ['p99 first 1000 (ms)', r.p99_first_ms, '', ''],
        ['p99 last 1000 (ms)', r.p99_last_ms, '', ''],
        ['p99 last / first', r.p99_ratio, '<= 1.10', r.p99_ratio <= 1.10],
        ['processing_ms / outside timer (p50)', r.processing_over_timer, '0.95..1.0',
         0.95 <= r.processing_over_timer <= 1.0],
    ])


if __name__ == '__main__':
    main()
