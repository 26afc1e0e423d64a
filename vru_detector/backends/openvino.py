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
OpenVINO backend: our FP32 / INT8 Q/DQ ONNX, or OpenVINO IR, on an Intel CPU, iGPU or NPU.

OpenVINO reads the ONNX file as it is (its low-precision transformations turn the Q/DQ pairs
into int8 kernels), so the same ``model_int8.onnx`` runs here, in ONNX Runtime and in TensorRT.
Metadata: OpenVINO copies ONNX ``metadata_props`` into the model's ``rt_info['framework']``,
and ``ov.save_model`` keeps that section in the IR's ``.xml``, so an IR converted from our ONNX
(:func:`convert_to_ir`, ``python -m vru_detector.backends.openvino``) carries the same keys.
An IR without them (ultralytics' ``format='openvino'`` export) is read with the
``metadata.yaml`` ultralytics writes beside it.
"""
from __future__ import annotations

import argparse
from pathlib import Path
import sys
from typing import Any, Mapping

import numpy as np

from .base import Backend
from ..artifact import artifact_from_metadata
from ..cli.help import HelpFormatter
from ..errors import ArtifactMetadataError, BackendUnavailableError, ModelLoadError
from ..extras import install_hint, missing_modules

METADATA_SECTION = 'framework'  # where OpenVINO puts ONNX metadata_props, in memory and in IR
SIDECAR = 'metadata.yaml'       # ultralytics' OpenVINO export folder
DEVICES = ('cpu', 'gpu', 'gpu.N', 'npu')


def require_openvino() -> Any:
    """Import openvino, or fail with the extra to install."""
    try:
        import openvino
    except ImportError as exc:
        raise BackendUnavailableError(
            f'the openvino backend needs the openvino package: {install_hint("openvino")}; '
            'or run the .onnx with backend=onnxruntime.') from exc
    return openvino


def brief(exc: Exception) -> str:
    """Return OpenVINO's multi-line exception text on one line, cut to 300 characters."""
    return ' '.join(str(exc).split())[:300]


def openvino_available() -> bool:
    """Tell whether openvino is installed (the automatic choice for .onnx on a CPU)."""
    return not missing_modules('openvino')


def ov_device(device: str, available: list[str]) -> str:
    """Map ``cpu`` / ``gpu`` / ``gpu.1`` / ``npu`` onto an OpenVINO device present here."""
    name = device.upper()
    family = name.split('.')[0]
    present = name in available or (family == name and any(
        d.split('.')[0] == family for d in available))
    if family not in ('CPU', 'GPU', 'NPU') or not present:
        shown = ', '.join(d.lower() for d in available) or 'none'
        raise BackendUnavailableError(
            f'device={device!r} is not available to OpenVINO here; available: {shown}. '
            f'The openvino backend runs on {", ".join(DEVICES)} (Intel GPU/NPU need their '
            'drivers, see OpenVINO\'s "Configurations for Intel GPU/NPU"); use device=cpu.')
    return name


def rt_metadata(model: Any) -> dict[str, str]:
    """Return the ``rt_info['framework']`` map (our ONNX metadata_props), or {}."""
    if not model.has_rt_info([METADATA_SECTION]):
        return {}
    try:
        section = model.get_rt_info([METADATA_SECTION]).astype(dict)
    except RuntimeError:  # the section is a plain value, not a map: nothing of ours
        return {}
    return {str(k): v.astype(str) if hasattr(v, 'astype') else str(v)
            for k, v in section.items()}


def sidecar_metadata(xml_path: Path) -> dict[str, Any]:
    """Read ultralytics' ``metadata.yaml`` beside an IR, or {} when there is none."""
    path = xml_path.with_name(SIDECAR)
    if xml_path.suffix.lower() != '.xml' or not path.is_file():
        return {}
    import yaml

    try:
        meta = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ArtifactMetadataError(f'{path}: not valid YAML ({exc})') from exc
    if not isinstance(meta, Mapping):
        return {}
    args = meta.get('args') if isinstance(meta.get('args'), Mapping) else {}
    int8 = args.get('int8') is True or args.get('quantize') == 8  # ultralytics 8.1 / 8.4
    return {'precision': 'int8' if int8 else 'fp32', **meta}


def model_metadata(model: Any, path: Path) -> dict[str, Any]:
    """Metadata of a read model: its rt_info, else the ultralytics sidecar."""
    meta = rt_metadata(model)
    if 'names' in meta:
        return meta
    return sidecar_metadata(path) or meta


def model_source(path: Path, device: str) -> str | bytes:
    """
    Choose what OpenVINO reads for ``path``: the path, or a Q/DQ ONNX rewritten in memory.

    On an x86 CPU, a Q/DQ ONNX gets uint8 activations (zero point 128: the same dequantized
    values as the file's symmetric int8). OpenVINO 2026.4's int8-activation kernels gave wrong
    scores on an AMD EPYC (Zen 4, AVX-512 VNNI) CPU: median gap 0.55 to FP32 on the COCO
    YOLOv8n's detections of street frames, against 0.04 with uint8 activations, ONNX Runtime's
    0.05. The file itself keeps the symmetric int8 layout that TensorRT builds.
    """
    from .qdq_layout import activations_to_uint8, load_qdq, needs_uint8_activations

    if path.suffix.lower() != '.onnx' or not device.startswith('CPU') or \
            not needs_uint8_activations('cpu'):
        return str(path)
    model = load_qdq(path)
    if model is None or not activations_to_uint8(model):
        return str(path)
    return model.SerializeToString()


def compile_config(device: str, threads: int, precision: str) -> dict[str, str]:
    """
    Return OpenVINO properties for one camera stream: lowest latency, ``threads`` CPU threads.

    LATENCY runs one inference at a time on one stream (what the node does); threads 0 lets
    OpenVINO use every core. An FP32 model runs in f32 on the CPU: on a CPU with AMX or
    AVX512-BF16, OpenVINO's default would lower it to bf16 (scores moved by up to 0.024 on a
    street frame). An INT8 model keeps OpenVINO's default for its float layers (bf16 there, f32
    elsewhere), as OpenVINO's own run of the file does: forcing f32 made it 13% slower there.
    """
    config = {'PERFORMANCE_HINT': 'LATENCY'}
    if device.startswith('CPU'):
        if precision == 'fp32':
            config['INFERENCE_PRECISION_HINT'] = 'f32'
        if threads:
            config['INFERENCE_NUM_THREADS'] = str(threads)
    return config


class OpenVinoBackend(Backend):
    """Runs ONNX or IR with OpenVINO; metadata from rt_info (or ultralytics' sidecar)."""

    name = 'openvino'

    def __init__(self, path: str | Path, device: str = 'cpu', threads: int = 0) -> None:
        ov = require_openvino()
        path = Path(path)
        core = ov.Core()
        ov_name = ov_device(device, core.available_devices)
        try:
            model = core.read_model(model_source(path, ov_name))
        except Exception as exc:  # OpenVINO raises RuntimeError/GeneralFailure with the cause
            raise ModelLoadError(
                f'{path}: OpenVINO could not load the model ({type(exc).__name__}: '
                f'{brief(exc)}). Is it a complete .onnx, or an .xml with its .bin beside '
                'it? Re-export it (`vru-train export`).') from exc
        info = artifact_from_metadata(model_metadata(model, path), str(path))
        if len(model.inputs) != 1 or len(model.outputs) < 1:
            raise ModelLoadError(f'{path}: expected one image input, found {len(model.inputs)}')
        inp, out = model.inputs[0], model.outputs[0]
        shape = inp.get_partial_shape()
        if shape.rank.is_dynamic or shape.rank.get_length() != 4:
            raise ModelLoadError(f'{path}: input {inp.any_name} is {shape}; expected a float '
                                 '[B,3,H,W] image tensor')
        hw = tuple(d.get_length() if d.is_static else None for d in list(shape)[2:])
        if None not in hw and hw != info.input_shape:
            raise ModelLoadError(f'{path}: input is {hw} but metadata imgsz is {info.input_shape}')
        out_shape = out.get_partial_shape()
        if out_shape.rank.is_dynamic or out_shape.rank.get_length() != 3:
            raise ModelLoadError(
                f'{path}: output has shape {out_shape}; expected [B, 4+nc, N] (the raw YOLOv8 '
                'head). Models exported with nms=True or end2end heads are not supported: '
                're-export with `vru-train export`.')
        batch_dim, width = list(shape)[0], list(out_shape)[1]
        super().__init__(info, np.float32, batch_dim.get_length() if batch_dim.is_static else 64)
        self.check_output_classes(width.get_length() if width.is_static else None)
        try:
            config = compile_config(ov_name, threads, info.precision)
            self.compiled = core.compile_model(model, ov_name, config)
        except Exception as exc:
            raise ModelLoadError(
                f'{path}: OpenVINO could not compile the model for {ov_name} '
                f'({type(exc).__name__}: {brief(exc)}). Try device=cpu, or run the .onnx '
                'with backend=onnxruntime.') from exc
        self.request = self.compiled.create_infer_request()
        self.device = ov_name

    def infer(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        self.request.infer({0: batch}, share_inputs=True)
        return np.array(self.request.get_output_tensor(0).data, dtype=np.float32)

    def close(self) -> None:
        self.request = None  # type: ignore[assignment]
        self.compiled = None  # type: ignore[assignment]


def convert_to_ir(onnx_path: str | Path, xml_path: str | Path | None = None) -> Path:
    """
    Convert our ONNX (FP32 or INT8 Q/DQ) to OpenVINO IR, metadata included; return the .xml.

    Weights stay FP32 (``compress_to_fp16=False``), so the IR computes what the ONNX does; Q/DQ
    becomes FakeQuantize and still runs int8. The metadata travels in ``rt_info['framework']``.
    """
    ov = require_openvino()
    onnx_path = Path(onnx_path)
    if not onnx_path.is_file():
        raise ModelLoadError(f'{onnx_path}: no such file; give the .onnx that `vru-train export` '
                             'or `vru-train calibrate` wrote')
    xml_path = Path(xml_path) if xml_path else onnx_path.with_suffix('.xml')
    try:
        model = ov.Core().read_model(str(onnx_path))
    except Exception as exc:
        raise ModelLoadError(
            f'{onnx_path}: OpenVINO could not read it ({brief(exc)})') from exc
    artifact_from_metadata(rt_metadata(model), str(onnx_path))  # refuse a file without metadata
    xml_path.parent.mkdir(parents=True, exist_ok=True)
    ov.save_model(model, str(xml_path), compress_to_fp16=False)
    return xml_path


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog='python -m vru_detector.backends.openvino', formatter_class=HelpFormatter,
        description='convert an ONNX from `vru-train export` / `calibrate` to OpenVINO IR '
                    '(.xml + .bin) with its model metadata')
    p.add_argument('onnx', help='FP32 or INT8 Q/DQ .onnx')
    p.add_argument('--out', help='output .xml (default: next to the ONNX)')
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        xml = convert_to_ir(args.onnx, args.out)
    except ModelLoadError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    print(f'wrote {xml} and {xml.with_suffix(".bin")}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
