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

The terms and their settings are those registered in :mod:`.terms` (one file each). Plain data
(dicts of numbers/lists) travels in ultralytics' ``args`` (checkpoints, resume, the generated
DDP script) and in recipes. ``KDConfig.from_dict`` validates and fills defaults; unknown keys
are errors that list the valid ones.
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Any, Iterator

from ..settings import RecipeError


class KDConfig:
    """The settings of every registered KD term (``cfg.score``, ``cfg['cwd']``, ...)."""

    def __init__(self, terms: dict[str, Any]):
        self.terms = terms

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__['terms'][name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> Any:
        return self.terms[name]

    @classmethod
    def from_dict(cls, data: KDConfig | dict[str, Any] | None, where: str = 'kd') -> KDConfig:
        """
        Validate a (possibly partial) dict; missing terms and keys take the defaults.

        ``{'cwd.weight': 2}`` (a command line's KEY=VALUE) means ``{'cwd': {'weight': 2}}``.
        """
        from .terms import registered

        if isinstance(data, KDConfig):
            return data
        data = {} if data is None else data
        if not isinstance(data, dict):
            raise RecipeError(f'{where}: expected a mapping of KD terms, got '
                              f'{type(data).__name__}')
        data = _nested(data)
        terms = registered()
        unknown = sorted(set(data) - set(terms))
        if unknown:
            raise RecipeError(f'{where}: unknown KD term(s) {unknown}; expected some of '
                              f'{sorted(terms)}')
        built = {}
        for name, term in terms.items():
            try:
                built[name] = term.Settings.from_recipe(data.get(name), where=f'kd.{name}')
            except RecipeError as exc:
                text = str(exc)
                raise RecipeError(where + text[2:] if text.startswith('kd') else text) from None
        return cls(built)

    def to_dict(self) -> dict[str, Any]:
        return {name: asdict(s) for name, s in self.terms.items()}

    def enabled(self) -> Iterator[tuple[str, Any]]:
        """(name, settings) of the terms switched on, in loss order."""
        return ((name, s) for name, s in self.terms.items() if s.enabled)

    @property
    def any_enabled(self) -> bool:
        return any(True for _ in self.enabled())


def _nested(kd: dict[str, Any]) -> dict[str, Any]:
    """``{'cwd.weight': 2}`` -> ``{'cwd': {'weight': 2}}``, merged over the term's own mapping."""
    out: dict[str, Any] = {}
    for key, value in kd.items():
        term, dot, name = str(key).partition('.')
        if dot:
            out[term] = {**(out.get(term) or {}), name: value}
        elif isinstance(value, dict):
            out[term] = {**(out.get(term) or {}), **value}
        else:
            out[term] = value
    return out
