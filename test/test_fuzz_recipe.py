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

"""Hostile recipe files: a valid recipe loads, anything else is a RecipeError saying why."""
from hypothesis import given, HealthCheck, settings
from hypothesis import strategies as st
from optional import requires
import pytest
from training.recipe import load_recipe, RecipeError, SECTIONS, stage_settings
import yaml

pytestmark = requires('ultralytics')  # recipes check train arguments against its config

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 1000), st.floats(allow_nan=True),
                    st.text(max_size=12))
KEYS = st.sampled_from(['name', 'data', 'seed', 'device', 'teacher', 'distill', 'prune',
                        'export', 'calibrate', 'evaluate', 'pipeline', 'epochs', 'imgsz',
                        'batch', 'train', 'model', 'student', 'kd', 'lr0', 'ratio', 'bogus'])
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=4)), max_leaves=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(KEYS, VALUES, max_size=6))
def test_random_recipe_structures(tmp_path_factory, recipe):
    path = tmp_path_factory.mktemp('r') / 'recipe.yaml'
    path.write_text(yaml.safe_dump(recipe))
    try:
        loaded = load_recipe(path)
        for name in SECTIONS:
            stage_settings(loaded, name, data_list_ok=True)
    except RecipeError as exc:
        assert str(exc)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_random_recipe_text(tmp_path_factory, text):
    path = tmp_path_factory.mktemp('r') / 'recipe.yaml'
    path.write_text(text)
    try:
        load_recipe(path)
    except RecipeError:
        pass


def test_yaml_tags_cannot_construct_objects(tmp_path):
    path = tmp_path / 'evil.yaml'
    path.write_text('name: !!python/object/apply:os.system ["echo pwned"]\n')
    with pytest.raises(RecipeError, match='not valid YAML'):
        load_recipe(path)
