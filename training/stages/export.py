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
The export stage: each checkpoint to ONNX with the metadata the runtime checks at load time.

Ultralytics' exporter does the tracing (raw head output ``[B, 4+nc, N]``, names/imgsz/stride in
``metadata_props``); training/export.py adds our keys (``precision``) and, for
``dynamic_batch``, keeps H and W static so TensorRT and the calibrator see one input size.
``half`` writes an FP16 graph (float32 input and output) for FP16 TensorRT engines.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..settings import option, RecipeError, Settings

MIN_OPSET = 17  # TensorRT Q/DQ and per-channel quantization


@dataclass
class ExportSettings(Settings):
    """Input size and graph options of the exported ONNX (recipe section ``export:``)."""

    imgsz: int = option(640, 'square input size in pixels, a multiple of 32 (the recipe: the '
                        'imgsz of the distill stage)', low=32)
    opset: int = option(MIN_OPSET, 'ONNX opset', low=MIN_OPSET)
    dynamic_batch: bool = option(False, 'symbolic batch dimension (H and W stay static)')
    simplify: bool = option(True, 'simplify the graph with onnxslim')
    half: bool = option(False, 'FP16 graph (float32 input/output) for FP16 TensorRT engines; '
                        'calibrate INT8 from the FP32 export, not this one')

    STAGE = 'export'

    def check(self) -> None:
        if self.imgsz % 32:
            raise RecipeError(f'{self.where("imgsz")}: {self.imgsz} must be a multiple of the '
                              'model stride 32')


SETTINGS = ExportSettings


def export_one(settings: ExportSettings, weights: Path, out: Path) -> Path:
    """Export one checkpoint to ``out``."""
    from ..export import export_onnx

    return export_onnx(weights, out, imgsz=settings.imgsz, opset=settings.opset,
                       dynamic_batch=settings.dynamic_batch, simplify=settings.simplify,
                       half=settings.half)


def run(settings: ExportSettings, run_dir: Path, models: dict[str, Path]) -> dict[str, Path]:
    """Export every checkpoint of ``models`` (name -> .pt) to ``run_dir/<name>.onnx``."""
    return {name: export_one(settings, weights, Path(run_dir) / f'{name}.onnx')
            for name, weights in models.items()}


def add_inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--weights', required=True, help='ultralytics checkpoint (.pt) to export')
    parser.add_argument('--out', help='output .onnx (default: next to the weights)')
    parser.add_argument('--recipe', type=Path, help='recipe YAML: its export: section is the '
                        'starting point the flags override')


def main(args: argparse.Namespace, settings: ExportSettings, recipe: dict[str, Any]) -> int:
    from ..export import read_metadata

    weights = Path(args.weights)
    default = weights.with_name(weights.stem + ('_fp16' if settings.half else '') + '.onnx')
    path = export_one(settings, weights, Path(args.out) if args.out else default)
    meta = read_metadata(path)
    print(f'exported {path} (imgsz {meta.get("imgsz")}, precision {meta.get("precision")}, '
          f'batch {meta.get("batch")})')
    return 0
