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
The pruning curve of a trained model: parameters kept against pooled person AP50, per criterion.

Question (c) of the papers' table asks whether a pruned YOLOv8s beats a YOLOv8n trained
directly at the same size, and which channel ranking prunes best. Before any fine-tune, this
cuts the trained model at several channel ratios with each importance criterion (``bn_scale``:
|gamma|, the seed's rule; ``magnitude`` and ``lamp``: Torch-Pruning's, no sparsity training),
exports each cut at 640 px and benchmarks it (cached in ``--cache``), with a paired interval
against ``--reference`` (the direct YOLOv8n, when given). It writes a table between the
``<!-- curve -->`` markers of ``--doc`` and the plot beside it.

    python -m training.experiments.prune_curve runs/papers_s0/teacher/teacher.pt \
        --reference runs/papers_s0/student/student.pt --doc PAGE.md
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import sys
from typing import Sequence

from training.experiments.results_page import cell, replace_block

CRITERIA = ('bn_scale', 'magnitude', 'lamp')
RATIOS = (0.1, 0.2, 0.3, 0.4, 0.5)
MARKER = '<!-- curve -->'


def cut(weights: Path, criterion: str, ratio: float, out: Path,
        allocation: str = 'global') -> tuple[Path, dict]:
    """Prune a copy of ``weights``, export it at 640 px; return the ONNX and what was cut."""
    from training.export import export_onnx
    from training.prune.channel_pruning import prune_model
    from training.prune.checkpoint import load_model, save_pruned
    from training.stages.prune import PruneSettings

    onnx = out / (f'{criterion}-{ratio:.2f}.onnx' if allocation == 'global'
                  else f'{criterion}-{allocation}-{ratio:.2f}.onnx')
    plan_file = onnx.with_suffix('.json')
    if onnx.is_file() and plan_file.is_file():
        return onnx, json.loads(plan_file.read_text())
    model = load_model(weights)
    plan = prune_model(model, PruneSettings(ratio=ratio, importance=criterion,
                                            allocation=allocation))
    params = sum(p.numel() for p in model.parameters())
    pt = save_pruned(model, onnx.with_suffix('.pt'), pruning=plan.to_dict())
    export_onnx(pt, onnx, imgsz=640)
    info = {'criterion': criterion if allocation == 'global' else f'{criterion}, {allocation}',
            'ratio': ratio, 'params': params,
            'achieved_ratio': plan.achieved_ratio}
    plan_file.write_text(json.dumps(info))
    return onnx, info


def parameters(weights: Path) -> int:
    """Return the parameter count of an ultralytics checkpoint."""
    from training.prune.checkpoint import load_model

    return sum(p.numel() for p in load_model(weights).parameters())


def markdown(rows: list[dict], base: dict, reference: dict | None, command: str) -> str:
    """Return one row per cut: parameters, pooled person AP50, difference to the reference."""
    ref_head = f' | minus {reference["name"]} (paired)' if reference else ''
    lines = [f'Command: `{command}`', '',
             f'| criterion | channels cut | params (M) | pooled person AP50{ref_head} |',
             '|---|---:|---:|---' + ('|---|' if reference else '|')]
    for r in [base, *rows]:
        diff = (f' | {cell(r["vs_reference"], True)} {r["verdict"]}' if reference else '')
        lines.append(f'| {r["criterion"]} | {100 * r["achieved_ratio"]:.0f}% | '
                     f'{r["params"] / 1e6:.2f} | {cell(r["pooled"])}{diff} |')
    if reference:
        lines += ['', f'{reference["name"]}: {reference["params"] / 1e6:.2f}M parameters, '
                  f'pooled person AP50 {cell(reference["pooled"])}.']
    return '\n'.join(lines) + '\n'


def plot(rows: list[dict], base: dict, reference: dict | None, path: Path) -> Path:
    """Plot parameters kept against pooled person AP50, a line per criterion."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.8))
    for criterion in dict.fromkeys(r['criterion'] for r in rows):
        pts = [base] + [r for r in rows if r['criterion'] == criterion]
        if len(pts) < 2:
            continue
        x = [p['params'] / 1e6 for p in pts]
        y = [100 * p['pooled']['estimate'] for p in pts]
        err = [[100 * (p['pooled']['estimate'] - p['pooled']['low']) for p in pts],
               [100 * (p['pooled']['high'] - p['pooled']['estimate']) for p in pts]]
        ax.errorbar(x, y, yerr=err, fmt='o-', capsize=3, label=criterion)
    if reference:
        ax.errorbar([reference['params'] / 1e6], [100 * reference['pooled']['estimate']],
                    yerr=[[100 * (reference['pooled']['estimate'] - reference['pooled']['low'])],
                          [100 * (reference['pooled']['high'] - reference['pooled']['estimate'])]],
                    fmt='s', color='k', capsize=3, label=reference['name'])
    ax.set_xlabel('parameters (M)')
    ax.set_ylabel('pooled person AP50 (640 px)')
    ax.set_title('before fine-tune', fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def summarize(cache, runs: list, infos: list[dict], reference_run) -> tuple[list, dict | None]:
    """Pooled interval of each cut, and its paired difference to the reference."""
    from vru_detector.replay.benchmark import summarize as bench_summarize

    models = ([reference_run] if reference_run else []) + runs
    result = bench_summarize(models, cache.sources, cache.plan[1])
    rows = []
    for r, info in zip(runs, infos):
        row = {**info, 'name': r.name, 'pooled': result.figure(r.name).as_dict()}
        if reference_run:
            row['vs_reference'] = result.difference(r.name).as_dict()
            row['verdict'] = result.verdict(r.name)
        rows.append(row)
    ref = ({'name': reference_run.name, 'pooled': result.figure(reference_run.name).as_dict()}
           if reference_run else None)
    return rows, ref


def main(argv: Sequence[str] | None = None) -> int:
    """Cut, export and benchmark each criterion x ratio; rewrite the table and the plot."""
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('weights', type=Path, help='the trained model to prune (ultralytics .pt)')
    p.add_argument('--reference', type=Path, default=None,
                   help='the model to compare at equal size (.pt: the direct YOLOv8n)')
    p.add_argument('--criteria', nargs='+', default=list(CRITERIA), choices=CRITERIA)
    p.add_argument('--ratios', nargs='+', type=float, default=list(RATIOS),
                   help='shares of the prunable channels to cut')
    p.add_argument('--allocation', nargs='+', default=['global'], choices=('global', 'uniform'),
                   help='global: one ranking of all channels; uniform: the same share of every '
                   'layer (each allocation is its own line)')
    p.add_argument('--cache', type=Path, default=Path('runs/prune_curve'))
    p.add_argument('--doc', type=Path, default=None,
                   help='results page to update between its two "<!-- curve -->" markers')
    p.add_argument('--data-root', default=None, help='../shared/data by default')
    args = p.parse_args(argv)
    os.environ.setdefault('YOLO_OFFLINE', '1')
    for path in (args.weights, args.reference):
        if path is not None and not path.is_file():
            print(f'prune_curve: {path} not found; train the teacher and the direct student '
                  'first (bash training/experiments/pretrained_cpu.sh)', file=sys.stderr)
            return 2
    for path in (args.weights, args.reference):
        try:
            if path is not None:
                parameters(path)
        except Exception as exc:  # torch / ultralytics raise many kinds for a bad checkpoint
            print(f'prune_curve: {path} is not a readable ultralytics checkpoint '
                  f'({type(exc).__name__}: {exc}); pass the .pt that training wrote',
                  file=sys.stderr)
            return 2
    if any(not 0 < r < 1 for r in args.ratios):
        print('prune_curve: --ratios must lie strictly between 0 and 1', file=sys.stderr)
        return 2
    from training.experiments.bench_cache import BenchCache
    from training.export import export_onnx

    cache = BenchCache(args.cache / 'bench', args.data_root)
    models = args.cache / 'models'
    models.mkdir(parents=True, exist_ok=True)
    base_onnx = models / 'uncut.onnx'
    if not base_onnx.is_file():
        export_onnx(args.weights, base_onnx, imgsz=640)
    todo = [(c, a, r) for a in args.allocation for c in args.criteria for r in args.ratios]
    base_run = cache.run('uncut', base_onnx)
    runs, infos = [], []
    for i, (criterion, allocation, ratio) in enumerate(todo, 1):
        print(f'[{i}/{len(todo)}] {criterion} ({allocation}), {100 * ratio:.0f}% of the channels',
              flush=True)
        onnx, info = cut(args.weights, criterion, ratio, models, allocation)
        runs.append(cache.run(f'{info["criterion"]} {ratio:.2f}', onnx))
        infos.append(info)
    ref_run = None
    if args.reference:
        ref_onnx = models / 'reference.onnx'
        if not ref_onnx.is_file():
            export_onnx(args.reference, ref_onnx, imgsz=640)
        ref_run = cache.run(f'{args.reference.stem} (reference)', ref_onnx)
    rows, ref = summarize(cache, [base_run, *runs],
                          [{'criterion': 'uncut', 'ratio': 0.0, 'achieved_ratio': 0.0,
                            'params': parameters(args.weights)}, *infos], ref_run)
    base, rows = rows[0], rows[1:]
    if ref is not None:
        ref['params'] = parameters(args.reference)
    command = ' '.join(
        ['python -m training.experiments.prune_curve', str(args.weights)]
        + (['--reference', str(args.reference)] if args.reference else [])
        + (['--allocation', *args.allocation] if args.allocation != ['global'] else [])
        + (['--ratios', *map(str, args.ratios)] if args.ratios != list(RATIOS) else []))
    text = markdown(rows, base, ref, command)
    (args.cache / 'curve.json').write_text(json.dumps({'base': base, 'rows': rows,
                                                       'reference': ref}, indent=1))
    print(text)
    if args.doc is not None:
        png = plot(rows, base, ref, args.doc.with_suffix('.png'))
        replace_block(args.doc, MARKER, f'![pruning curve]({png.name})\n\n{text}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
