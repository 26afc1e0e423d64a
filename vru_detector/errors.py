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
Error types the runtime raises; callers (the node, the CLIs) catch these and nothing else.

Each message says what was expected, what was found, and what to do about it.
"""


class VruDetectorError(Exception):
    """Base class of every error this package raises on purpose."""


class ModelLoadError(VruDetectorError):
    """The model file is missing, corrupt, or does not fit this runtime (raised at start-up)."""


class ArtifactMetadataError(ModelLoadError):
    """The model file lacks the metadata (class names, input size, stride) the runtime needs."""


class BackendUnavailableError(ModelLoadError):
    """The requested inference backend (TensorRT, torch, a GPU provider) is not installed here."""


class InvalidImageError(VruDetectorError, ValueError):
    """An input image cannot be turned into an HxWx3 uint8 BGR array (skip the frame, go on)."""


class ModelOutputError(VruDetectorError):
    """The model produced output of the wrong shape or non-finite values (skip the frame)."""
