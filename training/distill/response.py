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
Response (logit) distillation on the anchors the student's assigner marked as foreground.

Two small losses, one per head branch of YOLOv8's decoupled Detect head.
"""
from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F


class ScoreDistillLoss(nn.Module):
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

    def __init__(self, temperature: float = 1.0, mode: str = 'bce'):
        super().__init__()
        if mode not in ('bce', 'kl'):
            raise ValueError(f"score KD mode must be 'bce' or 'kl', got {mode!r}")
        if temperature <= 0:
            raise ValueError(f'score KD temperature must be > 0, got {temperature}')
        self.temperature = float(temperature)
        self.mode = mode

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


class BoxDistributionDistillLoss(nn.Module):
    r"""
    Localization distillation of the DFL box distributions (Zheng et al., LD, CVPR 2022).

    Each box side is a distribution over ``reg_max`` bins; with
    :math:`q=\mathrm{softmax}(b/T)` over the bins,

    .. math:: L = \frac{T^2}{4 N_{fg}} \sum_{a\in fg}\sum_{k=1}^{4}
              \mathrm{KL}(q_t^{a,k}\,\|\,q_s^{a,k})

    Default ``T=10`` (the LD paper's temperature for the main distillation region).
    """

    def __init__(self, temperature: float = 10.0, reg_max: int = 16):
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'box KD temperature must be > 0, got {temperature}')
        self.temperature = float(temperature)
        self.reg_max = int(reg_max)

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
