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
"""
from .detections import Detections
from .detector import Detector, StageTimes
from .errors import (ArtifactMetadataError, BackendUnavailableError, InvalidImageError,
                     ModelLoadError, ModelOutputError, VruDetectorError)
from .tracker import Tracker

__all__ = ['Detector', 'Detections', 'StageTimes', 'Tracker', 'VruDetectorError',
           'ModelLoadError', 'ArtifactMetadataError', 'BackendUnavailableError',
           'InvalidImageError', 'ModelOutputError']
__version__ = '0.1.0'
