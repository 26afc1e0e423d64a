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
KD settings: which distillation terms run, their weights and hyper-parameters.

Plain data (dicts of numbers/lists) so that they travel in ultralytics' ``args`` (checkpoints,
resume, the generated DDP script) and in recipes. ``KDConfig.from_dict`` validates and fills
defaults; unknown keys are errors.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

# YOLOv8 layer indices: backbone P3 (4), P4 (6), SPPF/P5 (9); neck P3 (15), P4 (18), P5 (21).
DEFAULT_ALIGN_LAYERS = (4, 6, 9, 15, 18, 21)


@dataclass
class ScoreKD:
    enabled: bool = True
    weight: float = 1.0
    temperature: float = 1.0
    mode: str = 'bce'  # 'bce' (per-class sigmoid) or 'kl' (softmax over classes)


@dataclass
class BoxKD:
    enabled: bool = True
    weight: float = 1.0
    temperature: float = 10.0


@dataclass
class CWDKD:
    enabled: bool = True
    weight: float = 1.0
    temperature: float = 1.0


@dataclass
class FeatureKD:
    enabled: bool = True
    weight: float = 1.0
    tau: float = 1.0
    layers: list[int] = field(default_factory=lambda: list(DEFAULT_ALIGN_LAYERS))
    teacher_layers: list[int] | None = None  # defaults to ``layers`` (same YOLOv8 family)


@dataclass
class KDConfig:
    score: ScoreKD = field(default_factory=ScoreKD)
    box: BoxKD = field(default_factory=BoxKD)
    cwd: CWDKD = field(default_factory=CWDKD)
    feature: FeatureKD = field(default_factory=FeatureKD)

    @classmethod
    def from_dict(cls, data: 'KDConfig | dict[str, Any] | None', where: str = 'kd') -> 'KDConfig':
        """Validate a (possibly partial) dict; missing keys take the defaults."""
        if isinstance(data, KDConfig):
            return data
        data = {} if data is None else data
        if not isinstance(data, dict):
            raise TypeError(f'{where}: expected a mapping of KD terms, got {type(data).__name__}')
        sections = {f.name: f.default_factory for f in fields(cls)}
        unknown = sorted(set(data) - set(sections))
        if unknown:
            raise ValueError(f'{where}: unknown KD term(s) {unknown}; expected some of '
                             f'{sorted(sections)}')
        built = {}
        for name, factory in sections.items():
            default = factory()
            given = data.get(name) or {}
            if not isinstance(given, dict):
                raise TypeError(f'{where}.{name}: expected a mapping, got {given!r}')
            allowed = {f.name: f for f in fields(default)}
            bad = sorted(set(given) - set(allowed))
            if bad:
                raise ValueError(f'{where}.{name}: unknown key(s) {bad}; expected some of '
                                 f'{sorted(allowed)}')
            values = {**asdict(default), **given}
            for key, value in values.items():
                _check_value(f'{where}.{name}.{key}', key, value)
            built[name] = type(default)(**values)
        cfg = cls(**built)
        if cfg.score.mode not in ('bce', 'kl'):
            raise ValueError(f"{where}.score.mode: expected 'bce' or 'kl', got {cfg.score.mode!r}")
        tl = cfg.feature.teacher_layers
        if tl is not None and len(tl) != len(cfg.feature.layers):
            raise ValueError(f'{where}.feature.teacher_layers: {len(tl)} layers for '
                             f'{len(cfg.feature.layers)} student layers; they must pair up')
        return cfg

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def any_enabled(self) -> bool:
        return any(getattr(self, f.name).enabled for f in fields(self))


def _check_value(path: str, key: str, value: Any) -> None:
    if key == 'enabled' and not isinstance(value, bool):
        raise TypeError(f'{path}: expected true/false, got {value!r}')
    if key in ('weight', 'temperature', 'tau'):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f'{path}: expected a number, got {value!r}')
        if value < 0 or (key != 'weight' and value == 0):
            raise ValueError(f'{path}: expected a positive number, got {value!r}')
    if key in ('layers', 'teacher_layers') and value is not None:
        if not isinstance(value, (list, tuple)) or not value or not all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value):
            raise TypeError(f'{path}: expected a non-empty list of layer indices, got {value!r}')
