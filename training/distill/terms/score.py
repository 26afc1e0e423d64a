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

"""Class-score distillation on the foreground anchors (``distill.kd.score``)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .base import KDTerm, positive, register, TermContext, TermInputs, TermSettings
from ...settings import option


@dataclass
class ScoreSettings(TermSettings):
    temperature: float = positive(1.0, 'softening temperature T')
    mode: str = option('bce', 'bce: per-class sigmoid (YOLOv8 scores); kl: softmax over classes',
                       choices=('bce', 'kl'))


@register
class ScoreDistillLoss(KDTerm):
    r"""
    Class-score distillation on foreground anchors (Hinton et al., 2015, adapted to sigmoid heads).

    ``mode='bce'`` (default; YOLOv8 scores are independent sigmoids): with
    :math:`p_t=\sigma(z_t/T)`, :math:`p_s=\sigma(z_s/T)` per class,

    .. math:: L = \frac{T^2}{N_{fg}} \sum_{a\in fg} \sum_c
              \mathrm{BCE}(p_s, p_t) - H(p_t)
              = \frac{T^2}{N_{fg}} \sum \mathrm{KL}(\mathrm{Bern}(p_t)\,\|\,\mathrm{Bern}(p_s))

    (the teacher entropy :math:`H` is subtracted so that the loss is 0 when the student equals
    the teacher; the gradient is that of plain BCE). ``mode='kl'``:
    :math:`L = \frac{T^2}{N_{fg}}\sum_a \mathrm{KL}(\sigma_c(z_t/T)\|\sigma_c(z_s/T))`
    with :math:`\sigma_c` the softmax over classes.

    Default ``T=1`` (Hinton's KD with sigmoid outputs keeps the score calibration of the head).
    """

    name = 'score'
    order = 0
    Settings = ScoreSettings

    def __init__(self, temperature: float = ScoreSettings.temperature,
                 mode: str = ScoreSettings.mode):
        super().__init__()
        checked = ScoreSettings(temperature=temperature, mode=mode)
        self.temperature, self.mode = checked.temperature, checked.mode

    @classmethod
    def build(cls, settings: ScoreSettings, context: TermContext) -> ScoreDistillLoss:
        return cls(settings.temperature, settings.mode)

    def compute(self, inputs: TermInputs) -> torch.Tensor:
        return self(inputs.student_head['scores'], inputs.teacher_head['scores'], inputs.fg_mask)

    def forward(self, student: torch.Tensor, teacher: torch.Tensor,
                fg_mask: torch.Tensor) -> torch.Tensor:
        """``student``/``teacher``: class logits [B, nc, A]; ``fg_mask``: bool [B, A]."""
        t = self.temperature
        s = student.float().permute(0, 2, 1)[fg_mask] / t  # [N_fg, nc]
        te = teacher.float().permute(0, 2, 1)[fg_mask] / t
        n = max(int(s.shape[0]), 1)
        if self.mode == 'bce':
            p_t = te.sigmoid()
            kl = (F.binary_cross_entropy_with_logits(s, p_t, reduction='none')
                  - F.binary_cross_entropy_with_logits(te, p_t, reduction='none'))
        else:
            kl = F.kl_div(F.log_softmax(s, -1), F.log_softmax(te, -1), reduction='none',
                          log_target=True)
        return kl.sum() * (t * t) / n
