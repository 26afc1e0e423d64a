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
Each stage's settings object is its recipe section and its ``vru-train STAGE`` flags.

Same names, same defaults, one value reaching the stage the same way from either side; unknown
and renamed keys are refused with the valid or the new name.
"""
import argparse
from dataclasses import fields
from pathlib import Path

import pytest
from training.cli import COMMANDS, stage_parser
from training.recipe import load_recipe, RecipeError, settings_class, stage_settings
from training.settings import Settings
import yaml

STAGES = list(COMMANDS)  # data, teacher, distill, prune, export, calibrate, evaluate, pipeline
SECTIONS = [
    'teacher', 'distill', 'prune', 'export', 'calibrate', 'evaluate', 'pipeline']
# The flags a stage needs to parse at all (its input files), and values that are not defaults.
REQUIRED_INPUTS = {
    'data': ['bdd100k', '--out', 'o'], 'prune': ['--model', 'm.pt', '--out', 'o'],
    'export': ['--weights', 'w.pt'], 'calibrate': ['--model', 'm.onnx', '--images', 'i'],
    'evaluate': ['--models', 'm.onnx'], 'pipeline': ['r.yaml'],
}
OTHER = {'train': {'workers': 0}, 'kd': {'cwd': {'weight': 2.0}},
         'init_classes': {'rider': 'person'}, 'weights': 'w.pt', 'teacher': 't.pt',
         'data': 'd.yaml', 'device': 'cpu', 'model': 'yolov8n', 'student': 'yolov8n',
         'split': 'test', 'benchmark': ['bdd100k_vru'], 'threshold': 0.01, 'max_drop': 1.0,
         'source': 'coco', 'epochs': 3, 'imgsz': 320}


def settings_of(stage: str) -> type[Settings]:
    return stage_parser(stage)[1].SETTINGS


def _input_dests(stage: str) -> set[str]:
    parser = argparse.ArgumentParser()
    stage_parser(stage)[1].add_inputs(parser)
    return {a.dest for a in parser._actions}


def _other_value(f, default):
    """Return a valid value that is not the default (to see it arrive from either side)."""
    if f.name in OTHER:
        return OTHER[f.name]
    choices = f.metadata.get('choices')
    if isinstance(default, bool):
        return not default
    if isinstance(default, list):
        return [c for c in choices if c not in default][:1] or list(choices[:1])
    if choices:
        return next(c for c in choices if c != default)
    if isinstance(default, int):
        return default + 1
    if isinstance(default, float):
        return default / 2 if default else 0.5
    raise AssertionError(f'no other value for {f.name}')


def _argv(name: str, value) -> list[str]:
    flag = '--' + name.replace('_', '-')
    if isinstance(value, bool):
        return [flag if value else '--no-' + name.replace('_', '-')]
    if isinstance(value, dict):
        return [flag] + [yaml.safe_dump(value, default_flow_style=True).strip()]
    if isinstance(value, list):
        return [flag] + [str(v) for v in value]
    return [flag, str(value)]


@pytest.mark.parametrize('stage', STAGES)
def test_flags_are_the_settings_fields_with_their_defaults(stage):
    parser, module = stage_parser(stage)
    cls = module.SETTINGS
    shown = {a.dest for a in parser._actions if a.help != argparse.SUPPRESS}
    assert shown - _input_dests(stage) == cls.keys()
    help_text = ' '.join(parser.format_help().split())
    for f in fields(cls):
        if f.name in cls.defaults():
            assert f'--{f.name.replace("_", "-")}' in help_text
    # nothing given: every setting keeps its default (or the recipe's value)
    args = parser.parse_args(REQUIRED_INPUTS.get(stage, []))
    given = cls.given_flags(args)
    assert set(given) <= {'source'}  # only a positional is ever "given"


@pytest.mark.parametrize('stage', SECTIONS)
def test_recipe_section_and_flags_give_the_same_settings(stage):
    pytest.importorskip('ultralytics')  # train arguments are checked against its config
    parser, module = stage_parser(stage)
    cls = module.SETTINGS
    defaults = cls.defaults()
    assert stage_settings({}, stage) == cls() == stage_settings(
        {}, stage, **cls.given_flags(parser.parse_args(REQUIRED_INPUTS.get(stage, []))))
    for f in fields(cls):
        value = _other_value(f, defaults[f.name])
        from_recipe = stage_settings({stage: {f.name: value}}, stage)
        args = parser.parse_args(REQUIRED_INPUTS.get(stage, []) + _argv(f.name, value))
        from_flags = stage_settings({}, stage, **cls.given_flags(args))
        assert from_recipe == from_flags, f.name
        assert getattr(from_recipe, f.name) != getattr(cls(), f.name), f.name


@pytest.mark.parametrize('stage', SECTIONS)
def test_an_unknown_key_lists_the_valid_ones(stage):
    with pytest.raises(RecipeError, match=r"unknown key\(s\) \['bogus'\]; valid keys") as err:
        stage_settings({stage: {'bogus': 1}}, stage)
    assert all(key in str(err.value) for key in settings_class(stage).keys())


def test_help_shows_each_default():
    text = ' '.join(stage_parser('calibrate')[0].format_help().split())
    assert 'calibration images drawn from the data split (default: 512)' in text
    text = ' '.join(stage_parser('prune')[0].format_help().split())
    assert '(default: 0.0005)' in text and '(default: constant)' in text


def test_a_renamed_recipe_key_names_the_new_one(tmp_path):
    path = tmp_path / 'r.yaml'
    path.write_text(yaml.safe_dump({'calibrate': {'images': 64}}))
    with pytest.raises(RecipeError, match="'images' is now called 'num_images'"):
        load_recipe(path)


@pytest.mark.parametrize('stage, argv, new', [
    ('prune', ['--lam-schedule', 'fade'], '--schedule'),
    ('prune', ['--stages', 'prune'], '--steps'),
    ('teacher', ['--set', 'amp=false'], '--train KEY=VALUE'),
    ('teacher', ['--fraction', '0.1'], '--train fraction=F'),
    ('calibrate', ['--per-tensor'], '--no-per-channel'),
])
def test_a_renamed_flag_names_the_new_one(stage, argv, new, capsys):
    with pytest.raises(SystemExit):
        stage_parser(stage)[0].parse_args(REQUIRED_INPUTS.get(stage, []) + argv)
    assert f'is now {new}' in capsys.readouterr().err


def test_keys_of_todays_recipes_still_work():
    pytest.importorskip('ultralytics')
    recipe = {'prune': {'schedule': 'fade', 'lam': 0.0, 'allocation': 'uniform', 'ratio': 0.3,
                        'threshold': None, 'round_to': 4, 'train': {'freeze': 0}},
              'distill': {'kd': {'score': {'weight': 0.2}, 'feature': {'tau': 2.0}},
                          'train': {'workers': 2}},
              'calibrate': {'num_images': 64}, 'export': {}, 'evaluate': {'latency_runs': 3}}
    prune = stage_settings(recipe, 'prune')
    assert (prune.schedule, prune.round_to) == ('fade', 4)
    assert prune.train == {'workers': 2, 'freeze': 0}
    kd = stage_settings(recipe, 'distill').kd
    assert (kd['score']['weight'], kd['feature']['tau']) == (0.2, 2.0)
    assert stage_settings(recipe, 'export').imgsz == stage_settings(recipe, 'distill').imgsz


def test_prune_threshold_replaces_the_ratio_and_is_reachable_from_the_recipe():
    pytest.importorskip('torch', reason='prune settings check their KD terms, which need torch')
    s = stage_settings({'prune': {'threshold': 0.01}}, 'prune')
    assert (s.threshold, s.ratio) == (0.01, 0.5)
    with pytest.raises(RecipeError, match='uniform allocation'):
        stage_settings({'prune': {'threshold': 0.01, 'allocation': 'uniform'}}, 'prune')


def test_kd_terms_are_the_files_of_the_terms_package():
    pytest.importorskip('torch')
    from training.distill.config import KDConfig
    from training.distill.terms import registered

    folder = Path(__file__).resolve().parents[1] / 'training' / 'distill' / 'terms'
    files = {p.stem for p in folder.glob('*.py')} - {'__init__', 'base'}
    terms = registered()
    assert {t.__module__.rsplit('.', 1)[1] for t in terms.values()} == files
    assert list(KDConfig.from_dict({}).to_dict()) == list(terms) == [
        'score', 'box', 'cwd', 'feature']
    assert len({t.order for t in terms.values()}) == len(terms)
    assert KDConfig.from_dict({'cwd.weight': 3}).cwd.weight == 3
