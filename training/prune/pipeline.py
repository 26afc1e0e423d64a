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

from dataclasses import dataclass, field
from pathlib import Path
import shutil
from typing import Any

from ultralytics.utils import LOGGER

from .channel_pruning import prune_model, PruneSettings
from .checkpoint import load_model, save_pruned
from .finetune import finetune_pruned
from .names import STAGES
from .report import export_onnx, measure_cost, ModelSummary, ort_latency, write_report
from .sparsity import SparsitySchedule, train_sparse
from ..datasets import stage_dataset


@dataclass
class PruneJob:
    """Settings of one prune run (the CLI and the experiment scripts fill this)."""

    model: Path
    out: Path
    data: Path | None = None
    teacher: Path | None = None  # KD teacher for the fine-tune; default: the input model
    stages: tuple[str, ...] = STAGES
    imgsz: int = 640
    batch: int = 16
    device: str = 'cpu'
    workers: int = 8
    fraction: float = 1.0
    seed: int = 0
    sparsity_epochs: int = 50
    schedule: SparsitySchedule = field(default_factory=SparsitySchedule)
    prune: PruneSettings = field(default_factory=PruneSettings)
    finetune_epochs: int = 50
    kd: dict[str, Any] | None = None
    validate: bool = True
    latency_runs: int = 30
    latency_threads: int = 1
    train_extra: dict[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        bad = [s for s in self.stages if s not in STAGES]
        if bad:
            raise ValueError(f'unknown prune stage(s) {bad}; expected some of {STAGES}')
        if not Path(self.model).is_file():
            raise FileNotFoundError(f'input model {self.model} not found '
                                    '(give the KD student .pt)')
        needs_data = {'sparsity', 'finetune'} & set(self.stages) or self.validate
        if needs_data and (self.data is None or not Path(self.data).is_file()):
            raise FileNotFoundError(f'dataset yaml {self.data} not found; training and '
                                    'validation need --data DATA.yaml')


def _train_args(job: PruneJob, epochs: int, project: Path) -> dict[str, Any]:
    return {'epochs': epochs, 'imgsz': job.imgsz, 'batch': job.batch, 'device': job.device,
            'workers': job.workers, 'fraction': job.fraction, 'seed': job.seed,
            'project': str(project), 'name': 'train', 'exist_ok': True, **job.train_extra}


def _validate(weights: Path, data: Path, job: PruneJob) -> dict[str, float]:
    from ultralytics import YOLO

    m = YOLO(str(weights)).val(data=str(data), imgsz=job.imgsz, batch=job.batch,
                               device=job.device, workers=job.workers, plots=False,
                               verbose=False, project=str(job.out / 'val'), name='val',
                               exist_ok=True)
    return {'mAP50': float(m.box.map50), 'mAP50-95': float(m.box.map)}


def _summary(name: str, weights: Path, data: Path | None, job: PruneJob) -> ModelSummary:
    model = load_model(weights)
    summary = ModelSummary(name=name, path=str(weights), cost=measure_cost(model, job.imgsz))
    if job.latency_runs > 0:
        summary.latency = ort_latency(export_onnx(weights, job.imgsz), runs=job.latency_runs,
                                      threads=job.latency_threads)
    if job.validate and data is not None:
        summary.metrics = _validate(weights, data, job)
    return summary


def run_job(job: PruneJob) -> dict[str, Any]:
    """Run the requested stages; returns paths and the report's location."""
    job.check()
    out = Path(job.out)
    out.mkdir(parents=True, exist_ok=True)
    data = stage_dataset(Path(job.data), out / 'data') if job.data else None
    result: dict[str, Any] = {'input': str(job.model)}
    notes: list[str] = []
    current = Path(job.model)
    prune_settings = PruneSettings(**{**vars(job.prune), 'imgsz': job.imgsz})

    if 'sparsity' in job.stages:
        LOGGER.info(f'prune: sparsity training, lambda {job.schedule.lam} ({job.schedule.mode})')
        last = train_sparse(current, data, job.schedule, prune=prune_settings,
                            **_train_args(job, job.sparsity_epochs, out / 'sparsity'))
        current = out / 'sparse.pt'
        shutil.copy2(last, current)
        result['sparse'] = str(current)
        notes.append(f'sparsity training: {job.sparsity_epochs} epochs, lambda '
                     f'{job.schedule.lam:g} ({job.schedule.mode}); gamma histograms in '
                     f'{out / "sparsity" / "train" / "sparsity"}')

    plan = None
    if 'prune' in job.stages:
        model = load_model(current)
        plan = prune_model(model, prune_settings)
        current = save_pruned(model, out / 'pruned.pt', pruning=plan.to_dict())
        result['pruned'] = str(current)
        LOGGER.info(f'prune: {plan.achieved_ratio:.3f} of channels removed '
                    f'({plan.channels_before} -> {plan.channels_after})')

    if 'finetune' in job.stages:
        teacher = Path(job.teacher) if job.teacher else Path(job.model)
        ft = finetune_pruned(current, data, teacher, job.kd,
                             **_train_args(job, job.finetune_epochs, out / 'finetune'))
        current = out / 'pruned_finetuned.pt'
        shutil.copy2(ft.weights, current)
        result.update(finetuned=str(current), finetune_method=ft.method)
        notes.append(f'fine-tune ({ft.method}): {job.finetune_epochs} epochs; {ft.note}')

    models = [_summary('input (unpruned)', Path(job.model), data, job)]
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
