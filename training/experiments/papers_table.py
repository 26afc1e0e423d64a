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
The papers' questions (a) and (b) on the pooled street benchmark, with paired intervals.

(a) Does KD beat the directly trained student (same start, epochs, size and data)? One paired
interval per seed, and the mean over seeds. (b) How much does INT8 cost each model, and does
the teacher lose more than the KD student? Reads pipeline runs of
``training/recipes/pretrained_cpu.yaml`` (one per seed; a seed's run made with ``--teacher``
shares the first run's teacher), benchmarks every exported FP32 and INT8 file once through
the node's Detector (cached in ``--cache``), and rewrites the block between the
``<!-- table -->`` markers of ``--doc``. Intervals are 95% BCa over whole groups (clips,
scenes), as ``vru-benchmark``'s; they hold the frames' variation, not the seeds': the seed
rows show that.

    python -m training.experiments.papers_table runs/papers_s0 runs/papers_s1 --doc PAGE.md
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
import json
import os
from pathlib import Path
import sys
from typing import Sequence

from training.experiments.pretrained_table import seed_of
from training.experiments.results_page import cell, replace_block

ROLES = {'teacher': 'teacher', 'plain_student': 'direct student', 'kd_student': 'KD student'}
PRECISIONS = ('fp32', 'int8')
METRICS = (('person_ap50', 'person AP50'), ('map50', 'mAP50'))
HEADLINE = 'person_ap50'
MARKER = '<!-- table -->'


@dataclass(frozen=True)
class Entry:
    """One model file of a run: its role, seed and precision."""

    role: str
    seed: int | None
    precision: str
    path: Path

    @property
    def label(self) -> str:
        seed = '' if self.role == 'teacher' or self.seed is None else f' s{self.seed}'
        return f'{ROLES[self.role]}{seed} {self.precision.upper()}'


def model_files(run: Path) -> list[Entry]:
    """Return the FP32 (``export/ROLE.onnx``) and INT8 (``calibrate/ROLE_int8.onnx``) files."""
    manifest = run / 'manifest.json'
    seed = seed_of(json.loads(manifest.read_text())) if manifest.is_file() else None
    found = []
    for role in ROLES:
        for precision, path in (('fp32', run / 'export' / f'{role}.onnx'),
                                ('int8', run / 'calibrate' / f'{role}_int8.onnx')):
            if path.is_file():
                found.append(Entry(role, seed, precision, path))
    return found


def collect(runs: Sequence[Path]) -> list[Entry]:
    """Every run's files; the teacher once (a seed's run made with ``--teacher`` reuses it)."""
    entries: list[Entry] = []
    for run in runs:
        for e in model_files(run):
            if e.role == 'teacher' and any(x.role == 'teacher' and x.precision == e.precision
                                           for x in entries):
                continue
            entries.append(e)
    return entries


class Table:
    """Figures and contrasts of every benchmarked model, per scope (pooled and per source)."""

    def __init__(self, runs: dict[str, object], sources, folded: dict[str, str],
                 resamples: int) -> None:
        """Build every model's figures from ``runs`` (label -> ModelRun, same frames, classes)."""
        from vru_detector.replay.benchmark import scope_replays, statistics

        self.labels = list(runs)
        self.resamples = resamples
        self.scopes = {}
        for scope, (groups, replays) in scope_replays(list(runs.values()), sources,
                                                      folded).items():
            self.scopes[scope] = (groups, dict(zip(self.labels,
                                                   (statistics(w) for w in replays))))

    def point(self, terms: dict[str, float], metric: str, scope: str) -> float:
        """Return the contrast on the full data (no resampling)."""
        import numpy as np

        groups, stats = self.scopes[scope]
        ones = np.ones((1, len(groups)))
        return float(sum(c * np.asarray(stats[k][metric](ones))[0] for k, c in terms.items()))

    def interval(self, terms: dict[str, float], metric: str, scope: str = 'pooled') -> dict:
        """Return the paired bootstrap interval of ``sum(coefficient * figure)``."""
        from vru_detector.replay.bootstrap import contrast

        groups, stats = self.scopes[scope]
        iv = contrast([stats[k][metric] for k in terms], list(terms.values()), groups,
                      n_resamples=self.resamples)
        return {**iv.as_dict(), 'verdict': iv.verdict(True)}

    def contrast_row(self, terms: dict[str, float]) -> dict:
        """Pooled intervals of every metric, and per-source points of the headline."""
        row = {m: self.interval(terms, m) for m, _ in METRICS}
        row['sources'] = {s: self.point(terms, HEADLINE, s) for s in self.scopes if s != 'pooled'}
        return row


def answers(table: Table, entries: Sequence[Entry]) -> dict:
    """Figures of each model, (a) KD - direct per seed and mean, (b) each INT8 drop."""
    by = {(e.role, e.seed if e.role != 'teacher' else None, e.precision): e.label
          for e in entries}
    out: dict = {'figures': {}, 'kd_vs_direct': [], 'int8_drop': [], 'teacher_vs_kd_drop': []}
    for e in entries:
        out['figures'][e.label] = {
            'pooled': {m: table.interval({e.label: 1.0}, m) for m, _ in METRICS},
            'sources': {s: table.point({e.label: 1.0}, HEADLINE, s)
                        for s in table.scopes if s != 'pooled'}}
    seeds = sorted({e.seed for e in entries if e.role == 'kd_student'} &
                   {e.seed for e in entries if e.role == 'plain_student'}, key=str)
    for precision in PRECISIONS:
        pairs = [(by.get(('kd_student', s, precision)), by.get(('plain_student', s, precision)))
                 for s in seeds]
        pairs = [(s, k, d) for s, (k, d) in zip(seeds, pairs) if k and d]
        for seed, kd, direct in pairs:
            out['kd_vs_direct'].append({'seed': seed, 'precision': precision,
                                        **table.contrast_row({kd: 1.0, direct: -1.0})})
        if len(pairs) > 1:
            terms: dict[str, float] = {}
            for _, kd, direct in pairs:
                terms[kd], terms[direct] = 1 / len(pairs), -1 / len(pairs)
            out['kd_vs_direct'].append({'seed': f'mean of {len(pairs)}', 'precision': precision,
                                        **table.contrast_row(terms)})
    for (role, seed, precision), int8 in by.items():
        fp32 = by.get((role, seed, 'fp32'))
        if precision != 'int8' or fp32 is None:
            continue
        row = table.contrast_row({int8: 1.0, fp32: -1.0})
        base = table.point({fp32: 1.0}, 'map50', 'pooled')
        row['relative_map50'] = row['map50']['estimate'] / base if base else None
        out['int8_drop'].append({'model': int8.replace(' INT8', ''), **row})
    teacher = (by.get(('teacher', None, 'int8')), by.get(('teacher', None, 'fp32')))
    for seed in seeds:
        kd = (by.get(('kd_student', seed, 'int8')), by.get(('kd_student', seed, 'fp32')))
        if all(teacher) and all(kd):
            terms = {teacher[0]: 1.0, teacher[1]: -1.0, kd[0]: -1.0, kd[1]: 1.0}
            out['teacher_vs_kd_drop'].append({'seed': seed, **table.contrast_row(terms)})
    return out


def _sources_cells(row: dict) -> list[str]:
    return [f'{100 * v:+.1f}' for v in row['sources'].values()]


def markdown(result: dict, command: str) -> str:
    """Return the figures, (a) and (b) as tables with their intervals."""
    sources = list(next(iter(result['figures'].values()))['sources']) if result['figures'] else []
    lines = [f'Command: `{command}`', '', '**Figures** (pooled with 95% interval; per source, '
             'person AP50):', '',
             '| model | pooled person AP50 | pooled mAP50 | ' + ' | '.join(sources) + ' |',
             '|---|---|---|' + '---:|' * len(sources)]
    for label, f in result['figures'].items():
        lines.append(f'| {label} | {cell(f["pooled"]["person_ap50"])} | '
                     f'{cell(f["pooled"]["map50"])} | '
                     + ' | '.join(f'{100 * v:.1f}' for v in f['sources'].values()) + ' |')
    head = ' | '.join(f'{s} (person AP50)' for s in sources)
    lines += ['', '**(a) KD student minus direct student**, paired:', '',
              f'| seed | precision | person AP50 | mAP50 | {head} |',
              '|---|---|---|---|' + '---:|' * len(sources)]
    for r in result['kd_vs_direct']:
        lines.append(f'| {r["seed"]} | {r["precision"].upper()} | '
                     f'{cell(r["person_ap50"], True)} {r["person_ap50"]["verdict"]} | '
                     f'{cell(r["map50"], True)} | ' + ' | '.join(_sources_cells(r)) + ' |')
    lines += ['', '**(b) INT8 minus FP32** of each model, paired (negative: INT8 loses):', '',
              f'| model | person AP50 | mAP50 | mAP50, relative | {head} |',
              '|---|---|---|---:|' + '---:|' * len(sources)]
    for r in result['int8_drop']:
        rel = '-' if r['relative_map50'] is None else f'{100 * r["relative_map50"]:+.1f}%'
        lines.append(f'| {r["model"]} | {cell(r["person_ap50"], True)} '
                     f'{r["person_ap50"]["verdict"]} | {cell(r["map50"], True)} | {rel} | '
                     + ' | '.join(_sources_cells(r)) + ' |')
    for r in result['teacher_vs_kd_drop']:
        lines.append('')
        lines.append(f'Teacher\'s INT8 change minus the KD student\'s (seed {r["seed"]}), paired: '
                     f'person AP50 {cell(r["person_ap50"], True)} '
                     f'({r["person_ap50"]["verdict"]}), mAP50 {cell(r["map50"], True)} '
                     f'({r["map50"]["verdict"]}); negative: the teacher loses more.')
    return '\n'.join(lines) + '\n'


def main(argv: Sequence[str] | None = None) -> int:
    """Benchmark the runs' new files, then rewrite the JSON and the page's table block."""
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('runs', nargs='+', type=Path, help='pipeline run folders, one per seed')
    p.add_argument('--cache', type=Path, default=Path('runs/papers_table'),
                   help='benchmark runs of each file, kept across calls')
    p.add_argument('--doc', type=Path, default=None,
                   help='results page to update between its two "<!-- table -->" markers')
    p.add_argument('--backend', default='onnxruntime', choices=('onnxruntime', 'openvino'),
                   help='runtime of every file (default: ONNX Runtime, the INT8 reference)')
    p.add_argument('--resamples', type=int, default=2000, help='bootstrap resamples')
    p.add_argument('--data-root', default=None, help='../shared/data by default')
    args = p.parse_args(argv)
    os.environ.setdefault('YOLO_OFFLINE', '1')
    missing = [str(r) for r in args.runs if not r.is_dir()]
    if missing:
        print(f'papers_table: not a run folder: {", ".join(missing)}; make one with '
              '`bash training/experiments/pretrained_cpu.sh`', file=sys.stderr)
        return 2
    entries = collect(args.runs)
    if not entries:
        print('papers_table: no export/*.onnx or calibrate/*_int8.onnx in the runs yet',
              file=sys.stderr)
        return 1
    from training.experiments.bench_cache import BenchCache

    from vru_detector.errors import VruDetectorError

    runs = {}
    try:
        cache = BenchCache(args.cache / args.backend, args.data_root, args.backend)
        for i, e in enumerate(entries, 1):
            print(f'[{i}/{len(entries)}] {e.label}: {e.path}', flush=True)
            runs[e.label] = cache.run(e.label, e.path)
    except VruDetectorError as exc:  # a bad model file or a missing benchmark source
        print(f'papers_table: {exc}', file=sys.stderr)
        return 2
    table = Table(runs, cache.sources, cache.plan[1], args.resamples)
    result = {'models': [{'label': e.label, 'role': e.role, 'seed': e.seed,
                          'precision': e.precision, 'path': str(e.path),
                          'benchmark_s': round(runs[e.label].wall_s, 1)} for e in entries],
              'backend': args.backend, **answers(table, entries)}
    (args.cache / f'{args.backend}.json').write_text(json.dumps(result, indent=1))
    command = ('python -m training.experiments.papers_table '
               + ' '.join(str(r) for r in args.runs)
               + ('' if args.backend == 'onnxruntime' else f' --backend {args.backend}'))
    text = markdown(result, command)
    print(text)
    if args.doc is not None:
        replace_block(args.doc, MARKER, text)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
