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
The pipeline's final table: size, FP32 and INT8 accuracy, INT8 drop, CPU latency, plots.

Accuracy comes from ultralytics' validator on the exported ONNX files (the reference metric
engine); latency from our own ONNX Runtime backend, which is what the node runs.
"""
from __future__ import annotations

import json
from pathlib import Path
import statistics
import time
from typing import Any

import numpy as np

LABELS = {'teacher': 'teacher', 'plain_student': 'plain student', 'kd_student': 'KD student',
          'pruned_kd_student': 'pruned KD student'}


def model_size(weights: Path, imgsz: int) -> dict[str, float]:
    """Parameters and GFLOPs (2 x MACs) of a checkpoint at ``imgsz`` x ``imgsz``."""
    from .prune.checkpoint import load_model
    from .prune.report import measure_cost

    cost = measure_cost(load_model(weights), imgsz)
    return {'params': cost.params, 'gflops': cost.flops / 1e9, 'imgsz': imgsz}


def backend_latency_ms(onnx_path: Path, runs: int, threads: int = 1) -> float:
    """Median ms of one inference through the runtime's ONNX Runtime backend (CPU, batch 1)."""
    from vru_detector.backends.onnxruntime import OnnxRuntimeBackend

    backend = OnnxRuntimeBackend(onnx_path, threads=threads)
    h, w = backend.info.input_shape
    x = np.random.default_rng(0).random((1, 3, h, w), dtype=np.float32)
    for _ in range(3):
        backend.infer(x)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        backend.infer(x)
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def precision_at_recall(result, recall: float) -> float:
    """Return class-mean precision at the highest confidence whose mean recall is ``recall``."""
    p, r = np.asarray(result.box.p_curve), np.asarray(result.box.r_curve)
    if p.size == 0:
        return 0.0
    p_mean, r_mean = p.mean(0), r.mean(0)
    reached = np.flatnonzero(r_mean >= recall)
    return float(p_mean[reached.max()]) if reached.size else 0.0


def max_recall(result) -> float:
    r = np.asarray(result.box.r_curve)
    return float(r.mean(0).max()) if r.size else 0.0


def evaluate_models(weights: dict[str, Path], fp32: dict[str, Path], int8: dict[str, Path],
                    data_yaml: Path, out_dir: Path, split: str, conf: float,
                    latency_runs: int) -> list[dict[str, Any]]:
    """Evaluate every model FP32 and INT8; write report.md, metrics.json and plots to out_dir."""
    from tqdm import tqdm

    from .evaluate import metrics_of, model_precision_and_size, validate_onnx_full
    from .val_summary import summarize

    results: dict[str, dict[str, Any]] = {}
    for name in tqdm(list(fp32), desc='evaluate', unit='model'):
        imgsz = max(model_precision_and_size(fp32[name])[1])
        row: dict[str, Any] = {'model': name, 'label': LABELS.get(name, name),
                               **model_size(weights[name], imgsz)}
        for precision, path in (('fp32', fp32[name]), ('int8', int8.get(name))):
            if path is None:
                continue
            full = validate_onnx_full(path, data_yaml, split, out_dir / 'val', conf)
            row[precision] = {**vars(metrics_of(full)), **summarize(full)}
            row[f'{precision}_latency_ms'] = backend_latency_ms(path, latency_runs)
            row[f'_{precision}_result'] = full
        results[name] = row
    common = min((max_recall(r[f'_{p}_result']) for r in results.values()
                  for p in ('fp32', 'int8') if f'_{p}_result' in r), default=0.0)
    common = common if common > 0 else None  # no model finds anything: nothing to compare at
    for row in results.values():
        row['equal_recall'] = common
        for p in ('fp32', 'int8'):
            full = row.pop(f'_{p}_result', None)
            if full is not None and common is not None:
                row[f'{p}_precision_at_equal_recall'] = precision_at_recall(full, common)
        if 'int8' in row:
            row['int8_drop'] = {k: row['fp32'][k] - row['int8'][k] for k in row['fp32']
                                if k not in ('ap50', 'pr_at_0.25')}
            base = row['fp32']['map50']
            row['int8_drop_map50_relative'] = (row['int8_drop']['map50'] / base) if base else None
    rows = list(results.values())
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / 'metrics.json').write_text(json.dumps(rows, indent=2))
    plot_accuracy(rows, out_dir / 'accuracy.png')
    (out_dir / 'report.md').write_text(markdown_report(rows, data_yaml, split))
    return rows


def _pct(x: float | None) -> str:
    return '-' if x is None else f'{100 * x:.1f}'


def markdown_report(rows: list[dict[str, Any]], data_yaml: Path, split: str) -> str:
    """Render the table a user reads first, with what every number means."""
    head = ('| model | params (M) | GFLOPs | FP32 mAP50 | FP32 mAP50-95 | FP32 P | FP32 R '
            '| INT8 mAP50 | INT8 mAP50-95 | INT8 P | INT8 R | INT8 drop mAP50 (rel.) '
            '| person AP50 FP32 | person AP50 INT8 | INT8 P/R @0.25 '
            '| P@R FP32 | P@R INT8 | ORT CPU ms FP32 | ORT CPU ms INT8 |')
    lines = [head, '|---|' + '---:|' * (head.count('|') - 2)]
    for r in rows:
        f, q = r.get('fp32', {}), r.get('int8', {})
        rel = r.get('int8_drop_map50_relative')
        lines.append('| ' + ' | '.join([
            r['label'], f'{r["params"] / 1e6:.2f}', f'{r["gflops"]:.2f}',
            _pct(f.get('map50')), _pct(f.get('map50_95')), _pct(f.get('precision')),
            _pct(f.get('recall')), _pct(q.get('map50')), _pct(q.get('map50_95')),
            _pct(q.get('precision')), _pct(q.get('recall')),
            '-' if rel is None else f'{100 * rel:+.1f}%',
            _pct(f.get('ap50', {}).get('person')), _pct(q.get('ap50', {}).get('person')),
            f'{_pct(q.get("precision_at_0.25"))}/{_pct(q.get("recall_at_0.25"))}',
            _pct(r.get('fp32_precision_at_equal_recall')),
            _pct(r.get('int8_precision_at_equal_recall')),
            f'{r.get("fp32_latency_ms", float("nan")):.1f}',
            f'{r.get("int8_latency_ms", float("nan")):.1f}']) + ' |')
    imgsz = rows[0]['imgsz'] if rows else '?'
    recall = rows[0].get('equal_recall') if rows else None
    recall_text = 'n/a (no model recalls anything)' if recall is None else f'{recall:.3f}'
    return '\n'.join([
        '# Pipeline report', '',
        f"Dataset `{data_yaml}`, split `{split}`. Metrics in % from ultralytics' validator on "
        'the exported ONNX files (ONNX Runtime, CPU, batch 1); INT8 is the explicit Q/DQ model.',
        f'GFLOPs at {imgsz}x{imgsz}. INT8 drop = (FP32 - INT8) / FP32 mAP50 (positive: INT8 '
        f'worse). P@R: class-mean precision at recall {recall_text}, the highest recall every '
        "model reaches. Latency: median of single-thread inferences through vru_detector's "
        'ONNX Runtime backend on this machine. This table has no intervals (one validator '
        "pass on the recipe's validation split); the street benchmark below gives 95% "
        'intervals and the paired difference to the pretrained start.', '',
        *lines, '', '![accuracy](accuracy.png)', ''])


def plot_accuracy(rows: list[dict[str, Any]], path: Path) -> Path:
    """Plot grouped bars: FP32 and INT8 mAP50 per model."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(5, 1.6 * len(rows) + 2), 4))
    x = np.arange(len(rows))
    for i, p in enumerate(('fp32', 'int8')):
        ax.bar(x + (i - 0.5) * 0.38, [100 * r.get(p, {}).get('map50', 0.0) for r in rows], 0.38,
               label=p.upper())
    ax.set_xticks(x, [r['label'] for r in rows])
    ax.set_ylabel('mAP50 (%)')
    ax.set_title('FP32 vs INT8 accuracy per model')
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
