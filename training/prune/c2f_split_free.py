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
A C2f without ``chunk``: two 1x1 convs instead of one conv split in half.

Torch-Pruning cannot follow channel indices through ``Tensor.chunk``; with the first conv
split into ``cv0`` (first half) and ``cv1`` (second half) every channel has one producer and
the dependency graph is exact. Weights are copied, so outputs are identical to the original.
The class lives in an importable module so pickled checkpoints (``YOLO(path)``) load it.
"""
from __future__ import annotations

import torch
from torch import nn

# Attributes ultralytics' parse_model sets on each top-level layer and _predict_once reads.
_LAYER_ATTRS = ('f', 'i', 'type', 'np')


class C2fSplitFree(nn.Module):
    """CSP bottleneck with two parallel 1x1 convs; same maths as ultralytics' C2f."""

    def __init__(self, cv0: nn.Module, cv1: nn.Module, m: nn.ModuleList, cv2: nn.Module):
        super().__init__()
        self.cv0, self.cv1, self.m, self.cv2 = cv0, cv1, m, cv2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = [self.cv0(x), self.cv1(x)]
        y.extend(m(y[-1]) for m in self.m)
        return self.cv2(torch.cat(y, 1))


def _half_conv(conv: nn.Module, sl: slice) -> nn.Module:
    """Copy an ultralytics ``Conv`` keeping only output channels ``sl`` (conv + BN + act)."""
    from ultralytics.nn.modules import Conv

    src = conv.conv
    n_out = len(range(*sl.indices(src.out_channels)))
    new = Conv(src.in_channels, n_out, src.kernel_size[0], src.stride[0],
               g=src.groups, d=src.dilation[0])
    new.conv.padding = src.padding
    new.act = conv.act
    with torch.no_grad():
        new.conv.weight.copy_(src.weight[sl])
        if src.bias is not None:
            new.conv.bias = nn.Parameter(src.bias[sl].clone())
        bn_src, bn = conv.bn, new.bn
        bn.weight.copy_(bn_src.weight[sl])
        bn.bias.copy_(bn_src.bias[sl])
        bn.running_mean.copy_(bn_src.running_mean[sl])
        bn.running_var.copy_(bn_src.running_var[sl])
        bn.eps, bn.momentum = bn_src.eps, bn_src.momentum
    return new


def from_c2f(c2f: nn.Module) -> C2fSplitFree:
    """Build the split-free equivalent of a ``C2f`` (weights copied, layer tags kept)."""
    if not hasattr(c2f.cv1, 'bn'):
        raise ValueError(f'{type(c2f).__name__}.cv1 has no BatchNorm (fused model?); '
                         'convert C2f blocks before fusing Conv+BN')
    c = c2f.c
    new = C2fSplitFree(_half_conv(c2f.cv1, slice(0, c)), _half_conv(c2f.cv1, slice(c, 2 * c)),
                       c2f.m, c2f.cv2)
    for attr in _LAYER_ATTRS:
        if hasattr(c2f, attr):
            setattr(new, attr, getattr(c2f, attr))
    new.train(c2f.training)
    return new.to(next(c2f.parameters()).device)


def replace_c2f(model: nn.Module) -> int:
    """Replace every ultralytics ``C2f`` inside ``model`` in place; returns how many."""
    from ultralytics.nn.modules import C2f

    count = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is C2f:
                setattr(parent, name, from_c2f(child))
                count += 1
    return count
