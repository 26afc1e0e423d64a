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
The teacher's learning curve on the pooled street benchmark: epochs against person AP50.

The papers' table needs a teacher trained for as long as it keeps improving, and on 2 CPU
cores that takes several sessions. ``training/recipes/teacher_curve.yaml`` trains it
resumably with a checkpoint every epoch; this script benchmarks each checkpoint once
(exported to ONNX at the deployment size, run through the node's Detector), keeps every
model's matched detections in ``RUN/curve/``, and rewrites the curve table and plot from
all of them. Every epoch gets a paired interval against the students' start (COCO YOLOv8n),
and the newest against the best earlier epoch, which says whether training still improves.
Rerun it, or leave it running with ``--watch``, beside the training run.

    python -m training.experiments.teacher_curve runs/teacher_curve [--watch] [--doc PAGE.md]
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import re
import sys
import time
from typing import Sequence

from training.experiments.results_page import cell, replace_block

STUDENT_START = Path('../shared/models/yolov8n_coco/yolov8n_coco.pt')
REFERENCE = 'yolov8n COCO start'
EPOCH_FILE = re.compile(r'epoch(\d+)\.pt$')


def checkpoints(run: Path) -> dict[int, Path]:
    """Epoch number (1-based) -> its checkpoint; ultralytics names them from 0 (epoch0.pt)."""
    found = {}
    for stage in ('teacher', 'teacher.partial'):
        for path in (run / stage / 'train' / 'weights').glob('epoch*.pt'):
            m = EPOCH_FILE.search(path.name)
            if m:
                found.setdefault(int(m.group(1)) + 1, path)
    return dict(sorted(found.items()))


def training_done(run: Path) -> bool:
    """Return True once the pipeline has completed the teacher stage (the folder lost .partial)."""
    return (run / 'teacher' / 'teacher.pt').is_file()


class Curve:
    """Cached benchmark runs of the reference and of each epoch, and the summaries of them."""

    def __init__(self, run: Path, data_root: str | None, reference: Path) -> None:
        """Load the pooled benchmark's sources once; results live in ``run/curve``."""
        from training.experiments.bench_cache import BenchCache

        self.run, self.folder = run, run / 'curve'
        self.reference = reference
        self.cache = BenchCache(self.folder, data_root)
        self.sources = self.cache.sources

    @property
    def plan(self):
        """Return the scored classes and folds, fixed by the reference (benchmarked first)."""
        return self.cache.plan

    def _model_run(self, name: str, weights: Path, cache: Path):
        """Benchmark one .pt (exported to ONNX at 640 px), from ``cache`` when already done."""
        onnx = cache.with_suffix('.onnx')
        if not cache.is_file():
            from training.export import export_onnx

            export_onnx(weights, onnx, imgsz=640)
        return self.cache.run(name, onnx, key=cache.stem)

    def evaluate(self, epochs: dict[int, Path], every: int) -> list:
        """Benchmark the reference and every ``every``-th epoch not yet cached."""
        runs = [self._model_run(REFERENCE, self.reference, self.folder / 'reference.pkl')]
        todo = [e for e in epochs if e % every == 0 or e == max(epochs)]
        for i, epoch in enumerate(todo, 1):
            cache = self.folder / f'epoch{epoch:03d}.pkl'
            if not cache.is_file():
                print(f'[{i}/{len(todo)}] benchmarking epoch {epoch}', flush=True)
            runs.append(self._model_run(f'epoch {epoch}', epochs[epoch], cache))
        return runs

    def summarize(self, runs: list) -> dict:
        """Per epoch: pooled and per-source person AP50, the paired gain over the reference."""
        from vru_detector.replay.benchmark import summarize

        folded = self.plan[1]
        result = summarize(runs, self.sources, folded)
        rows = []
        for r in runs[1:]:
            row = {'model': r.name, 'epoch': int(r.name.split()[-1])}
            for scope in result.figures:
                row[scope] = result.figure(r.name, scope=scope).as_dict()
            row['vs_reference'] = result.difference(r.name).as_dict()
            row['verdict_vs_reference'] = result.verdict(r.name)
            rows.append(row)
        out = {'reference': {s: result.figure(REFERENCE, scope=s).as_dict()
                             for s in result.figures},
               'scopes': list(result.figures), 'epochs': rows}
        if len(runs) >= 3:
            out['latest_vs_best'] = self._latest_vs_best(runs, rows, folded)
        return out

    def _latest_vs_best(self, runs: list, rows: list[dict], folded: dict) -> dict:
        """Paired newest - best earlier epoch; and how long since the last significant gain."""
        from vru_detector.replay.benchmark import summarize

        earlier = rows[:-1]
        best = max(earlier, key=lambda r: r['pooled']['estimate'])
        pair = [runs[1 + rows.index(best)], runs[-1]]
        result = summarize(pair, self.sources, folded)
        diff = result.difference(pair[1].name)
        return {'best_earlier': best['model'], 'latest': rows[-1]['model'],
                'difference': diff.as_dict(), 'verdict': result.verdict(pair[1].name)}


def markdown(summary: dict, command: str) -> str:
    """Return the curve as a table: per epoch, pooled and per-source AP50, gain over the start."""
    scopes = [s for s in summary['scopes'] if s != 'pooled']
    head = ['epoch', 'pooled person AP50 [95% CI]', *scopes, f'minus {REFERENCE} (paired)']
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    ref = summary['reference']
    lines.append('| ' + ' | '.join([f'{REFERENCE} (0)', cell(ref['pooled']),
                                    *(f'{100 * ref[s]["estimate"]:.1f}' for s in scopes),
                                    '']) + ' |')
    for row in summary['epochs']:
        lines.append('| ' + ' | '.join(
            [str(row['epoch']), cell(row['pooled']),
             *(f'{100 * row[s]["estimate"]:.1f}' for s in scopes),
             f'{cell(row["vs_reference"], True)} {row["verdict_vs_reference"]}']) + ' |')
    text = [f'Command: `{command}`', '', *lines, '']
    last = summary.get('latest_vs_best')
    if last:
        text.append(f'Newest ({last["latest"]}) minus the best earlier ({last["best_earlier"]}), '
                    f'paired: {cell(last["difference"], True)}: {last["verdict"]}.')
    return '\n'.join(text) + '\n'


def plot(summary: dict, path: Path) -> Path:
    """Plot pooled person AP50 with its interval per epoch; the students' start as a band."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    rows = summary['epochs']
    x = [r['epoch'] for r in rows]
    y = [100 * r['pooled']['estimate'] for r in rows]
    err = [[100 * (r['pooled']['estimate'] - r['pooled']['low']) for r in rows],
           [100 * (r['pooled']['high'] - r['pooled']['estimate']) for r in rows]]
    ref = summary['reference']['pooled']
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.axhspan(100 * ref['low'], 100 * ref['high'], color='0.85', label=f'{REFERENCE}, 95% CI')
    ax.axhline(100 * ref['estimate'], color='0.4', lw=1)
    ax.errorbar(x, y, yerr=err, fmt='o-', capsize=3, label='YOLOv8s teacher, 95% CI')
    ax.set_xlabel('epoch (480 px training)')
    ax.set_ylabel('pooled person AP50 (640 px)')
    ax.legend(loc='lower right', fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write(run: Path, curve: Curve, runs: list, doc: Path | None, command: str) -> dict:
    """Summarize, then write curve.json, curve.md and curve.png (and the results page)."""
    summary = curve.summarize(runs)
    (curve.folder / 'curve.json').write_text(json.dumps(summary, indent=1))
    text = markdown(summary, command)
    (curve.folder / 'curve.md').write_text(text)
    png = plot(summary, curve.folder / 'curve.png')
    if doc is not None:
        doc_png = doc.with_suffix('.png')
        doc_png.parent.mkdir(parents=True, exist_ok=True)
        doc_png.write_bytes(png.read_bytes())
        replace_block(doc, '<!-- curve -->', f'![curve]({doc_png.name})\n\n{text}')
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """Benchmark new checkpoints and rewrite the curve; with --watch, until training ends."""
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('run', type=Path, help='the pipeline run folder of teacher_curve.yaml')
    p.add_argument('--every', type=int, default=1,
                   help='benchmark every N-th epoch (and the last)')
    p.add_argument('--watch', action='store_true',
                   help='keep polling for new checkpoints until the teacher stage is complete')
    p.add_argument('--poll', type=float, default=60.0, help='seconds between polls (--watch)')
    p.add_argument('--doc', type=Path, default=None,
                   help='results page to update between its two "<!-- curve -->" markers')
    p.add_argument('--data-root', default=None, help='../shared/data by default')
    p.add_argument('--reference', type=Path, default=STUDENT_START,
                   help='the model every epoch is compared with (default: the COCO YOLOv8n)')
    args = p.parse_args(argv)
    os.environ.setdefault('YOLO_OFFLINE', '1')
    if not args.run.is_dir():
        print(f'teacher_curve: {args.run} is not a run folder; start one with `vru-train '
              'pipeline training/recipes/teacher_curve.yaml --out RUN --stages teacher`',
              file=sys.stderr)
        return 2
    if args.every < 1:
        print('teacher_curve: --every must be >= 1', file=sys.stderr)
        return 2
    command = f'python -m training.experiments.teacher_curve {args.run}'
    curve, seen = Curve(args.run, args.data_root, args.reference), None
    while True:
        epochs = checkpoints(args.run)
        if epochs and list(epochs) != seen:
            seen = list(epochs)
            summary = write(args.run, curve, curve.evaluate(epochs, args.every), args.doc,
                            command)
            last = summary['epochs'][-1]
            print(f'epoch {last["epoch"]}: pooled person AP50 {cell(last["pooled"])}',
                  flush=True)
        if not args.watch or training_done(args.run) and list(checkpoints(args.run)) == seen:
            break
        time.sleep(args.poll)
    if not seen:
        print(f'teacher_curve: no epoch checkpoints under {args.run}/teacher*/train/weights yet '
              '(the recipe saves one per epoch: save_period 1)', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
