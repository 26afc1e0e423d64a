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
Teacher vs. directly trained student vs. KD student on bdd100k_vru, one call, one table.

Trains YOLOv8-L (teacher), YOLOv8-S (no KD) and YOLOv8-S (KD from that teacher) with the same
epochs, image size, batch and seed, validates the three best checkpoints on the val split and
writes ``results.md`` and ``results.json`` (mAP50, mAP50-95, precision, recall, time) to --out.

GPU machine (the dataset travels in the git-ignored, carried ``device_data/`` folder)::

    mkdir -p device_data && cp -r ../shared/data/bdd100k_vru device_data/
    python -m training.experiments.kd_bdd100k --data device_data/bdd100k_vru/data.yaml \\
        --out "$OUT" --work /tmp/kd_runs --device 0 --epochs 100

CPU check of the whole flow at toy size (tiny models, 160 px, 1 epoch)::

    python -m training.experiments.kd_bdd100k --smoke --out /tmp/kd_smoke
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import shutil
import time

os.environ.setdefault('YOLO_OFFLINE', '1')

REPO = Path(__file__).resolve().parents[2]
SHARED_BDD = REPO.parent / 'shared' / 'data' / 'bdd100k_vru' / 'data.yaml'
SMOKE = {'teacher': 'nano', 'student': 'tiny', 'imgsz': 160, 'epochs': 1, 'batch': 8,
         'device': 'cpu', 'train': {'fraction': 0.1, 'workers': 0, 'amp': False,
                                    'plots': False}}


def _validate(weights: Path, data: Path, imgsz: int, batch: int, device: str | None,
              project: Path, name: str) -> dict[str, float]:
    from ultralytics import YOLO

    kwargs = {'device': device} if device else {}
    m = YOLO(str(weights)).val(data=str(data), imgsz=imgsz, batch=batch, project=str(project),
                               name=name, exist_ok=True, plots=True, verbose=False, **kwargs)
    box = m.box
    return {'mAP50': float(box.map50), 'mAP50-95': float(box.map), 'P': float(box.mp),
            'R': float(box.mr)}


def run_experiment(data: Path, out: Path, teacher: str, student: str, epochs: int, imgsz: int,
                   batch: int, seed: int, device: str | None, train: dict,
                   work: Path | None = None) -> dict:
    from training.datasets import stage_dataset
    from training.distill.cli import distill
    from training.recipe import StageSettings
    from training.teacher import train_teacher

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(work or out / 'runs').resolve()  # weights live here (big for YOLOv8-L)
    staged = stage_dataset(Path(data), work / 'data')
    common = {'data': str(staged), 'epochs': epochs, 'imgsz': imgsz, 'batch': batch,
              'seed': seed, 'device': device, 'train': dict(train)}
    rows, started = [], time.time()
    plan = [('teacher', teacher, None), ('student (no KD)', student, None),
            ('student (KD)', student, 'teacher')]
    weights: dict[str, Path] = {}
    for label, model, kd_from in plan:
        name = {'teacher': 'teacher', 'student (no KD)': 'student_plain',
                'student (KD)': 'student_kd'}[label]
        t0 = time.time()
        settings = StageSettings(model=model, **common)
        if kd_from:
            settings.teacher = str(weights[kd_from])
            best = distill(settings, work, name)
        else:
            best = train_teacher(settings, work, name)
        weights[label] = best
        train_s = time.time() - t0
        metrics = _validate(best, staged, imgsz, batch, device, work, f'{name}_val')
        rows.append({'model': label, 'arch': model, 'weights': str(best),
                     **{k: round(v, 4) for k, v in metrics.items()},
                     'train_s': round(train_s, 1)})
        results_csv = best.parent.parent / 'results.csv'
        if results_csv.is_file():
            shutil.copy2(results_csv, out / f'{name}_results.csv')
        for png in sorted((work / f'{name}_val').glob('*PR_curve.png')):
            shutil.copy2(png, out / f'{name}_{png.name}')
    report = {'data': str(data), 'epochs': epochs, 'imgsz': imgsz, 'batch': batch,
              'seed': seed, 'device': device, 'train': train, 'rows': rows,
              'total_s': round(time.time() - started, 1)}
    (out / 'results.json').write_text(json.dumps(report, indent=2))
    (out / 'results.md').write_text(markdown_table(report))
    return report


def markdown_table(report: dict) -> str:
    head = (f"# KD on bdd100k_vru\n\nepochs={report['epochs']} imgsz={report['imgsz']} "
            f"batch={report['batch']} seed={report['seed']} device={report['device']}\n\n"
            '| model | arch | mAP50 | mAP50-95 | P | R | train s |\n'
            '|---|---|---|---|---|---|---|\n')
    body = ''.join(f"| {r['model']} | {r['arch']} | {r['mAP50']:.4f} | {r['mAP50-95']:.4f} | "
                   f"{r['P']:.4f} | {r['R']:.4f} | {r['train_s']:.0f} |\n"
                   for r in report['rows'])
    return head + body


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument('--data', type=Path, default=SHARED_BDD, help='bdd100k_vru data.yaml')
    ap.add_argument('--out', type=Path, default=Path(os.environ.get('OUT', 'runs/kd_bdd100k')))
    ap.add_argument('--work', type=Path, help='training runs and weights (default: OUT/runs)')
    ap.add_argument('--teacher', default='yolov8l')
    ap.add_argument('--student', default='yolov8s')
    ap.add_argument('--epochs', type=int, default=100)
    ap.add_argument('--imgsz', type=int, default=640)
    ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--device', default=None, help='0, 0,1 (DDP), cpu; default: ultralytics')
    ap.add_argument('--smoke', action='store_true', help='toy-size CPU run of the whole flow')
    args = ap.parse_args(argv)
    train = {'workers': 8, 'amp': True, 'plots': True}
    if args.smoke:
        args.teacher, args.student = SMOKE['teacher'], SMOKE['student']
        args.imgsz, args.epochs, args.batch = SMOKE['imgsz'], SMOKE['epochs'], SMOKE['batch']
        args.device, train = SMOKE['device'], SMOKE['train']
    if not args.data.is_file():
        raise SystemExit(f'{args.data}: not found. Copy bdd100k_vru next to the repo, e.g. '
                         'cp -r ../shared/data/bdd100k_vru device_data/')
    report = run_experiment(args.data, args.out, args.teacher, args.student, args.epochs,
                            args.imgsz, args.batch, args.seed, args.device, train, args.work)
    print(markdown_table(report))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
