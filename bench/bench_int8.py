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
INT8 vs FP32 on ONNX Runtime CPU: latency of a YOLOv8-S-sized model, mAP of a student.

    python bench/bench_int8.py [--imgsz 640] [--runs 20] [--student best.pt]

Latency: random-init YOLOv8-S (5 classes) exported at --imgsz, INT8 Q/DQ calibrated on real
BDD100K training frames; both timed in the same process, same threads, alternating runs.
Target: INT8 / FP32 latency <= 0.6. Accuracy: a briefly trained student (the test suite's
cached nano model unless --student is given) validated on bdd100k_vru val by ultralytics.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path
import statistics
import sys
import tempfile
import time

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault('YOLO_OFFLINE', '1')
os.environ.setdefault('YOLO_VERBOSE', 'False')

SHARED = Path(os.environ.get('VRU_SHARED_DATA', REPO.parent / 'shared' / 'data'))
TARGET_RATIO = 0.6


def session(source, threads: int):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.log_severity_level = 3
    return ort.InferenceSession(source, opts, providers=['CPUExecutionProvider'])


def time_models(fp32: Path, int8: Path, x: np.ndarray, runs: int,
                threads: int) -> dict[str, list]:
    """
    Time FP32, INT8 as our ONNX Runtime backend loads it, and the raw int8 file.

    Runs alternate between the models so load changes on the shared machine hit all alike.
    """
    from vru_detector.backends.qdq_layout import cpu_model_source

    sessions = {'fp32': session(str(fp32), threads),
                'int8': session(cpu_model_source(int8), threads),
                'int8_raw': session(str(int8), threads)}
    name = sessions['fp32'].get_inputs()[0].name
    for s in sessions.values():
        for _ in range(3):
            s.run(None, {name: x})
    times: dict[str, list] = {k: [] for k in sessions}
    for _ in range(runs):
        for key, s in sessions.items():
            t0 = time.perf_counter()
            s.run(None, {name: x})
            times[key].append((time.perf_counter() - t0) * 1e3)
    return times


def latency(args, work: Path) -> list[tuple]:
    import torch

    from training.export import export_onnx
    from training.models import build_yolo
    from training.quantize.calibration_set import (dataset_split_dir, load_batch,
                                                   select_calibration_images)
    from training.quantize.calibrate import calibrate

    torch.manual_seed(0)
    yolo = build_yolo('yolov8s', workdir=work)
    pt = work / 'yolov8s_random.pt'
    yolo.save(str(pt))
    fp32 = export_onnx(pt, work / 'yolov8s.onnx', args.imgsz)
    data = SHARED / 'bdd100k_vru' / 'data.yaml'
    images = select_calibration_images(dataset_split_dir(data, 'train'), args.calib_images)
    int8 = calibrate(fp32, images, work / 'yolov8s_int8.onnx').model
    x = load_batch(images[:1], (args.imgsz, args.imgsz))
    rows = []
    for threads in args.threads:
        t = time_models(fp32, int8, x, args.runs, threads)
        f, q, raw = (statistics.median(t[k]) for k in ('fp32', 'int8', 'int8_raw'))
        rows.append((f'YOLOv8-S {args.imgsz} ({threads or "all"} threads)', f, q, q / f,
                     raw / f))
    return rows


def accuracy(args, work: Path) -> list[tuple]:
    from training.evaluate import validate_onnx
    from training.export import export_onnx
    from training.quantize.calibration_set import dataset_split_dir, select_calibration_images
    from training.quantize.calibrate import calibrate

    data = SHARED / 'bdd100k_vru' / 'data.yaml'
    if args.student:
        pt = Path(args.student)
    else:
        from training.tiny import train_tiny

        pt = train_tiny(data, Path(os.environ.get('VRU_TEST_ASSETS', REPO / 'test_assets')))[0]
    fp32 = export_onnx(pt, work / 'student.onnx', args.student_imgsz)
    images = select_calibration_images(dataset_split_dir(data, 'train'), args.student_calib)
    int8 = calibrate(fp32, images, work / 'student_int8.onnx').model
    m32 = validate_onnx(fp32, data, conf=args.student_conf)
    m8 = validate_onnx(int8, data, conf=args.student_conf)
    return [(name, getattr(m32, key), getattr(m8, key))
            for name, key in (('mAP50', 'map50'), ('mAP50-95', 'map50_95'),
                              ('precision', 'precision'), ('recall', 'recall'))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--imgsz', type=int, default=640)
    parser.add_argument('--runs', type=int, default=20)
    parser.add_argument('--threads', type=int, nargs='+', default=[0, 1],
                        help='ORT intra-op threads to time with (0 = all cores)')
    parser.add_argument('--calib-images', type=int, default=16)
    parser.add_argument('--student', help='trained student .pt (default: cached test model)')
    parser.add_argument('--student-imgsz', type=int, default=320)
    parser.add_argument('--student-calib', type=int, default=128)
    parser.add_argument('--student-conf', type=float, default=0.001,
                        help='validator score threshold (ultralytics default 0.001)')
    parser.add_argument('--skip-map', action='store_true')
    parser.add_argument('--skip-latency', action='store_true')
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix='bench-int8-') as tmp:
        work = Path(tmp)
        lat = [] if args.skip_latency else latency(args, work)
        acc = [] if args.skip_map else accuracy(args, work)
    if lat:
        print('\nONNX Runtime CPU latency, batch 1 (median of %d runs)' % args.runs)
        print(f'| model | FP32 ms | INT8 ms | INT8/FP32 | target <= {TARGET_RATIO} '
              '| int8-activation file as is / FP32 |')
        print('|---|---:|---:|---:|---|---:|')
        for name, f, q, r, raw in lat:
            verdict = 'ok' if r <= TARGET_RATIO else 'MISSED'
            print(f'| {name} | {f:.1f} | {q:.1f} | {r:.2f} | {verdict} | {raw:.2f} |')
        print('INT8 = the Q/DQ file as the ONNX Runtime backend runs it on x86 (activations as '
              'uint8, lossless); "as is" = int8 activations, which ORT x86 does not fuse.')
    if acc:
        print(f'\nStudent on bdd100k_vru val (ultralytics validator, imgsz {args.student_imgsz}, '
              f'conf {args.student_conf})')
        print('| metric | FP32 | INT8 | drop (pts) |')
        print('|---|---:|---:|---:|')
        for name, f, q in acc:
            print(f'| {name} | {100 * f:.2f} | {100 * q:.2f} | {100 * (f - q):+.2f} |')
        if not args.student:
            print('(default student: the cached test model, nano, 6 epochs from scratch on 200 '
                  'images; it has not learned yet, so these are ~0. Pass --student best.pt.)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
