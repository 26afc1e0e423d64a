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

"""Backend selection: the file (.onnx, .xml, .engine/.plan, .pt) decides unless one is named."""
from __future__ import annotations

from pathlib import Path

from .base import Backend
from ..errors import ModelLoadError

BACKENDS = ('onnxruntime', 'openvino', 'tensorrt', 'torch')
SUFFIX_BACKEND = {'.onnx': 'onnxruntime', '.xml': 'openvino', '.engine': 'tensorrt',
                  '.plan': 'tensorrt', '.pt': 'torch'}


def backend_for(path: Path, device: str = 'cpu') -> str:
    """
    Return the backend a model file implies, by its suffix (and, for ``.onnx``, the device).

    ``.onnx`` on the CPU runs on OpenVINO when it is installed: the same INT8 file ran 1.2-1.8x
    faster there than on ONNX Runtime at every size and thread count measured, FP32 in 0.74-1.15x
    ONNX Runtime's time (docs/results/2026-12-03-openvino.md); elsewhere, and without
    openvino, on ONNX Runtime.
    """
    try:
        name = SUFFIX_BACKEND[path.suffix.lower()]
    except KeyError:
        raise ModelLoadError(
            f'{path}: unknown model type {path.suffix!r}; expected one of '
            f'{sorted(SUFFIX_BACKEND)} or pass backend= explicitly') from None
    if name == 'onnxruntime' and device == 'cpu':
        from .openvino import openvino_available
        if openvino_available():
            return 'openvino'
    return name


def load_backend(model: str | Path, backend: str | None = None, device: str = 'cpu',
                 **options) -> Backend:
    """Load ``model`` with the named backend (or the one its suffix implies)."""
    path = Path(model)
    if not path.exists():
        raise ModelLoadError(
            f'model file {path} does not exist. Pass the path to an exported .onnx '
            '(or a .engine / .pt); `vru-train export` and `vru-train calibrate` produce them.')
    name = backend or backend_for(path, device)
    if options.get('threads') and name not in ('onnxruntime', 'openvino'):
        raise ModelLoadError(f'threads={options["threads"]} applies to the onnxruntime and '
                             f'openvino backends, not {name}: leave it at 0')
    if name == 'onnxruntime':
        from .onnxruntime import OnnxRuntimeBackend
        return OnnxRuntimeBackend(path, device=device, **options)
    if name == 'openvino':
        from .openvino import OpenVinoBackend
        return OpenVinoBackend(path, device=device, **options)
    if name == 'torch':
        from .torch import TorchBackend
        return TorchBackend(path, device=device, **options)
    if name == 'tensorrt':
        from .tensorrt import TensorRTBackend
        return TensorRTBackend(path, device=device, **options)
    raise ModelLoadError(f'backend {name!r} is not one of {BACKENDS}')


__all__ = ['Backend', 'BACKENDS', 'backend_for', 'load_backend']
