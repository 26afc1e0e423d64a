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

"""The KD term interface and its registry (a term registers itself; nothing else lists it)."""
from __future__ import annotations

from dataclasses import dataclass, field
import importlib
import pkgutil
from typing import Any, ClassVar, Sequence

import torch
from torch import nn

from ...settings import option, Settings


def positive(default: float, doc: str) -> Any:
    """Declare a setting that must be > 0 (a temperature, tau)."""
    return option(default, doc, low=0, low_open=True)


@dataclass
class TermSettings(Settings):
    """Settings every term has: on/off and its weight in the total loss."""

    enabled: bool = option(True, 'compute this term')
    weight: float = option(1.0, "the term's weight in the total loss", low=0)


@dataclass
class TermInputs:
    """What a term may read in one step (teacher outputs are detached)."""

    student_head: dict[str, torch.Tensor]  # Detect head: 'boxes' (DFL logits), 'scores'
    teacher_head: dict[str, torch.Tensor]
    fg_mask: torch.Tensor                  # bool [B, anchors]: the student assigner's foreground
    student_neck: list[torch.Tensor]       # the Detect head's input levels (P3-P5)
    teacher_neck: list[torch.Tensor]
    student_layers: list[torch.Tensor] = field(default_factory=list)  # this term's layers()
    teacher_layers: list[torch.Tensor] = field(default_factory=list)


@dataclass
class TermContext:
    """What a term is built from: channels of the hooked levels, the head's DFL bins."""

    neck_channels: tuple[Sequence[int], Sequence[int]]   # (student, teacher)
    layer_channels: tuple[Sequence[int], Sequence[int]]  # this term's layers()
    reg_max: int


class KDTerm(nn.Module):
    """One distillation term: ``compute(inputs)`` is its unweighted loss (a scalar)."""

    name: ClassVar[str]
    order: ClassVar[int]  # position in the total loss and results.csv (fixed across runs)
    Settings: ClassVar[type[TermSettings]]

    @classmethod
    def layers(cls, settings: Any) -> tuple[list[int], list[int]]:
        """Student and teacher layer indices this term needs hooked (beyond the neck)."""
        return [], []

    @classmethod
    def build(cls, settings: Any, context: TermContext) -> KDTerm:
        raise NotImplementedError

    def compute(self, inputs: TermInputs) -> torch.Tensor:
        raise NotImplementedError


_REGISTRY: dict[str, type[KDTerm]] = {}


def register(cls: type[KDTerm]) -> type[KDTerm]:
    """Class decorator: make a term known by its ``name`` (its key under ``distill.kd``)."""
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f'KD term {cls.name!r} registered twice')
    cls.Settings.STAGE = f'kd.{cls.name}'
    _REGISTRY[cls.name] = cls
    return cls


def registered() -> dict[str, type[KDTerm]]:
    """Every term of this package, by name, in loss order."""
    package = importlib.import_module(__package__)
    for info in pkgutil.iter_modules(package.__path__):
        if info.name != 'base':
            importlib.import_module(f'{__package__}.{info.name}')
    return dict(sorted(_REGISTRY.items(), key=lambda item: item[1].order))
