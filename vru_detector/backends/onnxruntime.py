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

"""ONNX Runtime backend: FP32 or Q/DQ INT8 ONNX on the CPU, or CUDA when it is installed."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .base import Backend
from .qdq_layout import cpu_model_source
from ..artifact import artifact_from_metadata
from ..errors import BackendUnavailableError, ModelLoadError

ORT_TYPES = {'tensor(float)': np.float32, 'tensor(float16)': np.float16}


def providers_for(device: str) -> list[str]:
    """Return execution providers for ``cpu``, ``cuda`` / ``cuda:N`` (CUDA falls back to CPU)."""
    import onnxruntime as ort

    if device.startswith('cuda'):
        if 'CUDAExecutionProvider' not in ort.get_available_providers():
            raise BackendUnavailableError(
                f'device={device!r} needs onnxruntime-gpu (CUDAExecutionProvider); available: '
                f'{ort.get_available_providers()}. Install onnxruntime-gpu or use device=cpu.')
        index = int(device.split(':')[1]) if ':' in device else 0
        return [('CUDAExecutionProvider', {'device_id': index}), 'CPUExecutionProvider']
    if device != 'cpu':
        raise BackendUnavailableError(
            f'device={device!r}: onnxruntime backend supports cpu or cuda[:N]')
    return ['CPUExecutionProvider']


class OnnxRuntimeBackend(Backend):
    """Runs an exported ONNX file; metadata comes from its ``metadata_props``."""

    name = 'onnxruntime'

    def __init__(self, path: str | Path, device: str = 'cpu', threads: int = 0) -> None:
        import onnxruntime as ort

        path = Path(path)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.log_severity_level = 3
        try:
            providers = providers_for(device)
            # symmetric int8 Q/DQ (TensorRT layout) runs fused on x86 only with uint8 activations
            source = cpu_model_source(path, device) if path.is_file() else str(path)
            self.session = ort.InferenceSession(source, opts, providers=providers)
        except BackendUnavailableError:
            raise
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf types
            raise ModelLoadError(
                f'{path}: ONNX Runtime could not load the model ({type(exc).__name__}: '
                f'{str(exc)[:300]}). Is it a complete .onnx file? Re-export it.') from exc
        info = artifact_from_metadata(self.session.get_modelmeta().custom_metadata_map, str(path))
        inp = self.session.get_inputs()[0]
        out = self.session.get_outputs()[0]
        if inp.type not in ORT_TYPES or len(inp.shape) != 4:
            raise ModelLoadError(f'{path}: input {inp.name} is {inp.type} {inp.shape}; '
                                 'expected a float [B,3,H,W] image tensor')
        batch_dim = inp.shape[0]
        super().__init__(info, ORT_TYPES[inp.type],
                         batch_dim if isinstance(batch_dim, int) else 64)
        hw = tuple(inp.shape[2:])
        if all(isinstance(s, int) for s in hw) and hw != info.input_shape:
            raise ModelLoadError(f'{path}: input is {hw} but metadata imgsz is {info.input_shape}')
        self.input_name, self.output_name = inp.name, out.name
        if len(out.shape) != 3:
            raise ModelLoadError(
                f'{path}: output {out.name} has shape {out.shape}; expected [B, 4+nc, N] (the raw '
                'YOLOv8 head). Models exported with nms=True or end2end heads are not supported: '
                're-export with `vru-train export`.')
        self.check_output_classes(out.shape[1] if isinstance(out.shape[1], int) else None)
        self.providers = self.session.get_providers()
        self.uint8_activations = isinstance(source, bytes)

    def infer(self, batch: np.ndarray) -> np.ndarray:
        out = self.session.run([self.output_name], {self.input_name: batch})[0]
        return out.astype(np.float32, copy=False)

    def close(self) -> None:
        self.session = None  # type: ignore[assignment]
