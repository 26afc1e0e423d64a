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
The teacher stage: plain ultralytics training of the large model (YOLOv8-L by default).

A ``.pt`` model or ``weights`` starts from the user's weights (head classes matched by name);
a scale name or ``.yaml`` builds the model with random initialisation (nothing is
downloaded). ``epochs: 0`` with ``weights`` takes the pretrained start as it is. The pipeline's
direct (plain) student runs this same training on the distill stage's settings.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
import os
from pathlib import Path
from typing import Any

from .common import (add_run_flags, best_weights, check_dataset, dataset_names, run_folder,
                     TrainSettings)
from ..settings import option, RecipeError


@dataclass
class TeacherSettings(TrainSettings):
    """The teacher's model and training (recipe section ``teacher:``)."""

    model: str = option('yolov8l', 'scale name (yolov8n/s/m/l/x, tiny, nano), a .yaml or a .pt')
    epochs: int = option(100, 'training epochs; 0 takes the pretrained start (weights) as it '
                         'is, the teacher of "learning without forgetting"', low=0)

    STAGE = 'teacher'

    def check(self) -> None:
        super().check()
        if self.epochs == 0 and not self.weights:
            raise RecipeError(f'{self.where("epochs")}: 0 takes the pretrained start as the '
                              'teacher as it is, so teacher.weights must name it (a .pt)')


SETTINGS = TeacherSettings


def run(settings: TrainSettings, run_dir: Path, resume: bool = False) -> Path:
    """
    Train ``settings.model`` into the ultralytics run folder ``run_dir``; returns its weights.

    With 0 epochs the result is the pretrained start as it is, head classes matched
    (``run_dir/start.pt``). ``resume`` continues an interrupted run from its last.pt.
    """
    from ..start_point import save_start

    os.environ.setdefault('YOLO_OFFLINE', '1')
    run_dir = Path(run_dir).resolve()  # ultralytics nests a relative project under runs/
    if settings.epochs == 0:
        return save_start(settings, run_dir / 'start.pt')
    last = run_dir / 'weights' / 'last.pt'
    if resume and last.is_file():
        return _resume(last, run_dir)
    if settings.weights:
        return _train_from_pretrained(settings, run_dir)
    from ..models import build_yolo

    yolo = build_yolo(settings.model, names=dataset_names(settings.data), workdir=run_dir,
                      exact_scale=True)
    yolo.train(**settings.train_args(), **_where(run_dir))
    return best_weights(yolo.trainer)


def _where(run_dir: Path) -> dict[str, Any]:
    return {'project': str(run_dir.parent), 'name': run_dir.name, 'exist_ok': True}


def _train_from_pretrained(settings: TrainSettings, run_dir: Path) -> Path:
    """Plain ultralytics training of a model started from ``settings.weights``."""
    from ultralytics.models.yolo.detect import DetectionTrainer

    from ..start_point import record_trained, start_model

    model, _ = start_model(settings, run_dir)
    overrides = {**settings.train_args(), 'model': str(settings.weights), **_where(run_dir)}
    trainer = DetectionTrainer(overrides=overrides)
    trainer.model = model  # setup_model keeps a module as it is
    trainer.train()
    record_trained(trainer, run_dir)
    return best_weights(trainer)


def _resume(last: Path, run_dir: Path) -> Path:
    """Continue an interrupted plain run from its last.pt (a pruned start stays pruned)."""
    from ultralytics import YOLO

    from ..prune.trainers import PrunedDetectionTrainer
    from ..start_point import record_trained

    yolo = YOLO(str(last))
    yolo.train(resume=True, trainer=PrunedDetectionTrainer)
    record_trained(yolo.trainer, run_dir)  # a pretrained start's start.json
    return best_weights(run_dir)


def add_inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--recipe', type=Path, help='recipe YAML: its teacher: section is the '
                        'starting point the flags override (schema: training/recipe.py)')
    add_run_flags(parser)


def main(args: argparse.Namespace, settings: TeacherSettings, recipe: dict[str, Any]) -> int:
    check_dataset(settings, 'teacher')
    weights = run(settings, run_folder(args, recipe, 'teacher'))
    print(f'teacher: {weights}')
    return 0
