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
The one error family for bad label input, raised by every reader of ``vru_detector.labels``.

Replay (``vru-eval-bag``, ``vru-make-bag``, ``vru-benchmark``) and training (``vru-train
data``) catch these and print the message; each names the file, the line or entry, what was
expected and what to do.
"""
from ..errors import VruDetectorError


class LabelFormatError(VruDetectorError, ValueError):
    """
    A ground-truth file (YOLO txt, COCO/BDD100K JSON, MOT gt.txt, VisDrone txt) is malformed.

    Raised for every kind of bad label input (wrong field count, non-numbers, unknown class,
    a path escaping the dataset folder), never IndexError/KeyError/TypeError.
    """


class LabelNotFoundError(LabelFormatError, FileNotFoundError):
    """A label file, label folder, data.yaml or an image the labels name does not exist."""


class ClassConfigError(LabelFormatError):
    """config/classes.yaml (or the file given instead) is missing or says nothing usable."""
