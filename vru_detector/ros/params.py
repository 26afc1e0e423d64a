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
The node's parameters: one table (name, default, range, description) and their validation.

ROS-free so the table, the checks and config/detector.yaml can be tested against each other
without ROS; node.py turns each ParamSpec into a declared parameter with a descriptor.
Lists are comma-separated strings ('person,rider') because an empty ROS array parameter has
no type on Humble.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..class_config import DEFAULT_CONF, model_thresholds
from ..detector import class_thresholds
from ..errors import VruDetectorError
from ..tracker import DEFAULT_TRACKER, TRACKERS


@dataclass(frozen=True)
class ParamSpec:
    """One node parameter; ``read_only`` ones change only through cleanup + configure."""

    name: str
    default: Any
    description: str
    read_only: bool = False
    choices: Tuple[str, ...] = ()
    bounds: Optional[Tuple[float, float]] = None

    def check(self, value: Any) -> Optional[str]:
        """Return why ``value`` is not acceptable, or None."""
        kind = type(self.default)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            return f'{self.name} must be a {kind.__name__}, got {value!r}'
        if self.choices and value not in self.choices:
            return f'{self.name}={value!r} is not one of {list(self.choices)}'
        if self.bounds and not self.bounds[0] <= value <= self.bounds[1]:
            return f'{self.name}={value} is outside [{self.bounds[0]}, {self.bounds[1]}]'
        return None


PARAMS: Tuple[ParamSpec, ...] = (
    ParamSpec('model', '', 'Path to the model: .onnx (OpenVINO or ONNX Runtime, or the ONNX a '
              'TensorRT engine is built from), .xml (OpenVINO IR), .engine/.plan (TensorRT) or '
              '.pt (torch).', read_only=True),
    ParamSpec('backend', '', 'Inference backend; empty picks it from the model file suffix '
              '(.onnx on device cpu: openvino when installed, else onnxruntime).',
              read_only=True, choices=('', 'onnxruntime', 'openvino', 'tensorrt', 'torch')),
    ParamSpec('device', 'cpu', 'Device: cpu, cuda or cuda:N (onnxruntime, tensorrt, torch); '
              'gpu or npu (Intel, openvino).', read_only=True),
    ParamSpec('threads', 0, 'CPU inference threads (onnxruntime, openvino); 0 uses every '
              'core.', read_only=True, bounds=(0, 256)),
    ParamSpec('conf', DEFAULT_CONF, 'Score threshold for every class without its own in '
              'class_conf.', bounds=(0.0, 1.0)),
    ParamSpec('iou', 0.7, 'IoU threshold of non-maximum suppression.', bounds=(0.0, 1.0)),
    ParamSpec('max_det', 300, 'Most detections published per image.', bounds=(1, 1000)),
    ParamSpec('class_conf', '', "Per-class score thresholds, 'name:value,...' "
              "(e.g. 'person:0.3,car:0.5'); they override class_config's defaults."),
    ParamSpec('classes', '', "Classes to publish, 'name,name,...'; 'all' or empty publishes all "
              "(`ros2 param set` needs 'all': Humble's ros2cli fails on an empty string)."),
    ParamSpec('class_config', '', 'classes.yaml with per-class colours and default '
              "thresholds; empty uses the package's config/classes.yaml.", read_only=True),
    ParamSpec('image_type', 'raw', "Input message: 'raw' (sensor_msgs/Image on topic image) or "
              "'compressed' (sensor_msgs/CompressedImage on image/compressed); remap these.",
              read_only=True, choices=('raw', 'compressed')),
    ParamSpec('qos_reliability', 'best_effort',
              'Input QoS reliability. best_effort (the sensor-data default) receives from '
              'reliable and best-effort publishers alike; reliable receives nothing from a '
              'best-effort camera.', read_only=True,
              choices=('best_effort', 'reliable')),
    ParamSpec('qos_depth', 5, 'Input QoS history depth (frames kept by the middleware; the '
              'node itself always processes only the newest).', read_only=True, bounds=(1, 100)),
    ParamSpec('debug_image', True, 'Publish an annotated image on debug_image (drawn only '
              'while something subscribes to it).'),
    ParamSpec('diagnostics_period', 1.0, 'Seconds between /diagnostics messages (on the steady '
              'clock: they go on when /clock stops under use_sim_time).',
              read_only=True, bounds=(0.1, 60.0)),
    ParamSpec('min_input_completeness', 0.9, 'WARN in /diagnostics when fewer than this share '
              'of the frames the header stamps say were sent reached the node over the last '
              '5 s (transport loss); 0 turns the check off.', read_only=True, bounds=(0.0, 1.0)),
    ParamSpec('warmup', True, 'On activate, before subscribing, run the whole per-frame path '
              '3 times on a 1280x720 frame so the first camera frames are not slow (and '
              'dropped).', read_only=True),
    ParamSpec('autostart', True, 'detector_node configures and activates itself at start; '
              'false leaves it unconfigured for a lifecycle manager.', read_only=True),
    ParamSpec('lazy_subscribe', False, 'Subscribe to the camera only while detections or the '
              'debug image have subscribers (checked every second).', read_only=True),
    ParamSpec('tracker', DEFAULT_TRACKER, 'Multi-object tracker giving each detection a track '
              'ID in Detection2D.id (empty until a track is confirmed); none turns it off. '
              'Header stamps are its clock: tracks survive dropped frames, and a stamp that '
              'jumps backwards (a looping bag) resets them. bytetrack is the default: fewest ID '
              'switches on the MOT clips for under 1% of the detector time '
              '(docs/tracking.md).', read_only=True, choices=TRACKERS),
)
PARAMS_BY_NAME: Dict[str, ParamSpec] = {p.name: p for p in PARAMS}
RUNTIME_PARAMS = tuple(p.name for p in PARAMS if not p.read_only)


ALL_CLASSES = 'all'


def parse_classes(text: str) -> Optional[List[str]]:
    """'person, rider' -> ['person', 'rider']; 'all' or empty -> None (all classes)."""
    names = [t.strip() for t in str(text).split(',') if t.strip()]
    if names == [ALL_CLASSES]:
        return None
    return names or None


def parse_class_conf(text: str) -> Dict[str, float]:
    """'person:0.3, car:0.5' -> {'person': 0.3, 'car': 0.5}; raises ValueError with the reason."""
    out: Dict[str, float] = {}
    for item in (t.strip() for t in str(text).split(',')):
        if not item:
            continue
        name, sep, value = item.partition(':')
        try:
            if not sep or not name.strip():
                raise ValueError
            out[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"class_conf item {item!r} is not 'name:value' "
                             "(e.g. 'person:0.3,car:0.5')") from None
    return out


@dataclass(frozen=True)
class Thresholds:
    """What Detector.set_thresholds takes, parsed from the parameters."""

    conf: float
    class_conf: Dict[str, float]
    classes: Optional[List[str]]


def thresholds_from(values: Mapping[str, Any], defaults: Mapping[str, float],
                    names: Optional[Sequence[str]] = None) -> Thresholds:
    """
    Thresholds from parameter values, checked against the model's class ``names`` when given.

    ``defaults`` are per-class thresholds from classes.yaml; those for classes the model does
    not have are ignored, while names in ``class_conf`` / ``classes`` must exist (ValueError).
    """
    class_conf = model_thresholds(defaults, names)
    class_conf.update(parse_class_conf(values['class_conf']))
    result = Thresholds(float(values['conf']), class_conf, parse_classes(values['classes']))
    for name, value in result.class_conf.items():
        if not 0.0 <= value <= 1.0:
            raise ValueError(f'threshold {value} for class {name!r} must be within [0, 1]')
    if names is not None:
        try:
            class_thresholds(list(names), result.conf, result.class_conf, result.classes)
        except VruDetectorError as exc:
            raise ValueError(str(exc)) from None
    return result


def check_update(changes: Mapping[str, Any], current: Mapping[str, Any],
                 defaults: Mapping[str, float],
                 names: Optional[Sequence[str]] = None) -> Optional[str]:
    """Return why a runtime parameter change must be refused, or None when it is acceptable."""
    for key, value in changes.items():
        spec = PARAMS_BY_NAME.get(key)
        if spec is None:
            continue  # not ours (e.g. use_sim_time)
        error = spec.check(value)
        if error:
            return error
    merged = {**current, **changes}
    try:
        thresholds_from(merged, defaults, names)
    except ValueError as exc:
        return str(exc)
    return None
