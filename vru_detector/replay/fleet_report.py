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
The figures of a fleet run: one row per bag and the pooled row, as a table and as JSON.

Pooled figures are one COCO evaluation over every frame of every bag
(:meth:`ReplayMetrics.pooled`), not a mean of per-bag figures.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .bag_task import BagResult
from .eval_run import percentiles
from .metrics import Conf, ReplayMetrics

PERSON = 'person'
COLUMNS = (  # (row key, table heading)
    ('frames', 'frames'), ('pedestrians', 'pedestrians'), ('person_ap50', 'person AP50'),
    ('person_recall', 'person R'), ('recall_small', 'R small'), ('recall_medium', 'R medium'),
    ('recall_large', 'R large'), ('fp_per_frame', 'person FP/frame'),
    ('detector_ms_p50', 'detector ms p50'), ('realtime_drops', 'realtime drops'),
    ('MOTA', 'MOTA'), ('IDF1', 'IDF1'), ('HOTA', 'HOTA'), ('IDSW', 'ID sw'))


def person_ap50(metrics: ReplayMetrics) -> float | None:
    """COCO AP at IoU 0.5 of the person class (None: no person in the ground truth)."""
    if PERSON not in metrics.names or not metrics.frames:
        return None
    k = metrics.names.index(PERSON)
    value = metrics.coco().mean_ap(cls=k, iou=0.5)
    return None if np.isnan(value) else round(value, 6)


def figures(metrics: ReplayMetrics | None, conf: Conf, detector_ms: np.ndarray,
            realtime: Sequence[dict | None] = (), tracking: dict | None = None) -> dict:
    """Return the row of one bag, or of several (``realtime``: the bags' realtime sections)."""
    row: dict[str, Any] = dict.fromkeys(k for k, _ in COLUMNS)
    if metrics is None:
        return row
    op = metrics.operating_point(conf, size_classes=(PERSON,))
    person = op['by_class'].get(PERSON) or {}
    k = metrics.names.index(PERSON) if PERSON in metrics.names else -1
    row.update({
        'frames': len(metrics.frames),
        'pedestrians': int(sum(((r.truth.class_ids == k) & ~r.truth.ignore).sum()
                               for r in metrics.frames)),
        'person_ap50': person_ap50(metrics), 'person_recall': person.get('recall'),
        'recall_small': op['recall_by_size']['small'],
        'recall_medium': op['recall_by_size']['medium'],
        'recall_large': op['recall_by_size']['large'],
        'fp_per_frame': round(person['fp'] / len(metrics.frames), 6) if person else None,
        'detector_ms_p50': percentiles(detector_ms)['p50']})
    sections = [r for r in realtime if r]
    if sections:
        row['realtime_drops'] = sum(r['dropped_frames'] for r in sections)
    if tracking and tracking.get('all_frames'):
        m = tracking['all_frames']['metrics']
        row.update({'MOTA': round(m['MOTA'], 4), 'IDF1': round(m['IDF1'], 4),
                    'HOTA': round(m['HOTA'], 4), 'IDSW': m['IDSW']})
    return row


def bag_row(name: str, result: BagResult, conf: Conf) -> dict:
    row = {'bag': name, **figures(result.metrics, conf, result.detector_ms, [result.realtime],
                                  result.tracking)}
    row.update({'frames_in_bag': result.frames_in_bag, 'wall_s': round(result.wall_s, 3),
                'cpu_s': round(result.cpu_s, 3), 'cached': result.cached,
                'error': result.error})
    return row


def pooled_metrics(results: Sequence[BagResult]) -> ReplayMetrics | None:
    parts = [r.metrics for r in results if r.metrics is not None]
    return ReplayMetrics.pooled(parts) if parts else None


def pooled_row(results: Sequence[BagResult], conf: Conf) -> dict:
    """Figures over every evaluated frame of ``results`` (one evaluation, not a mean)."""
    ms = np.concatenate([r.detector_ms for r in results]) if results else np.zeros(0)
    n = sum(1 for r in results if r.frames)
    row = {'bag': f'pooled ({n} bag{"s" if n != 1 else ""})',
           **figures(pooled_metrics(results), conf, ms, [r.realtime for r in results])}
    row['error'] = None
    return row


def _cell(value: Any) -> str:
    if value is None:
        return '-'
    if isinstance(value, float):
        return f'{value:.3f}'
    return str(value)


def markdown_table(rows: Sequence[dict]) -> str:
    """Rows as a markdown table; columns that are empty in every row are left out."""
    cols = [(k, h) for k, h in COLUMNS if any(r.get(k) is not None for r in rows)]
    lines = ['| bag | ' + ' | '.join(h for _, h in cols) + ' | error |',
             '|---|' + '---|' * len(cols) + '---|']
    for r in rows:
        error = (r.get('error') or '').replace('|', '/').replace('\n', ' ')
        note = ' (cached)' if r.get('cached') else ''
        lines.append(f'| {r["bag"]}{note} | ' + ' | '.join(_cell(r.get(k)) for k, _ in cols)
                     + f' | {error[:160] or "-"} |')
    return '\n'.join(lines) + '\n'
