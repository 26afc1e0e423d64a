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
A training stage's start and end: the pretrained model it begins from, validated at epoch 0.

Each stage that starts from pretrained weights writes ``<stage>/train/start.json`` with what
transferred, the start's figures and, once trained, the trained model's figures at the same
image size, so that a fine-tune that loses accuracy shows in the log and in the report.
"""
from __future__ import annotations

from pathlib import Path

from .stages.common import dataset_names, TrainSettings


def start_model(settings: TrainSettings, workdir: Path):
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


def save_start(settings: TrainSettings, path: Path) -> Path:
    """Save the stage's pretrained start, head classes matched, untrained, as a checkpoint."""
    from .distill.trainer import save_module_checkpoint
    from .pretrained import pretrained_model

    model, _ = pretrained_model(settings.weights, dataset_names(settings.data),
                                settings.init_classes)
    return save_module_checkpoint(model, Path(path))


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
