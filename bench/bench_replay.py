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
Bag reading + image decoding must cost at most 10% of replay evaluation time.

Builds bags (mcap / sqlite3, raw bgr8 Image / JPEG CompressedImage) from BDD100K val frames,
runs vru-eval-bag's own loop (``run_evaluation``) with the ONNX Runtime backend on a random-init
YOLOv8 exported at 640 (nano and small widths), and prints, side by side from the same run,
the time spent reading + deserialising + decoding a frame against the whole per-frame time.

    python bench/bench_replay.py [--frames 30] [--scales n s] [--imgsz 640]
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path
import sys
import tempfile

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from common import exported_model, print_table, SHARED_DATA  # noqa: E402, I100
BUDGET = 0.10  # read + decode share of evaluation time


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.strip().split('\n\n')[0])
    p.add_argument('--frames', type=int, default=30)
    p.add_argument('--scales', nargs='+', default=['n', 's'])
    p.add_argument('--imgsz', type=int, default=640)
    p.add_argument('--threads', type=int, default=0, help='ONNX Runtime threads (0: all)')
    args = p.parse_args(argv)

    from vru_detector import Detector
    from vru_detector.replay.bag_images import BagImages
    from vru_detector.replay.eval_run import EvalRun, run_evaluation
    from vru_detector.replay.truth_lookup import TruthLookup
    from vru_detector.replay.make_bag import main as make_bag
    from vru_detector.replay.metrics import ReplayMetrics

    images = SHARED_DATA / 'bdd100k_vru' / 'images' / 'val'
    labels = SHARED_DATA / 'bdd100k_vru' / 'labels' / 'val'
    if not images.is_dir():
        raise SystemExit(f'{images} not found; set VRU_SHARED_DATA')
    rows = []
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        bags = {}
        for storage in ('mcap', 'sqlite3'):
            for compressed in (False, True):
                bag = Path(tmp) / f'{storage}_{int(compressed)}'
                make_bag(['--images', str(images), '--labels', str(labels), '--out', str(bag),
                          '--storage', storage, '--max-frames', str(args.frames)]
                         + (['--compressed'] if compressed else []))
                bags[storage, compressed] = bag
        for scale in args.scales:
            model = exported_model(scale, args.imgsz)
            det = Detector(model, backend='onnxruntime', conf=0.001, threads=args.threads)
            det(__import__('numpy').zeros((720, 1280, 3), 'uint8'))  # warm-up
            for (storage, compressed), bag in bags.items():
                topic = '/camera/image_raw/compressed' if compressed else '/camera/image_raw'
                with BagImages(bag, topic) as frames:
                    lookup = TruthLookup.from_topic(frames, '/ground_truth/detections', det.names)
                with BagImages(bag, topic) as frames:
                    run = run_evaluation(frames, det, lookup, EvalRun(ReplayMetrics(det.names)),
                                         progress=False)
                # first frame pays file opening / cache warm-up: report steady state
                steady = run.timings[1:] or run.timings
                read = sum(t.ms['read_decode'] for t in steady) / len(steady)
                detect = sum(t.ms['detector'] for t in steady) / len(steady)
                total = sum(t.ms['total'] for t in steady) / len(steady)
                infer = sum(t.ms['inference'] for t in steady) / len(steady)
                ratio = read / total
                worst = max(worst, ratio)
                rows.append([f'yolov8{scale}@{args.imgsz}', storage,
                             'CompressedImage (JPEG)' if compressed else 'Image (bgr8)',
                             len(run.timings), read, infer, detect, total,
                             f'{100 * read / (read + infer):.1f}%', f'{100 * ratio:.1f}%',
                             'ok' if ratio <= BUDGET else 'OVER'])
            det.close()
    print(f'\nReplay evaluation cost split, 1280x720 BDD100K frames, ONNX Runtime CPU '
          f'({os.cpu_count()} cores), means per frame excluding the first:\n')
    print_table(['model', 'storage', 'message', 'frames', 'read+decode ms', 'inference ms',
                 'detector ms', 'total ms', 'read vs inference only', 'read share of eval',
                 f'<= {BUDGET:.0%}'], rows)
    print('\ndetector = preprocess + inference + postprocess (NMS of the eval-conf 0.001 '
          'candidates); "read vs inference only" is the stricter bound read / (read + inference)')
    print(f'\nworst read+decode share: {100 * worst:.1f}% (budget {BUDGET:.0%})')
    return 0 if worst <= BUDGET else 1


if __name__ == '__main__':
    sys.exit(main())
