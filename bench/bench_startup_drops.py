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
Frames the node drops in its first second, replaying a 25 Hz stream into its ROS-free pipeline.

    python bench/bench_startup_drops.py [--trials 5] [--seconds 4] [--model M.onnx] [--draw]

A real Humble graph dropped 6-7 frames in a row right after the first frame of a 25 Hz bag,
despite the warm-up. This replays TUD-Stadtmitte (640x480, 25 fps) as stamped bgr8 Image
messages the way detector_node takes them: a producer thread puts one every 40 ms into the
node's FrameGate (newest frame wins; a replaced frame is a drop), a worker thread runs the
node's DetectionPipeline (the real Detector and ByteTrack) on what it takes. Every trial is a
fresh process (first-use costs happen once per process), the variants alternate:

- ``before``: the warm-up as it was (the whole path 3x on a blank 1280x720 frame);
- ``boxes``: plus tracker, messages and drawing on synthetic boxes (a real model finds
  nothing on the blank frame);
- ``after``: plus ``settle_heap`` (gc.collect + gc.freeze), what activation does now.

It prints drops in the first second and over the whole run, the garbage collector's full
(generation 2) collections during the replay, and what a full collection costs at the end of it
(forced): a pause that holds the GIL, so camera callback and inference both stop. The default
model is the fixed-output test ONNX (inference ~1 ms, so the steady state never drops at 25 Hz
and every drop is a start-up cost); ``--model`` takes a real one (then use ``--period-ms``
above its latency).
"""
from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import threading
import time

from common import CACHE, print_table, REPO, SHARED_DATA

VARIANTS = ('before', 'boxes', 'after')
VIDEO = SHARED_DATA / 'videos' / 'TUD-Stadtmitte.mp4'


def stream(period_s: float, count: int, types) -> list:
    """``count`` frames of the video as bgr8 Images stamped ``period_s`` apart (looped)."""
    import cv2

    from vru_detector.msgs.convert import numpy_to_image
    from vru_detector.msgs.messages import make_header

    cap = cv2.VideoCapture(str(VIDEO))
    images = []
    while len(images) < min(count, 100):
        ok, image = cap.read()
        if not ok:
            break
        images.append(image)
    if not images:
        raise SystemExit(f'cannot read {VIDEO}; set VRU_SHARED_DATA')
    msgs = []
    for k in range(count):
        stamp = 1000.0 + k * period_s
        header = make_header(int(stamp), int(round(stamp % 1 * 1e9)), 'cam', types)
        msgs.append(numpy_to_image(images[k % len(images)], 'bgr8', header, types.Image))
    return msgs


def child(variant: str, model: str, period_s: float, seconds: float, draw: bool) -> dict:
    """One trial in this (fresh) process: activate like the node, replay, count."""
    from vru_detector import Detector
    from vru_detector.class_config import load_class_config
    from vru_detector.frame_gate import FrameGate
    from vru_detector.msgs.messages import rosbags_message_types
    from vru_detector.ros import pipeline as node_pipeline
    from vru_detector.stats import PipelineStats
    from vru_detector.tracker import make_tracker

    types = rosbags_message_types()
    msgs = stream(period_s, int(seconds / period_s), types)
    if variant == 'before':  # the warm-up without synthetic boxes
        node_pipeline.DetectionPipeline._warm_with_boxes = lambda *args: None
    stats = PipelineStats()
    pipeline = node_pipeline.DetectionPipeline(
        Detector(model), types, stats, load_class_config(None), tracker=make_tracker('bytetrack'))
    pipeline.warm_up(draw=draw)
    if variant == 'after':
        node_pipeline.settle_heap()
    counts = gc.get_count()  # a full collection runs when the last one reaches 10

    pauses = []  # (generation, ms) of each collection during the replay
    started = {}

    def on_gc(phase: str, info: dict) -> None:
        if phase == 'start':
            started['t'] = time.perf_counter()
        elif 't' in started:
            pauses.append((info['generation'], (time.perf_counter() - started.pop('t')) * 1e3))

    gate = FrameGate()
    first_second = []  # (index, dropped?) of each frame put in the first second
    processed = []

    def work() -> None:
        while True:
            frame = gate.take(timeout=1.0)
            if frame is None:
                return
            t0 = time.perf_counter()
            pipeline.process(frame.item, 0.0, draw=draw)
            processed.append((frame.seq, (time.perf_counter() - t0) * 1e3))

    gc.callbacks.append(on_gc)
    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    start = time.perf_counter()
    per_second = int(round(1.0 / period_s))
    for k, msg in enumerate(msgs):  # the camera: one frame every period, on schedule
        delay = start + k * period_s - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        now = time.monotonic()
        stats.on_input(now)
        dropped = gate.put(msg, now)
        if dropped:
            stats.on_drop()
        if k < per_second:
            first_second.append(dropped)
    time.sleep(0.5)
    gate.close()
    worker.join()
    gc.callbacks.remove(on_gc)
    full = [ms for generation, ms in pauses if generation == 2]
    t0 = time.perf_counter()
    gc.collect()  # what a full collection falling on a frame would cost now
    forced_ms = (time.perf_counter() - t0) * 1e3
    # a drop at put k means frame k - 1 was never taken: attribute it to the first second
    return {'variant': variant, 'first_second_drops': sum(first_second),
            'drops': stats.snapshot(time.monotonic()).dropped, 'frames': len(msgs),
            'full_collections': len(full), 'longest_full_ms': max(full, default=0.0),
            'full_gc_ms': forced_ms, 'first_ms': processed[0][1], 'gc_counts': counts,
            'steady_ms': statistics.median(ms for _, ms in processed[per_second:])}


def fixed_output_model() -> str:
    """Build the tests' fixed-output ONNX (test/fixed_output_model.py) once, in runs/bench."""
    sys.path.insert(0, str(REPO / 'test'))
    from fixed_output_model import build_fixed_output_onnx

    path = CACHE / 'fixed_output.onnx'
    if not path.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        build_fixed_output_onnx(path)
    return str(path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument('--trials', type=int, default=5, help='fresh processes per variant')
    p.add_argument('--seconds', type=float, default=4.0, help='length of each replay')
    p.add_argument('--period-ms', type=float, default=40.0, help='camera period (25 Hz)')
    p.add_argument('--model', help='ONNX model (default: the fixed-output test model)')
    p.add_argument('--draw', action='store_true', help='draw the debug image too')
    p.add_argument('--child', choices=VARIANTS, help=argparse.SUPPRESS)
    args = p.parse_args()
    model = args.model or fixed_output_model()
    if args.child:
        print(json.dumps(child(args.child, model, args.period_ms / 1e3, args.seconds,
                               args.draw)))
        return
    results = {v: [] for v in VARIANTS}
    for trial in range(args.trials):
        for variant in VARIANTS:  # alternated: the machine is shared
            cmd = [sys.executable, __file__, '--child', variant, '--model', model,
                   '--seconds', str(args.seconds), '--period-ms', str(args.period_ms)]
            out = subprocess.run(cmd + ['--draw'] * args.draw, capture_output=True, text=True,
                                 check=True).stdout
            results[variant].append(json.loads(out.strip().splitlines()[-1]))
            print(f'trial {trial + 1}/{args.trials} {variant}: {results[variant][-1]}',
                  file=sys.stderr)
    rows = []
    for variant, runs in results.items():
        def med(key: str) -> float:
            return float(statistics.median(r[key] for r in runs))
        rows.append([variant, ' '.join(str(r['first_second_drops']) for r in runs),
                     ' '.join(str(r['gc_counts'][2]) for r in runs),
                     med('drops'), med('full_collections'), med('full_gc_ms'),
                     med('full_gc_ms') / args.period_ms, med('first_ms'), med('steady_ms')])
    print(f'{args.trials} fresh processes per variant; {args.seconds:g} s at '
          f'{1e3 / args.period_ms:g} Hz; model {model}; medians')
    print_table(['warm-up', 'drops in 1st s (each trial)',
                 'gen-1 GCs since last full (full after 10)', 'drops in run', 'full GCs in run',
                 'full GC pause ms', 'pause / period', 'first frame ms', 'steady ms/frame'],
                rows)


if __name__ == '__main__':
    main()
