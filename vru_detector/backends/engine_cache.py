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
TensorRT engine bookkeeping that needs no GPU: sidecar, compatibility, rebuild decision, shapes.

An engine only runs on the GPU model and TensorRT version it was built with, and only means what
the ONNX it came from means. The JSON sidecar (``model.engine.json``) records all three plus the
model metadata (names, imgsz, stride, precision, calibration id); at load time the backend asks
:func:`plan_engine` whether to load the engine, rebuild it from the ONNX beside it, or refuse.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import datetime as _dt
import hashlib
import json
from pathlib import Path
import re
from typing import Any, Mapping, Sequence

import numpy as np

from ..artifact import artifact_from_metadata, ArtifactInfo, read_sidecar
from ..errors import ArtifactMetadataError, ModelLoadError

SIDECAR_FORMAT = 1
ENGINE_SUFFIXES = ('.engine', '.plan')
DEFAULT_DYNAMIC_MAX_BATCH = 8

# TensorRT DataType names -> numpy (TensorRT 8.6 and 10 use the same names).
TRT_NUMPY = {'FLOAT': np.float32, 'HALF': np.float16, 'INT8': np.int8, 'INT32': np.int32,
             'INT64': np.int64, 'BOOL': np.bool_, 'UINT8': np.uint8, 'BF16': None, 'FP8': None}


@dataclass(frozen=True)
class BuildTarget:
    """Where an engine can run: it is only valid for this GPU model and TensorRT version."""

    tensorrt_version: str
    gpu_name: str
    compute_capability: str = ''


@dataclass(frozen=True)
class EngineSidecar:
    """The contents of ``<engine>.json``."""

    target: BuildTarget
    onnx_name: str
    onnx_sha256: str
    max_batch: int
    metadata: dict[str, str]
    strongly_typed: bool = False
    built_at: str = ''

    def to_dict(self) -> dict[str, Any]:
        """Metadata keys at top level (artifact readers see names/imgsz/...), build info apart."""
        return {**self.metadata, 'engine': {
            'format': SIDECAR_FORMAT,
            'tensorrt_version': self.target.tensorrt_version,
            'gpu_name': self.target.gpu_name,
            'compute_capability': self.target.compute_capability,
            'onnx': self.onnx_name,
            'onnx_sha256': self.onnx_sha256,
            'max_batch': self.max_batch,
            'strongly_typed': self.strongly_typed,
            'built_at': self.built_at or _dt.datetime.now(_dt.timezone.utc).isoformat(),
        }}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str) -> 'EngineSidecar':
        build = data.get('engine')
        required = ('tensorrt_version', 'gpu_name', 'onnx_sha256')
        if not isinstance(build, Mapping) or any(k not in build for k in required):
            raise ArtifactMetadataError(
                f'{source}: sidecar has no "engine" block with {", ".join(required)}; it was not '
                'written by vru_detector. Rebuild the engine from its ONNX.')
        return cls(
            target=BuildTarget(str(build['tensorrt_version']), str(build['gpu_name']),
                               str(build.get('compute_capability', ''))),
            onnx_name=str(build.get('onnx', '')),
            onnx_sha256=str(build['onnx_sha256']),
            max_batch=int(build.get('max_batch', 1)),
            metadata={k: str(v) for k, v in data.items() if k != 'engine'},
            strongly_typed=bool(build.get('strongly_typed', False)),
            built_at=str(build.get('built_at', '')),
        )

    def artifact_info(self, source: str) -> ArtifactInfo:
        """Model metadata (names, input size, stride, precision, calibration id), validated."""
        return artifact_from_metadata(self.metadata, source)


def sidecar_path(engine: str | Path) -> Path:
    return Path(str(engine) + '.json')


def write_sidecar(engine: str | Path, sidecar: EngineSidecar) -> Path:
    path = sidecar_path(engine)
    path.write_text(json.dumps(sidecar.to_dict(), indent=2, sort_keys=True) + '\n')
    return path


def load_sidecar(engine: str | Path) -> EngineSidecar:
    return EngineSidecar.from_dict(read_sidecar(Path(engine)), str(sidecar_path(engine)))


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def mismatches(sidecar: EngineSidecar, target: BuildTarget, onnx_sha256: str | None) -> list[str]:
    """Why an engine cannot be used here (empty list: it can)."""
    reasons = []
    if sidecar.target.tensorrt_version != target.tensorrt_version:
        reasons.append(f'built with TensorRT {sidecar.target.tensorrt_version}, this is '
                       f'TensorRT {target.tensorrt_version}')
    if sidecar.target.gpu_name != target.gpu_name:
        reasons.append(f'built for GPU "{sidecar.target.gpu_name}", this is "{target.gpu_name}"')
    elif (sidecar.target.compute_capability and target.compute_capability
          and sidecar.target.compute_capability != target.compute_capability):
        reasons.append(f'built for compute capability {sidecar.target.compute_capability}, '
                       f'this GPU is {target.compute_capability}')
    if onnx_sha256 is not None and sidecar.onnx_sha256 != onnx_sha256:
        reasons.append(f'the ONNX beside it changed (sha256 {onnx_sha256[:12]}, engine built from '
                       f'{sidecar.onnx_sha256[:12]})')
    return reasons


def onnx_beside(engine: str | Path, sidecar: EngineSidecar | None = None) -> Path | None:
    """Find the ONNX an engine is (re)built from: the sidecar's name, else ``<stem>.onnx``."""
    engine = Path(engine)
    candidates = []
    if sidecar is not None and sidecar.onnx_name:
        candidates.append(engine.parent / Path(sidecar.onnx_name).name)
    candidates.append(engine.with_suffix('.onnx'))
    return next((c for c in candidates if c.is_file()), None)


def engine_path_for(onnx: str | Path) -> Path:
    return Path(onnx).with_suffix('.engine')


@dataclass
class EnginePlan:
    """What the backend does at load: ``load`` the engine or ``build`` it from ``onnx``."""

    action: str
    engine: Path
    onnx: Path | None
    reasons: list[str] = field(default_factory=list)


def plan_engine(model: str | Path, target: BuildTarget, rebuild: bool = True) -> EnginePlan:
    """
    Decide between loading ``model`` and rebuilding it; refuse with a clear message.

    ``model`` is an engine (``.engine``/``.plan``) or an ONNX (its engine goes beside it).
    """
    model = Path(model)
    if model.suffix.lower() == '.onnx':
        engine, onnx = engine_path_for(model), model
        if not onnx.is_file():
            raise ModelLoadError(f'{onnx}: no such ONNX file to build a TensorRT engine from')
    else:
        engine, onnx = model, None
    sidecar = None
    sidecar_error = None
    if engine.is_file():
        try:
            sidecar = load_sidecar(engine)
        except ArtifactMetadataError as exc:
            sidecar_error = str(exc)
    onnx = onnx or onnx_beside(engine, sidecar)
    if not engine.is_file():
        reasons = ['no engine file yet']
    elif sidecar is None:
        reasons = [f'its sidecar is unusable: {sidecar_error}']
    else:
        reasons = mismatches(sidecar, target, file_sha256(onnx) if onnx else None)
    if not reasons:
        return EnginePlan('load', engine, onnx)
    if onnx is None:
        raise ModelLoadError(
            f'{engine}: cannot use this TensorRT engine ({"; ".join(reasons)}) and there is no '
            f'ONNX beside it to rebuild from ({engine.with_suffix(".onnx").name}). Copy the Q/DQ '
            'ONNX next to the engine (it is rebuilt at start-up) or pass the .onnx as the model.')
    if not rebuild:
        raise ModelLoadError(f'{engine}: engine is stale ({"; ".join(reasons)}); rebuild it with '
                             f'`vru-build-engine --build-only {onnx}`')
    return EnginePlan('build', engine, onnx, reasons)


def timing_cache_path(engine: str | Path, target: BuildTarget) -> Path:
    """One timing cache per GPU model and TensorRT version, shared by engines in a folder."""
    slug = re.sub(r'[^A-Za-z0-9]+', '-', target.gpu_name).strip('-').lower() or 'gpu'
    return Path(engine).parent / f'timing-{slug}-trt{target.tensorrt_version}.cache'


def profile_shapes(shape: Sequence[int], max_batch: int) -> tuple[tuple[int, ...], ...]:
    """(min, opt, max) optimisation-profile shapes for an input whose batch may be -1."""
    dims = tuple(int(d) for d in shape)
    if any(d < 0 for d in dims[1:]):
        raise ModelLoadError(f'input shape {dims}: only the batch dimension may be dynamic; '
                             'export with static H and W (`vru-train export --dynamic-batch`)')
    if dims[0] >= 0:
        return dims, dims, dims
    if max_batch < 1:
        raise ValueError(f'max_batch must be >= 1, got {max_batch}')
    opt = max(1, max_batch // 2)
    return (1, *dims[1:]), (opt, *dims[1:]), (max_batch, *dims[1:])


def concrete_shape(shape: Sequence[int], batch: int) -> tuple[int, ...]:
    """Set the dynamic batch (``-1``) of an IO tensor shape to ``batch``."""
    dims = tuple(int(d) for d in shape)
    if dims and dims[0] < 0:
        dims = (batch, *dims[1:])
    if any(d < 0 for d in dims):
        raise ModelLoadError(f'tensor shape {tuple(shape)} has dynamic dimensions besides batch')
    return dims


def check_input(batch: np.ndarray, expected: Sequence[int], max_batch: int) -> None:
    """Refuse a batch the engine cannot take, naming what it expected."""
    want = tuple(int(d) for d in expected)
    if batch.ndim != 4 or tuple(batch.shape[1:]) != want[1:]:
        raise ValueError(f'TensorRT engine expects input [B, {", ".join(map(str, want[1:]))}], '
                         f'got {list(batch.shape)}')
    if not 1 <= batch.shape[0] <= max_batch:
        raise ValueError(f'batch of {batch.shape[0]} images; this engine takes 1..{max_batch}')


def numpy_dtype(trt_dtype_name: str) -> type:
    """Map a TensorRT DataType name to numpy (``DataType.FLOAT`` -> float32)."""
    name = trt_dtype_name.rsplit('.', 1)[-1].upper()
    dtype = TRT_NUMPY.get(name)
    if dtype is None:
        raise ModelLoadError(f'TensorRT IO tensor type {trt_dtype_name} is not supported here; '
                             'the engine should take and return float32 (or float16)')
    return dtype
