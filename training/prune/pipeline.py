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
The prune stage end to end: sparsity training -> channel pruning -> KD fine-tune -> report.

Everything goes into one run directory::

    out/data/                 writable mirror of the dataset (ultralytics writes caches)
    out/sparsity/train/       ultralytics run of the sparsity training (+ sparsity/*.png)
    out/pruned.pt             pruned checkpoint (YOLO(path) loads it)
    out/finetune/train/       fine-tune run; out/pruned_finetuned.pt its result
    out/prune_report.md/.json params, MACs/FLOPs, ORT CPU latency, mAP before/after
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
import shutil
from typing import Any

from ultralytics.utils import LOGGER

from .channel_pruning import prune_model, PruneSettings
from .checkpoint import load_model, save_pruned
from .finetune import finetune_pruned
from .report import export_onnx, measure_cost, ModelSummary, ort_latency, write_report
from .sparsity import train_sparse
from ..datasets import stage_dataset


def check_inputs(settings: PruneSettings, model: Path, data: Path | None,
                 validate: bool) -> None:
    """Name a missing input before anything runs."""
    if not Path(model).is_file():
        raise FileNotFoundError(f'input model {model} not found (give the KD student .pt)')
    needs_data = {'sparsity', 'finetune'} & set(settings.steps) or validate
    if needs_data and (data is None or not Path(data).is_file()):
        raise FileNotFoundError(f'dataset yaml {data} not found; training and validation need '
                                '--data DATA.yaml')


def _train_args(settings: PruneSettings, epochs: int, project: Path) -> dict[str, Any]:
    args = {'epochs': epochs, 'imgsz': settings.imgsz, 'batch': settings.batch,
            'seed': settings.seed, 'project': str(project), 'name': 'train', 'exist_ok': True,
            **settings.train}
    if settings.device is not None:
        args['device'] = settings.device
    return args


@dataclass
class Report:
    """What the stage's own report measures besides size (the pipeline has its own)."""

    out: Path
    imgsz: int
    batch: int
    device: str | None
    validate: bool
    latency_runs: int
    latency_threads: int


def _validate(weights: Path, data: Path, job: Report) -> dict[str, float]:
    from ultralytics import YOLO

    device = {} if job.device is None else {'device': job.device}
    m = YOLO(str(weights)).val(data=str(data), imgsz=job.imgsz, batch=job.batch, plots=False,
                               verbose=False, project=str(job.out / 'val'), name='val',
                               exist_ok=True, **device)
    return {'mAP50': float(m.box.map50), 'mAP50-95': float(m.box.map)}


def _summary(name: str, weights: Path, data: Path | None, job: Report) -> ModelSummary:
    model = load_model(weights)
    summary = ModelSummary(name=name, path=str(weights), cost=measure_cost(model, job.imgsz))
    if job.latency_runs > 0:
        summary.latency = ort_latency(export_onnx(weights, job.imgsz), runs=job.latency_runs,
                                      threads=job.latency_threads)
    if job.validate and data is not None:
        summary.metrics = _validate(weights, data, job)
    return summary


def run_steps(settings: PruneSettings, out: Path, model: Path, data: Path | None = None,
              teacher: Path | None = None, validate: bool = False, latency_runs: int = 0,
              latency_threads: int = 1) -> dict[str, Any]:
    """Run the steps of ``settings``; returns paths and the report's location."""
    check_inputs(settings, model, data, validate)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    job = Report(out, settings.imgsz, settings.batch, settings.device, validate, latency_runs,
                 latency_threads)
    data = stage_dataset(Path(data), out / 'data') if data else None
    result: dict[str, Any] = {'input': str(model)}
    notes: list[str] = []
    current = Path(model)
    lam = f'lambda {settings.lam:g} ({settings.schedule})'

    if 'sparsity' in settings.steps:
        LOGGER.info(f'prune: sparsity training, {lam}')
        last = train_sparse(current, data, settings,
                            **_train_args(settings, settings.sparsity_epochs, out / 'sparsity'))
        current = out / 'sparse.pt'
        shutil.copy2(last, current)
        result['sparse'] = str(current)
        notes.append(f'sparsity training: {settings.sparsity_epochs} epochs, {lam}; gamma '
                     f'histograms in {out / "sparsity" / "train" / "sparsity"}')

    plan = None
    if 'prune' in settings.steps:
        module = load_model(current)
        plan = prune_model(module, settings)
        current = save_pruned(module, out / 'pruned.pt', pruning=plan.to_dict())
        result['pruned'] = str(current)
        LOGGER.info(f'prune: {plan.achieved_ratio:.3f} of channels removed '
                    f'({plan.channels_before} -> {plan.channels_after})')

    if 'finetune' in settings.steps:
        ft = finetune_pruned(current, data, Path(teacher) if teacher else Path(model),
                             settings.kd,
                             **_train_args(settings, settings.finetune_epochs, out / 'finetune'))
        current = out / 'pruned_finetuned.pt'
        shutil.copy2(ft.weights, current)
        result.update(finetuned=str(current), finetune_method=ft.method)
        notes.append(f'fine-tune ({ft.method}): {settings.finetune_epochs} epochs; {ft.note}')

    models = [_summary('input (unpruned)', Path(model), data, job)]
    if 'sparse' in result:
        models.append(_summary('sparsity-trained', Path(result['sparse']), data, job))
    if 'pruned' in result:
        models.append(_summary('pruned', Path(result['pruned']), data, job))
    if 'finetuned' in result:
        models.append(_summary('pruned + fine-tuned', Path(result['finetuned']), data, job))
    md, js = write_report(out, models, plan.to_dict() if plan else None, notes)
    result.update(report_md=str(md), report_json=str(js), output=str(current))
    LOGGER.info(f'prune: report {md}')
    return result
