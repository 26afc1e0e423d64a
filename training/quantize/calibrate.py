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
FP32 ONNX -> INT8 Q/DQ ONNX (+ sensitivity report): the library of ``vru-train calibrate``.

One calibration pass over training images (stratified so VRU classes are present, preprocessed
exactly as at runtime), ranges cached; optional per-layer sensitivity ranking and
``keep_float`` N to leave the N most sensitive convs in float, or ``max_drop`` X to keep as
many as it takes for the mAP50 drop on validation images to be at most X points.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
import json
from pathlib import Path
from typing import Sequence

from vru_detector.backends.engine_cache import file_sha256

from .calibration_set import (calibration_id, CalibrationBatches, class_coverage,
                              dataset_split_dir, load_batch, select_calibration_images)
from .drop_budget import BudgetResult
from .qdq import ENTROPY_BINS, quantize_qdq, QuantSettings, write_int8_metadata
from .sensitivity import layer_sensitivity, LayerSensitivity, write_sensitivity_report
from ..stages.calibrate import CalibrateSettings


@dataclass
class CalibrationResult:
    """What `calibrate` produced (paths, id, which nodes stayed float, the ranking if any)."""

    model: Path
    calibration_id: str
    images: list[Path]
    float_nodes: list[str]
    keep_float: list[str] = field(default_factory=list)
    sensitivity: list[LayerSensitivity] = field(default_factory=list)
    report: dict[str, Path] = field(default_factory=dict)
    engine: Path | None = None
    budget: BudgetResult | None = None


def model_input(path: str | Path) -> tuple[str, tuple[int, int]]:
    """Input name and (h, w) of an FP32 model, from its graph and metadata."""
    import onnx

    from vru_detector.artifact import artifact_from_metadata

    model = onnx.load(str(path), load_external_data=False)
    info = artifact_from_metadata({p.key: p.value for p in model.metadata_props}, str(path))
    if info.precision != 'fp32':
        raise ValueError(f'{path}: precision is {info.precision}; calibrate an FP32 export '
                         '(`vru-train export`), not an already quantized model')
    return model.graph.input[0].name, info.input_shape


DEFAULT = CalibrateSettings


def calibrate(fp32_model: str | Path, images: Sequence[Path], out: str | Path,
              settings: QuantSettings = QuantSettings(), keep_float: int = DEFAULT.keep_float,
              sensitivity: bool = DEFAULT.sensitivity,
              sensitivity_images: int = DEFAULT.sensitivity_images,
              report_dir: str | Path | None = None, seed: int = DEFAULT.seed,
              layers: Sequence[str] | None = None, max_drop: float | None = DEFAULT.max_drop,
              val_images: Sequence[Path] = (),
              max_float_layers: int = DEFAULT.max_float_layers) -> CalibrationResult:
    """
    Calibrate ``fp32_model`` on ``images`` and write the Q/DQ model to ``out``.

    With ``max_drop`` (mAP50 points), layers are kept float in sensitivity order until the
    drop on ``val_images`` (YOLO-labelled) is within it, trying at most ``max_float_layers``
    (:mod:`.drop_budget`); ``keep_float`` is then ignored. ``result.budget.met`` says whether
    it was reached.
    """
    import numpy as np

    out = Path(out)
    report_dir = Path(report_dir) if report_dir else out.with_name(out.stem + '_report')
    report_dir.mkdir(parents=True, exist_ok=True)
    input_name, shape = model_input(fp32_model)
    batches = CalibrationBatches(input_name, list(images), shape)
    range_key = calibration_id(images, settings.method,
                               {'model': file_sha256(fp32_model),
                                'percentile': settings.percentile,
                                'entropy_bins': ENTROPY_BINS})
    cache = report_dir / f'ranges-{settings.method}-{range_key}.json'
    result_sens: list[LayerSensitivity] = []
    report: dict[str, Path] = {}
    if sensitivity or keep_float > 0 or max_drop is not None:
        rng = np.random.default_rng(seed)
        pick = sorted(rng.choice(len(images), min(sensitivity_images, len(images)), replace=False))
        inputs = [load_batch([images[i]], shape) for i in pick]
        result_sens = layer_sensitivity(fp32_model, batches.reader(), settings, cache, inputs,
                                        layers)
        report = write_sensitivity_report(result_sens, report_dir)

    def write(kept: Sequence[str], path: Path) -> tuple[QuantSettings, list[str], str]:
        final = QuantSettings(**{**asdict(settings), 'keep_float': tuple(kept)})
        float_names = quantize_qdq(fp32_model, path, batches.reader(), final, cache)
        cid = calibration_id(images, final.method, final.for_id())
        details = {**final.for_id(), 'num_images': len(images),
                   'class_coverage': class_coverage(images), 'float_nodes': len(float_names)}
        write_int8_metadata(fp32_model, path, cid, details)
        return final, float_names, cid

    kept = [r.layer for r in result_sens[:keep_float]]
    budget = None
    if max_drop is not None:
        ranking = [r.layer for r in result_sens][:max_float_layers]
        budget = _drop_budget(fp32_model, ranking, max_drop, val_images, write,
                              report_dir / 'max_drop')
        report['max_drop'] = report_dir / 'max_drop' / 'max_drop.md'
        kept = list(budget.chosen.kept)
    final, float_names, cid = write(kept, out)
    (report_dir / 'calibration_images.txt').write_text('\n'.join(str(p) for p in images) + '\n')
    summary = {'model': str(out), 'calibration_id': cid, **final.for_id(),
               'num_images': len(images), 'class_coverage': class_coverage(images),
               'float_nodes': len(float_names), 'keep_float': kept,
               'float_node_names': float_names}
    if budget is not None:
        summary['max_drop'] = {
            'budget': max_drop, 'met': budget.met, 'message': budget.message(),
            'val_images': len(val_images),
            'steps': [{'kept': list(s.kept), 'drop': s.drop} for s in budget.steps],
            'latency_ms': budget.latency_ms,
            'layer_costs': [{'layer': layer, 'drop': d, 'latency_added_ms': c}
                            for layer, d, c in budget.layer_costs()]}
    (report_dir / 'calibration.json').write_text(json.dumps(summary, indent=2, default=str))
    return CalibrationResult(out, cid, list(images), float_names, kept, result_sens, report,
                             budget=budget)


def _drop_budget(fp32_model: Path, ranking: Sequence[str], max_drop: float,
                 val_images: Sequence[Path], write, folder: Path) -> BudgetResult:
    """Run the --max-drop search on ``val_images`` and time the chosen layers on the CPU."""
    from . import drop_budget
    from .paired_eval import ap50, evaluate_images

    if not val_images:
        raise ValueError('max_drop needs labelled validation images (--data with a val split)')
    folder.mkdir(parents=True, exist_ok=True)
    reference = evaluate_images(fp32_model, val_images)
    names = [str(i) for i in range(len(reference))]
    fp32_map50 = ap50(reference, names)

    def write_step(kept: tuple[str, ...]) -> Path:
        path = folder / f'keep_float_{len(kept)}.onnx'
        write(kept, path)
        return path

    def drop_of(model: Path) -> float:
        return fp32_map50 - ap50(evaluate_images(model, val_images), names)

    result = drop_budget.search(ranking, write_step, drop_of, max_drop)
    chosen = len(result.chosen.kept)
    result.latency_ms = drop_budget.backend_latencies([s.model for s in result.steps[:chosen + 1]])
    drop_budget.write_report(result, folder)
    return result


def validation_images(data: str | Path | None, count: int, seed: int) -> list[Path]:
    """Stratified draw of ``count`` labelled images from the data.yaml's val split."""
    if data is None:
        raise ValueError('max_drop measures the drop on the val split of a data.yaml (--data)')
    return select_calibration_images(dataset_split_dir(data, 'val'), count, seed)
