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
The evaluate stage: FP32 vs INT8 accuracy of each model, with 95% intervals.

Each FP32 ONNX is paired with its Q/DQ INT8 twin. Both go through the street benchmark
(``vru_detector.replay.benchmark``: the runtime's Detector, intervals resampling whole groups,
a paired FP32 -> INT8 difference) and, on a data.yaml, ultralytics' validator (the reference
metric code: mAP50, mAP50-95, P, R; ONNX Runtime, CPU). The pipeline's run adds model sizes,
CPU latency and the deployable model against the pretrained start it began from.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
import sys
from typing import Any

from vru_detector.replay.bench_sources import POOLED

from ..settings import option, Settings


@dataclass
class EvaluateSettings(Settings):
    """What the FP32-vs-INT8 evaluation measures (recipe section ``evaluate:``)."""

    split: str = option('val', 'data.yaml split the validator runs on')
    conf: float = option(0.001, 'score threshold of the validator (ultralytics default 0.001)',
                         low=0, low_open=True, high=1)
    latency_runs: int = option(20, 'ONNX Runtime CPU latency runs per model (0 skips it)', low=0)
    benchmark: list[str] = option(list(POOLED), 'street benchmark sources (an empty list '
                                  'turns the benchmark off)')

    STAGE = 'evaluate'


SETTINGS = EvaluateSettings


@dataclass
class Models:
    """The pipeline's models: checkpoints, FP32 and INT8 ONNX by name, the deployable one."""

    weights: dict[str, Path]
    fp32: dict[str, Path]
    int8: dict[str, Path]
    deploy: str | None = None          # the name of the deployable model
    start: Path | None = None          # the pretrained .pt it started from
    deployable_int8: Path | None = None  # the published copy the verdict points to
    imgsz: int = 640                    # the size the start is exported at (the models')


def run(settings: EvaluateSettings, run_dir: Path, models: Models, data: Path
        ) -> dict[str, Any]:
    """
    Evaluate every model into ``run_dir`` (report.md, metrics.json, plots, benchmark/).

    Returns the table's rows and the deployable-vs-start verdict (None without a start).
    """
    from ..pipeline_report import evaluate_models

    run_dir = Path(run_dir)
    rows = evaluate_models(models.weights, models.fp32, models.int8, data, run_dir,
                           split=settings.split, conf=settings.conf,
                           latency_runs=settings.latency_runs)
    return {'models': rows, 'start_verdict': _benchmark(settings, run_dir, models)}


def _benchmark(settings: EvaluateSettings, run_dir: Path, models: Models
               ) -> dict[str, Any] | None:
    """Benchmark the start (exported like our models) and the deployable FP32 and INT8."""
    from ..benchmark_eval import run_benchmark_section, start_verdict
    from ..export import export_onnx

    deploy = models.deploy
    if deploy is None or deploy not in models.int8:
        return None
    onnx: dict[str, Path] = {}
    if models.start is not None:
        onnx['start'] = export_onnx(models.start, run_dir / 'start.onnx', imgsz=models.imgsz)
    onnx[f'{deploy}_fp32'] = models.fp32[deploy]
    onnx[f'{deploy}_int8'] = models.int8[deploy]
    section = run_benchmark_section(onnx, run_dir / 'benchmark', settings.benchmark)
    report = run_dir / 'report.md'
    report.write_text(report.read_text() + '\n' + section['markdown'])
    result = section['result']
    if result is None or models.start is None:
        return None
    return start_verdict(result, 'start', f'{deploy}_int8', models.deployable_int8,
                         onnx['start'])


def add_inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--models', nargs='+', required=True,
                        help='FP32 ONNX models; INT8 twins are <stem>_int8.onnx beside them')
    parser.add_argument('--int8', nargs='+',
                        help='INT8 Q/DQ ONNX models, same order as --models (overrides twins)')
    parser.add_argument('--data', help='ultralytics data.yaml (default: the street benchmark '
                        'sources of --benchmark)')
    parser.add_argument('--data-root', help='folder of the benchmark sources (default: '
                        '$VRU_SHARED_DATA or ../shared/data)')
    parser.add_argument('--out', default='runs/evaluate', help='report folder')
    parser.add_argument('--recipe', type=Path, help='recipe YAML: its evaluate: section is the '
                        'starting point the flags override')


def main(args: argparse.Namespace, settings: EvaluateSettings, recipe: dict[str, Any]) -> int:
    """Evaluate FP32/INT8 pairs given on the command line; writes OUT/evaluation.md."""
    from vru_detector.errors import VruDetectorError
    from vru_detector.replay.bench_sources import load_sources, load_yolo_dataset
    from vru_detector.replay.benchmark import default_data_root

    from ..evaluate import benchmark_pairs, compare, int8_sibling, markdown_table, write_report

    fp32 = [Path(m) for m in args.models]
    if args.int8 and len(args.int8) != len(fp32):
        raise ValueError(f'--int8 has {len(args.int8)} models but --models has {len(fp32)}; '
                         'give one INT8 model per FP32 model, in the same order')
    int8 = [Path(m) for m in args.int8] if args.int8 else [int8_sibling(m) for m in fp32]
    out = Path(args.out)
    try:
        sources = [load_yolo_dataset(args.data, settings.split)] if args.data else \
            load_sources(args.data_root or default_data_root(), settings.benchmark)
        text = benchmark_pairs(fp32, int8, sources, out)
    except VruDetectorError as exc:  # a missing or unreadable source or model file
        print(f'vru-train evaluate: {exc}', file=sys.stderr)
        return 2
    if args.data:
        rows = compare(fp32, int8, Path(args.data), settings.split, settings.conf)
        paths = write_report(rows, out)
        text += '\n## Ultralytics validator (reference)\n\n' + markdown_table(rows)
        print(f'wrote {paths["json"]}, {paths["png"]}')
    if settings.latency_runs:
        text += '\n' + _latency_table(fp32, int8, settings.latency_runs)
    (out / 'evaluation.md').write_text('# FP32 vs INT8\n\n' + text)
    print(text)
    print(f'wrote {out / "evaluation.md"}')
    return 0


def _latency_table(fp32: list[Path], int8: list[Path | None], runs: int) -> str:
    """Median CPU latency (ms) of each model through the runtime's ONNX Runtime backend."""
    from ..pipeline_report import backend_latency_ms

    lines = ['## CPU latency (ONNX Runtime, batch 1, median ms, 1 thread)', '',
             '| model | FP32 | INT8 |', '|---|---:|---:|']
    for f, q in zip(fp32, int8):
        cells = [f'{backend_latency_ms(p, runs):.1f}' if p else '-' for p in (f, q)]
        lines.append(f'| {f.stem} | {cells[0]} | {cells[1]} |')
    return '\n'.join(lines) + '\n'
