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

"""Channel-wise distillation (CWD) of the neck outputs (``distill.kd.cwd``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F

from .base import KDTerm, positive, register, TermContext, TermInputs, TermSettings
from ..adapters import make_adapters


@dataclass
class CWDSettings(TermSettings):
    temperature: float = positive(1.0, 'softening temperature T of the spatial softmax')


@register
class ChannelWiseDivergence(KDTerm):
    r"""
    Channel-wise KD for dense prediction (Shu et al., ICCV 2021), as in mmrazor's ``cwd.py``.

    Each channel's activation map is turned into a distribution over the H*W positions,
    :math:`\phi(y_c) = \mathrm{softmax}(y_{c,i}/T)`, and the student matches the teacher by

    .. math:: L = \frac{T^2}{N\,C} \sum_{n,c} \sum_i \phi(y^T_{c})_i
              \log\frac{\phi(y^T_{c})_i}{\phi(y^S_{c})_i}

    averaged over the distilled levels. Defaults from the paper / mmrazor: ``T=1``
    (mmrazor's detection configs use ``tau=1`` with ``loss_weight`` 5-10, see recipes).
    Student channels are mapped to the teacher's by a 1x1 adapter when they differ.
    """

    name = 'cwd'
    order = 2
    Settings = CWDSettings

    def __init__(self, student_channels: Sequence[int], teacher_channels: Sequence[int],
                 temperature: float = CWDSettings.temperature):
        super().__init__()
        self.temperature = CWDSettings(temperature=temperature).temperature
        self.adapters = make_adapters(student_channels, teacher_channels)

    @classmethod
    def build(cls, settings: CWDSettings, context: TermContext) -> ChannelWiseDivergence:
        return cls(*context.neck_channels, settings.temperature)

    def compute(self, inputs: TermInputs) -> torch.Tensor:
        return self(inputs.student_neck, inputs.teacher_neck)

    def level_loss(self, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        n, c, h, w = teacher.shape
        t = self.temperature
        s = student.float().reshape(n * c, h * w) / t
        te = teacher.float().reshape(n * c, h * w) / t
        kl = F.kl_div(F.log_softmax(s, -1), F.log_softmax(te, -1), reduction='sum',
                      log_target=True)
        return kl * (t * t) / (n * c)

    def forward(self, student: Sequence[torch.Tensor],
                teacher: Sequence[torch.Tensor]) -> torch.Tensor:
        losses = [self.level_loss(a(s.float()), t.float())
                  for a, s, t in zip(self.adapters, student, teacher)]
        return torch.stack(losses).mean()
