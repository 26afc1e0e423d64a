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
95% intervals for one replay (a bag): its frames grouped into blocks of time.

Frames of one drive are not independent: the same pedestrian is in view for seconds. So the
bootstrap resamples blocks of ``block_s`` seconds (by header stamp), never single frames;
10 s is long enough that a car at city speed (10 m/s) has driven 100 m, to a new street
scene, and short enough that a few minutes of recording give tens of blocks. With fewer than
two blocks there is no interval: one scene says nothing about the next. Many bags at once
(``vru-eval-bag`` on a fleet) resample whole bags instead: use ``bootstrap`` with the bag as
the group.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .bootstrap import interval, RESAMPLES, SEED
from .metrics import ReplayMetrics
from .weighted_metrics import HEIGHT_BUCKETS, WeightedReplay
from ..labels import vru_ids

BLOCK_S = 10.0   # seconds of recording resampled together (see the module docstring)


def time_blocks(metrics: ReplayMetrics, block_s: float = BLOCK_S) -> list[int]:
    """Block number of each frame: whole ``block_s`` seconds since the first stamp."""
    stamps = np.array([rec.stamp_ns for rec in metrics.frames], np.int64)
    if not len(stamps):
        return []
    return ((stamps - stamps.min()) // int(block_s * 1e9)).tolist()


def replay_intervals(metrics: ReplayMetrics, conf: float, block_s: float = BLOCK_S,
                     resamples: int = RESAMPLES, seed: int = SEED) -> dict[str, Any]:
    """mAP50, person AP50, VRU recall (all, by height) and false alarms, with intervals."""
    groups = time_blocks(metrics, block_s)
    out: dict[str, Any] = {'block_s': block_s, 'blocks': len(set(groups)),
                           'resampled': 'blocks of time (frames of one drive are not '
                                        'independent)', 'figures': {}}
    if not groups:
        return out
    w = WeightedReplay(metrics, conf)
    names = list(metrics.names)
    vru = vru_ids(names)
    stats = {'mAP50': w.map50}
    if 'person' in names:
        person = names.index('person')
        stats['person AP50'] = lambda x: w.ap50(x, person)
        stats['person recall'] = lambda x: w.recall(x, person)
        for h in HEIGHT_BUCKETS:
            stats[f'person recall {h}'] = (lambda hh: lambda x: w.recall(x, person, hh))(h)
    stats['false alarms per frame'] = lambda x: sum(
        w.false_positives_per_frame(x, k) for k in range(len(names)))
    if vru:
        stats['VRU false alarms per frame'] = lambda x: sum(
            w.false_positives_per_frame(x, k) for k in vru)
    for label, stat in stats.items():
        out['figures'][label] = interval(stat, groups, n_resamples=resamples,
                                         seed=seed).as_dict()
    return out


def markdown_lines(block: dict[str, Any]) -> list[str]:
    """Return the report's interval table (or why there is none)."""
    n = block.get('blocks', 0)
    lines = ['', f'## 95% intervals ({n} blocks of {block["block_s"]:g} s resampled)', '',
             'Frames of one drive are not independent, so whole blocks of time are resampled '
             '(bootstrap, BCa); an interval over a few blocks is wide, honestly.']
    if n < 2:
        return lines + ['', 'No intervals: the recording spans fewer than two blocks.']
    lines += ['', '| figure | value | 95% interval |', '|---|---:|---|']
    for label, iv in block['figures'].items():
        def f(v: float | None) -> str:
            return '-' if v is None else f'{v:.3f}'
        lines.append(f'| {label} | {f(iv["estimate"])} | [{f(iv["low"])}, {f(iv["high"])}] |')
    return lines
