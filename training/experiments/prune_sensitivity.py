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
How much of the COCO YOLOv8n survives a channel cut before any training: a short table.

The pruned KD student row of the papers' table depends on it. Each row cuts (or shrinks) a
share of the channels of Ultralytics' COCO YOLOv8n (head matched to our classes) and validates
on bdd100k_vru val at 480 px, with no fine-tuning in between::

    python -m training.experiments.prune_sensitivity --doc docs/results/X.md

Rows: the uncut model; cuts of 5/10/30% of the channels ranked network-wide by |gamma|
(``global``, network slimming's rule) and the same share of every layer (``uniform``); and
the 30% uniform cut's channels with their gammas only scaled by 0.9/0.75/0.5 (what a gradual
fade passes through).
"""
from __future__ import annotations

import argparse
import copy
from pathlib import Path
from typing import Any

SHARED = Path('../shared')
BDD = SHARED / 'data' / 'bdd100k_vru' / 'data.yaml'
COCO_N = SHARED / 'models' / 'yolov8n_coco' / 'yolov8n_coco.pt'
NAMES = ['person', 'rider', 'bicycle', 'motorcycle', 'car']
RATIOS = (0.05, 0.1, 0.3)
SCALES = (0.9, 0.75, 0.5)


def measure(out: Path, imgsz: int) -> list[dict[str, Any]]:
    """Validate the uncut, cut and shrunk models; returns one record per row."""
    from tqdm import tqdm

    from training.datasets import stage_dataset
    from training.pretrained import pretrained_model
    from training.prune.channel_fade import ChannelFade
    from training.prune.channel_pruning import prepare_for_pruning, prune_model, PruneSettings
    from training.val_summary import validate_module

    data = stage_dataset(BDD, out / 'data')
    base, _ = pretrained_model(COCO_N, NAMES, {'rider': 'person'}, verbose=False)
    prepare_for_pruning(base)
    jobs = [('uncut', None, None, None)]
    jobs += [(f'cut {r:.0%}, {a}', a, r, None) for a in ('global', 'uniform') for r in RATIOS]
    jobs += [(f'30% uniform, gamma x{s:g}', 'uniform', 0.3, s) for s in SCALES]
    rows = []
    for label, allocation, ratio, scale in tqdm(jobs, desc='prune sensitivity'):
        model = copy.deepcopy(base)
        if ratio is not None:
            settings = PruneSettings(ratio=ratio, imgsz=imgsz, allocation=allocation)
            if scale is None:
                prune_model(model, settings)
            else:  # clamp to scale x |gamma|: the planned channels shrunk, not cut
                ChannelFade.planned(model, settings, end=1.0).apply(model, 1.0 - scale)
        metrics = validate_module(model, data, imgsz, out / 'val', batch=16)
        rows.append({'row': label, 'params': sum(p.numel() for p in model.parameters()),
                     'map50': metrics['map50'], 'person': metrics['ap50'].get('person')})
    return rows


def render(rows: list[dict[str, Any]], imgsz: int) -> str:
    lines = ['# The COCO YOLOv8n under a channel cut, before any training', '',
             "Command: `python -m training.experiments.prune_sensitivity`. Ultralytics' COCO "
             f'YOLOv8n (our 5 classes; rider from person), validated on bdd100k_vru val at '
             f'{imgsz} px right after the cut, nothing fine-tuned.', '',
             '| model | params (M) | mAP50 | person AP50 |', '|---|---:|---:|---:|']
    for r in rows:
        lines.append(f'| {r["row"]} | {r["params"] / 1e6:.2f} | {100 * r["map50"]:.1f} | '
                     f'{100 * (r["person"] or 0):.1f} |')
    return '\n'.join(lines) + '\n'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog='python -m training.experiments.prune_sensitivity',
        description='Validate the COCO YOLOv8n right after channel cuts of several sizes.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('--out', type=Path, default=Path('runs/prune_sensitivity'),
                        help='working folder (staged data, validation output)')
    parser.add_argument('--doc', type=Path, help='markdown page to write')
    parser.add_argument('--imgsz', type=int, default=480, help='validation size')
    args = parser.parse_args(argv)
    missing = [str(p) for p in (BDD, COCO_N) if not p.is_file()]
    if missing:
        print(f'prune_sensitivity: {", ".join(missing)} not found: run from the repository root '
              'with ../shared beside it')
        return 2
    text = render(measure(args.out, args.imgsz), args.imgsz)
    if args.doc:
        args.doc.parent.mkdir(parents=True, exist_ok=True)
        args.doc.write_text(text)
    print(text)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
