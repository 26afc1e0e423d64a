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
One schema per stage: a dataclass whose fields are the recipe keys and the command-line flags.

ultralytics keeps every train argument once (``cfg/default.yaml``) and checks types and ranges
in one place (``check_cfg``). Here each stage's settings class does both: a field is declared
once with :func:`option` (default, help, allowed values or range), and

* :meth:`Settings.from_recipe` builds it from a recipe section, refusing unknown keys with the
  stage's valid keys (and naming the new key of a renamed one);
* :meth:`Settings.add_arguments` derives the ``vru-train STAGE`` flags (``keep_float`` ->
  ``--keep-float``), each help line showing the default;
* ``__post_init__`` validates every value, whichever way the object was built.

Torch-free: ``--help`` builds parsers from these classes without importing a framework.
"""
from __future__ import annotations

import argparse
import copy
from dataclasses import dataclass, field, fields, MISSING, replace
import typing
from typing import Any, ClassVar, Mapping

import yaml


NONE = type(None)
REQUIRED = object()  # an option without a default (a positional argument on the command line)


class RecipeError(ValueError):
    """A recipe or a settings value that does not match its stage's schema."""


def option(default: Any, doc: str, *, choices: tuple | None = None,
           low: float | None = None, high: float | None = None, low_open: bool = False,
           high_open: bool = False, expect: str | None = None) -> Any:
    """
    Declare one setting: its default, help line and allowed values.

    ``low``/``high`` bound numbers (``*_open``: the bound itself is excluded); ``choices``
    lists the allowed strings; ``expect`` says what a value of the wrong type should have been.
    """
    meta = {'help': doc, 'choices': choices, 'low': low, 'high': high,
            'low_open': low_open, 'high_open': high_open, 'expect': expect}
    if default is REQUIRED:
        return field(metadata=meta)
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Kind:
    """What a field holds: its scalar type, optional, or a list/mapping of them."""

    base: type
    optional: bool = False
    container: type | None = None  # list or dict


def _kind(hint: Any) -> Kind:
    args = [a for a in typing.get_args(hint) if a is not NONE]
    optional = any(a is NONE for a in typing.get_args(hint))
    if optional and len(args) == 1:
        inner = _kind(args[0])
        return Kind(inner.base, True, inner.container)
    origin = typing.get_origin(hint)
    if origin in (list, tuple):
        return Kind(args[0] if args else str, False, list)
    if origin is dict or hint is dict:
        return Kind(object, False, dict)
    return Kind(hint if isinstance(hint, type) else object)


class Settings:
    """Base of every stage's settings dataclass (subclasses are ``@dataclass``)."""

    STAGE: ClassVar[str] = ''
    # Recipe keys / flags of earlier versions: old name -> new name (refused with the new name).
    RENAMED: ClassVar[dict[str, str]] = {}
    # Command-line flags of earlier versions that are no setting's name: flag -> what replaces it.
    FLAG_RENAMED: ClassVar[dict[str, str]] = {}

    def __post_init__(self) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, self._checked(f, getattr(self, f.name)))
        self.check()

    def check(self) -> None:
        """Cross-field checks of a stage (one value's range is declared in its option)."""

    # -- schema -------------------------------------------------------------------------------
    @classmethod
    def kinds(cls) -> dict[str, Kind]:
        hints = typing.get_type_hints(cls)
        return {f.name: _kind(hints[f.name]) for f in fields(cls)}

    @classmethod
    def keys(cls) -> set[str]:
        """Return the recipe keys of this stage (the field names)."""
        return {f.name for f in fields(cls)}

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Every default by key (required settings, which have none, are left out)."""
        out = {}
        for f in fields(cls):
            if f.default is not MISSING:
                out[f.name] = f.default
            elif f.default_factory is not MISSING:
                out[f.name] = f.default_factory()
        return out

    def where(self, key: str) -> str:
        return f'{self.STAGE}.{key}' if self.STAGE else key

    def _checked(self, f, value: Any) -> Any:
        """Return ``value`` converted to the field's type, or raise naming the key."""
        kind = self.kinds()[f.name]
        meta, name = f.metadata, self.where(f.name)
        if value is None:
            if kind.optional:
                return None
            raise RecipeError(f'{name}: must be set, got null')
        if kind.container is list:
            if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
                raise RecipeError(f'{name}: expected {meta["expect"] or "a list"}, got {value!r}')
            return [self._scalar(name, kind.base, v, meta) for v in value]
        if kind.container is dict:
            if not isinstance(value, Mapping):
                raise RecipeError(f'{name}: expected {meta["expect"] or "a mapping"}, got '
                                  f'{value!r}')
            return dict(value)
        return self._scalar(name, kind.base, value, meta)

    @staticmethod
    def _scalar(name: str, base: type, value: Any, meta: Mapping[str, Any]) -> Any:
        if base is bool:
            if not isinstance(value, bool):
                raise RecipeError(f'{name}: expected true/false, got {value!r}')
            return value
        if base in (int, float):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not ok or (base is int and value != int(value)):
                word = 'an integer' if base is int else 'a number'
                raise RecipeError(f'{name}: expected {word}, got {value!r}')
            value = base(value)
            low, high = meta.get('low'), meta.get('high')
            if (low is not None and (value < low or (meta.get('low_open') and value == low))) or (
                    high is not None and (value > high or (meta.get('high_open')
                                                           and value == high))):
                raise RecipeError(f'{name}: expected {_range_words(base, meta)}, got {value!r}')
            return value
        if base is str:
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                raise RecipeError(f'{name}: expected a string, got {value!r}')
            value = str(value)
            choices = meta.get('choices')
            if choices and value not in choices:
                raise RecipeError(f'{name}: {value!r} is not one of {list(choices)}')
            return value
        return value

    # -- recipe ---------------------------------------------------------------------------------
    @classmethod
    def from_recipe(cls, section: Any, where: str | None = None, **given: Any):
        """
        Build from a recipe section (missing keys take the defaults; unknown keys are errors).

        ``given``: values the caller fills in (the pipeline's data, teacher, ...), overridden
        by the section itself.
        """
        where = where or cls.STAGE
        section = {} if section is None else section
        if not isinstance(section, Mapping):
            raise RecipeError(f'{where}: expected a mapping, got {section!r}')
        cls.refuse_unknown(section, where)
        try:
            return cls(**{**given, **section})
        except TypeError as exc:  # a missing required field
            raise RecipeError(f'{where}: {exc}') from None

    @classmethod
    def refuse_unknown(cls, section: Mapping[str, Any], where: str) -> None:
        keys = cls.keys()
        for old in sorted(set(section) - keys):
            if old in cls.RENAMED:
                raise RecipeError(f'{where}: {old!r} is now called {cls.RENAMED[old]!r}; rename '
                                  'the key')
        unknown = sorted(set(section) - keys)
        if unknown:
            raise RecipeError(f'{where}: unknown key(s) {unknown}; valid keys: {sorted(keys)}')

    # -- command line ---------------------------------------------------------------------------
    @classmethod
    def flag(cls, name: str) -> str:
        return '--' + name.replace('_', '-')

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser, title: str = 'settings') -> None:
        """
        Add one flag per setting; the parsed value is None unless the flag was given.

        The default shown is the settings default; a flag left out keeps the recipe's value.
        """
        group = parser.add_argument_group(f'{title} (recipe section {cls.STAGE}:, same names)'
                                          if cls.STAGE else title)
        kinds = cls.kinds()
        defaults = cls.defaults()
        for f in fields(cls):
            kind, meta = kinds[f.name], f.metadata
            if f.name not in defaults:  # required: a positional argument
                group.add_argument(f.name, help=meta['help'], choices=meta.get('choices'),
                                   metavar=f.name.upper())
                continue
            text = f'{meta["help"]} (default: {_shown(defaults[f.name])})'
            kwargs: dict[str, Any] = {'dest': f.name, 'default': None, 'help': text}
            if kind.container is dict:
                kwargs.update(nargs='+', metavar='KEY=VALUE', type=str)
            elif kind.container is list:
                kwargs.update(nargs='+', type=kind.base, choices=meta.get('choices'))
            elif kind.base is bool:
                kwargs['action'] = argparse.BooleanOptionalAction
            else:
                kwargs['type'] = kind.base if kind.base in (int, float) else str
                if meta.get('choices'):
                    kwargs['choices'] = meta['choices']
            group.add_argument(cls.flag(f.name), **kwargs)
        renamed = {cls.flag(old): cls.flag(new) for old, new in cls.RENAMED.items()}
        for old, new in {**renamed, **cls.FLAG_RENAMED}.items():
            if old not in parser._option_string_actions:
                parser.add_argument(old, action=_Renamed, nargs='*', new=new,
                                    help=argparse.SUPPRESS)

    @classmethod
    def given_flags(cls, args: argparse.Namespace) -> dict[str, Any]:
        """Values of the flags the user gave (mappings parsed from KEY=VALUE or YAML)."""
        kinds = cls.kinds()
        out = {}
        for f in fields(cls):
            value = getattr(args, f.name, None)
            if value is None:
                continue
            out[f.name] = parse_mapping(value, cls.flag(f.name)) \
                if kinds[f.name].container is dict else value
        return out

    def updated(self, **values: Any):
        """Return a validated copy with ``values`` replaced."""
        return replace(self, **values)


class _Renamed(argparse.Action):
    """A flag of an earlier version: the error names the flag that replaced it."""

    def __init__(self, option_strings, dest, new: str, **kwargs):
        self.new = new
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        parser.error(f'{option_string} is now {self.new}')


def parse_mapping(items: list[str] | Mapping[str, Any], flag: str) -> dict[str, Any]:
    """``['a=1', 'b=x']`` or ``['{a: 1}']`` -> ``{'a': 1, 'b': 'x'}`` (values read as YAML)."""
    if isinstance(items, Mapping):
        return dict(items)
    out: dict[str, Any] = {}
    for item in items:
        if item.lstrip().startswith('{'):
            value = yaml.safe_load(item)
            if not isinstance(value, dict):
                raise RecipeError(f'{flag} {item!r}: expected a mapping')
            out.update(value)
            continue
        key, sep, value = item.partition('=')
        if not sep or not key:
            raise RecipeError(f'{flag} {item!r}: expected KEY=VALUE (or a YAML mapping)')
        out[key] = yaml.safe_load(value)
    return out


def _range_words(base: type, meta: Mapping[str, Any]) -> str:
    """Describe a range: 'a positive integer', 'a non-negative number', 'a value in [a, b]'."""
    word = 'integer' if base is int else 'number'
    low, high, low_open = meta.get('low'), meta.get('high'), meta.get('low_open')
    positive = (low == 0 and low_open) or (base is int and low == 1 and not low_open)
    if high is None and positive:
        return f'a positive {word}'
    if high is None and low == 0:
        return f'a non-negative {word}'
    return f'a value in {_interval(meta)}'


def _interval(meta: Mapping[str, Any]) -> str:
    low, high = meta.get('low'), meta.get('high')
    left = '(' if meta.get('low_open') or low is None else '['
    right = ')' if meta.get('high_open') or high is None else ']'
    return f'{left}{"-inf" if low is None else low}, {"inf" if high is None else high}{right}'


def _shown(value: Any) -> str:
    if value is None:
        return 'none'
    if isinstance(value, (list, dict)) and not value:
        return 'empty'
    if isinstance(value, dict):
        return yaml.safe_dump(value, default_flow_style=True, width=200, sort_keys=False).strip()
    if isinstance(value, list):
        return ' '.join(str(v) for v in value)
    return str(value)
