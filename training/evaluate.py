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
FP32 vs INT8 accuracy of each model, with 95% intervals: the library of ``vru-train evaluate``.

Each FP32 ONNX is paired with its Q/DQ INT8 sibling (``<stem>_int8.onnx`` as written by
``vru-train calibrate``, or ``--int8`` in the same order). Both go through the street
benchmark (``vru_detector.replay.benchmark``: the runtime's Detector, intervals resampling
whole groups, a paired FP32 -> INT8 difference): on ``--data``'s split when given (each image
its own group), else on the pooled street sources. With ``--data`` they also run through
``YOLO(onnx).val`` (the reference metric code: mAP50, mAP50-95, P, R; ONNX Runtime, CPU).
Writes ``evaluation.md``, ``benchmark/<model>/`` and, with ``--data``, ``evaluation.json`` and
``int8_drop.png``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
import json
import os
from pathlib import Path
from typing import Sequence

from .stages.evaluate import EvaluateSettings

DEFAULT = EvaluateSettings

METRICS = ('map50', 'map50_95', 'precision', 'recall')


@dataclass(frozen=True)
class Metrics:
    """Detection metrics of one model on one split (fractions in [0, 1])."""

    map50: float
    map50_95: float
    precision: float
    recall: float


@dataclass(frozen=True)
class ComparisonRow:
    """One model's FP32 and INT8 metrics and the INT8 drop (positive = INT8 is worse)."""

    name: str
    fp32_model: str
    int8_model: str | None
    fp32: Metrics
    int8: Metrics | None

    def drop(self, metric: str) -> float | None:
        if self.int8 is None:
            return None
        return getattr(self.fp32, metric) - getattr(self.int8, metric)


def model_precision_and_size(path: str | Path) -> tuple[str, tuple[int, int]]:
    from training.export import read_metadata
    from vru_detector.artifact import artifact_from_metadata

    info = artifact_from_metadata(read_metadata(path), str(path))
    return info.precision, info.input_shape


def validate_onnx(model: str | Path, data_yaml: str | Path, split: str = DEFAULT.split,
                  workdir: str | Path | None = None, conf: float = DEFAULT.conf) -> Metrics:
    """mAP50, mAP50-95, P and R of an ONNX model from ``YOLO(model).val`` (batch 1, CPU)."""
    return metrics_of(validate_onnx_full(model, data_yaml, split, workdir, conf))


def metrics_of(result) -> Metrics:
    """Our Metrics from an ultralytics ``DetMetrics`` result."""
    box = result.box
    return Metrics(float(box.map50), float(box.map), float(box.mp), float(box.mr))


def validate_onnx_full(model: str | Path, data_yaml: str | Path, split: str = DEFAULT.split,
                       workdir: str | Path | None = None, conf: float = DEFAULT.conf):
    """Run ultralytics' validator on an ONNX model; return its ``DetMetrics`` (curves too)."""
    import tempfile

    os.environ.setdefault('YOLO_OFFLINE', '1')
    from ultralytics import YOLO

    from training.datasets import stage_dataset

    _, (h, w) = model_precision_and_size(model)
    with tempfile.TemporaryDirectory(prefix='vru-eval-') as tmp:
        work = Path(workdir) if workdir else Path(tmp)
        data = stage_dataset(Path(data_yaml), work / 'data')
        model = cpu_ready(Path(model), work / 'cpu_models')
        return YOLO(str(model), task='detect').val(
            data=str(data), split=split, imgsz=max(h, w), batch=1, conf=conf, device='cpu',
            plots=False,
            verbose=False, project=str(work / 'val'), name=Path(model).stem, exist_ok=True)


def cpu_ready(model: Path, folder: Path) -> Path:
    """
    Return the file ONNX Runtime should validate: ``model``, or the runtime's CPU form of it.

    Ultralytics' validator loads the file into a plain ONNX Runtime session, but a Q/DQ model
    runs on x86 CPUs as vru_detector's backend prepares it (same quantized values; uint8
    activations, and uint8 weights where the CPU lacks VNNI, since ONNX Runtime's
    int8-weight kernels saturate there), so INT8 is measured the way the runtime computes it.
    """
    from vru_detector.backends.qdq_layout import cpu_model_source

    source = cpu_model_source(model, 'cpu')
    if not isinstance(source, bytes):
        return model
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / model.name
    out.write_bytes(source)
    return out


def int8_sibling(fp32: Path) -> Path | None:
    candidate = fp32.with_name(fp32.stem + '_int8.onnx')
    return candidate if candidate.is_file() else None


def compare(fp32_models: Sequence[Path], int8_models: Sequence[Path | None], data_yaml: Path,
            split: str = DEFAULT.split, conf: float = DEFAULT.conf) -> list[ComparisonRow]:
    """Validate every FP32 model and its INT8 counterpart."""
    from tqdm import tqdm

    rows = []
    pairs = list(zip(fp32_models, int8_models))
    for fp32, int8 in tqdm(pairs, desc='evaluate', unit='model'):
        for path, want in ((fp32, 'fp32'), (int8, 'int8')):
            if path is not None and model_precision_and_size(path)[0] != want:
                raise ValueError(f'{path}: metadata says precision '
                                 f'{model_precision_and_size(path)[0]}, expected {want} here')
        rows.append(ComparisonRow(
            Path(fp32).stem, str(fp32), str(int8) if int8 else None,
            validate_onnx(fp32, data_yaml, split, conf=conf),
            validate_onnx(int8, data_yaml, split, conf=conf) if int8 else None))
    return rows


def _pct(x: float | None) -> str:
    return '-' if x is None else f'{100 * x:.2f}'


def markdown_table(rows: Sequence[ComparisonRow]) -> str:
    head = ['model'] + [f'{p} {m}' for m in METRICS for p in ('FP32', 'INT8')] + \
           ['mAP50 drop', 'mAP50-95 drop']
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' + '---:|' * (len(head) - 1)]
    for r in rows:
        cells = [r.name]
        for m in METRICS:
            cells += [_pct(getattr(r.fp32, m)), _pct(getattr(r.int8, m) if r.int8 else None)]
        cells += [_pct(r.drop('map50')), _pct(r.drop('map50_95'))]
        lines.append('| ' + ' | '.join(cells) + ' |')
    note = 'Values in %, ultralytics validator, ONNX Runtime CPU, batch 1.'
    return '\n'.join(lines) + f'\n\n{note}\n'


def plot_drop(rows: Sequence[ComparisonRow], path: Path) -> Path:
    """Bar plot of the INT8 drop per metric and model (percentage points)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(max(5, 1.8 * len(rows) + 2), 4))
    width = 0.8 / len(METRICS)
    x = np.arange(len(rows))
    for i, m in enumerate(METRICS):
        drops = [100 * (r.drop(m) or 0.0) for r in rows]
        ax.bar(x + i * width - 0.4 + width / 2, drops, width, label=m)
    ax.axhline(0, color='black', linewidth=0.8)
    ax.set_xticks(x, [r.name for r in rows])
    ax.set_ylabel('FP32 - INT8 (percentage points)')
    ax.set_title('INT8 accuracy drop (positive = INT8 worse)')
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(rows: Sequence[ComparisonRow], out_dir: str | Path) -> dict[str, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {'md': out_dir / 'evaluation.md', 'json': out_dir / 'evaluation.json',
             'png': out_dir / 'int8_drop.png'}
    paths['md'].write_text('# FP32 vs INT8\n\n' + markdown_table(rows))
    payload = [{**asdict(r), 'drop': {m: r.drop(m) for m in METRICS}} for r in rows]
    paths['json'].write_text(json.dumps(payload, indent=2))
    plot_drop(rows, paths['png'])
    return paths


def benchmark_pairs(fp32: Sequence[Path], int8: Sequence[Path | None], sources,
                    out: Path) -> str:
    """Benchmark each FP32 model with its INT8 twin (paired); return the Markdown."""
    from vru_detector.replay.bench_report import markdown, write_outputs
    from vru_detector.replay.benchmark import run_benchmark

    parts = []
    for f, q in zip(fp32, int8):
        models = [f] + ([q] if q else [])
        names = ['FP32'] + (['INT8'] if q else [])
        result = run_benchmark(models, names=names, loaded=sources)
        write_outputs(result, out / 'benchmark' / Path(f).stem)
        body = markdown(result).split('\n', 1)[1].replace('\n## ', '\n### ')
        parts.append(f'## {Path(f).stem}\n{body}')
    return '\n'.join(parts)
