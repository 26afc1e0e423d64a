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
The calibrate stage: FP32 ONNX -> INT8 Q/DQ ONNX (+ sensitivity report, + TensorRT engine).

One calibration pass over training images (stratified so VRU classes are present, preprocessed
exactly as at runtime), ranges cached; optional per-layer sensitivity ranking and
``keep_float`` N to leave the N most sensitive convs in float, or ``max_drop`` X to keep as
many as it takes for the mAP50 drop on validation images to be at most X points.
Library: training/quantize/.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
import sys
from typing import Any, TYPE_CHECKING

from ..quantize.qdq import METHODS, PLACEMENTS, QuantSettings
from ..settings import option, Settings

if TYPE_CHECKING:
    from ..quantize.calibrate import CalibrationResult


@dataclass
class CalibrateSettings(Settings):
    """How INT8 is calibrated: images, range method, kept-float layers, accuracy budget."""

    num_images: int = option(512, 'calibration images drawn from the data split', low=1)
    split: str = option('train', 'data.yaml split the calibration images are drawn from')
    method: str = option(QuantSettings.method, 'activation ranges, ONNX Runtime calibrators: '
                         'max (MinMax), percentile, entropy (KL)', choices=tuple(sorted(METHODS)))
    percentile: float = option(QuantSettings.percentile, 'percentile of method percentile',
                               low=0, low_open=True, high=100)
    per_channel: bool = option(QuantSettings.per_channel, 'per-output-channel weight scales '
                               '(--no-per-channel: per tensor)')
    placement: str = option(QuantSettings.placement, 'Q/DQ placement: tensorrt (Conv inputs; the '
                            'CPU backend adds what its kernels need) or onnxruntime (ORT '
                            'default, CPU-only use)', choices=PLACEMENTS)
    quantize_head_convs: bool = option(QuantSettings.quantize_head_convs, 'also quantize the '
                                       'last conv of each head branch')
    sensitivity: bool = option(False, 'rank conv layers by INT8 output error (CSV, markdown, '
                               'PNG)')
    sensitivity_images: int = option(8, 'images the sensitivity error is measured on', low=1)
    keep_float: int = option(0, 'keep the N most sensitive convs in float (implies '
                             'sensitivity)', low=0)
    max_drop: float | None = option(None, 'keep the most sensitive convs in float, one more at a '
                                    'time, until INT8 loses at most this many mAP50 points on '
                                    "val_images images of the data's val split (replaces "
                                    'keep_float)', low=0)
    val_images: int = option(200, 'validation images max_drop measures the drop on', low=1)
    max_float_layers: int = option(10, 'most layers max_drop may keep float (each step costs an '
                                   'evaluation)', low=0)
    seed: int = option(0, 'image draws and sensitivity images', low=0)

    STAGE = 'calibrate'
    RENAMED = {'images': 'num_images'}
    FLAG_RENAMED = {'--per-tensor': '--no-per-channel'}

    def quant(self) -> QuantSettings:
        """Return the Q/DQ settings these imply."""
        return QuantSettings(method=self.method, percentile=self.percentile,
                             per_channel=self.per_channel,
                             quantize_head_convs=self.quantize_head_convs,
                             placement=self.placement)


SETTINGS = CalibrateSettings


def calibration_images(settings: CalibrateSettings, data: Path | None = None,
                       folder: Path | None = None) -> list[Path]:
    """Draw the calibration images (stratified): from ``data``'s split, or from a folder."""
    from ..quantize.calibration_set import dataset_split_dir, select_calibration_images

    source = dataset_split_dir(data, settings.split) if data is not None else Path(folder)
    images = select_calibration_images(source, settings.num_images, settings.seed)
    if len(images) < settings.num_images:
        print(f'note: {source} has {len(images)} images; calibrating on all of them (asked for '
              f'{settings.num_images})')
    return images


def calibrate_one(settings: CalibrateSettings, fp32: Path, images: list[Path], out: Path,
                  report_dir: Path | None, val: list[Path]) -> CalibrationResult:
    """Calibrate one FP32 model on ``images`` into ``out``."""
    from ..quantize.calibrate import calibrate

    return calibrate(fp32, images, out, settings.quant(), keep_float=settings.keep_float,
                     sensitivity=settings.sensitivity,
                     sensitivity_images=settings.sensitivity_images, report_dir=report_dir,
                     seed=settings.seed, max_drop=settings.max_drop, val_images=val,
                     max_float_layers=settings.max_float_layers)


def validation_set(settings: CalibrateSettings, data: Path | None) -> list[Path]:
    """Return the labelled images ``max_drop`` is measured on (none without ``max_drop``)."""
    from ..quantize.calibrate import validation_images

    if settings.max_drop is None:
        return []
    return validation_images(data, settings.val_images, settings.seed)


def run(settings: CalibrateSettings, run_dir: Path, models: dict[str, Path], data: Path
        ) -> dict[str, CalibrationResult]:
    """Calibrate every FP32 model (name -> .onnx) into ``run_dir/<name>_int8.onnx``."""
    images = calibration_images(settings, data)
    val = validation_set(settings, data)
    return {name: calibrate_one(settings, fp32, images, Path(run_dir) / f'{name}_int8.onnx',
                                Path(run_dir) / f'{name}_report', val)
            for name, fp32 in models.items()}


def add_inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--model', required=True, help='FP32 ONNX from `vru-train export`')
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument('--data', help='ultralytics data.yaml; calibration images from --split')
    src.add_argument('--images', help='folder of calibration images (YOLO labels in labels/)')
    parser.add_argument('--out', help='INT8 ONNX path (default: <model>_int8.onnx)')
    parser.add_argument('--report-dir', help='where reports and the range cache go (default: '
                        '<out>_report)')
    parser.add_argument('--recipe', type=Path, help='recipe YAML: its calibrate: section is the '
                        'starting point the flags override')
    g = parser.add_argument_group('target machine (not a recipe setting)')
    g.add_argument('--engine', action='store_true',
                   help='also build a TensorRT engine (+ JSON sidecar) from the Q/DQ model')
    g.add_argument('--device', default='cuda:0', help='GPU for --engine')


def main(args: argparse.Namespace, settings: CalibrateSettings, recipe: dict[str, Any]) -> int:
    """Calibrate from the command line; 1 when max_drop cannot be met."""
    model = Path(args.model)
    data = Path(args.data) if args.data else None
    if settings.max_drop is not None and data is None:
        raise ValueError('--max-drop measures the drop on the val split of --data DATA.yaml; '
                         'give --data instead of --images')
    images = calibration_images(settings, data, None if data else Path(args.images))
    out = Path(args.out) if args.out else model.with_name(model.stem + '_int8.onnx')
    result = calibrate_one(settings, model, images, out,
                           Path(args.report_dir) if args.report_dir else None,
                           validation_set(settings, data))
    print(f'wrote {result.model} (calibration id {result.calibration_id}, {len(images)} images, '
          f'{len(result.float_nodes)} nodes kept float)')
    for kind, path in result.report.items():
        print(f'{"sensitivity " if kind != "max_drop" else ""}{kind}: {path}')
    if result.budget is not None:
        print(result.budget.message(), file=sys.stdout if result.budget.met else sys.stderr)
        if not result.budget.met:
            return 1
    if args.engine:
        from vru_detector.backends.tensorrt import build_engine

        engine = build_engine(result.model, device=args.device)
        print(f'wrote TensorRT engine {engine} (+ {engine.name}.json)')
    return 0
