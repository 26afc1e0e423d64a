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
Which CPU fine-tuning settings improve on the pretrained start: a small, resumable sweep.

Each trial fine-tunes Ultralytics' COCO YOLOv8n on the street images with one set of
settings and records its start (epoch 0) and trained figures at the same image size; a
finished trial is skipped on a rerun. The page lists every trial, so what did not work is on
record too::

    python -m training.experiments.finetune_sweep --out runs/finetune_sweep \
        --doc docs/results/2026-12-01-finetune-settings.md [--trials A B]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

SHARED = Path('../shared')
DATASETS = [SHARED / 'data' / n / 'data.yaml'
            for n in ('bdd100k_vru', 'coco_vru', 'coco128_vru')]
COCO_N = SHARED / 'models' / 'yolov8n_coco' / 'yolov8n_coco.pt'
BASE = {'amp': False, 'workers': 2, 'plots': False}
SWEEP_KEYS = ('imgsz', 'repeat')
# name -> (what it tests, stage settings); at --imgsz unless set. ``epochs`` and ``batch`` may
# be set per trial (default: --epochs, batch 16); the rest are ultralytics train arguments.
# ultralytics accumulates gradients up to its nominal batch ``nbs`` (64): at batch 16 that is
# one optimizer step per 4 batches, 7 steps an epoch on these 441 images. ``nbs`` equal to
# the batch makes every batch a step. ``imgsz`` (train and validation size) and ``repeat``
# ({dataset: k}: its train images k times an epoch) are the sweep's own keys.
TRIALS: dict[str, tuple[str, dict[str, Any]]] = {
    'sgd_frozen': ('SGD lr0 0.002, backbone frozen, no warm-up, no mosaic',
                   {'optimizer': 'SGD', 'lr0': 0.002, 'freeze': 10, 'warmup_epochs': 0,
                    'mosaic': 0.0}),
    'auto_frozen': ("ultralytics' automatic optimizer (AdamW, lr from the class count), "
                    'backbone frozen, 1 warm-up epoch', {'freeze': 10, 'warmup_epochs': 1}),
    'auto_full': ("ultralytics' automatic optimizer, nothing frozen, 1 warm-up epoch",
                  {'warmup_epochs': 1}),
    'rider_fresh': ('as auto_frozen, but rider starts fresh instead of from person',
                    {'freeze': 10, 'warmup_epochs': 1}),
    'adamw_step16': ('AdamW lr0 0.001, backbone frozen, no warm-up, a step every batch '
                     '(nbs 16)', {'optimizer': 'AdamW', 'lr0': 0.001, 'freeze': 10,
                                  'warmup_epochs': 0, 'nbs': 16, 'epochs': 1}),
    'sgd_step16': ('SGD lr0 0.01, backbone frozen, no warm-up, no mosaic, a step every batch '
                   '(nbs 16)', {'optimizer': 'SGD', 'lr0': 0.01, 'freeze': 10,
                                'warmup_epochs': 0, 'nbs': 16, 'mosaic': 0.0, 'epochs': 1}),
    'adamw_step8': ('AdamW lr0 0.001, backbone frozen, no warm-up, batch 8 and a step every '
                    'batch (nbs 8)', {'optimizer': 'AdamW', 'lr0': 0.001, 'freeze': 10,
                                      'warmup_epochs': 0, 'batch': 8, 'nbs': 8, 'epochs': 1}),
    'bn_stats_only': ('learning rate 0 (SGD, backbone frozen, nbs 16): only the batch-norm '
                      'running statistics move', {'optimizer': 'SGD', 'lr0': 0.0, 'freeze': 10,
                                                  'warmup_epochs': 0, 'nbs': 16, 'epochs': 1}),
    'adamw_lr1e-4': ('AdamW lr0 0.0001, backbone frozen, no warm-up, nbs 16',
                     {'optimizer': 'AdamW', 'lr0': 0.0001, 'freeze': 10, 'warmup_epochs': 0,
                      'nbs': 16, 'epochs': 1}),
    'adamw_lr1e-4_2ep': ('as adamw_lr1e-4, 2 epochs (the rate halves in the second)',
                         {'optimizer': 'AdamW', 'lr0': 0.0001, 'freeze': 10, 'warmup_epochs': 0,
                          'nbs': 16, 'epochs': 2}),
    'adamw_lr3e-4_2ep': ('AdamW lr0 0.0003, backbone frozen, no warm-up, nbs 16, 2 epochs',
                         {'optimizer': 'AdamW', 'lr0': 0.0003, 'freeze': 10, 'warmup_epochs': 0,
                          'nbs': 16, 'epochs': 2}),
    'adamw_lr1e-4_3ep': ('as adamw_lr1e-4, 3 epochs', {'optimizer': 'AdamW', 'lr0': 0.0001,
                                                       'freeze': 10, 'warmup_epochs': 0,
                                                       'nbs': 16, 'epochs': 3}),
    'auto_frozen_3ep': ('as auto_frozen, 3 epochs', {'freeze': 10, 'warmup_epochs': 1,
                                                     'epochs': 3}),
    'adamw_lr1e-4_full_2ep': ('AdamW lr0 0.0001, nothing frozen, no warm-up, nbs 16, 2 epochs',
                              {'optimizer': 'AdamW', 'lr0': 0.0001, 'warmup_epochs': 0,
                               'nbs': 16, 'epochs': 2}),
    'bdd_x3_3ep': ('as auto_frozen_3ep, bdd100k_vru train listed 3 times (600 street frames '
                   'and 241 COCO photos an epoch)',
                   {'freeze': 10, 'warmup_epochs': 1, 'epochs': 3, 'repeat': {'bdd100k_vru': 3}}),
    'auto_frozen_3ep_640': ('as auto_frozen_3ep, trained and validated at 640 px',
                            {'freeze': 10, 'warmup_epochs': 1, 'epochs': 3, 'imgsz': 640}),
    'head_only_3ep': ('as auto_frozen_3ep, backbone and neck frozen (only the Detect head '
                      'trains)', {'freeze': 22, 'warmup_epochs': 1, 'epochs': 3}),
    'auto_full_3ep': ('as auto_frozen_3ep, nothing frozen', {'warmup_epochs': 1, 'epochs': 3}),
    'scale02_3ep': ('as auto_frozen_3ep, random rescaling 0.8-1.2 instead of 0.5-1.5 (small '
                    'street pedestrians are not shrunk further)',
                    {'freeze': 10, 'warmup_epochs': 1, 'epochs': 3, 'scale': 0.2}),
    'mosaic_3ep': ('as auto_frozen_3ep, mosaic kept on (close_mosaic 0)',
                   {'freeze': 10, 'warmup_epochs': 1, 'epochs': 3, 'close_mosaic': 0}),
}


def trial_settings(name: str, epochs: int) -> tuple[int, int, dict[str, Any]]:
    """Split a trial's settings into (epochs, batch, ultralytics train arguments)."""
    args = {k: v for k, v in TRIALS[name][1].items() if k not in SWEEP_KEYS}
    return args.pop('epochs', epochs), args.pop('batch', 16), {**BASE, **args}


def trial_data(name: str) -> tuple[int | None, dict[str, int]]:
    """Return a trial's own image size (None: the sweep's) and train-split repeats."""
    args = TRIALS[name][1]
    return args.get('imgsz'), dict(args.get('repeat', {}))


def trial_dir(out: Path, name: str, seed: int) -> Path:
    """Return the run folder of one trial and seed (seed 0 keeps the trial's bare name)."""
    return out / (name if seed == 0 else f'{name}-seed{seed}')


def record_path(out: Path, name: str, seed: int) -> Path:
    """Return where a trial's start and trained figures are written (``start.json``)."""
    return trial_dir(out, name, seed) / 'train' / 'start.json'


def recorded(out: Path, name: str, seed: int) -> dict[str, Any] | None:
    """Return a finished trial's record (start and trained figures), else None."""
    path = record_path(out, name, seed)
    record = json.loads(path.read_text()) if path.is_file() else {}
    return record if 'trained' in record else None


def run_trial(name: str, out: Path, epochs: int, imgsz: int, seed: int = 0) -> dict[str, Any]:
    """Fine-tune one trial with one seed (skipped when its record has trained figures)."""
    from training.datasets import stage_datasets
    from training.stages import teacher

    record = recorded(out, name, seed)
    if record is not None:
        return record
    init = {} if name == 'rider_fresh' else {'rider': 'person'}
    epochs, batch, train = trial_settings(name, epochs)
    own_imgsz, repeat = trial_data(name)
    data_dir = out / ('data' if not repeat else
                      'data-' + '-'.join(f'{k}x{v}' for k, v in sorted(repeat.items())))
    data = stage_datasets(DATASETS, data_dir, repeat)
    settings = teacher.TeacherSettings(model='yolov8n', data=str(data), epochs=epochs,
                                       imgsz=own_imgsz or imgsz, batch=batch, seed=seed,
                                       device='cpu', train=train, weights=str(COCO_N),
                                       init_classes=init)
    teacher.run(settings, trial_dir(out, name, seed) / 'train')
    return json.loads(record_path(out, name, seed).read_text())


def render(results: dict[tuple[str, int], dict[str, Any]], epochs: int, imgsz: int) -> str:
    """Write the sweep's page: a row per trial and seed, then each trial's gain by seed."""
    def pct(d: dict[str, Any] | None, *keys: str) -> str:
        for key in keys:
            d = (d or {}).get(key)
        return '-' if d is None else f'{100 * d:.1f}'

    lines = ['| trial | settings | epochs | batch | px | seed | person AP50 start -> trained '
             '| rider AP50 start -> trained | mAP50 start -> trained |',
             '|---|---|---:|---:|---:|---:|---:|---:|---:|']
    gains: dict[str, list[float]] = {}
    for (name, seed), r in results.items():
        s, t = r['start'], r.get('trained')
        n_epochs, batch, _ = trial_settings(name, epochs)
        px = trial_data(name)[0] or imgsz
        lines.append(f'| {name} | {TRIALS[name][0]} | {n_epochs} | {batch} | {px} | {seed} '
                     f'| {pct(s, "ap50", "person")} -> '
                     f'{pct(t, "ap50", "person")} | {pct(s, "ap50", "rider")} -> '
                     f'{pct(t, "ap50", "rider")} | {pct(s, "map50")} -> {pct(t, "map50")} |')
        if t is not None:
            gains.setdefault(name, []).append(
                100 * (t['ap50']['person'] - s['ap50']['person']))
    summary = []
    if any(len(g) > 1 for g in gains.values()):
        summary = ['', 'Person AP50 gain over the start, in points, across seeds:', '',
                   '| trial | seeds | gain per seed | mean | worst |', '|---|---:|---|---:|---:|']
        for name, g in gains.items():
            summary.append(f'| {name} | {len(g)} | {", ".join(f"{x:+.1f}" for x in g)} '
                           f'| {sum(g) / len(g):+.1f} | {min(g):+.1f} |')
    return '\n'.join([
        '# Fine-tuning the COCO YOLOv8n on the street images: what was tried on the CPU', '',
        f"Each trial: Ultralytics' COCO YOLOv8n, head classes matched by name, fine-tuned "
        f'at {imgsz} px unless its row says otherwise, on the train splits of bdd100k_vru, '
        'coco_vru and coco128_vru (441 images); validated on bdd100k_vru val (100 frames, 155 '
        "pedestrians, 7 riders) at the same size by ultralytics' validator. Differences of a "
        'point or two are within seed noise on 100 frames.', '',
        'Command: `python -m training.experiments.finetune_sweep --out runs/finetune_sweep '
        '--doc <this file> --trials ... --seeds ...`', '', *lines, *summary, ''])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog='python -m training.experiments.finetune_sweep', description=__doc__.split('\n')[1],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('--out', type=Path, default=Path('runs/finetune_sweep'),
                        help='runs folder (resumable)')
    parser.add_argument('--doc', type=Path, help='markdown page to write')
    parser.add_argument('--trials', nargs='+', choices=list(TRIALS), default=list(TRIALS),
                        help='trials to run, in order')
    parser.add_argument('--epochs', type=int, default=2, help='epochs per trial')
    parser.add_argument('--imgsz', type=int, default=480, help='training and validation size')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0],
                        help='seeds to run each trial with')
    parser.add_argument('--report', action='store_true',
                        help='train nothing: write the page from the finished trials on record')
    args = parser.parse_args(argv)
    if args.report:
        results = {(n, s): r for n in args.trials for s in args.seeds
                   if (r := recorded(args.out, n, s)) is not None}
        page = render(results, args.epochs, args.imgsz)
        if args.doc:
            args.doc.parent.mkdir(parents=True, exist_ok=True)
            args.doc.write_text(page)
        print(page)
        return 0

    missing = [str(p) for p in (*DATASETS, COCO_N) if not p.is_file()]
    if missing:
        print(f'finetune_sweep: {", ".join(missing)} not found: run from the repository root '
              'with ../shared beside it')
        return 2
    runs = [(name, seed) for name in args.trials for seed in args.seeds]
    results = {}
    for i, (name, seed) in enumerate(runs, 1):
        print(f'[trial {i}/{len(runs)}] {name}, seed {seed}: {TRIALS[name][0]}', flush=True)
        results[name, seed] = run_trial(name, args.out, args.epochs, args.imgsz, seed)
        if args.doc:
            args.doc.parent.mkdir(parents=True, exist_ok=True)
            args.doc.write_text(render(results, args.epochs, args.imgsz))
    print(render(results, args.epochs, args.imgsz))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
