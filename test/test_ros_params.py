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

"""Node parameter table, its validation, config/*.yaml and the debug-image drawing (no ROS)."""
from pathlib import Path

from fixed_output_model import CLASS_NAMES
import numpy as np
import pytest
from vru_detector import Detections
from vru_detector.class_config import (color_for, default_thresholds, hex_to_bgr,
                                       load_class_config)
from vru_detector.ros.params import (check_update, PARAMS, PARAMS_BY_NAME, parse_class_conf,
                                     parse_classes, RUNTIME_PARAMS, thresholds_from)
from vru_detector.visualize import draw_detections
import yaml

REPO = Path(__file__).resolve().parents[1]
DEFAULTS = {p.name: p.default for p in PARAMS}


def test_detector_yaml_lists_every_parameter_with_its_default_and_a_comment():
    path = REPO / 'config' / 'detector.yaml'
    params = yaml.safe_load(path.read_text())['/**']['ros__parameters']
    assert params == DEFAULTS
    lines = path.read_text().splitlines()
    for name in DEFAULTS:
        index = next(i for i, line in enumerate(lines) if line.strip().startswith(f'{name}:'))
        assert lines[index - 1].strip().startswith('#'), f'{name} has no comment above it'


def test_classes_yaml_matches_the_model_classes_and_loads():
    styles = load_class_config(REPO / 'config' / 'classes.yaml')
    assert tuple(styles) == CLASS_NAMES
    assert styles['person'].vru and not styles['car'].vru
    assert styles['person'].color_bgr == hex_to_bgr('#E6194B') == (0x4B, 0x19, 0xE6)
    assert default_thresholds(styles) == {'car': 0.40}  # the VRU classes follow `conf`
    assert load_class_config(None) == styles  # the default is found in the source tree


def test_bad_class_config_names_file_and_class(tmp_path):
    bad = tmp_path / 'classes.yaml'
    bad.write_text('classes:\n  person: {conf: 1.5}\n')
    with pytest.raises(ValueError, match=r'classes.yaml: class .person.: conf 1.5'):
        load_class_config(bad)
    bad.write_text('person: {}\n')
    with pytest.raises(ValueError, match="top-level 'classes:'"):
        load_class_config(bad)
    with pytest.raises(ValueError, match='does not exist'):
        load_class_config(tmp_path / 'missing.yaml')


def test_param_specs_check_types_ranges_and_choices():
    assert PARAMS_BY_NAME['conf'].check(0.5) is None
    assert PARAMS_BY_NAME['conf'].check(1) is None  # an int where a float is expected is fine
    assert 'outside [0.0, 1.0]' in PARAMS_BY_NAME['conf'].check(1.5)
    assert 'must be a float' in PARAMS_BY_NAME['conf'].check('high')
    assert 'must be a int' in PARAMS_BY_NAME['max_det'].check(True)
    assert 'not one of' in PARAMS_BY_NAME['qos_reliability'].check('sometimes')
    assert set(RUNTIME_PARAMS) == {'conf', 'iou', 'max_det', 'class_conf', 'classes',
                                   'debug_image'}


def test_list_parameters_parse_and_explain_mistakes():
    assert parse_classes('') is None
    assert parse_classes(' person, rider ,') == ['person', 'rider']
    assert parse_classes('all') is None  # what `ros2 param set` can send (Humble's cli: no '')
    assert parse_class_conf('person:0.3, car:0.5') == {'person': 0.3, 'car': 0.5}
    assert parse_class_conf('') == {}
    with pytest.raises(ValueError, match="'name:value'"):
        parse_class_conf('person=0.3')
    with pytest.raises(ValueError, match="'name:value'"):
        parse_class_conf('person:high')


def test_thresholds_merge_file_defaults_with_the_parameter():
    values = {**DEFAULTS, 'class_conf': 'person:0.5', 'classes': 'person,car'}
    t = thresholds_from(values, {'person': 0.25, 'car': 0.4, 'tram': 0.3}, CLASS_NAMES)
    assert t.class_conf == {'person': 0.5, 'car': 0.4}  # 'tram' is not in the model: ignored
    assert t.classes == ['person', 'car'] and t.conf == 0.25


def test_runtime_updates_are_validated_against_the_model():
    current = dict(DEFAULTS)
    assert check_update({'conf': 0.6}, current, {}, CLASS_NAMES) is None
    assert check_update({'classes': 'person'}, current, {}, CLASS_NAMES) is None
    assert check_update({'classes': 'all'}, current, {}, CLASS_NAMES) is None
    assert thresholds_from({**current, 'classes': 'all'}, {}, CLASS_NAMES).classes is None
    assert 'outside' in check_update({'conf': 2.0}, current, {}, CLASS_NAMES)
    error = check_update({'classes': 'pedestrian'}, current, {}, CLASS_NAMES)
    assert 'pedestrian' in error and 'person' in error  # names the valid classes
    assert 'within [0, 1]' in check_update({'class_conf': 'car:3'}, current, {}, CLASS_NAMES)
    assert check_update({'use_sim_time': True}, current, {}, CLASS_NAMES) is None  # not ours


def test_debug_drawing_marks_boxes_in_the_class_colour():
    styles = load_class_config(REPO / 'config' / 'classes.yaml')
    image = np.zeros((120, 160, 3), np.uint8)
    dets = Detections(np.array([[20, 30, 100, 110]], np.float32), np.array([0.8], np.float32),
                      np.array([0], np.int64), CLASS_NAMES, (120, 160))
    out = draw_detections(image, dets, color_of=lambda n, i: color_for(n, i, styles))
    assert not image.any()  # the input is left alone
    assert tuple(out[70, 20]) == styles['person'].color_bgr  # left edge of the box
    assert not out[70, 60].any()  # inside stays untouched
    assert color_for('tram', 7, styles) != color_for('tram', 8, styles)
