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
The calibrate stage's settings: every default once, shared by the recipe and the command line.

Recipe section ``calibrate:`` keys are the field names; ``vru-train calibrate`` flags are the
same names with dashes (``keep_float`` -> ``--keep-float``), except ``images``, which the
command line calls ``--num-images`` (``--images`` there is a folder of images).
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping

from .qdq import METHODS, QuantSettings


@dataclass(frozen=True)
class CalibrateSettings:
    """How INT8 is calibrated: images, range method, kept-float layers, accuracy budget."""

    images: int = 512             # calibration images drawn from the training split
    method: str = QuantSettings.method          # activation ranges: max | percentile | entropy
    percentile: float = QuantSettings.percentile  # for method percentile
    keep_float: int = 0           # keep the N most sensitive convs in float
    max_drop: float | None = None  # mAP50 points INT8 may lose on the validation images
    val_images: int = 200         # validation images --max-drop measures the drop on
    max_float_layers: int = 10    # most layers --max-drop may keep float (each step costs an eval)
    seed: int = 0                 # image draws and sensitivity images

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f'calibrate: method {self.method!r}; expected one of '
                             f'{sorted(METHODS)}')
        if self.images <= 0 or self.val_images <= 0:
            raise ValueError('calibrate: images and val_images must be positive')
        if self.keep_float < 0 or self.max_float_layers < 0:
            raise ValueError('calibrate: keep_float and max_float_layers must be >= 0')
        if self.max_drop is not None and self.max_drop < 0:
            raise ValueError(f'calibrate: max_drop {self.max_drop} must be >= 0 (mAP50 points)')

    @classmethod
    def keys(cls) -> set[str]:
        return {f.name for f in fields(cls)}

    @classmethod
    def from_recipe(cls, section: Mapping[str, Any]) -> CalibrateSettings:
        """Build from a recipe's ``calibrate:`` mapping (the caller checks unknown keys)."""
        kinds = {f.name: f.type for f in fields(cls)}
        values = {}
        for key, value in section.items():
            if value is None or key not in kinds:
                values[key] = value
            elif key == 'method':
                values[key] = str(value)
            else:
                values[key] = (float(value) if key in ('percentile', 'max_drop')
                               else int(value))
        return cls(**values)

    def quant(self, **overrides: Any) -> QuantSettings:
        """Return the Q/DQ settings these imply (``overrides``: other QuantSettings fields)."""
        return QuantSettings(method=self.method, percentile=self.percentile, **overrides)
