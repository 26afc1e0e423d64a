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

"""Backend selection: the file decides (``.onnx``, ``.engine``/``.plan``, ``.pt``) unless named."""
from __future__ import annotations

from pathlib import Path

from .base import Backend
from ..errors import ModelLoadError

BACKENDS = ('onnxruntime', 'tensorrt', 'torch')
SUFFIX_BACKEND = {'.onnx': 'onnxruntime', '.engine': 'tensorrt', '.plan': 'tensorrt',
                  '.pt': 'torch'}


def backend_for(path: Path) -> str:
    """Return the backend a model file implies, by its suffix."""
    try:
        return SUFFIX_BACKEND[path.suffix.lower()]
    except KeyError:
        raise ModelLoadError(
            f'{path}: unknown model type {path.suffix!r}; expected one of '
            f'{sorted(SUFFIX_BACKEND)} or pass backend= explicitly') from None


def load_backend(model: str | Path, backend: str | None = None, device: str = 'cpu',
                 **options) -> Backend:
    """Load ``model`` with the named backend (or the one its suffix implies)."""
    path = Path(model)
    if not path.exists():
        raise ModelLoadError(
            f'model file {path} does not exist. Pass the path to an exported .onnx '
            '(or a .engine / .pt); `vru-train export` and `vru-train calibrate` produce them.')
    name = backend or backend_for(path)
    if name == 'onnxruntime':
        from .onnxruntime import OnnxRuntimeBackend
        return OnnxRuntimeBackend(path, device=device, **options)
    if name == 'torch':
        from .torch import TorchBackend
        return TorchBackend(path, device=device, **options)
    if name == 'tensorrt':
        from .tensorrt import TensorRTBackend
        return TensorRTBackend(path, device=device, **options)
    raise ModelLoadError(f'backend {name!r} is not one of {BACKENDS}')


__all__ = ['Backend', 'BACKENDS', 'backend_for', 'load_backend']
