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

"""Recipes: the shipped examples validate; mistakes are reported with the offending key."""
from __future__ import annotations

from pathlib import Path

from optional import requires
import pytest
from training.recipe import load_recipe, RecipeError, stage_settings
import yaml

RECIPES = Path(__file__).resolve().parents[1] / 'training' / 'recipes'
NEEDS_ULTRALYTICS = requires('ultralytics')  # train arguments are checked against its config


@NEEDS_ULTRALYTICS
@pytest.mark.parametrize('path', sorted(RECIPES.glob('*.yaml')), ids=lambda p: p.name)
def test_shipped_recipes_validate(path):
    recipe = load_recipe(path)
    teacher = stage_settings(recipe, 'teacher', data_list_ok=True)
    distill = stage_settings(recipe, 'distill', data_list_ok=True)
    # teacher and students learn the same classes from the same data (the direct and the KD
    # student share the distill settings by construction)
    assert teacher.data == distill.data
    assert set(distill.kd) == {'score', 'box', 'cwd', 'feature'}


@NEEDS_ULTRALYTICS
def test_defaults_and_overrides():
    s = stage_settings({'data': 'd.yaml', 'seed': 3, 'distill': {'kd': {'cwd': {'weight': 2}}}},
                       'distill')
    assert (s.model, s.data, s.seed, s.epochs, s.imgsz) == ('yolov8s', 'd.yaml', 3, 100, 640)
    assert s.kd['cwd'] == {'enabled': True, 'weight': 2, 'temperature': 1.0}
    assert stage_settings({}, 'teacher').model == 'yolov8l'


@pytest.mark.parametrize('recipe, message', [
    ({'teachr': {}}, 'unknown top-level key'),
    ({'teacher': {'epoch': 3}}, r"teacher: unknown key\(s\) \['epoch'\]"),
    ({'teacher': {'epochs': -1}}, 'teacher.epochs: expected a non-negative integer'),
    ({'teacher': {'epochs': 0}}, 'teacher.epochs: 0 takes the pretrained start'),
    ({'distill': {'epochs': 0}}, 'distill.epochs: expected a positive integer'),
    pytest.param({'distill': {'train': {'lr00': 1}}}, 'not ultralytics train arguments',
                 marks=NEEDS_ULTRALYTICS),
    pytest.param({'distill': {'train': {'epochs': 1}}}, 'set by the stage itself',
                 marks=NEEDS_ULTRALYTICS),
    pytest.param({'distill': {'kd': {'cwd': {'tau': 1}}}}, r'distill.kd.cwd: unknown key',
                 marks=NEEDS_ULTRALYTICS),
    pytest.param({'distill': {'kd': {'score': {'temperature': 0}}}}, 'positive number',
                 marks=NEEDS_ULTRALYTICS),
])
def test_mistakes_name_the_key(tmp_path, recipe, message):
    path = tmp_path / 'r.yaml'
    path.write_text(yaml.safe_dump(recipe))
    with pytest.raises(RecipeError, match=message):
        load_recipe(path)


@NEEDS_ULTRALYTICS
def test_pipeline_seed_overrides_every_stage(tmp_path, bdd_yaml):
    """`vru-train pipeline --seed N`: the second seed of a table reruns every stage with N."""
    from training.pipeline import Pipeline

    recipe = {'data': str(bdd_yaml), 'seed': 0, 'teacher': {'model': 'yolov8n', 'seed': 1},
              'distill': {'student': 'yolov8n'}}
    path = tmp_path / 'r.yaml'
    path.write_text(yaml.safe_dump(recipe))
    seeded = Pipeline(path, tmp_path / 'run', seed=7)
    assert {s: seeded.settings[s].seed for s in ('teacher', 'distill', 'prune')} == {
        'teacher': 7, 'distill': 7, 'prune': 7}
    plain = Pipeline(path, tmp_path / 'run2')
    assert {s: plain.settings[s].seed for s in ('teacher', 'distill', 'prune')} == {
        'teacher': 1, 'distill': 0, 'prune': 0}
    with pytest.raises(RecipeError, match='run the teacher stage first or pass --teacher'):
        plain.teacher_weights()


@NEEDS_ULTRALYTICS
def test_pipeline_takes_a_trained_teacher(tmp_path, bdd_yaml):
    from training.pipeline import Pipeline

    path = tmp_path / 'r.yaml'
    path.write_text(yaml.safe_dump({'data': str(bdd_yaml)}))
    teacher = tmp_path / 'teacher.pt'
    with pytest.raises(RecipeError, match='--teacher .*teacher.pt: no such checkpoint'):
        Pipeline(path, tmp_path / 'run', teacher=teacher)
    teacher.write_bytes(b'weights')
    assert Pipeline(path, tmp_path / 'run', teacher=teacher).teacher_weights() == teacher
