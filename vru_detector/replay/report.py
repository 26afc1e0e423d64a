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
The evaluation report: metrics.json, report.md, PNGs (PR curves, confusion, worst frames).

Plots use matplotlib's Agg backend (no display needed); the worst-frames grid marks missed
objects in red, false alarms in orange, hits in green, so problems are visible at a glance.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Mapping, Sequence

import cv2
import numpy as np

from .metrics import Conf, conf_text, FrameRecord, threshold_at
from ..labels import vru_names

MISS_BGR = (0, 0, 255)         # red: a ground-truth object nobody found
FALSE_ALARM_BGR = (0, 165, 255)  # orange: a detection with no object under it
HIT_BGR = (0, 200, 0)          # green: correct detection


def _plt():
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    return plt


def write_json(path: Path, data: Mapping) -> Path:
    def default(o: object) -> object:
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        raise TypeError(type(o).__name__)

    def clean(o: object) -> object:
        if isinstance(o, float) and not math.isfinite(o):
            return None
        if isinstance(o, dict):
            return {k: clean(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [clean(v) for v in o]
        return o

    path.write_text(json.dumps(clean(data), indent=2, default=default))
    return path


def plot_pr_curves(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], ap50: Mapping[str, float],
                   path: Path) -> Path:
    """Precision-recall at IoU 0.5 per class (interpolated as COCO does)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 5), dpi=110)
    for name, (rc, pr) in curves.items():
        env = np.maximum.accumulate(pr[::-1])[::-1] if len(pr) else pr
        ap = ap50.get(name)
        ax.plot(rc, env, label=f'{name} AP50={ap:.3f}' if ap is not None else name)
    ax.set(xlabel='recall', ylabel='precision', xlim=(0, 1), ylim=(0, 1.02),
           title='Precision-recall (IoU 0.5)')
    ax.grid(alpha=0.3)
    if curves:
        ax.legend(loc='lower left', fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_confusion(matrix: np.ndarray, labels: Sequence[str], path: Path) -> Path:
    """Plot counts, coloured by the share of the true class (rows: predicted)."""
    plt = _plt()
    m = np.asarray(matrix, np.float64)
    col = m.sum(0, keepdims=True)
    norm = np.divide(m, col, out=np.zeros_like(m), where=col > 0)
    fig, ax = plt.subplots(figsize=(6.5, 5.5), dpi=110)
    im = ax.imshow(norm, cmap='Blues', vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha='right')
    ax.set_yticks(range(len(labels)), labels)
    ax.set(xlabel='true', ylabel='predicted', title='Confusion matrix (IoU 0.5, operating conf)')
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            if m[i, j]:
                ax.text(j, i, int(m[i, j]), ha='center', va='center', fontsize=8,
                        color='white' if norm[i, j] > 0.5 else 'black')
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def annotate_errors(image: np.ndarray, rec: FrameRecord, names: Sequence[str],
                    conf: Conf) -> np.ndarray:
    """Draw misses (red), false alarms (orange) and hits (green) on a copy of the frame."""
    out = image.copy()
    thick = max(2, round(max(out.shape[:2]) / 400))
    for box, cls, ign, score in zip(rec.truth.xyxy, rec.truth.class_ids, rec.truth.ignore,
                                    rec.gt_score):
        if ign or score >= threshold_at(conf, cls):
            continue
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        cv2.rectangle(out, (x1, y1), (x2, y2), MISS_BGR, thick)
        cv2.putText(out, f'MISS {names[cls]}', (x1, max(12, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.5 * thick / 2, MISS_BGR, max(1, thick // 2))
    for box, cls, score, tp, ign in zip(rec.xyxy, rec.class_ids, rec.scores, rec.det_tp,
                                        rec.det_on_ignore):
        if score < threshold_at(conf, cls) or ign:
            continue
        color = HIT_BGR if tp else FALSE_ALARM_BGR
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        cv2.rectangle(out, (x1, y1), (x2, y2), color, thick)
        if not tp:
            cv2.putText(out, f'FA {names[cls]} {score:.2f}', (x1, min(out.shape[0] - 4, y2 + 14)),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.5 * thick / 2, color, max(1, thick // 2))
    return out


def plot_worst_frames(tiles: Sequence[tuple[str, np.ndarray]], path: Path,
                      columns: int = 3) -> Path | None:
    """Plot a grid of annotated frames with their titles."""
    if not tiles:
        return None
    plt = _plt()
    rows = math.ceil(len(tiles) / columns)
    cols = min(columns, len(tiles))
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.2 * rows), dpi=110,
                             squeeze=False)
    for ax in axes.ravel():
        ax.axis('off')
    for ax, (title, img) in zip(axes.ravel(), tiles):
        ax.imshow(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
        ax.set_title(title, fontsize=8)
    fig.suptitle('Worst frames: red = missed object, orange = false alarm, green = hit',
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _fmt(v: object, digits: int = 3) -> str:
    if v is None:
        return '-'
    if isinstance(v, float):
        return f'{v:.{digits}f}'
    return str(v)


def write_markdown(metrics: Mapping, path: Path, images: Sequence[str] = ()) -> Path:
    """Write report.md, a human summary of metrics.json."""
    c = metrics.get('coco', {})
    op = metrics.get('operating_point', {})
    lines = [f'# Replay evaluation: {metrics.get("bag", "")}', '']
    run = metrics.get('run', {})
    lines += [f'- model: `{run.get("model", "")}` ({run.get("backend", "")}, input '
              f'{run.get("input_shape", "")})',
              f'- image topic: `{run.get("image_topic", "")}`, frames evaluated: '
              f'{metrics.get("frames", 0)} of {run.get("frames_in_bag", "?")}',
              f'- ground truth: {run.get("ground_truth", "")}',
              f'- operating threshold: conf >= {conf_text(op.get("conf", ""))}; mAP from '
              f'detections at conf >= {run.get("eval_conf", "")}']
    if run.get('error'):
        lines += ['', f'**Stopped early:** {run["error"]}  ',
                  'The metrics below cover the frames processed before the error.']
    lines += ['', '## Accuracy', '',
              '| class | GT | mAP50-95 | mAP50 | P | R | F1 | FP | FN | P@R0.5 | P@R0.7 |',
              '|---|---|---|---|---|---|---|---|---|---|---|']
    par = metrics.get('precision_at_recall', {})
    gt = metrics.get('ground_truth_boxes', {})
    for name, d in c.get('by_class', {}).items():
        o = op.get('by_class', {}).get(name, {})
        pr = par.get(name, {})
        lines.append(
            f'| {name} | {gt.get(name, 0)} | {_fmt(d.get("mAP50_95"))} | {_fmt(d.get("mAP50"))} '
            f'| {_fmt(o.get("precision"))} | {_fmt(o.get("recall"))} | {_fmt(o.get("f1"))} '
            f'| {o.get("fp", "-")} | {o.get("fn", "-")} '
            f'| {_fmt(pr.get("0.5", {}).get("precision"))} '
            f'| {_fmt(pr.get("0.7", {}).get("precision"))} |')
    a = op.get('all', {})
    lines.append(f'| **all** | {sum(gt.values())} | **{_fmt(c.get("mAP50_95"))}** | '
                 f'**{_fmt(c.get("mAP50"))}** | {_fmt(a.get("precision"))} | '
                 f'{_fmt(a.get("recall"))} | {_fmt(a.get("f1"))} | {a.get("fp", "-")} | '
                 f'{a.get("fn", "-")} | {_fmt(par.get("mean", {}).get("0.5"))} | '
                 f'{_fmt(par.get("mean", {}).get("0.7"))} |')
    lines += ['', '| box size | mAP50-95 | mAP50 | recall at conf |', '|---|---|---|---|']
    for area, d in c.get('by_area', {}).items():
        lines.append(f'| {area} | {_fmt(d.get("mAP50_95"))} | {_fmt(d.get("mAP50"))} | '
                     f'{_fmt(op.get("recall_by_size", {}).get(area))} |')
    vru = op.get('vru') or {}
    vru_classes = ', '.join(metrics.get('run', {}).get('vru_classes') or vru_names())
    missed = metrics.get('missed_vru', [])
    lines += ['', '## Safety', '',
              f'- VRU recall ({vru_classes}): {_fmt(vru.get("recall"))}, '
              f'precision {_fmt(vru.get("precision"))}',
              f'- false positives per frame: {_fmt(op.get("false_positives_per_frame"))}',
              f'- missed VRUs: {sum(len(m["objects"]) for m in missed)} in {len(missed)} frames'
              + (' (first 20 below; all in metrics.json)' if len(missed) > 20 else '')]
    if missed:
        lines += ['', '| frame | key | stamp (ns) | missed |', '|---|---|---|---|']
        for m in missed[:20]:
            objs = ', '.join(f'{o["class"]} ({o["size"]})' for o in m['objects'])
            lines.append(f'| {m["frame"]} | {m["key"]} | {m["stamp_ns"]} | {objs} |')
    block = metrics.get('intervals')
    if block:
        from .replay_intervals import markdown_lines
        lines += (markdown_lines(block) if 'skipped' not in block else
                  ['', f'No 95% intervals: {block["skipped"]}'])
    lat = metrics.get('latency', {})
    if lat:
        lines += ['', '## Latency', '',
                  '| stage | p50 ms | p95 ms | p99 ms | mean ms |', '|---|---|---|---|---|']
        for stage, d in lat.get('stages', {}).items():
            lines.append(f'| {stage} | {_fmt(d.get("p50"), 2)} | {_fmt(d.get("p95"), 2)} | '
                         f'{_fmt(d.get("p99"), 2)} | {_fmt(d.get("mean"), 2)} |')
        lines += ['', f'- throughput: {_fmt(lat.get("throughput_fps"), 1)} frames/s '
                  f'(detector only: {_fmt(lat.get("detector_fps"), 1)} frames/s)']
    rt = metrics.get('realtime')
    if rt:
        lines += ['', '## Real-time replay (single slot, newest frame wins)', '',
                  f'- recorded rate {_fmt(rt.get("recorded_fps"), 1)} Hz; dropped '
                  f'{rt.get("dropped_frames")} of {rt.get("frames")} frames '
                  f'({_fmt(rt.get("drop_rate"))})',
                  f'- recall under drops: {_fmt(rt.get("recall"))} (all classes), '
                  f'{_fmt(rt.get("vru_recall"))} (VRU) vs {_fmt(a.get("recall"))} / '
                  f'{_fmt(vru.get("recall"))} offline',
                  '- end-to-end latency p50/p95/p99: ' + ' / '.join(
                      _fmt(rt.get('end_to_end_ms', {}).get(q), 1) for q in ('p50', 'p95', 'p99'))
                  + ' ms']
    if images:
        lines += ['', '## Plots', ''] + [f'![{Path(p).stem}]({Path(p).name})' for p in images]
    path.write_text('\n'.join(lines) + '\n')
    return path
