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

"""Localization distillation of the DFL box distributions (``distill.kd.box``)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .base import KDTerm, positive, register, TermContext, TermInputs, TermSettings


@dataclass
class BoxSettings(TermSettings):
    temperature: float = positive(10.0, 'softening temperature T of the DFL bins (LD: 10)')


@register
class BoxDistributionDistillLoss(KDTerm):
    r"""
    Localization distillation of the DFL box distributions (Zheng et al., LD, CVPR 2022).

    Each box side is a distribution over ``reg_max`` bins; with
    :math:`q=\mathrm{softmax}(b/T)` over the bins,

    .. math:: L = \frac{T^2}{4 N_{fg}} \sum_{a\in fg}\sum_{k=1}^{4}
              \mathrm{KL}(q_t^{a,k}\,\|\,q_s^{a,k})

    Default ``T=10`` (the LD paper's temperature for the main distillation region).
    """

    name = 'box'
    order = 1
    Settings = BoxSettings

    def __init__(self, temperature: float = BoxSettings.temperature, reg_max: int = 16):
        super().__init__()
        self.temperature = BoxSettings(temperature=temperature).temperature
        self.reg_max = int(reg_max)

    @classmethod
    def build(cls, settings: BoxSettings, context: TermContext) -> BoxDistributionDistillLoss:
        return cls(settings.temperature, context.reg_max)

    def compute(self, inputs: TermInputs) -> torch.Tensor:
        return self(inputs.student_head['boxes'], inputs.teacher_head['boxes'], inputs.fg_mask)

    def forward(self, student: torch.Tensor, teacher: torch.Tensor,
                fg_mask: torch.Tensor) -> torch.Tensor:
        """``student``/``teacher``: DFL logits [B, 4*reg_max, A]; ``fg_mask``: bool [B, A]."""
        t = self.temperature
        s = student.float().permute(0, 2, 1)[fg_mask].reshape(-1, self.reg_max) / t
        te = teacher.float().permute(0, 2, 1)[fg_mask].reshape(-1, self.reg_max) / t
        n = max(int(s.shape[0]), 1)  # anchors x 4 sides
        kl = F.kl_div(F.log_softmax(s, -1), F.log_softmax(te, -1), reduction='none',
                      log_target=True)
        return kl.sum() * (t * t) / n
