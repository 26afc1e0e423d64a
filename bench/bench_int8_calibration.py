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


r"""
INT8 calibration methods side by side: paired FP32-vs-INT8 drop of person AP50 and mAP50.

For every model (``--model NAME=FP32.onnx``), method and calibration draw (``--draws``: seeds
of the stratified image draw), the model is calibrated on ``--images`` bdd100k_vru train
images and both precisions run through the runtime Detector (ONNX Runtime CPU) on the val
images of ``--sets`` (default bdd100k_vru; classes mapped by name). Drops come with
paired 95% bootstrap intervals over images (``training/quantize/paired_eval.py``). Per-image
evaluations are cached in ``--out``, so an interrupted run resumes. ``--backend`` evaluates
on that runtime (default: the one the file implies, OpenVINO for .onnx when installed); an
INT8 file already in ``--out`` is reused, so the same table can be rerun on another runtime
without calibrating again.

    python bench/bench_int8_calibration.py --model s0=runs/seeds/s0/export/teacher.onnx \\
        --methods max percentile entropy --draws 0 --out runs/int8_bench
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
import pickle
import sys
import time

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import print_table, SHARED_DATA  # noqa: E402, I100


def val_images(sets: list[str]) -> list[Path]:
    """Return the val images of the named shared datasets, pooled."""
    images = []
    for name in sets:
        images += sorted((SHARED_DATA / name / 'images' / 'val').glob('*.jpg'))
    if not images:
        raise SystemExit(f'no val images under {SHARED_DATA}; set VRU_SHARED_DATA')
    return images


def cached_evals(model: Path, images: list[Path], cache: Path, backend: str | None = None):
    """Per-image evaluations of ``model``, from ``cache`` when an earlier run wrote it."""
    from training.quantize.paired_eval import evaluate_images

    if backend:
        cache = cache.with_name(f'{cache.stem}.{backend}{cache.suffix}')
    if cache.is_file():
        return pickle.loads(cache.read_bytes())
    evals = evaluate_images(model, images, backend=backend)
    cache.write_bytes(pickle.dumps(evals))
    return evals


def main() -> int:
    """Calibrate, evaluate and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--model', action='append', required=True, metavar='NAME=FP32.onnx')
    parser.add_argument('--methods', nargs='+', default=['max', 'percentile', 'entropy'])
    parser.add_argument('--percentile', type=float, default=None,
                        help="percentile for the percentile method (default: the setting's)")
    parser.add_argument('--draws', nargs='+', type=int, default=[0],
                        help='calibration image draws (seeds)')
    parser.add_argument('--images', type=int, default=64, help='calibration images')
    parser.add_argument('--resamples', type=int, default=1000)
    parser.add_argument('--sets', nargs='+', default=['bdd100k_vru'],
                        help='val splits pooled, e.g. bdd100k_vru coco_vru street_vru')
    parser.add_argument('--out', type=Path, default=Path('runs/int8_bench'))
    parser.add_argument('--backend', choices=['onnxruntime', 'openvino'], default=None,
                        help='runtime of the evaluations (default: the one the file implies)')
    args = parser.parse_args()

    from training.quantize.calibration_set import select_calibration_images
    from training.quantize.calibrate import calibrate
    from training.quantize.paired_eval import paired_drop
    from training.stages.calibrate import CalibrateSettings
    from vru_detector import Detector

    args.out.mkdir(parents=True, exist_ok=True)
    images = val_images(args.sets)
    train = SHARED_DATA / 'bdd100k_vru' / 'images' / 'train'
    results_path = args.out / 'results.json'
    results = json.loads(results_path.read_text()) if results_path.is_file() else {}
    jobs = [(m, meth, d) for m in args.model for meth in args.methods for d in args.draws]
    start = time.monotonic()
    for i, (spec, method, draw) in enumerate(jobs, 1):
        name, _, path = spec.partition('=')
        fp32 = Path(path)
        key = f'{name}/{method}/{draw}' + (f'/{args.backend}' if args.backend else '')
        if key in results:
            continue
        print(f'[{i}/{len(jobs)}] {key} ({time.monotonic() - start:.0f} s)', flush=True)
        work = args.out / name
        work.mkdir(parents=True, exist_ok=True)
        ref = cached_evals(fp32, images, work / 'fp32.pkl', args.backend)
        cfg = CalibrateSettings(method=method, **({'percentile': args.percentile}
                                                  if args.percentile else {}))
        int8_path = work / f'{method}_{draw}_int8.onnx'
        seconds = None
        if not int8_path.is_file():
            calib = select_calibration_images(train, args.images, draw)
            t0 = time.monotonic()
            calibrate(fp32, calib, int8_path, cfg.quant(),
                      report_dir=work / f'{method}_{draw}_report', seed=draw)
            seconds = time.monotonic() - t0
        int8 = cached_evals(int8_path, images, work / f'{method}_{draw}.pkl', args.backend)
        names = list(Detector(str(fp32)).names)
        person = names.index('person')
        row = {'model': name, 'method': method, 'draw': draw, 'calib_s': seconds,
               'percentile': cfg.percentile, 'images': len(images),
               'backend': args.backend or 'default'}
        for label, cls in (('person_ap50', person), ('map50', None)):
            d = paired_drop(ref, int8, names, cls, args.resamples, seed=0)
            row[label] = vars(d) | {'relative': d.relative}
        results[key] = row
        results_path.write_text(json.dumps(results, indent=1))
    rows = []
    for row in results.values():
        p, m = row['person_ap50'], row['map50']
        rows.append([row['model'], row['method'], row['draw'], f'{p["fp32"]:.1f}',
                     f'{p["drop"]:+.2f} [{p["low"]:+.2f}, {p["high"]:+.2f}]', f'{m["fp32"]:.1f}',
                     f'{m["drop"]:+.2f} [{m["low"]:+.2f}, {m["high"]:+.2f}]',
                     f'{100 * m["relative"]:.1f}%',
                     '-' if row['calib_s'] is None else f'{row["calib_s"]:.0f}',
                     row.get('backend', 'default')])
    print_table(['model', 'method', 'draw', 'person AP50 fp32', 'drop [95% CI]', 'mAP50 fp32',
                 'drop [95% CI]', 'rel. drop', 'calib s', 'runtime'], rows)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
