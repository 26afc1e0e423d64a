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
TensorRT backend: builds an engine from the (Q/DQ) ONNX, caches it, runs it without torch.

Q/DQ ONNX is built as a strongly typed network on TensorRT >= 10 (precision comes from the Q/DQ
nodes and the graph's float type, as TensorRT 11 requires for every network); TensorRT 8.6 gets
EXPLICIT_BATCH and the INT8 + FP16 flags. So the float parts of a strongly typed engine run in the
ONNX's float type: FP16 needs an FP16 ONNX (``vru-train export --half``). The JSON sidecar records
what was really built (``precision`` int8/fp16/fp32, ``float_precision`` of the non-int8 parts)
with TensorRT version, GPU, ONNX sha256 and the model metadata; an engine from another GPU /
TensorRT / ONNX is rebuilt from the ONNX next to it, or refused.
Inference uses its own CUDA stream and page-locked host buffers through cuda-python.

Ahead-of-time build: ``vru-build-engine --build-only model_int8.onnx``.
"""
from __future__ import annotations

import argparse
import ctypes
import importlib
from pathlib import Path
import sys
from typing import Any, TYPE_CHECKING

import numpy as np

from .base import Backend
from .engine_cache import (BuildTarget, check_input, concrete_shape, DEFAULT_DYNAMIC_MAX_BATCH,
                           EngineSidecar, file_sha256, load_sidecar, numpy_dtype, plan_engine,
                           profile_shapes, timing_cache_path, write_sidecar)
from .engine_precision import engine_precision, onnx_float_precision
from ..artifact import artifact_from_metadata
from ..cli.help import HelpFormatter
from ..errors import BackendUnavailableError, ModelLoadError, VruDetectorError

if TYPE_CHECKING:  # type-checked against tensorrt-stubs; imported lazily at run time
    import tensorrt as trt

INSTALL_HINT = ('Install TensorRT (pip install tensorrt, or JetPack on Jetson) and cuda-python '
                '(pip install cuda-python), or run the ONNX with the onnxruntime backend.')


def require_tensorrt() -> str:
    """Return TensorRT's version, or fail clearly (the stubs package alone is not TensorRT)."""
    try:
        import tensorrt
    except ImportError as exc:
        raise BackendUnavailableError(f'TensorRT is not installed. {INSTALL_HINT}') from exc
    if not hasattr(tensorrt, 'Builder'):
        raise BackendUnavailableError(f'`tensorrt` here is only type stubs. {INSTALL_HINT}')
    return str(tensorrt.__version__)


def import_cudart() -> Any:
    """cuda-python's runtime module: ``cuda.bindings.runtime`` (>= 12.6) or ``cuda.cudart``."""
    for name in ('cuda.bindings.runtime', 'cuda.cudart'):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise BackendUnavailableError(f'cuda-python is not installed. {INSTALL_HINT}')


def trt_major(version: str) -> int:
    return int(version.split('.', 1)[0])


class Cuda:
    """The few CUDA runtime calls the backend needs, with errors turned into exceptions."""

    def __init__(self, device_index: int = 0) -> None:
        self.rt = import_cudart()
        self.device_index = device_index
        self.check(self.rt.cudaSetDevice(device_index))

    def check(self, result: Any) -> Any:
        err, *rest = result if isinstance(result, tuple) else (result,)
        if int(err) != 0:
            _, msg = self.rt.cudaGetErrorString(err)
            text = msg.decode() if isinstance(msg, bytes) else str(msg)
            raise RuntimeError(f'CUDA error {int(err)}: {text}')
        return rest[0] if len(rest) == 1 else rest

    def target(self, tensorrt_version: str) -> BuildTarget:
        props = self.check(self.rt.cudaGetDeviceProperties(self.device_index))
        name = props.name.decode() if isinstance(props.name, bytes) else str(props.name)
        return BuildTarget(tensorrt_version, name.strip('\x00').strip(),
                           f'{props.major}.{props.minor}')

    def stream(self) -> Any:
        return self.check(self.rt.cudaStreamCreate())

    def malloc(self, nbytes: int) -> int:
        return int(self.check(self.rt.cudaMalloc(nbytes)))

    def host_array(self, shape: tuple[int, ...], dtype: type) -> tuple[int, np.ndarray]:
        """Page-locked host memory viewed as a numpy array (fast, async-capable copies)."""
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        ptr = int(self.check(self.rt.cudaMallocHost(nbytes)))
        raw = (ctypes.c_uint8 * nbytes).from_address(ptr)
        return ptr, np.ctypeslib.as_array(raw).view(dtype).reshape(shape)

    def copy_async(self, dst: int, src: int, nbytes: int, to_device: bool, stream: Any) -> None:
        kind = (self.rt.cudaMemcpyKind.cudaMemcpyHostToDevice if to_device
                else self.rt.cudaMemcpyKind.cudaMemcpyDeviceToHost)
        self.check(self.rt.cudaMemcpyAsync(dst, src, nbytes, kind, stream))

    def synchronize(self, stream: Any) -> None:
        self.check(self.rt.cudaStreamSynchronize(stream))


def device_index(device: str) -> int:
    if device in ('cuda', 'gpu'):
        return 0
    if device.startswith('cuda:') and device[5:].isdigit():
        return int(device[5:])
    if device.isdigit():
        return int(device)
    raise BackendUnavailableError(f'device={device!r}: the TensorRT backend needs a GPU, cuda[:N]')


def dims_tuple(dims: Any) -> tuple[int, ...]:
    """Convert a TensorRT ``Dims`` to a tuple of ints (-1 for dynamic)."""
    return tuple(int(dims[i]) for i in range(len(dims)))


def has_qdq(onnx_path: Path) -> bool:
    import onnx

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    return any(n.op_type == 'QuantizeLinear' for n in graph.node)


def onnx_metadata(onnx_path: Path) -> dict[str, str]:
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    return {p.key: p.value for p in model.metadata_props}


def build_engine(onnx_path: str | Path, engine_path: str | Path | None = None,
                 device: str = 'cuda:0', max_batch: int | None = None,
                 workspace_gb: float | None = None, fp16: bool = True,
                 verbose: bool = False) -> Path:
    """Build ``onnx_path`` into a TensorRT engine + JSON sidecar (+ shared timing cache)."""
    version = require_tensorrt()
    import tensorrt as trt

    onnx_path = Path(onnx_path)
    engine = Path(engine_path) if engine_path else onnx_path.with_suffix('.engine')
    info = artifact_from_metadata(onnx_metadata(onnx_path), str(onnx_path))
    cuda = Cuda(device_index(device))
    target = cuda.target(version)
    logger = trt.Logger(trt.Logger.VERBOSE if verbose else trt.Logger.WARNING)
    builder = trt.Builder(logger)
    major = trt_major(version)
    qdq = has_qdq(onnx_path)
    strongly_typed, precision, float_precision, note = engine_precision(
        major, qdq, onnx_float_precision(onnx_path), fp16)
    if note:
        print(f'[vru_detector] {onnx_path.name}: {note}', file=sys.stderr)
    if strongly_typed:
        flags = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    elif major < 10:
        flags = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    else:
        flags = 0
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes(), str(onnx_path)):
        errors = '; '.join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ModelLoadError(f'{onnx_path}: TensorRT could not parse the ONNX: {errors}')
    config = builder.create_builder_config()
    if workspace_gb:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gb * (1 << 30)))
    if not strongly_typed:
        if qdq:  # TensorRT 8.6 explicit quantization: allow int8 kernels, fp16 elsewhere
            config.set_flag(trt.BuilderFlag.INT8)
        if float_precision == 'fp16':
            config.set_flag(trt.BuilderFlag.FP16)
    inp = network.get_input(0)
    dynamic = int(inp.shape[0]) < 0
    batch_max = max_batch or (DEFAULT_DYNAMIC_MAX_BATCH if dynamic else 1)
    if dynamic:
        profile = builder.create_optimization_profile()
        lo, opt, hi = profile_shapes(dims_tuple(inp.shape), batch_max)
        profile.set_shape(inp.name, trt.Dims(list(lo)), trt.Dims(list(opt)), trt.Dims(list(hi)))
        config.add_optimization_profile(profile)
    else:
        batch_max = int(inp.shape[0])
    cache_file = timing_cache_path(engine, target)
    cache = config.create_timing_cache(cache_file.read_bytes() if cache_file.is_file() else b'')
    config.set_timing_cache(cache, ignore_mismatch=False)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ModelLoadError(f'{onnx_path}: TensorRT engine build failed (see the log above)')
    engine.parent.mkdir(parents=True, exist_ok=True)
    engine.write_bytes(bytes(serialized))
    cache_file.write_bytes(bytes(config.get_timing_cache().serialize()))
    write_sidecar(engine, EngineSidecar(
        target=target, onnx_name=onnx_path.name, onnx_sha256=file_sha256(onnx_path),
        max_batch=batch_max, strongly_typed=strongly_typed,
        metadata={**info.to_metadata(), 'precision': precision,
                  'float_precision': float_precision}))
    return engine


class TensorRTBackend(Backend):
    """Runs a TensorRT engine; ``path`` is the ``.engine``/``.plan`` or the ONNX to build from."""

    name = 'tensorrt'

    def __init__(self, path: str | Path, device: str = 'cuda:0', rebuild: bool = True,
                 max_batch: int | None = None, **options: Any) -> None:
        version = require_tensorrt()
        import tensorrt as trt

        self.cuda = Cuda(device_index(device))
        target = self.cuda.target(version)
        plan = plan_engine(path, target, rebuild=rebuild)
        if plan.action == 'build':
            assert plan.onnx is not None
            print(f'[vru_detector] building TensorRT engine {plan.engine} from {plan.onnx}: '
                  f'{"; ".join(plan.reasons)}', file=sys.stderr)
            build_engine(plan.onnx, plan.engine, device, max_batch, **options)
        sidecar = load_sidecar(plan.engine)
        info = sidecar.artifact_info(str(plan.engine))
        self.logger = trt.Logger(trt.Logger.WARNING)
        self.runtime = trt.Runtime(self.logger)
        engine: trt.ICudaEngine | None = self.runtime.deserialize_cuda_engine(
            plan.engine.read_bytes())
        if engine is None:
            raise ModelLoadError(f'{plan.engine}: TensorRT could not deserialize the engine; '
                                 'delete it so it is rebuilt from the ONNX')
        self.engine: trt.ICudaEngine | None = engine
        self.context: trt.IExecutionContext | None = engine.create_execution_context()
        self.stream: Any = self.cuda.stream()
        self.legacy = not hasattr(engine, 'num_io_tensors')  # TensorRT 8.6 bindings API
        self.input_mode = trt.TensorIOMode.INPUT
        names, inputs = self._io_names()
        if len(inputs) != 1 or len(names) != 2:
            raise ModelLoadError(f'{plan.engine}: expected one input and one output tensor, '
                                 f'found {names}')
        self.input_name = inputs[0]
        self.output_name = next(n for n in names if n != self.input_name)
        in_shape = self._shape(self.input_name)
        out_shape = self._shape(self.output_name)
        dtype = numpy_dtype(str(self._dtype(self.input_name)))
        batch_max = sidecar.max_batch if in_shape[0] < 0 else in_shape[0]
        super().__init__(info, np.dtype(dtype), batch_max)
        self.in_shape, self.out_shape = in_shape, out_shape
        self.check_output_classes(out_shape[1] if len(out_shape) == 3 else None)
        self.out_dtype = numpy_dtype(str(self._dtype(self.output_name)))
        self.buffers: dict[str, tuple[int, int, np.ndarray]] = {}
        for name, shape, dt in ((self.input_name, in_shape, dtype),
                                (self.output_name, out_shape, self.out_dtype)):
            full = concrete_shape(shape, batch_max)
            nbytes = int(np.prod(full)) * np.dtype(dt).itemsize
            host_ptr, host = self.cuda.host_array(full, dt)
            self.buffers[name] = (self.cuda.malloc(nbytes), host_ptr, host)
        self.path = plan.engine

    def _live(self) -> tuple[trt.ICudaEngine, trt.IExecutionContext]:
        if self.engine is None or self.context is None:
            raise RuntimeError('TensorRT backend was closed')
        return self.engine, self.context

    def _io_names(self) -> tuple[list[str], list[str]]:
        e, _ = self._live()
        if self.legacy:
            old: Any = e  # TensorRT 8.6 bindings API (not in the TensorRT 10 stubs)
            names = [old.get_binding_name(i) for i in range(old.num_bindings)]
            return names, [n for n in names if old.binding_is_input(n)]
        names = [e.get_tensor_name(i) for i in range(e.num_io_tensors)]
        return names, [n for n in names if e.get_tensor_mode(n) == self.input_mode]

    def _shape(self, name: str) -> tuple[int, ...]:
        e, _ = self._live()
        old: Any = e
        return dims_tuple(old.get_binding_shape(name) if self.legacy else e.get_tensor_shape(name))

    def _dtype(self, name: str) -> Any:
        e, _ = self._live()
        old: Any = e
        return old.get_binding_dtype(name) if self.legacy else e.get_tensor_dtype(name)

    def infer(self, batch: np.ndarray) -> np.ndarray:
        engine, context = self._live()
        check_input(batch, self.in_shape, self.max_batch)
        b = int(batch.shape[0])
        in_dev, in_host_ptr, in_host = self.buffers[self.input_name]
        out_dev, out_host_ptr, out_host = self.buffers[self.output_name]
        in_shape = concrete_shape(self.in_shape, b)
        out_shape = concrete_shape(self.out_shape, b)
        np.copyto(in_host[:b], batch, casting='same_kind')
        in_bytes = int(np.prod(in_shape)) * in_host.itemsize
        out_bytes = int(np.prod(out_shape)) * out_host.itemsize
        self.cuda.copy_async(in_dev, in_host_ptr, in_bytes, True, self.stream)
        if self.legacy:
            old_engine: Any = engine
            old_context: Any = context
            index = old_engine.get_binding_index(self.input_name)
            old_context.set_binding_shape(index, in_shape)
            bindings = [0] * old_engine.num_bindings
            bindings[index] = in_dev
            bindings[old_engine.get_binding_index(self.output_name)] = out_dev
            ok = old_context.execute_async_v2(bindings, int(self.stream))
        else:
            context.set_input_shape(self.input_name, in_shape)
            context.set_tensor_address(self.input_name, in_dev)
            context.set_tensor_address(self.output_name, out_dev)
            ok = context.execute_async_v3(int(self.stream))
        if not ok:
            raise RuntimeError(f'{self.path}: TensorRT execution failed')
        self.cuda.copy_async(out_host_ptr, out_dev, out_bytes, False, self.stream)
        self.cuda.synchronize(self.stream)
        return out_host[:b].astype(np.float32, copy=True)

    def close(self) -> None:
        rt = self.cuda.rt
        for dev, host_ptr, _ in getattr(self, 'buffers', {}).values():
            rt.cudaFree(dev)
            rt.cudaFreeHost(host_ptr)
        self.buffers = {}
        if getattr(self, 'stream', None) is not None:
            rt.cudaStreamDestroy(self.stream)
            self.stream = None
        self.context = None
        self.engine = None


def build_parser() -> argparse.ArgumentParser:
    """Return the ``vru-build-engine`` command line."""
    parser = argparse.ArgumentParser(
        prog='vru-build-engine', formatter_class=HelpFormatter,
        description='Build a TensorRT engine (+ JSON sidecar) from an ONNX, ahead of time, on '
        'the GPU that will run it.')
    parser.add_argument('onnx', help='(Q/DQ) ONNX model')
    parser.add_argument('--build-only', action='store_true',
                        help='build (or refresh) the engine and exit')
    parser.add_argument('--engine', help='engine path (default: <onnx>.engine)')
    parser.add_argument('--device', default='cuda:0', help='GPU to build for (cuda:N)')
    parser.add_argument('--max-batch', type=int, help='largest batch for dynamic-batch models')
    parser.add_argument('--workspace', type=float, help='builder workspace in GiB')
    parser.add_argument('--verbose', action='store_true', help="TensorRT's verbose build log")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not Path(args.onnx).is_file():
        print(f'vru-build-engine: error: {args.onnx}: no such file; give the (Q/DQ) ONNX that '
              '`vru-train export` or `vru-train calibrate` wrote', file=sys.stderr)
        return 2
    try:
        engine = build_engine(args.onnx, args.engine, args.device, args.max_batch,
                              args.workspace, verbose=args.verbose)
    except VruDetectorError as exc:
        print(f'vru-build-engine: error: {exc}', file=sys.stderr)
        return 2
    print(f'wrote {engine} and {engine.name}.json')
    if not args.build_only:
        backend = TensorRTBackend(engine, args.device)
        x = np.zeros((1, 3, *backend.info.input_shape), backend.input_dtype)
        print(f'smoke run: output {backend.infer(x).shape}')
        backend.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
