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
Q/DQ placement side by side: ORT's default vs TensorRT's, same ranges, same images, one run.

For each INT8 model: mAP50 on a labelled val split (dataset classes mapped onto the model's by
name), agreement with FP32 (matched-box IoU, score change, raw-head relative error) and ONNX
Runtime CPU latency (models alternate, median of ``--runs``). ``tensorrt (as file)`` is the
graph TensorRT builds; ``tensorrt (CPU layout)`` is what the ORT backend runs from that file;
``onnxruntime (unfused)`` is the ORT-placement file with int8 activations and no rewrite (ORT
then runs every op in float between Q/DQ: the placement's own error, without fused kernels).

    python bench/bench_qdq_placement.py --model yolov8n.onnx --out /tmp/placement
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
import sys
import time

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import print_table, SHARED_DATA  # noqa: E402, I100
import cv2  # noqa: E402, I100
import numpy as np  # noqa: E402

VARIANTS = ('fp32', 'onnxruntime', 'onnxruntime (unfused)', 'tensorrt (as file)',
            'tensorrt (CPU layout)')
UNFUSED = 'onnxruntime (unfused)'  # the ORT-placement file run as is: int8, no fused kernels


def build_models(fp32: Path, data: Path, out: Path, n_calib: int) -> dict[str, Path]:
    """Calibrate both placements from one range cache; strip the CPU extras for 'as file'."""
    import onnx

    from training.quantize.calibration_set import dataset_split_dir, select_calibration_images
    from training.quantize.calibrate import calibrate
    from training.quantize.cpu_layout import CPU_QDQ_KEY
    from training.quantize.qdq import QuantSettings

    images = select_calibration_images(dataset_split_dir(data, 'train'), n_calib, seed=0)
    paths = {'fp32': fp32}
    for placement in ('onnxruntime', 'tensorrt'):
        result = calibrate(fp32, images, out / f'{placement}_int8.onnx',
                           QuantSettings(placement=placement), report_dir=out / 'report')
        paths[placement] = result.model
    model = onnx.load(str(paths['tensorrt']))
    props = [p for p in model.metadata_props if p.key != CPU_QDQ_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(props)
    paths['tensorrt (as file)'] = out / 'tensorrt_as_file_int8.onnx'
    onnx.save(model, str(paths['tensorrt (as file)']))
    paths['tensorrt (CPU layout)'] = paths.pop('tensorrt')
    paths[UNFUSED] = paths['onnxruntime']
    return {k: paths[k] for k in VARIANTS}


def load(path: Path, variant: str, **options):
    """ORT backend; the unfused variant skips the in-memory CPU rewrite (uint8, CPU pairs)."""
    from unittest import mock

    from vru_detector.backends.onnxruntime import OnnxRuntimeBackend

    if variant != UNFUSED:
        return OnnxRuntimeBackend(path, **options)
    with mock.patch('vru_detector.backends.onnxruntime.cpu_model_source',
                    lambda p, device='cpu': str(p)):
        return OnnxRuntimeBackend(path, **options)


def best_iou(box: np.ndarray, boxes: np.ndarray) -> tuple[float, int]:
    if not len(boxes):
        return 0.0, -1
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    iou = inter / ((box[2] - box[0]) * (box[3] - box[1]) + areas - inter)
    return float(iou.max()), int(iou.argmax())


def accuracy(paths: dict[str, Path], data: Path, n_val: int, conf: float) -> dict[str, dict]:
    """MAP50 vs labels, and agreement with FP32 at ``conf`` (IoU, score, raw-head error)."""
    from training.quantize.calibration_set import dataset_split_dir
    from training.quantize.sensitivity import output_error
    from vru_detector import Detector
    from vru_detector.replay.metrics import ReplayMetrics
    from vru_detector.labels import read_yolo_labels
    import yaml

    val = dataset_split_dir(data, 'val')
    names = yaml.safe_load(data.read_text())['names']
    source = [names[i] for i in sorted(names)] if isinstance(names, dict) else list(names)
    dets = {k: Detector(load(p, k), conf=0.001) for k, p in paths.items()}
    model_names = dets['fp32'].names
    truth = read_yolo_labels(val.parent.parent / 'labels' / val.name, model_names, val, source)
    frames = truth.frames[:n_val]
    metrics = {k: ReplayMetrics(model_names) for k in paths}
    agree: dict[str, dict[str, list]] = {k: {'iou': [], 'score': []} for k in paths}
    raw_err = {k: [] for k in paths}
    for i, frame in enumerate(frames):
        image = cv2.imread(str(next(val.glob(frame.key + '.*'))))
        out = {k: d(image) for k, d in dets.items()}
        for k, o in out.items():
            metrics[k].add(i, frame.key, 0, frame, o.xyxy, o.scores, o.class_ids)
        ref = out['fp32']
        keep = ref.scores >= conf
        for k, o in out.items():
            mine = o.scores >= conf
            for box, score, cls in zip(ref.xyxy[keep], ref.scores[keep], ref.class_ids[keep]):
                same = mine & (o.class_ids == cls)
                iou, j = best_iou(box, o.xyxy[same])
                agree[k]['iou'].append(iou)
                agree[k]['score'].append(abs(float(o.scores[same][j]) - float(score))
                                         if j >= 0 else float(score))
        blob = _blob(dets['fp32'], image)
        ref_raw = dets['fp32'].backend.infer(blob)
        for k, d in dets.items():
            box, score = output_error(ref_raw, d.backend.infer(blob))
            raw_err[k].append((box, score))
    result = {}
    for k in paths:
        iou = np.asarray(agree[k]['iou'])
        result[k] = {'mAP50': metrics[k].coco().mean_ap(iou=0.5),
                     'mAP50-95': metrics[k].coco().mean_ap(),
                     'fp32 boxes': int(len(iou)),
                     'matched IoU mean': float(iou.mean()) if len(iou) else float('nan'),
                     'share IoU>=0.9': float((iou >= 0.9).mean()) if len(iou) else float('nan'),
                     'score |diff| mean': float(np.mean(agree[k]['score'])),
                     'raw box rel err': float(np.mean([e[0] for e in raw_err[k]])),
                     'raw score rel err': float(np.mean([e[1] for e in raw_err[k]]))}
    return result


def _blob(det, image: np.ndarray) -> np.ndarray:
    from vru_detector.preprocess import preprocess

    return preprocess([image], det.info.input_shape)[0].astype(det.backend.input_dtype)


def latency(paths: dict[str, Path], runs: int, threads: int) -> dict[str, float]:
    """Median ms per model, models alternating so load drifts hit them all alike."""
    backends = {k: load(p, k, threads=threads) for k, p in paths.items()}
    x = np.random.default_rng(0).random((1, 3, *backends['fp32'].info.input_shape),
                                        dtype=np.float32)
    times: dict[str, list[float]] = {k: [] for k in backends}
    for b in backends.values():
        b.infer(x)
    for _ in range(runs):
        for k, b in backends.items():
            t = time.perf_counter()
            b.infer(x)
            times[k].append((time.perf_counter() - t) * 1000)
    return {k: float(np.median(v)) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--model', required=True, help='FP32 ONNX from `vru-train export`')
    parser.add_argument('--data', default=str(SHARED_DATA / 'bdd100k_vru' / 'data.yaml'))
    parser.add_argument('--out', required=True, help='folder for the INT8 models and results')
    parser.add_argument('--calib-images', type=int, default=64)
    parser.add_argument('--val-images', type=int, default=100)
    parser.add_argument('--conf', type=float, default=0.25, help='FP32 boxes compared')
    parser.add_argument('--runs', type=int, default=15)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--only', nargs='+', choices=VARIANTS,
                        help='measure these models only (fp32 always)')
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    paths = build_models(Path(args.model), Path(args.data), out, args.calib_images)
    if args.only:
        paths = {k: v for k, v in paths.items() if k == 'fp32' or k in args.only}
    acc = accuracy(paths, Path(args.data), args.val_images, args.conf)
    lat = latency(paths, args.runs, args.threads)
    (out / 'results.json').write_text(json.dumps({'accuracy': acc, 'latency_ms': lat},
                                                 indent=2))
    keys = list(next(iter(acc.values())))
    rows = [[k, *[acc[k][m] for m in keys], lat[k], lat[k] / lat['fp32']] for k in paths]
    print_table(['model', *keys, 'ORT CPU ms', 'x FP32'], rows)


if __name__ == '__main__':
    main()
