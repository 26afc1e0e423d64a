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
Pooled person recall and AP50 with 95% intervals over bags, and the regression gate.

Frames of one bag are not independent, so the bootstrap (``bootstrap``) resamples whole bags:
a bag drawn twice counts all its frames twice. The figures of a resample are the pooled ones
over its frames (``weighted_metrics``: one COCO accumulation with frame weights). The gate
fails when the paired interval of (candidate - baseline) lies entirely below 0 for person
recall or AP50.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from .bag_task import BagResult
from .fleet_report import PERSON, pooled_metrics
from .metrics import Conf

FIGURES = ('person_recall', 'person_ap50')
LABELS = {'person_recall': 'person recall', 'person_ap50': 'person AP50'}


def statistics(results: Sequence[BagResult], conf: Conf
               ) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """Person recall and AP50 of the pooled frames as functions of frame weights [B, F]."""
    from .weighted_metrics import WeightedReplay

    replay = WeightedReplay(pooled_metrics(results), conf)
    k = replay.class_index(PERSON)
    return {'person_recall': lambda w: replay.recall(w, k),
            'person_ap50': lambda w: replay.ap50(w, k)}


def frame_groups(names: Sequence[str], results: Sequence[BagResult]) -> list[str]:
    """Return the bag of every pooled frame: what the bootstrap resamples whole."""
    return [name for name, r in zip(names, results) for _ in range(r.frames)]


def pooled_intervals(names: Sequence[str], results: Sequence[BagResult], conf: Conf) -> dict:
    """95% intervals of the pooled person recall and AP50, resampling whole bags."""
    from .bootstrap import interval

    stats, groups = statistics(results, conf), frame_groups(names, results)
    return {f: interval(stats[f], groups).as_dict() for f in FIGURES}


def intervals_line(section: dict | None) -> str:
    """Markdown line of the pooled figures' intervals ('' without them)."""
    if not section:
        return ''
    parts = [f"{LABELS[f]} {_fmt(i['estimate'])} [{_fmt(i['low'])}, {_fmt(i['high'])}]"
             for f, i in section.items()]
    groups = next(iter(section.values()))['groups']
    if groups < 2:
        return '\nno interval: the bootstrap resamples whole bags and needs 2 or more\n'
    return (f"\npooled {', '.join(parts)} (95% bootstrap interval, {groups} bags resampled "
            'whole)\n')


def gate(names: Sequence[str], candidate: Sequence[BagResult], baseline: Sequence[BagResult],
         conf: Conf) -> dict:
    """
    Paired differences (candidate - baseline) per bag and pooled; ``regression`` if worse.

    Only bags that both models read to the same number of frames are compared.
    """
    from .bootstrap import paired_difference
    from .fleet_report import figures

    same = [i for i, (a, b) in enumerate(zip(baseline, candidate)) if a.frames == b.frames > 0]
    names = [names[i] for i in same]
    baseline, candidate = [baseline[i] for i in same], [candidate[i] for i in same]
    if not same:
        return {'bags': [], 'pooled': {}, 'regression': False, 'verdict': 'no bag to compare'}
    per_bag = []
    for name, a, b in zip(names, baseline, candidate):
        fa = figures(a.metrics, conf, a.detector_ms)
        fb = figures(b.metrics, conf, b.detector_ms)
        per_bag.append({'bag': name, **{
            f: None if fa[f] is None or fb[f] is None else round(fb[f] - fa[f], 6)
            for f in FIGURES}})
    old, new = statistics(baseline, conf), statistics(candidate, conf)
    groups = frame_groups(names, candidate)
    pooled, worse = {}, []
    for f in FIGURES:
        diff = paired_difference(old[f], new[f], groups)
        pooled[f] = {'difference': diff.estimate, **diff.as_dict(), 'verdict': diff.verdict()}
        if pooled[f]['verdict'] == 'worse':
            worse.append(f'{f} {diff.estimate:+.3f} (95% interval {diff.low:+.3f} .. '
                         f'{diff.high:+.3f}, {diff.groups} bags)')
    return {'bags': per_bag, 'pooled': pooled, 'regression': bool(worse),
            'verdict': '; '.join(worse) or 'no significant regression on person recall or AP50'}


def _fmt(value: float | None, sign: str = '') -> str:
    return '-' if value is None or (isinstance(value, float) and math.isnan(value)) else \
        f'{value:{sign}.3f}'


def _signed(value: float | None) -> str:
    return _fmt(value, '+')


def gate_table(section: dict) -> str:
    """Markdown: the paired differences per bag, then pooled with their intervals."""
    lines = ['', '| bag | person R (new - baseline) | person AP50 (new - baseline) |',
             '|---|---|---|']
    for row in section['bags']:
        lines.append(f"| {row['bag']} | {_signed(row['person_recall'])} | "
                     f"{_signed(row['person_ap50'])} |")
    cells = []
    for f in FIGURES if section['pooled'] else ():
        p = section['pooled'][f]
        cells.append(f"{_signed(p['difference'])} [{_signed(p['low'])}, {_signed(p['high'])}] "
                     f"{p['verdict']}")
    if cells:
        lines.append(f'| pooled (95% interval over bags) | {cells[0]} | {cells[1]} |')
    lines.append('')
    lines.append(f"gate: {'FAIL' if section['regression'] else 'pass'}: {section['verdict']}")
    return '\n'.join(lines) + '\n'
