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
``--max-drop``: keep the most INT8-sensitive layers in float until INT8 is accurate enough.

Layers are kept in float in the order of the sensitivity ranking, one more at a time, and each
candidate INT8 model's mAP50 drop is measured on held-out validation images against the FP32
model (the same images, paired). The first model within the budget wins; if keeping every
ranked layer does not reach it, the search says so and keeps the most accurate candidate. Each
kept layer's latency cost is measured on the CPU backend (ONNX Runtime), candidates run in
alternation so that load on the machine hits them alike.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
import statistics
import time
from typing import Callable, Sequence


@dataclass(frozen=True)
class BudgetStep:
    """One candidate: the layers kept float (in ranking order), its drop and its model file."""

    kept: tuple[str, ...]
    drop: float
    model: Path


@dataclass
class BudgetResult:
    """What the search found: the steps tried, whether the budget was met, the chosen step."""

    max_drop: float
    steps: list[BudgetStep]
    met: bool
    latency_ms: list[float] = field(default_factory=list)  # per step, CPU backend

    @property
    def chosen(self) -> BudgetStep:
        """Return the first step within budget, else the one with the smallest drop."""
        if self.met:
            return next(s for s in self.steps if s.drop <= self.max_drop)
        return min(self.steps, key=lambda s: (s.drop, len(s.kept)))

    def message(self) -> str:
        best = self.chosen
        if self.met:
            return (f'--max-drop {self.max_drop:g}: mAP50 drop {best.drop:.2f} points with '
                    f'{len(best.kept)} layer(s) in float')
        last = self.steps[-1]
        return (f'--max-drop {self.max_drop:g} cannot be met: with the {len(last.kept)} most '
                f'sensitive layer(s) in float the mAP50 drop is still {last.drop:.2f} points '
                f'(smallest: {best.drop:.2f} with {len(best.kept)}); wrote that model. Try '
                'another --method, more calibration images, or a larger budget.')

    def layer_costs(self) -> list[tuple[str, float, float | None]]:
        """Return (layer, drop after keeping it, latency added in ms) per chosen float layer."""
        rows = []
        for i, layer in enumerate(self.chosen.kept, 1):
            step = self.steps[i]
            cost = (self.latency_ms[i] - self.latency_ms[i - 1]) if self.latency_ms else None
            rows.append((layer, step.drop, cost))
        return rows


def search(ranking: Sequence[str], write: Callable[[tuple[str, ...]], Path],
           drop_of: Callable[[Path], float], max_drop: float,
           progress: Callable[[str], None] = print) -> BudgetResult:
    """
    Keep ``ranking[:k]`` float for k = 0, 1, ... until ``drop_of(write(kept)) <= max_drop``.

    ``write`` quantizes with those layers kept float and returns the file; ``drop_of`` measures
    its mAP50 drop in points. Stops at the first model within budget, or after every layer.
    """
    steps: list[BudgetStep] = []
    for k in range(len(ranking) + 1):
        kept = tuple(ranking[:k])
        start = time.monotonic()
        model = write(kept)
        drop = float(drop_of(model))
        steps.append(BudgetStep(kept, drop, model))
        progress(f'max-drop step {k + 1} of at most {len(ranking) + 1}: {k} layer(s) float, '
                 f'drop {drop:.2f} points (budget {max_drop:g}), {time.monotonic() - start:.0f} s')
        if drop <= max_drop:
            return BudgetResult(max_drop, steps, True)
    return BudgetResult(max_drop, steps, False)


def backend_latencies(models: Sequence[Path], runs: int = 10, threads: int = 1) -> list[float]:
    """Median ms per model on the CPU backend, runs alternating between the models."""
    import numpy as np
    from vru_detector.backends.onnxruntime import OnnxRuntimeBackend

    backends = [OnnxRuntimeBackend(m, threads=threads) for m in models]
    h, w = backends[0].info.input_shape
    x = np.random.default_rng(0).random((1, 3, h, w), dtype=np.float32)
    times: list[list[float]] = [[] for _ in backends]
    for _ in range(2):
        for b in backends:
            b.infer(x)
    for _ in range(runs):
        for b, t in zip(backends, times):
            start = time.perf_counter()
            b.infer(x)
            t.append((time.perf_counter() - start) * 1e3)
    return [statistics.median(t) for t in times]


def write_report(result: BudgetResult, out_dir: Path) -> Path:
    """``max_drop.md``: every step's drop, the kept layers and their latency cost."""
    lines = ['# INT8 accuracy budget (--max-drop)', '', result.message(), '',
             '| layers float | last layer kept float | mAP50 drop (points) | CPU latency ms |',
             '|---:|---|---:|---:|']
    for i, step in enumerate(result.steps):
        lat = f'{result.latency_ms[i]:.1f}' if i < len(result.latency_ms) else '-'
        last = f'`{step.kept[-1]}`' if step.kept else '(none)'
        lines.append(f'| {len(step.kept)} | {last} | {step.drop:.2f} | {lat} |')
    if result.chosen.kept:
        lines += ['', 'Layers kept in float in the written model, and what each cost:', '',
                  '| layer | drop after keeping it | latency added (ms, CPU backend, 1 thread) |',
                  '|---|---:|---:|']
        for layer, drop, cost in result.layer_costs():
            lines.append(f'| `{layer}` | {drop:.2f} | '
                         f'{"-" if cost is None else f"{cost:+.1f}"} |')
    path = Path(out_dir) / 'max_drop.md'
    path.write_text('\n'.join(lines) + '\n')
    return path
