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

"""The contract every inference backend fulfils: NCHW float batch in, raw YOLOv8 head out."""
from __future__ import annotations

import abc

import numpy as np

from ..artifact import ArtifactInfo
from ..errors import ModelLoadError


class Backend(abc.ABC):
    """
    One loaded model on one device.

    ``infer`` takes ``[B, 3, H, W]`` (``input_dtype``) and returns float32 ``[B, 4+nc, N]``.
    ``max_batch`` is the largest batch one call accepts (the Detector splits larger ones).
    """

    name: str = 'base'

    def __init__(self, info: ArtifactInfo, input_dtype: np.dtype, max_batch: int) -> None:
        self.info = info
        self.input_dtype = np.dtype(input_dtype)
        self.max_batch = max_batch

    @abc.abstractmethod
    def infer(self, batch: np.ndarray) -> np.ndarray:
        """Run the network on a preprocessed batch."""

    def close(self) -> None:
        """Release device memory (the node calls this on deactivate)."""

    def check_output_classes(self, num_outputs: int | None) -> None:
        """Refuse a model whose head width disagrees with its class names (at load time)."""
        if num_outputs is None:
            return
        expected = 4 + self.info.num_classes
        if num_outputs != expected:
            raise ModelLoadError(
                f'{self.info.source}: the model outputs {num_outputs} values per box but its '
                f'metadata names {self.info.num_classes} classes (expected {expected} = 4 + nc). '
                'The file was edited or exported from a different checkpoint: re-export it.')
