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

"""1x1 convolutions that map student channels to teacher channels (identity when they match)."""
from __future__ import annotations

from typing import Sequence

from torch import nn


def make_adapter(student_ch: int, teacher_ch: int) -> nn.Module:
    """Build a 1x1 conv (+BN) for a channel mismatch, else ``nn.Identity`` (equal -> 0 loss)."""
    if student_ch == teacher_ch:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(student_ch, teacher_ch, 1, bias=False),
                         nn.BatchNorm2d(teacher_ch))


def make_adapters(student_chs: Sequence[int], teacher_chs: Sequence[int]) -> nn.ModuleList:
    if len(student_chs) != len(teacher_chs):
        raise ValueError(f'{len(student_chs)} student layers vs {len(teacher_chs)} teacher '
                         'layers: distilled layers must pair up one to one')
    return nn.ModuleList(make_adapter(s, t) for s, t in zip(student_chs, teacher_chs))
