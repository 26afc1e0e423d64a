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

"""`vru-train distill`: train a small student (YOLOv8-S by default) against a frozen teacher."""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..recipe import StageSettings
from ..stage_args import add_train_arguments, dataset_names, settings_from_args

if TYPE_CHECKING:  # torch is imported only when a command runs (fast --help)
    from torch import nn


def load_student(model: str, names: list[str], workdir: Path) -> nn.Module:
    """Load a student module: a checkpoint as saved (pruned models keep their shape) or new."""
    from ultralytics.nn.tasks import load_checkpoint

    from ..models import build_yolo

    if str(model).endswith('.pt'):
        if not Path(model).is_file():
            raise SystemExit(f'student checkpoint {model} not found')
        return load_checkpoint(model)[0]
    return build_yolo(model, names=names, workdir=workdir, exact_scale=True).model


def distill(settings: StageSettings, project: Path, name: str) -> Path:
    """Run KD training; returns the student's best checkpoint (a plain YOLO .pt)."""
    from .trainer import DistillTrainer

    os.environ.setdefault('YOLO_OFFLINE', '1')
    if not settings.teacher:
        raise SystemExit('vru-train distill: no teacher: give --teacher TEACHER.pt or '
                         'distill.teacher in the recipe')
    if settings.weights:
        from ..start_point import start_model

        student, _ = start_model(settings, Path(project) / name)
    else:
        student = load_student(settings.model, dataset_names(settings.data),
                               Path(project) / name)
    overrides = {**settings.train_args(), 'project': str(project), 'name': name,
                 'exist_ok': True}
    trainer = DistillTrainer(overrides=overrides, teacher=settings.teacher, student=student,
                             kd=settings.kd)
    trainer.train()
    if settings.weights:
        from ..start_point import record_trained

        record_trained(trainer, Path(project) / name)
    return Path(trainer.best if Path(trainer.best).is_file() else trainer.last)


def resume(checkpoint: Path, **overrides) -> Path:
    """Continue an interrupted KD run from its ``last.pt`` (teacher and KD settings inside)."""
    from .trainer import DistillTrainer

    from ..start_point import record_trained

    trainer = DistillTrainer(overrides={'resume': str(checkpoint), **overrides})
    trainer.train()
    record_trained(trainer, Path(checkpoint).parent.parent)  # no-op without a start.json
    return Path(trainer.best if Path(trainer.best).is_file() else trainer.last)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_train_arguments(parser, '--student', 'student: yolov8s (default), a scale, .yaml or '
                        '.pt (a pruned checkpoint included)')
    parser.add_argument('--teacher', help='teacher checkpoint (.pt)')
    parser.add_argument('--resume', type=Path, metavar='LAST_PT',
                        help='continue an interrupted run from its weights/last.pt')


def run(args: argparse.Namespace) -> int:
    if args.resume:
        best = resume(args.resume)
    else:
        settings, project, name = settings_from_args(args, 'distill')
        if args.teacher:
            settings.teacher = args.teacher
        best = distill(settings, project, name)
    print(f'student: {best}')
    return 0
