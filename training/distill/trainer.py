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
``DistillTrainer``: ultralytics' DetectionTrainer training a student against a frozen teacher.

Importable by module path (``training.distill.trainer.DistillTrainer``) because ultralytics'
multi-GPU launcher pickles the trainer class and rebuilds it in each DDP worker from
``vars(trainer.args)``: everything the trainer needs is carried in ``args``: the teacher as a
checkpoint path in ``args.distill_model`` (a teacher given as a module is first saved as
``<run>_teacher.pt`` beside the run folder) and the KD settings as a plain dict in ``args.kd``.

Python use::

    from training.distill.trainer import DistillTrainer
    trainer = DistillTrainer(overrides=dict(model='yolov8s-vru.yaml', data='data.yaml',
                                            epochs=100, imgsz=640),
                             teacher='teacher.pt',            # or an nn.Module
                             student=pruned_detection_model,  # optional nn.Module
                             kd={'cwd': {'weight': 2.0}})     # partial KDConfig dict
    trainer.train()   # -> trainer.best / trainer.last: plain student checkpoints
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn
from ultralytics.models.yolo.detect import DetectionTrainer
from ultralytics.nn.distill_model import DistillationModel
from ultralytics.nn.tasks import load_checkpoint
from ultralytics.utils import DEFAULT_CFG, LOGGER, RANK
from ultralytics.utils.torch_utils import unwrap_model

from .config import KDConfig
from .model import KDDetectionModel


def save_module_checkpoint(module: nn.Module, path: Path) -> Path:
    """Save a bare module so that ultralytics' ``load_checkpoint`` (and ``YOLO()``) reads it."""
    from copy import deepcopy

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = deepcopy(unwrap_model(module)).float().eval()
    if hasattr(model, 'criterion'):
        model.criterion = None
    args = getattr(model, 'args', {})
    train_args = dict(vars(args) if not isinstance(args, dict) else args)
    train_args.pop('kd', None)
    torch.save({'model': model, 'ema': None, 'train_args': train_args, 'epoch': -1}, path)
    return path


class DistillTrainer(DetectionTrainer):
    """Detection training with response KD, CWD and adaptive feature alignment from a teacher."""

    def __init__(self, cfg=DEFAULT_CFG, overrides: dict[str, Any] | None = None,
                 _callbacks: dict | None = None, teacher: str | Path | nn.Module | None = None,
                 student: nn.Module | None = None, kd: KDConfig | dict | None = None):
        overrides = dict(overrides or {})
        carried_kd = overrides.pop('kd', None)  # present when rebuilt in a DDP worker
        if teacher is not None and not isinstance(teacher, nn.Module):
            overrides['distill_model'] = str(teacher)
        if student is not None:
            overrides.setdefault('model', getattr(student, 'pt_path', None) or 'student.yaml')
        super().__init__(cfg, overrides, _callbacks)
        if not (self.resume and getattr(self.args, 'kd', None) is not None):
            self.args.kd = KDConfig.from_dict(kd if kd is not None else carried_kd).to_dict()
        if isinstance(teacher, nn.Module):
            # Beside the run folder, not in it: ultralytics' DDP launch deletes save_dir first.
            path = self.save_dir.with_name(f'{self.save_dir.name}_teacher.pt')
            if RANK in {-1, 0}:
                save_module_checkpoint(teacher, path)
            self.args.distill_model = str(path)
        if not self.args.distill_model:
            raise ValueError('DistillTrainer: no teacher. Pass teacher=PATH.pt or an nn.Module '
                             '(or distill_model=PATH in overrides).')
        if not Path(self.args.distill_model).is_file():
            raise FileNotFoundError(f'teacher checkpoint {self.args.distill_model} not found: '
                                    'train one with `vru-train teacher` or give a local .pt')
        if student is not None:
            self.model = student
        self.add_callback('on_train_epoch_start', _reset_weight_log)
        self.add_callback('on_train_batch_end', _accumulate_weight_log)

    # The wrapper is built here, after the student got its args/names (needed by its dummy pass).
    def set_model_attributes(self):
        model = self.model
        if isinstance(model, DistillationModel):
            student = model.student_model
            for m in (model, student):
                m.nc, m.names, m.args = self.data['nc'], self.data['names'], self.args
            return
        head_nc = getattr(model.model[-1], 'nc', None)
        if head_nc is not None and head_nc != self.data['nc']:
            n_data = self.data['nc']
            raise ValueError(f'student has {head_nc} classes, dataset {self.args.data} has '
                             f'{n_data}: distil on the dataset the student was built for')
        super().set_model_attributes()
        for p in model.parameters():
            if p.dtype.is_floating_point:
                p.requires_grad_(True)
        self.model = KDDetectionModel(self.args.distill_model, model, self.args.kd)
        if self.device.type == 'cuda' and self.args.channels_last is not False:
            # the student is already NHWC (ultralytics' default on CUDA); the teacher joins it
            self.model.teacher_model.to(memory_format=torch.channels_last)
        LOGGER.info(f'KD: teacher {self.args.distill_model}, terms {self.model.kd_names}, '
                    f'aligned layers {self.model.align_layers}')

    def setup_model(self):
        """Resume rebuilds our wrapper (the stock code would rebuild the plain one)."""
        if isinstance(self.model, nn.Module):
            return None
        if self.resume and str(self.model).endswith('.pt'):
            weights, ckpt = load_checkpoint(self.model)
            if isinstance(weights, KDDetectionModel):
                student = weights.student_model
                student.args = self.args
                for p in student.parameters():
                    p.requires_grad_(True)
                student.train()
                model = KDDetectionModel(self.args.distill_model, student, self.args.kd)
                model.load_state_dict(weights.state_dict(), strict=False)  # adapters; no teacher
                model.criterion = None
                self.model = model
                return ckpt
        return super().setup_model()

    def get_validator(self):
        """Build the stock validator from args without ``kd`` (ultralytics rejects unknowns)."""
        from copy import copy

        from ultralytics.models import yolo

        args = copy(self.args)
        args.__dict__.pop('kd', None)
        return yolo.detect.DetectionValidator(self.test_loader, save_dir=self.save_dir, args=args,
                                              _callbacks=self.callbacks)

    def save_metrics(self, metrics):
        """Add the epoch's mean adaptive alignment weight per layer to results.csv."""
        log = getattr(self, '_align_weight_log', None)
        if log and log['n'] and log['sum']:  # nothing to log when alignment is off
            weights = {f'kd/align_w{layer}': round(v / log['n'], 5)
                       for layer, v in log['sum'].items()}
            LOGGER.info('KD adaptive alignment weights (epoch mean): ' + ', '.join(
                f'L{k.removeprefix("kd/align_w")}={v:.3f}' for k, v in weights.items()))
            metrics = {**metrics, **weights}
        super().save_metrics(metrics)


def _reset_weight_log(trainer: DistillTrainer) -> None:
    trainer._align_weight_log = {'sum': {}, 'n': 0}


def _accumulate_weight_log(trainer: DistillTrainer) -> None:
    model = unwrap_model(trainer.model)
    if not isinstance(model, KDDetectionModel):
        return
    log = trainer._align_weight_log
    for layer, w in model.alignment_weights().items():
        log['sum'][layer] = log['sum'].get(layer, 0.0) + w
    log['n'] += 1
