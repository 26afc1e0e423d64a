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
Per-layer INT8 sensitivity: quantize one conv at a time, measure how far the output moves.

The ranking says which layers to keep in float (``vru-train calibrate --keep-float N``). Ranges
come from the one calibration run (cached), so each layer costs one quantize pass and a few
forward passes, and the ranking is the same on every run with the same images and seed.
"""
from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path
import tempfile
from typing import Sequence

import numpy as np

from .qdq import conv_layers, ensure_node_names, float_nodes, quantize_qdq, QuantSettings


@dataclass(frozen=True)
class LayerSensitivity:
    """Output error of the model with only ``layer`` quantized (relative, 0 = identical)."""

    layer: str
    error: float
    score_error: float
    box_error: float


def output_error(ref: np.ndarray, out: np.ndarray, top_k: int = 100) -> tuple[float, float]:
    """
    Relative L2 error of (boxes, scores) over each image's ``top_k`` most confident anchors.

    ``ref``/``out`` are raw heads ``[B, 4+nc, N]``. Background anchors are ignored: their
    boxes are never shown, and relative error keeps score and pixel units comparable.
    """
    box_num = box_den = score_num = score_den = 0.0
    for r, o in zip(ref, out):
        top = np.argsort(-r[4:].max(0))[:top_k]
        rb, ob = r[:4, top], o[:4, top]
        rs, os_ = r[4:, top], o[4:, top]
        box_num += float(np.sum((rb - ob) ** 2))
        box_den += float(np.sum(rb ** 2))
        score_num += float(np.sum((rs - os_) ** 2))
        score_den += float(np.sum(rs ** 2))
    box = (box_num / max(box_den, 1e-12)) ** 0.5
    score = (score_num / max(score_den, 1e-12)) ** 0.5
    return box, score


def run_model(path: str | Path, inputs: Sequence[np.ndarray]) -> np.ndarray:
    """Raw outputs of an ONNX model on a list of ``[1,3,H,W]`` inputs, stacked on axis 0."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    session = ort.InferenceSession(str(path), opts, providers=['CPUExecutionProvider'])
    name = session.get_inputs()[0].name
    return np.concatenate([session.run(None, {name: x})[0] for x in inputs])


def layer_sensitivity(fp32_model: str | Path, reader, settings: QuantSettings,
                      cache_path: str | Path, inputs: Sequence[np.ndarray],
                      layers: Sequence[str] | None = None) -> list[LayerSensitivity]:
    """Rank conv layers by output error when only that layer is INT8 (most sensitive first)."""
    import onnx
    from tqdm import tqdm

    model = onnx.load(str(fp32_model))
    ensure_node_names(model)
    base = QuantSettings(**{**asdict(settings), 'keep_float': ()})
    candidates = (list(layers) if layers is not None
                  else conv_layers(model, float_nodes(model, base)))
    reference = run_model(fp32_model, inputs)
    results = []
    with tempfile.TemporaryDirectory(prefix='vru-sens-') as tmp:
        out = Path(tmp) / 'one_layer.onnx'
        for layer in tqdm(candidates, desc='layer sensitivity', unit='layer'):
            quantize_qdq(fp32_model, out, reader, base, cache_path, nodes_to_quantize=[layer],
                         cpu_layout=False)  # the error of the file's own placement
            box, score = output_error(reference, run_model(out, inputs))
            results.append(LayerSensitivity(layer, box + score, score, box))
    return sorted(results, key=lambda r: (-r.error, r.layer))


def write_sensitivity_report(results: Sequence[LayerSensitivity], out_dir: str | Path,
                             top_plot: int = 30) -> dict[str, Path]:
    """``sensitivity.csv``, ``sensitivity.md`` and ``sensitivity.png`` (top layers, bar plot)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {'csv': out_dir / 'sensitivity.csv', 'md': out_dir / 'sensitivity.md',
             'png': out_dir / 'sensitivity.png'}
    with paths['csv'].open('w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['rank', 'layer', 'error', 'score_error', 'box_error'])
        for i, r in enumerate(results, 1):
            writer.writerow([i, r.layer, f'{r.error:.6g}', f'{r.score_error:.6g}',
                             f'{r.box_error:.6g}'])
    lines = ['# INT8 per-layer sensitivity', '',
             'Relative output error (top-100 anchors per image) with only that layer in INT8.', '',
             '| rank | layer | error | score error | box error |', '|---:|---|---:|---:|---:|']
    lines += [f'| {i} | `{r.layer}` | {r.error:.4g} | {r.score_error:.4g} | {r.box_error:.4g} |'
              for i, r in enumerate(results, 1)]
    paths['md'].write_text('\n'.join(lines) + '\n')

    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    shown = list(results[:top_plot])[::-1]
    fig, ax = plt.subplots(figsize=(9, 0.28 * len(shown) + 1.5))
    ax.barh([r.layer for r in shown], [r.error for r in shown], color='tab:red')
    ax.set_xlabel('relative output error, only this layer INT8')
    ax.set_title(f'INT8 sensitivity: top {len(shown)} layers')
    ax.tick_params(axis='y', labelsize=7)
    fig.tight_layout()
    fig.savefig(paths['png'], dpi=110)
    plt.close(fig)
    return paths
