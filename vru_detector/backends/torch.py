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

"""PyTorch backend for ultralytics ``.pt`` checkpoints (torch, ultralytics: ``./training``)."""
from __future__ import annotations

from pathlib import Path
import warnings

import numpy as np

from .base import Backend
from ..artifact import artifact_from_metadata
from ..errors import BackendUnavailableError, ModelLoadError


def load_ultralytics_checkpoint(path: Path):
    """
    (model in eval mode, checkpoint dict), loaded with ``weights_only=True`` when possible.

    Ultralytics checkpoints pickle whole modules; its restricted loader accepts the known
    classes. A checkpoint referencing others (custom modules) is loaded unrestricted, with a
    warning naming the file: only load checkpoints you trust.
    """
    import torch
    from ultralytics.nn.tasks import torch_safe_load

    try:
        ckpt, _ = torch_safe_load(str(path), safe_only=True)
    except Exception as safe_exc:  # noqa: BLE001 - any refusal means "not loadable restricted"
        warnings.warn(f'{path}: cannot be loaded with weights_only=True '
                      f'({type(safe_exc).__name__}); '
                      'loading it unrestricted (arbitrary code in a pickle runs): only use '
                      'checkpoints you trust', stacklevel=3)
        try:
            ckpt, _ = torch_safe_load(str(path), safe_only=False)
        except Exception as exc:
            raise ModelLoadError(f'{path}: not a loadable ultralytics checkpoint ({exc})') from exc
    model = (ckpt.get('ema') or ckpt.get('model')) if isinstance(ckpt, dict) else None
    if not isinstance(model, torch.nn.Module):
        raise ModelLoadError(f'{path}: checkpoint has no "model"/"ema" module; is it a YOLO .pt?')
    model = model.float().eval()
    if not hasattr(model, 'stride'):
        model.stride = torch.tensor([32.0])
    return model, ckpt


class TorchBackend(Backend):
    """Runs a checkpoint in eval mode; the Detect head's inference output is the raw head."""

    name = 'torch'

    def __init__(self, path: str | Path, device: str = 'cpu', imgsz: int | None = None) -> None:
        try:
            import torch
        except ImportError as exc:
            raise BackendUnavailableError(
                f'{path}: .pt models need torch and ultralytics '
                '(pip install -e ./training); '
                'or export to ONNX with `vru-train export`.') from exc
        path = Path(path)
        if not path.is_file():
            raise ModelLoadError(f'{path}: no such model file')
        model, ckpt = load_ultralytics_checkpoint(path)
        self.torch = torch
        self.device = torch.device(device)
        self.model = model.to(self.device).float().eval()
        args = ckpt.get('train_args', {}) if isinstance(ckpt, dict) else {}
        size = imgsz or args.get('imgsz', 640)
        info = artifact_from_metadata(
            {'names': dict(model.names), 'imgsz': size, 'stride': int(model.stride.max()),
             'precision': 'fp32'}, str(path))
        super().__init__(info, np.float32, 64)

    def infer(self, batch: np.ndarray) -> np.ndarray:
        with self.torch.inference_mode():
            out = self.model(self.torch.from_numpy(batch).to(self.device))
        if isinstance(out, (list, tuple)):
            out = out[0]
        return out.float().cpu().numpy()

    def close(self) -> None:
        self.model = None
        if self.device.type == 'cuda':
            self.torch.cuda.empty_cache()
