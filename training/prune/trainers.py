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
Training a pruned model: keep the module as it is instead of rebuilding it from its yaml.

Ultralytics' trainers rebuild the model from ``model.yaml`` and copy the weights whose shapes
match; a pruned model's widths are not in its yaml, so that would silently train a fresh,
unpruned network. Pass ``trainer=PrunedDetectionTrainer`` to ``YOLO(pruned).train(...)``.
"""
from __future__ import annotations

from torch import nn
from ultralytics.models.yolo.detect import DetectionTrainer


def checkpoint_module(weights) -> nn.Module:
    """Return the model inside a checkpoint dict (EMA first) or the module itself."""
    if isinstance(weights, dict):
        weights = weights.get('ema') or weights.get('model')
    if not isinstance(weights, nn.Module):
        raise TypeError(f'expected a model or checkpoint dict, got {type(weights).__name__}')
    return weights


class PrunedDetectionTrainer(DetectionTrainer):
    """DetectionTrainer that trains the given (pruned) module itself."""

    def get_model(self, cfg=None, weights=None, verbose: bool = True):
        if weights is None:
            raise ValueError('PrunedDetectionTrainer needs the pruned model as weights '
                             '(YOLO("pruned.pt").train(trainer=PrunedDetectionTrainer, ...)); a '
                             'pruned architecture cannot be rebuilt from its yaml')
        model = checkpoint_module(weights).float()
        for p in model.parameters():
            p.requires_grad_(True)
        return model
