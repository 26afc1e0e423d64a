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
    run_dir = Path(project) / name
    if settings.weights:
        return train_from_pretrained(settings, project, name)
    yolo = build_yolo(settings.model, names=dataset_names(settings.data), workdir=run_dir,
                      exact_scale=True)
    yolo.train(**settings.train_args(), project=str(project), name=name, exist_ok=True)
    trainer = yolo.trainer
    return Path(trainer.best if Path(trainer.best).is_file() else trainer.last)


def start_model(settings: StageSettings, workdir: Path):
    """
    Build the stage's pretrained start and validate it (the epoch-0 figures).

    Returns ``(model, start)``; ``start`` holds the transfer report and the metrics, and is
    written to ``workdir/start.json`` so that the pipeline's report can show start vs trained.
    """
    import json

    from .pretrained import pretrained_model
    from .val_summary import format_line, validate_module

    from ultralytics.utils import LOGGER

    model, report = pretrained_model(settings.weights, dataset_names(settings.data),
                                     settings.init_classes)
    metrics = validate_module(model, settings.data, settings.imgsz, Path(workdir),
                              batch=settings.batch, device=settings.device)
    LOGGER.info(f'start (epoch 0, {settings.imgsz} px): {format_line(metrics)}')
    start = {'transfer': report.to_dict(), 'imgsz': settings.imgsz, 'start': metrics}
    Path(workdir).mkdir(parents=True, exist_ok=True)
    (Path(workdir) / 'start.json').write_text(json.dumps(start, indent=2))
    return model, start


def record_trained(trainer, workdir: Path) -> dict | None:
    """
    Add the trained model's figures (ultralytics' final validation of best.pt) to start.json.

    Logs start -> trained on one line, so a fine-tune that loses accuracy shows.
    """
    import json

    from .val_summary import format_line, summarize

    from ultralytics.utils import LOGGER

    path = Path(workdir) / 'start.json'
    result = getattr(getattr(trainer, 'validator', None), 'metrics', None)
    if not path.is_file() or result is None or not hasattr(result, 'box'):
        return None
    record = json.loads(path.read_text())
    record['trained'] = summarize(result)
    record['epochs'] = int(trainer.epochs)
    path.write_text(json.dumps(record, indent=2))
    LOGGER.info(f'start  ({record["imgsz"]} px): {format_line(record["start"])}')
    LOGGER.info(f'trained ({record["epochs"]} epochs): {format_line(record["trained"])}')
    return record


def train_from_pretrained(settings: StageSettings, project: Path, name: str) -> Path:
    """Plain ultralytics training of a model started from ``settings.weights``."""
    from ultralytics.models.yolo.detect import DetectionTrainer

    model, _ = start_model(settings, Path(project) / name)
    overrides = {**settings.train_args(), 'model': str(settings.weights),
                 'project': str(project), 'name': name, 'exist_ok': True}
    trainer = DetectionTrainer(overrides=overrides)
    trainer.model = model  # setup_model keeps a module as it is
    trainer.train()
    record_trained(trainer, Path(project) / name)
    return Path(trainer.best if Path(trainer.best).is_file() else trainer.last)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_train_arguments(parser, '--model', 'teacher: yolov8l (default), a scale, .yaml or .pt')


def run(args: argparse.Namespace) -> int:
    settings, project, name = settings_from_args(args, 'teacher')
    best = train_teacher(settings, project, name)
    print(f'teacher: {best}')
    return 0
