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
CPU runtimes side by side: ONNX Runtime vs OpenVINO, FP32 and INT8, per input size and threads.

    python bench/bench_openvino.py [--sizes 320 480 640] [--threads 1 2] [--reps 20]

Models (built once into runs/bench/openvino/): the shared YOLOv8n COCO checkpoint exported with
`vru-train export` and calibrated with `vru-train calibrate` (64 bdd100k_vru train images,
max), and ultralytics' own `export(format='openvino', int8=True)` of the same checkpoint
(NNCF, calibrated on the bdd100k_vru train images) as the anchor. Latency: one 1280x720 street
frame preprocessed once; the variants of one (size, threads) group run round-robin, rep after
rep, so the shared CPU's load hits all alike; median ms of the inference call, and ratios to
OpenVINO's own run of the same file (``compile_model(file, 'CPU', LATENCY + threads)`` and a
plain ``infer``). Accuracy: person AP50 of each model on bdd100k_vru val through the replay
metrics (conf 0.001), with a 95% percentile bootstrap interval over images, and the paired
bootstrap of its change from ONNX Runtime FP32 at the same size.
"""
from __future__ import annotations

import argparse
import importlib.util
import shutil
import statistics
import sys
import time

from common import CACHE, print_table, REPO, SHARED_DATA
import cv2
import numpy as np

PRETRAINED = REPO.parent / 'shared' / 'models' / 'yolov8n_coco' / 'yolov8n_coco.pt'
OUT = CACHE / 'openvino'
BDD = SHARED_DATA / 'bdd100k_vru'
CALIB_IMAGES, RESAMPLES, SEED = 64, 1000, 0


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def our_models(size: int) -> tuple[str, str]:
    """FP32 and INT8 Q/DQ ONNX of the shared checkpoint, as a user builds them."""
    from training.cli import main as vru_train

    fp32, int8 = OUT / f'yolov8n_{size}.onnx', OUT / f'yolov8n_{size}_int8.onnx'
    if not fp32.is_file():
        vru_train(['export', '--weights', str(PRETRAINED), '--imgsz', str(size),
                   '--out', str(fp32)])
    if not int8.is_file():
        vru_train(['calibrate', '--model', str(fp32), '--data', str(BDD / 'data.yaml'),
                   '--num-images', str(CALIB_IMAGES), '--method', 'max', '--out', str(int8),
                   '--report-dir', str(OUT / f'calib_{size}')])
    return str(fp32), str(int8)


def ultralytics_model(size: int) -> str | None:
    """Ultralytics' OpenVINO INT8 export (NNCF) of the checkpoint: its .xml (None: no nncf)."""
    folder = OUT / 'ultralytics' / f'yolov8n_{size}_int8_openvino_model'
    xml = folder / f'yolov8n_{size}.xml'
    if xml.is_file():
        return str(xml)
    if importlib.util.find_spec('nncf') is None:
        log('no nncf: the ultralytics INT8 export is left out (pip install nncf to add it)')
        return None
    from training.datasets import stage_dataset
    from ultralytics import YOLO

    data = stage_dataset(BDD / 'data.yaml', OUT / 'ultralytics' / 'data')  # caches go there
    pt = OUT / 'ultralytics' / f'yolov8n_{size}.pt'
    shutil.copyfile(PRETRAINED, pt)  # ultralytics writes the export beside the weights
    YOLO(str(pt)).export(format='openvino', int8=True, imgsz=size, data=str(data),
                         split='train', batch=1)
    return str(xml)


class RawOpenVino:
    """OpenVINO's own run of a file: what its docs and benchmark_app do, nothing of ours."""

    name = 'openvino (raw)'

    def __init__(self, path: str, threads: int) -> None:
        import openvino as ov

        config = {'PERFORMANCE_HINT': 'LATENCY', 'INFERENCE_NUM_THREADS': threads}
        self.compiled = ov.Core().compile_model(path, 'CPU', config)
        self.request = self.compiled.create_infer_request()

    def infer(self, blob: np.ndarray) -> None:
        self.request.infer({0: blob})


def time_group(variants: dict, blob: np.ndarray, frame: np.ndarray, reps: int) -> dict:
    """
    Round-robin the variants ``reps`` times; median ms of inference and of the whole call.

    The order is shuffled every round: ONNX Runtime's idle threads spin for a while after a run
    and slow whichever variant comes next. In a fixed order (and with f32 then forced, worth
    1.13x alone), OpenVINO INT8 right after ONNX Runtime INT8 measured 1.46-1.56x OpenVINO's own
    run with 2 threads, 1.03-1.12x with 1.
    """
    infer = {k: [] for k in variants}
    total = {k: [] for k in variants}
    rng = np.random.default_rng(SEED)
    for _ in range(3):  # warm-up
        for v in variants.values():
            v(frame) if callable(v) else v.infer(blob)
    for _ in range(reps):
        for k in rng.permutation(list(variants)):
            v = variants[k]
            if callable(v):  # our Detector: stage times of the real per-frame path
                t0 = time.perf_counter()
                v(frame)
                total[k].append((time.perf_counter() - t0) * 1e3)
                infer[k].append(v.times.inference_ms)
            else:
                t0 = time.perf_counter()
                v.infer(blob)
                infer[k].append((time.perf_counter() - t0) * 1e3)
    return {k: (statistics.median(infer[k]),
                statistics.median(total[k]) if total[k] else None) for k in variants}


def latency_rows(sizes, threads_list, reps, frame) -> list[list]:
    from vru_detector import Detector
    from vru_detector.preprocess import preprocess

    rows = []
    for size in sizes:
        fp32, int8 = our_models(size)
        ul = ultralytics_model(size)
        blob, _ = preprocess([frame], (size, size))
        for threads in threads_list:
            log(f'latency: {size} px, {threads} thread(s), {reps} rounds')
            variants = {
                'ORT FP32': Detector(fp32, backend='onnxruntime', threads=threads),
                'OV FP32': Detector(fp32, backend='openvino', threads=threads),
                'ORT INT8': Detector(int8, backend='onnxruntime', threads=threads),
                'OV INT8': Detector(int8, backend='openvino', threads=threads),
                'OV raw INT8': RawOpenVino(int8, threads),
            }
            if ul is not None:
                variants['ultralytics INT8, raw OV'] = RawOpenVino(ul, threads)
                variants['ultralytics INT8, our OV'] = Detector(ul, threads=threads)
            med = time_group(variants, blob, frame, reps)
            ref = {'ORT FP32': med['ORT FP32'][0], 'OV raw INT8': med['OV raw INT8'][0]}
            for k, (inf, tot) in med.items():
                raw_of_file = ('OV raw INT8' if 'INT8' in k and 'ultralytics' not in k
                               else 'ultralytics INT8, raw OV' if 'ultralytics' in k else None)
                rows.append([size, threads, k, inf, '-' if tot is None else tot,
                             inf / ref['ORT FP32'],
                             '-' if raw_of_file is None else inf / med[raw_of_file][0]])
    return rows


def person_ap50(evals: list, names: tuple, idx: np.ndarray) -> float:
    """Person AP50 over the frames ``idx`` (resampled frames count as often as drawn)."""
    from vru_detector.replay.coco_eval import accumulate

    k = names.index('person')
    sub = [[] for _ in names]
    sub[k] = [evals[k][i] for i in idx]
    return accumulate(sub, names).mean_ap(cls=k, iou=0.5)


def frame_evals(detector, truth) -> list:
    from vru_detector.replay.metrics import ReplayMetrics

    metrics = ReplayMetrics(detector.names)
    for i, frame in enumerate(truth.frames):
        image = cv2.imread(str(BDD / 'images' / 'val' / f'{frame.key}.jpg'))
        dets = detector(image)
        metrics.add(i, frame.key, i, frame, dets.xyxy, dets.scores, dets.class_ids)
    return metrics.evals


def paired_change(ev, base, names, idx) -> str:
    """Person AP50 of ``ev`` minus ``base`` on the same frames, with its paired 95% interval."""
    from scipy.stats import bootstrap

    def change(i):
        return person_ap50(ev, names, i.astype(int)) - person_ap50(base, names, i.astype(int))

    d = bootstrap((idx,), change, vectorized=False, n_resamples=RESAMPLES, method='percentile',
                  random_state=SEED).confidence_interval
    return f'{100 * change(idx):+.1f} [{100 * d.low:+.1f}, {100 * d.high:+.1f}]'


def accuracy_rows(sizes) -> list[list]:
    from scipy.stats import bootstrap

    from vru_detector import Detector
    from vru_detector.labels import load_ground_truth

    per_size, largest = {}, {}
    for size in sorted(sizes, reverse=True):
        fp32, int8 = our_models(size)
        models = {'ORT FP32': (fp32, 'onnxruntime'), 'OV FP32': (fp32, 'openvino'),
                  'ORT INT8': (int8, 'onnxruntime'), 'OV INT8': (int8, 'openvino'),
                  'ultralytics INT8 (OV)': (ultralytics_model(size), 'openvino')}
        models = {k: v for k, v in models.items() if v[0] is not None}
        evals, names = {}, None
        for k, (path, backend) in models.items():
            log(f'accuracy: {size} px, {k}')
            det = Detector(path, backend=backend, conf=0.001)
            names = det.names
            truth = load_ground_truth(BDD / 'labels' / 'val', names)
            evals[k] = frame_evals(det, truth)
        n = len(truth.frames)
        idx = np.arange(n)
        base, rows = evals['ORT FP32'], per_size.setdefault(size, [])
        largest = largest or {'size': size, 'evals': base, 'names': names}
        for k, ev in evals.items():
            ap = person_ap50(ev, names, idx)
            ci = bootstrap((idx,), lambda i: person_ap50(ev, names, i.astype(int)),
                           vectorized=False, n_resamples=RESAMPLES, method='percentile',
                           random_state=SEED).confidence_interval
            same = '-' if k == 'ORT FP32' else paired_change(ev, base, names, idx)
            top = ('-' if size == largest['size'] and k == 'ORT FP32'
                   else paired_change(ev, largest['evals'], names, idx))
            rows.append([size, k, f'{100 * ap:.1f} [{100 * ci.low:.1f}, {100 * ci.high:.1f}]',
                         same, top])
    return [row for size in sorted(per_size) for row in per_size[size]]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.strip().split('\n\n')[0])
    p.add_argument('--sizes', type=int, nargs='+', default=[320, 480, 640])
    p.add_argument('--threads', type=int, nargs='+', default=[1, 2])
    p.add_argument('--reps', type=int, default=20, help='round-robin rounds per group')
    p.add_argument('--skip-accuracy', action='store_true')
    p.add_argument('--skip-latency', action='store_true')
    args = p.parse_args(argv)
    for need in (PRETRAINED, BDD / 'data.yaml'):
        if not need.exists():
            print(f'bench_openvino: {need} not found (../shared beside the repo, or '
                  'VRU_SHARED_DATA)', file=sys.stderr)
            return 2
    try:
        import openvino  # noqa: F401
    except ImportError:
        print('bench_openvino: needs openvino: pip install "vru_detector[openvino]"',
              file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    for size in args.sizes:  # build every model first: the timing then runs undisturbed
        log(f'models at {size} px')
        our_models(size)
        ultralytics_model(size)
    if not args.skip_latency:
        frame = cv2.imread(str(sorted((BDD / 'images' / 'val').glob('*.jpg'))[0]))
        rows = latency_rows(args.sizes, args.threads, args.reps, frame)
        print(f'\nLatency, median of {args.reps} round-robin rounds, one 1280x720 frame '
              '(ms; "whole call" = preprocess + inference + postprocess of our Detector)')
        print_table(['px', 'threads', 'variant', 'inference ms', 'whole call ms',
                     '/ ORT FP32', '/ OV raw of same file'], rows)
    if not args.skip_accuracy:
        rows = accuracy_rows(args.sizes)
        print(f'\nPerson AP50 on bdd100k_vru val (100 images; riders are not persons here), '
              f'95% bootstrap over images ({RESAMPLES} resamples, seed {SEED})')
        print_table(['px', 'model', 'person AP50 [95%]', 'vs ORT FP32, same px [paired 95%]',
                     f'vs ORT FP32 at {max(args.sizes)} px [paired 95%]'], rows)
    return 0


if __name__ == '__main__':
    sys.exit(main())
