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

"""Errors of the replay tools (candidates for ``vru_detector/errors.py`` on merge)."""
from ..errors import VruDetectorError


class LabelFormatError(VruDetectorError, ValueError):
    """
    A ground-truth file (YOLO txt, COCO/BDD100K JSON, MOT gt.txt) is malformed or unsafe.

    Raised for every kind of bad label input (wrong field count, non-numbers, unknown class,
    a path escaping the dataset folder), never IndexError/KeyError/TypeError.
    """


class BagReadError(VruDetectorError):
    """A rosbag2 cannot be read: missing or corrupt files, missing topic, undecodable image."""
