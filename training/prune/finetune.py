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
call. Without a teacher the fine-tune is plain (:class:`PrunedDetectionTrainer`); a teacher
given to an install without the distill package is an error that says what to install.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .checkpoint import load_model
from .trainers import PrunedDetectionTrainer
from ..stages.common import best_weights

TRAIN_EXTRA = 'pip install -e ./training'


@dataclass
class FinetuneResult:
    weights: Path
    method: str  # 'kd' or 'plain'
    note: str = ''


def _distill_trainer():
    try:
        from training.distill.trainer import DistillTrainer
    except ImportError as exc:
        raise ModuleNotFoundError(f'the KD fine-tune needs training.distill ({exc}); install '
                                  f'the training package whole: {TRAIN_EXTRA}',
                                  name='training.distill') from exc
    return DistillTrainer


def finetune_pruned(student: Path, data: Path, teacher: Path | None, kd: dict[str, Any],
                    **train_args: Any) -> FinetuneResult:
    """Train the pruned checkpoint ``student`` further; returns the resulting checkpoint."""
    overrides = {'model': str(student), 'data': str(data), **train_args}
    if teacher is None:
        trainer = PrunedDetectionTrainer(overrides=overrides)
        trainer.train()
        return FinetuneResult(best_weights(trainer), 'plain', 'plain fine-tune (no teacher)')
    trainer = _distill_trainer()(overrides=overrides, teacher=str(teacher),
                                 student=load_model(student), kd=kd)
    trainer.train()
    return FinetuneResult(best_weights(trainer), 'kd', f'distilled from {teacher}')
