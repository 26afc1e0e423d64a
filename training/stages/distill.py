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
The distill stage: train a small student (YOLOv8-S by default) against a frozen teacher.

The KD terms and their settings (``kd:``) are those of training/distill/terms/, one file each.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
import os
from pathlib import Path
from typing import Any, TYPE_CHECKING

from .common import (add_run_flags, best_weights, check_dataset, dataset_names, run_folder,
                     TrainSettings)
from ..settings import option, RecipeError

if TYPE_CHECKING:  # torch is imported only when a command runs (fast --help)
    from torch import nn


@dataclass
class DistillSettings(TrainSettings):
    """The student, its teacher and the KD terms (recipe section ``distill:``)."""

    student: str = option('yolov8s', 'student: a scale, a .yaml or a .pt (a pruned checkpoint '
                          'included)')
    teacher: str | None = option(None, 'teacher checkpoint (.pt); the pipeline fills in its '
                                 "teacher stage's result")
    kd: dict[str, Any] = option({}, 'KD terms (score, box, cwd, feature: training/distill/terms/'
                                '), e.g. cwd.weight=2 or "{cwd: {weight: 2}}"; a term or key '
                                'left out takes its default')

    STAGE = 'distill'

    @property
    def model(self) -> str:
        return self.student

    def check(self) -> None:
        super().check()
        from ..distill.config import KDConfig

        object.__setattr__(self, 'kd', KDConfig.from_dict(self.kd,
                                                          where=self.where('kd')).to_dict())


SETTINGS = DistillSettings


def load_student(model: str, names: list[str], workdir: Path) -> nn.Module:
    """Load a student module: a checkpoint as saved (pruned models keep their shape) or new."""
    from ultralytics.nn.tasks import load_checkpoint

    from ..models import build_yolo

    if str(model).endswith('.pt'):
        if not Path(model).is_file():
            raise FileNotFoundError(f'student checkpoint {model} not found')
        return load_checkpoint(model)[0]
    return build_yolo(model, names=names, workdir=workdir, exact_scale=True).model


def run(settings: DistillSettings, run_dir: Path, resume: bool = False) -> Path:
    """
    KD training into the ultralytics run folder ``run_dir``; returns the student's weights.

    ``resume`` continues an interrupted run from its last.pt (teacher and KD settings inside).
    """
    os.environ.setdefault('YOLO_OFFLINE', '1')
    run_dir = Path(run_dir).resolve()
    last = run_dir / 'weights' / 'last.pt'
    if resume and last.is_file():
        return resume_run(last)
    if not settings.teacher:
        raise RecipeError('distill: no teacher: give --teacher TEACHER.pt or distill.teacher '
                          'in the recipe')
    from ..distill.trainer import DistillTrainer

    if settings.weights:
        from ..start_point import start_model

        student, _ = start_model(settings, run_dir)
    else:
        student = load_student(settings.student, dataset_names(settings.data), run_dir)
    overrides = {**settings.train_args(), 'project': str(run_dir.parent), 'name': run_dir.name,
                 'exist_ok': True}
    trainer = DistillTrainer(overrides=overrides, teacher=settings.teacher, student=student,
                             kd=settings.kd)
    trainer.train()
    if settings.weights:
        from ..start_point import record_trained

        record_trained(trainer, run_dir)
    return best_weights(trainer)


def resume_run(checkpoint: Path) -> Path:
    """Continue an interrupted KD run from its ``last.pt`` (teacher and KD settings inside)."""
    from ..distill.trainer import DistillTrainer
    from ..start_point import record_trained

    trainer = DistillTrainer(overrides={'resume': str(checkpoint)})
    trainer.train()
    record_trained(trainer, Path(checkpoint).parent.parent)  # no-op without a start.json
    return best_weights(trainer)


def add_inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--recipe', type=Path, help='recipe YAML: its distill: section is the '
                        'starting point the flags override (schema: training/recipe.py)')
    add_run_flags(parser)
    parser.add_argument('--resume', type=Path, metavar='LAST_PT',
                        help='continue an interrupted run from its weights/last.pt')


def main(args: argparse.Namespace, settings: DistillSettings, recipe: dict[str, Any]) -> int:
    if args.resume:
        best = resume_run(args.resume)
    else:
        check_dataset(settings, 'distill')
        best = run(settings, run_folder(args, recipe, 'distill'))
    print(f'student: {best}')
    return 0
