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

"""The benchmark's Markdown tables and JSON file (figures with intervals, paired verdicts)."""
from __future__ import annotations

import json
import math
from pathlib import Path

from .benchmark import BenchmarkResult, METRICS, POOLED_SCOPE
from .bootstrap import Interval
from .weighted_metrics import HEIGHT_BUCKETS

SHORT = {'no significant difference': 'n.s.', 'better': '**better**', 'worse': '**worse**',
         'undefined': '-'}


def cell(iv: Interval, metric: str, signed: bool = False) -> str:
    """'42.1 [38.0, 46.3]' (percent) or '0.12 [0.08, 0.17]' for false positives per frame."""
    if math.isnan(iv.estimate):
        return '-'
    scale, digits = (1.0, 2) if metric == 'fp_per_frame' else (100.0, 1)
    sign = '+' if signed else ''

    def f(x: float) -> str:
        return '?' if math.isnan(x) else f'{scale * x:{sign}.{digits}f}'
    return f'{f(iv.estimate)} [{f(iv.low)}, {f(iv.high)}]'


def scope_title(result: BenchmarkResult, scope: str) -> str:
    if scope == POOLED_SCOPE:
        pooled = [s['name'] for s in result.sources if s['pooled']]
        return f'Pooled ({" + ".join(pooled)}; one evaluation over all their frames)'
    info = next(s for s in result.sources if s['name'] == scope)
    flag = '' if info['pooled'] else ' (NOT pooled: some photos are COCO training images)'
    return f'{scope}{flag}'


def markdown(result: BenchmarkResult) -> str:
    """All tables: sources, then per scope the figures and the paired differences."""
    heights = ', '.join(f'{k} {lo:g}-{hi:g} px' if hi != float('inf') else f'{k} >= {lo:g} px'
                        for k, (lo, hi) in HEIGHT_BUCKETS.items())
    lines = ['# VRU street benchmark', '',
             f'Scored classes: {", ".join(result.classes)}.' + (
                 ' ' + '; '.join(f'{c} scored as {p} (a model has no {c} class)'
                                 for c, p in result.folded.items()) + '.'
                 if result.folded else ''),
             "Recall and false positives at the node's thresholds (" +
             ', '.join(f'{c} {t:g}' for c, t in result.thresholds.items()) + '), IoU 0.5; '
             f'pedestrian heights: {heights} (Caltech convention).',
             f'Intervals: {100 * result.level:.0f}% bootstrap (BCa), {result.resamples} '
             f'resamples of whole groups (recordings, scenes, clips), seed {result.seed}. '
             'AP and recall in %, false positives per frame as a count.', '',
             '## Sources', '',
             '| source | pooled | frames | groups | person | rider | bicycle | motorcycle | car '
             '| how |', '|---|---|---:|---:|---:|---:|---:|---:|---:|---|']
    for s in result.sources:
        b = s['boxes']
        lines.append(f'| {s["name"]} | {"yes" if s["pooled"] else "**no**"} | {s["frames"]} '
                     f'| {s["groups"]} | {b["person"]} | {b["rider"]} | {b["bicycle"]} '
                     f'| {b["motorcycle"]} | {b["car"]} | {s["note"]} |')
    if result.person_boxes:
        folded = ' (riders included)' if result.folded.get('rider') == 'person' else ''
        lines += ['', f'Person boxes{folded} by height, as scored:', '',
                  '| scope | ' + ' | '.join(HEIGHT_BUCKETS) + ' | all |',
                  '|---|' + '---:|' * (len(HEIGHT_BUCKETS) + 1)]
        for scope, counts in result.person_boxes.items():
            lines.append(f'| {scope} | ' + ' | '.join(str(counts[h]) for h in HEIGHT_BUCKETS)
                         + f' | {counts["all"]} |')
    lines += ['', '## Models', '', '| model | file | precision | runtime | input | wall s |',
              '|---|---|---|---|---|---:|']
    for m in result.models:
        lines.append(f'| {m["name"]} | `{m["path"]}` | {m["precision"]} | '
                     f'{m.get("backend") or "-"} | {m["input_size"][0]}x{m["input_size"][1]} | '
                     f'{m["wall_s"]} |')
    order = [POOLED_SCOPE] if POOLED_SCOPE in result.figures else []
    order += [s for s in result.figures if s != POOLED_SCOPE]
    head = '| model | ' + ' | '.join(label for _, label, _ in METRICS) + ' |'
    rule = '|---|' + '---:|' * len(METRICS)
    for scope in order:
        lines += ['', f'## {scope_title(result, scope)}', '', head, rule]
        for model, figs in result.figures[scope].items():
            lines.append(f'| {model} | ' + ' | '.join(cell(figs[k], k) for k, _, _ in METRICS)
                         + ' |')
        diffs = result.differences.get(scope) or {}
        if diffs:
            ref = result.models[0]['name']
            lines += ['', f'Paired difference vs {ref} (model - {ref}) and verdict:', '',
                      head, rule]
            for model, d in diffs.items():
                cells = [f'{cell(d[k], k, True)} {SHORT[d[k].verdict(h)]}'
                         for k, _, h in METRICS]
                lines.append(f'| {model} | ' + ' | '.join(cells) + ' |')
    if len(result.models) > 1:
        lines += ['', f'## Verdict ({result.main_scope} person AP50)', '']
        for model in result.differences[result.main_scope]:
            lines.append(f'- {verdict_sentence(result, model)}')
    return '\n'.join(lines) + '\n'


def verdict_sentence(result: BenchmarkResult, model: str, metric: str = 'person_ap50',
                     scope: str | None = None) -> str:
    """Say it plainly: '<model> is worse than <ref>: person AP50 -2.1 [-3.5, -0.6] points'."""
    ref = result.models[0]['name']
    scope = scope or result.main_scope
    d = result.difference(model, metric, scope)
    verdict = result.verdict(model, metric, scope)
    label = next(lbl for k, lbl, _ in METRICS if k == metric)
    unit = '' if metric == 'fp_per_frame' else ' points'
    what = {'better': f'{model} is better than {ref}', 'worse': f'{model} is worse than {ref}',
            'no significant difference': f'{model} and {ref} do not differ significantly',
            'undefined': f'{model} vs {ref}: undefined'}[verdict]
    return f'{what}: {label} {cell(d, metric, True)}{unit} (paired 95% interval, {scope})'


def write_outputs(result: BenchmarkResult, out: str | Path) -> dict[str, Path]:
    """Write ``benchmark.json`` and ``benchmark.md`` into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {'json': out / 'benchmark.json', 'md': out / 'benchmark.md'}
    paths['json'].write_text(json.dumps(result.to_dict(), indent=2))
    paths['md'].write_text(markdown(result))
    return paths
