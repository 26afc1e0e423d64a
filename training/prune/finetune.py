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
Fine-tune a pruned student, distilling from the unpruned model (CWD by default).

Uses the distillation trainer (``training.distill.trainer.DistillTrainer``) through one small
call; when that module is not installed the stage falls back to a plain fine-tune with
:class:`PrunedDetectionTrainer` and says so in its result (``method='plain'``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ultralytics.utils import LOGGER

from .checkpoint import load_model
from .trainers import PrunedDetectionTrainer

# Channel-wise distillation only: the pruned student keeps the teacher's layer layout, so the
# neck features pair up one to one; response terms can be switched on through ``kd``.
DEFAULT_KD: dict[str, Any] = {'cwd': {'enabled': True}, 'score': {'enabled': False},
                              'box': {'enabled': False}, 'feature': {'enabled': False}}


@dataclass
class FinetuneResult:
    weights: Path
    method: str  # 'kd' or 'plain'
    note: str = ''


def _load_distill_trainer():
    try:
        from training.distill.trainer import DistillTrainer
    except ImportError:
        return None
    return DistillTrainer


def _weights(trainer) -> Path:
    best, last = Path(trainer.best), Path(trainer.last)
    return best if best.is_file() else last


def finetune_pruned(student: Path, data: Path, teacher: Path | None,
                    kd: dict[str, Any] | None = None, **train_args: Any) -> FinetuneResult:
    """Train the pruned checkpoint ``student`` further; returns the resulting checkpoint."""
    overrides = {'model': str(student), 'data': str(data), **train_args}
    distill_trainer = _load_distill_trainer() if teacher is not None else None
    if distill_trainer is not None:
        module = load_model(student)
        trainer = distill_trainer(overrides=overrides, teacher=str(teacher), student=module,
                                  kd=kd if kd is not None else DEFAULT_KD)
        trainer.train()
        return FinetuneResult(_weights(trainer), 'kd', f'distilled from {teacher}')
    note = ('TODO: KD fine-tune unavailable (training.distill not installed); plain fine-tune '
            'without a teacher' if teacher is not None else 'plain fine-tune (no teacher given)')
    LOGGER.warning(f'prune fine-tune: {note}')
    trainer = PrunedDetectionTrainer(overrides=overrides)
    trainer.train()
    return FinetuneResult(_weights(trainer), 'plain', note)
