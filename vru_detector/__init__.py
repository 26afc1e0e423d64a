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
vru_detector: live detection of vulnerable road users (ROS-free core; ROS shell in ``ros/``).

>>> from vru_detector import Detector, Tracker
>>> dets = Detector('student_int8.onnx')(image_bgr)
>>> tracked = Tracker('bytetrack').update(dets, stamp=header_stamp_s)  # .track_ids

The public names are imported on first use (PEP 562), so importing a submodule such as
``vru_detector.ros.dds_config`` (the launch file's) loads neither numpy, OpenCV nor ONNX Runtime:
``ros2 launch`` runs on the system Python, where the runtime's pip dependencies may be missing.
"""
from __future__ import annotations

import importlib
from typing import Any, TYPE_CHECKING

if TYPE_CHECKING:  # for type checkers and IDEs; at runtime __getattr__ imports on demand
    from .detections import Detections
    from .detector import Detector, StageTimes
    from .errors import (ArtifactMetadataError, BackendUnavailableError, InvalidImageError,
                         ModelLoadError, ModelOutputError, VruDetectorError)
    from .tracker import Tracker

_WHERE = {'Detections': 'detections', 'Detector': 'detector', 'StageTimes': 'detector',
          'Tracker': 'tracker', 'VruDetectorError': 'errors', 'ModelLoadError': 'errors',
          'ArtifactMetadataError': 'errors', 'BackendUnavailableError': 'errors',
          'InvalidImageError': 'errors', 'ModelOutputError': 'errors'}

__all__ = ['Detector', 'Detections', 'StageTimes', 'Tracker', 'VruDetectorError',
           'ModelLoadError', 'ArtifactMetadataError', 'BackendUnavailableError',
           'InvalidImageError', 'ModelOutputError']
__version__ = '0.1.0'


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first access (PEP 562)."""
    if name not in _WHERE:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    value = getattr(importlib.import_module(f'.{_WHERE[name]}', __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(__all__))
