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
A checkpoint to ONNX with the metadata the runtime checks at load time (``vru-train export``).

Ultralytics' exporter does the tracing (raw head output ``[B, 4+nc, N]``, names/imgsz/stride in
``metadata_props``); this adds our keys (``precision``) and, for ``--dynamic-batch``, keeps H and
W static so TensorRT and the calibrator see one input size.

``--half`` writes an FP16 graph (weights and activations float16, input and output float32 so
the runtime's pre/post-processing is unchanged), ``precision=fp16``. That is how FP16 is asked
for on TensorRT >= 10 strongly typed builds, which take every layer's precision from the graph
(TensorRT 11 builds only those: its FP16 flag does nothing); ultralytics' ``half`` needs a GPU.
"""
from __future__ import annotations

import os
from pathlib import Path
import shutil
import tempfile

from .stages.export import ExportSettings, MIN_OPSET

DEFAULT = ExportSettings


def set_metadata(model, updates: dict[str, str]) -> None:
    """Add or replace string entries of an ``onnx.ModelProto``'s ``metadata_props`` in place."""
    props = {p.key: p.value for p in model.metadata_props}
    props.update({k: str(v) for k, v in updates.items()})
    del model.metadata_props[:]
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value


def read_metadata(path: str | Path) -> dict[str, str]:
    """Read the ``metadata_props`` of an ONNX file as a dict (weights are not loaded)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return {p.key: p.value for p in model.metadata_props}


def _fix_spatial_dims(model, imgsz: tuple[int, int]) -> None:
    """Make H/W of the input static (batch stays symbolic) and re-infer the output shape."""
    import onnx

    dims = model.graph.input[0].type.tensor_type.shape.dim
    for axis, size in ((2, imgsz[0]), (3, imgsz[1])):
        dims[axis].ClearField('dim_param')
        dims[axis].dim_value = size
    out = model.graph.output[0].type.tensor_type.shape.dim
    if len(out) == 3:
        out[2].ClearField('dim_param')
        stride_sum = sum((imgsz[0] // s) * (imgsz[1] // s) for s in (8, 16, 32))
        out[2].dim_value = stride_sum
    onnx.checker.check_model(model)


def to_fp16(model):
    """Float16 copy of an FP32 ``onnx.ModelProto``, float32 input/output kept (Casts inserted)."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    return convert_float_to_float16(model, keep_io_types=True)


def export_onnx(weights: str | Path, out: str | Path | None = None,
                imgsz: int | tuple[int, int] = DEFAULT.imgsz, opset: int = DEFAULT.opset,
                dynamic_batch: bool = DEFAULT.dynamic_batch, simplify: bool = DEFAULT.simplify,
                half: bool = DEFAULT.half) -> Path:
    """
    Export ``weights`` (.pt) to ONNX with names, imgsz, stride and ``precision`` fp32 (or fp16).

    The input is ``1x3xHxW`` (or ``Bx3xHxW`` with a symbolic batch for ``dynamic_batch``); the
    output is the raw YOLOv8 head (boxes in input pixels + class scores), decoded by our runtime.
    """
    import onnx

    os.environ.setdefault('YOLO_OFFLINE', '1')
    from training.models import build_yolo

    if opset < MIN_OPSET:
        raise ValueError(f'opset {opset} is too old: TensorRT Q/DQ and per-channel quantization '
                         f'need opset >= {MIN_OPSET}')
    size = (imgsz, imgsz) if isinstance(imgsz, int) else tuple(int(s) for s in imgsz)
    if any(s % 32 for s in size):
        raise ValueError(f'imgsz {size} must be multiples of the model stride 32')
    weights = Path(weights)
    if not weights.is_file():
        raise FileNotFoundError(f'{weights}: checkpoint not found; pass a trained .pt file')
    with tempfile.TemporaryDirectory(prefix='vru-export-') as tmp:
        # Ultralytics writes next to the weights: export a copy so nothing beside them is touched.
        local = Path(tmp) / weights.name
        shutil.copy2(weights, local)
        yolo = build_yolo(str(local))
        exported = Path(yolo.export(format='onnx', imgsz=list(size), opset=opset,
                                    simplify=simplify, dynamic=dynamic_batch, batch=1, nms=False,
                                    half=False))
        model = onnx.load(str(exported))
    if dynamic_batch:
        _fix_spatial_dims(model, size)
    if half:
        model = to_fp16(model)
    set_metadata(model, {'precision': 'fp16' if half else 'fp32', 'imgsz': repr(list(size))})
    default = weights.with_name(weights.stem + '_fp16.onnx') if half else weights.with_suffix(
        '.onnx')
    target = Path(out) if out else default
    target.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(target))
    return target
