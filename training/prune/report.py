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
Pruning report: params, MACs/FLOPs (image size stated), ONNX Runtime CPU latency, mAP.

MACs come from Torch-Pruning's ``count_ops_and_params`` (one multiply-accumulate per MAC);
FLOPs are reported as 2 x MACs, the convention ultralytics' GFLOPs also uses.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
import json
from pathlib import Path
import time
from typing import Any

import numpy as np
import torch
from torch import nn


@dataclass
class ModelCost:
    params: int
    macs: int
    imgsz: int

    @property
    def flops(self) -> int:
        return 2 * self.macs

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), 'flops': self.flops}


@dataclass
class Latency:
    median_ms: float
    p90_ms: float
    runs: int
    threads: int
    provider: str = 'CPUExecutionProvider'


@dataclass
class ModelSummary:
    """One model's numbers: cost, and when measured, latency and accuracy."""

    name: str
    path: str
    cost: ModelCost
    latency: Latency | None = None
    metrics: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {'name': self.name, 'path': self.path, 'cost': self.cost.to_dict(),
                'latency': asdict(self.latency) if self.latency else None,
                'metrics': self.metrics}


@torch.no_grad()
def measure_cost(model: nn.Module, imgsz: int) -> ModelCost:
    """Parameters and MACs of one forward pass at ``imgsz`` x ``imgsz`` (batch 1)."""
    import torch_pruning as tp

    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    macs, params = tp.utils.count_ops_and_params(
        model, torch.zeros(1, 3, imgsz, imgsz, device=device))
    model.train(was_training)
    return ModelCost(params=int(params), macs=int(macs), imgsz=imgsz)


def export_onnx(weights: Path, imgsz: int) -> Path:
    """Export a checkpoint to ONNX next to it (static shape, batch 1) with ultralytics."""
    from ultralytics import YOLO

    return Path(YOLO(str(weights)).export(format='onnx', imgsz=imgsz, simplify=False,
                                          dynamic=False, device='cpu'))


def ort_latency(onnx_path: Path, runs: int = 30, warmup: int = 5, threads: int = 1,
                seed: int = 0) -> Latency:
    """Median / p90 wall time of one ONNX Runtime CPU inference on a random image."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(onnx_path), opts, providers=['CPUExecutionProvider'])
    inp = sess.get_inputs()[0]
    shape = [d if isinstance(d, int) else 1 for d in inp.shape]
    x = np.random.default_rng(seed).random(shape, dtype=np.float32)
    for _ in range(warmup):
        sess.run(None, {inp.name: x})
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sess.run(None, {inp.name: x})
        times.append((time.perf_counter() - t0) * 1e3)
    return Latency(median_ms=float(np.median(times)), p90_ms=float(np.percentile(times, 90)),
                   runs=runs, threads=threads)


def _ratio(after: float, before: float) -> str:
    return f'{(after / before - 1) * 100:+.1f}%' if before else 'n/a'


def render_markdown(models: list[ModelSummary], plan: dict[str, Any] | None,
                    notes: list[str]) -> str:
    """Render the report as markdown: a row per model, changes relative to the first."""
    base = models[0]
    imgsz = base.cost.imgsz
    lines = ['# Pruning report', '',
             f'Costs at {imgsz}x{imgsz}, batch 1. FLOPs = 2 x MACs (Torch-Pruning op counter). '
             'Latency: ONNX Runtime CPUExecutionProvider, median of timed runs.', '',
             '| model | params | Δ params | GMACs | GFLOPs | Δ FLOPs | ORT CPU ms | Δ latency '
             '| mAP50 | mAP50-95 |',
             '|---|---|---|---|---|---|---|---|---|---|']
    for m in models:
        lat = f'{m.latency.median_ms:.2f}' if m.latency else '-'
        dlat = (_ratio(m.latency.median_ms, base.latency.median_ms)
                if m.latency and base.latency else '-')
        map50 = m.metrics.get('mAP50')
        map5095 = m.metrics.get('mAP50-95')
        lines.append(
            f'| {m.name} | {m.cost.params:,} | {_ratio(m.cost.params, base.cost.params)} '
            f'| {m.cost.macs / 1e9:.3f} | {m.cost.flops / 1e9:.3f} '
            f'| {_ratio(m.cost.flops, base.cost.flops)} | {lat} | {dlat} '
            f'| {"-" if map50 is None else f"{map50:.4f}"} '
            f'| {"-" if map5095 is None else f"{map5095:.4f}"} |')
    if plan:
        s = plan['settings']
        lines += ['', '## Channel pruning', '',
                  '- requested: ' + (f'|gamma| threshold {s["threshold"]}'
                                     if s.get('threshold') is not None else f'ratio {s["ratio"]}'),
                  f'- achieved: {plan["achieved_ratio"]:.4f} of prunable channels '
                  f'({plan["channels_before"]} -> {plan["channels_after"]}), global '
                  f'|gamma| threshold {plan["threshold"]:.4g}',
                  f'- every layer keeps >= {s["min_channels"]} channels, counts rounded to '
                  f'multiples of {s["round_to"]}; Detect output convs and DFL not pruned',
                  f'- groups changed: {sum(g["kept"] < g["channels"] for g in plan["groups"])} '
                  f'of {len(plan["groups"])}']
    if notes:
        lines += ['', '## Notes', ''] + [f'- {n}' for n in notes]
    return '\n'.join(lines) + '\n'


def write_report(out_dir: Path, models: list[ModelSummary], plan: dict[str, Any] | None = None,
                 notes: list[str] | None = None, stem: str = 'prune_report') -> tuple[Path, Path]:
    """Write ``<stem>.md`` and ``<stem>.json`` into ``out_dir``; returns both paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    notes = notes or []
    md = out_dir / f'{stem}.md'
    js = out_dir / f'{stem}.json'
    md.write_text(render_markdown(models, plan, notes))
    js.write_text(json.dumps({'models': [m.to_dict() for m in models], 'pruning': plan,
                              'notes': notes}, indent=2))
    return md, js
