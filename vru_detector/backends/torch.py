"""PyTorch backend for ultralytics ``.pt`` checkpoints (needs the ``[train]`` extra)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..artifact import artifact_from_metadata
from ..errors import BackendUnavailableError, ModelLoadError
from .base import Backend


class TorchBackend(Backend):
    """Runs a checkpoint in eval mode; the Detect head's inference output is the raw head."""

    name = 'torch'

    def __init__(self, path: str | Path, device: str = 'cpu', imgsz: int | None = None) -> None:
        try:
            import torch
            from ultralytics.nn.tasks import load_checkpoint
        except ImportError as exc:
            raise BackendUnavailableError(
                f'{path}: .pt models need torch and ultralytics (pip install "vru_detector[train]"); '
                'or export to ONNX with `vru-train export`.') from exc
        path = Path(path)
        if not path.is_file():
            raise ModelLoadError(f'{path}: no such model file')
        try:
            model, ckpt = load_checkpoint(str(path), device='cpu')
        except Exception as exc:
            raise ModelLoadError(f'{path}: not a loadable ultralytics checkpoint ({exc})') from exc
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
