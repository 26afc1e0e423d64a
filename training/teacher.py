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
`vru-train teacher`: train the large teacher (YOLOv8-L by default) with ultralytics.

A ``.pt`` starts from the user's weights; a scale name or ``.yaml`` builds the model with
random initialisation (nothing is downloaded).
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from .recipe import StageSettings
from .stage_args import add_train_arguments, dataset_names, settings_from_args


def train_teacher(settings: StageSettings, project: Path, name: str) -> Path:
    """Train and return the teacher's best checkpoint (last.pt when no validation ran)."""
    from .models import build_yolo

    os.environ.setdefault('YOLO_OFFLINE', '1')
    project = Path(project).resolve()  # ultralytics nests a relative project under runs/detect
    run_dir = project / name
    if settings.weights:
        return train_from_pretrained(settings, project, name)
    yolo = build_yolo(settings.model, names=dataset_names(settings.data), workdir=run_dir,
                      exact_scale=True)
    yolo.train(**settings.train_args(), project=str(project), name=name, exist_ok=True)
    trainer = yolo.trainer
    return Path(trainer.best if Path(trainer.best).is_file() else trainer.last)


def train_from_pretrained(settings: StageSettings, project: Path, name: str) -> Path:
    """Plain ultralytics training of a model started from ``settings.weights``."""
    from ultralytics.models.yolo.detect import DetectionTrainer

    from .start_point import record_trained, start_model

    project = Path(project).resolve()  # ultralytics nests a relative project under runs/detect
    model, _ = start_model(settings, project / name)
    overrides = {**settings.train_args(), 'model': str(settings.weights),
                 'project': str(project), 'name': name, 'exist_ok': True}
    trainer = DetectionTrainer(overrides=overrides)
    trainer.model = model  # setup_model keeps a module as it is
    trainer.train()
    record_trained(trainer, project / name)
    return Path(trainer.best if Path(trainer.best).is_file() else trainer.last)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_train_arguments(parser, '--model', 'teacher: yolov8l (default), a scale, .yaml or .pt')


def run(args: argparse.Namespace) -> int:
    settings, project, name = settings_from_args(args, 'teacher')
    best = train_teacher(settings, project, name)
    print(f'teacher: {best}')
    return 0
