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

"""TensorRT backend: type-checked against tensorrt-stubs here; built and run where TensorRT is."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path
import re
import subprocess
import sys
import sysconfig

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
KEYWORDS = ('in', 'from', 'lambda', 'def', 'class', 'is', 'not', 'and', 'or', 'for', 'if',
            'else', 'while', 'with', 'as', 'global', 'pass', 'return', 'yield', 'import', 'del',
            'try', 'except', 'raise', 'finally', 'assert', 'break', 'continue', 'async', 'await')
KEYWORD_PARAM = re.compile(r'([(,]\s*)(' + '|'.join(KEYWORDS) + r')(\s*:)')


def real_tensorrt() -> bool:
    spec = importlib.util.find_spec('tensorrt')
    if spec is None:
        return False
    import tensorrt

    return hasattr(tensorrt, 'Builder')


def _split_params(params: str) -> list[str]:
    out, depth, cur = [], 0, ''
    for ch in params:
        depth += ch in '([{'
        depth -= ch in ')]}'
        if ch == ',' and depth == 0:
            out.append(cur)
            cur = ''
        else:
            cur += ch
    return out + ([cur] if cur.strip() else [])


def _fix_defaults(line: str) -> str:
    m = re.match(r'(\s*def \w+\()(.*)(\)\s*->.*)$', line)
    if not m:
        return line
    params, seen = _split_params(m.group(2)), False
    for i, p in enumerate(params):
        if '=' in p:
            seen = True
        elif seen and p.strip() and not p.strip().startswith('*'):
            params[i] = p + ' = ...'
    return m.group(1) + ','.join(params) + m.group(3)


def repaired_stubs(dest: Path) -> Path | None:
    """Copy tensorrt-stubs with its syntax errors fixed (params named `in`, default order)."""
    site = Path(sysconfig.get_paths()['purelib'])
    if not (site / 'tensorrt_bindings' / 'tensorrt.pyi').is_file():
        return None
    for pkg in ('tensorrt', 'tensorrt_bindings'):
        (dest / pkg).mkdir(parents=True, exist_ok=True)
        for stub in (site / pkg).glob('*.pyi'):
            text = KEYWORD_PARAM.sub(r'\1\2_\3', stub.read_text())
            text = re.sub(r'^import tensorrt_libs.*$', '', text, flags=re.M)
            (dest / pkg / stub.name).write_text('\n'.join(_fix_defaults(x)
                                                          for x in text.split('\n')))
    return dest


@pytest.mark.slow
def test_tensorrt_backend_type_checks_against_tensorrt_stubs(tmp_path):
    pytest.importorskip('mypy', reason='mypy not installed')
    stubs = repaired_stubs(tmp_path / 'stubs')
    if stubs is None:
        pytest.skip('tensorrt-stubs not installed')
    env = {**os.environ, 'MYPYPATH': str(stubs)}
    proc = subprocess.run(
        [sys.executable, '-m', 'mypy', '--config-file', str(REPO / 'mypy.ini'),
         '--cache-dir', str(tmp_path / 'mypy_cache'), '--no-incremental',
         'vru_detector/backends/tensorrt.py', 'vru_detector/backends/engine_cache.py'],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the stubs were really used: a wrong call into TensorRT is caught
    bad = tmp_path / 'bad_trt.py'
    bad.write_text('import tensorrt as trt\n\n\ndef f(e: trt.ICudaEngine) -> None:\n'
                   '    e.execute_async_v9(0)\n')
    proc = subprocess.run([sys.executable, '-m', 'mypy', '--config-file', str(REPO / 'mypy.ini'),
                           '--cache-dir', str(tmp_path / 'mypy_cache'), str(bad)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert 'execute_async_v9' in proc.stdout


@pytest.mark.parametrize('major, qdq, onnx_float, fp16, expected', [
    # strongly typed (Q/DQ on 10, everything on 11): the graph decides, the FP16 flag cannot
    (10, True, 'fp32', True, (True, 'int8', 'fp32')),
    (11, True, 'fp32', False, (True, 'int8', 'fp32')),
    (11, False, 'fp32', True, (True, 'fp32', 'fp32')),  # asked FP16, gets FP32: said so
    (11, False, 'fp16', True, (True, 'fp16', 'fp16')),
    (10, False, 'fp16', False, (False, 'fp16', 'fp16')),
    # weakly typed (plain ONNX on 10, 8.6): the FP16 flag allows fp16 kernels
    (10, False, 'fp32', True, (False, 'fp16', 'fp16')),
    (10, False, 'fp32', False, (False, 'fp32', 'fp32')),
    (8, True, 'fp32', False, (False, 'int8', 'fp16')),
])
def test_engine_precision_is_what_the_build_really_gives(major, qdq, onnx_float, fp16, expected):
    from vru_detector.backends.engine_precision import engine_precision

    strongly_typed, precision, float_precision, note = engine_precision(
        major, qdq, onnx_float, fp16)
    assert (strongly_typed, precision, float_precision) == expected
    lost_fp16 = strongly_typed and fp16 and onnx_float != 'fp16'
    assert ('--half' in note) == lost_fp16


def test_onnx_float_precision_reads_the_graph(tmp_path):
    import onnx
    from onnx import helper, numpy_helper, TensorProto

    from training.export import to_fp16
    from vru_detector.backends.engine_precision import onnx_float_precision

    weight = numpy_helper.from_array(np.ones((4, 3, 1, 1), np.float32), 'w')
    graph = helper.make_graph(
        [helper.make_node('Conv', ['x', 'w'], ['y'])], 'g',
        [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, 4, 8, 8])], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)])
    onnx.save(model, str(tmp_path / 'fp32.onnx'))
    onnx.save(to_fp16(model), str(tmp_path / 'fp16.onnx'))
    assert onnx_float_precision(tmp_path / 'fp32.onnx') == 'fp32'
    assert onnx_float_precision(tmp_path / 'fp16.onnx') == 'fp16'


def test_engine_without_tensorrt_fails_with_install_hint(tmp_path):
    if real_tensorrt():
        pytest.skip('TensorRT is installed here')
    from vru_detector import Detector
    from vru_detector.errors import BackendUnavailableError

    engine = tmp_path / 'm.engine'
    engine.write_bytes(b'x')
    with pytest.raises(BackendUnavailableError, match='TensorRT.*onnxruntime backend'):
        Detector(engine, device='cuda:0')


@pytest.fixture(scope='module')
def qdq_onnx(tmp_path_factory, random_onnx, street_images) -> Path:
    if not real_tensorrt():
        pytest.skip('needs TensorRT and a CUDA GPU (pip install tensorrt cuda-python)')
    from training.quantize.calibrate import calibrate

    out = tmp_path_factory.mktemp('trt') / 'random_int8.onnx'
    return calibrate(random_onnx, street_images[:8], out).model


def test_tensorrt_int8_engine_matches_onnxruntime_and_writes_sidecar(qdq_onnx, street_images):
    pytest.importorskip('tensorrt', reason='needs TensorRT')
    import cv2

    from vru_detector.backends.engine_cache import load_sidecar
    from vru_detector.backends.onnxruntime import OnnxRuntimeBackend
    from vru_detector.backends.tensorrt import build_engine, TensorRTBackend
    from vru_detector.preprocess import preprocess

    engine = build_engine(qdq_onnx)
    sidecar = load_sidecar(engine)
    assert sidecar.metadata['precision'] == 'int8'
    assert sidecar.metadata['float_precision'] == 'fp32'  # strongly typed: the ONNX's float
    assert sidecar.onnx_name == qdq_onnx.name
    trt_backend = TensorRTBackend(engine)
    ort_backend = OnnxRuntimeBackend(qdq_onnx)
    x = preprocess([cv2.imread(str(street_images[-1]))], trt_backend.info.input_shape)[0]
    a, b = trt_backend.infer(x), ort_backend.infer(x)
    assert a.shape == b.shape
    assert np.abs(a[:, 4:] - b[:, 4:]).max() < 0.05
    trt_backend.close()


def test_fp16_onnx_builds_an_fp16_engine_matching_fp32(qdq_onnx, random_onnx, street_images,
                                                       tmp_path):
    pytest.importorskip('tensorrt', reason='needs TensorRT')
    import cv2
    import onnx

    from training.export import set_metadata, to_fp16
    from vru_detector.backends.engine_cache import load_sidecar
    from vru_detector.backends.onnxruntime import OnnxRuntimeBackend
    from vru_detector.backends.tensorrt import build_engine, TensorRTBackend
    from vru_detector.preprocess import preprocess

    half = to_fp16(onnx.load(str(random_onnx)))
    set_metadata(half, {'precision': 'fp16'})
    fp16_onnx = tmp_path / 'random_fp16.onnx'
    onnx.save(half, str(fp16_onnx))
    engine = build_engine(fp16_onnx)
    side = load_sidecar(engine).metadata
    assert side['precision'] == side['float_precision'] == 'fp16'
    trt_backend = TensorRTBackend(engine)
    x = preprocess([cv2.imread(str(street_images[0]))], trt_backend.info.input_shape)[0]
    a, b = trt_backend.infer(x), OnnxRuntimeBackend(random_onnx).infer(x)
    assert np.abs(a[:, 4:] - b[:, 4:]).max() < 0.02
    trt_backend.close()


def test_stale_engine_is_rebuilt_at_load(qdq_onnx):
    pytest.importorskip('tensorrt', reason='needs TensorRT')
    import json

    from vru_detector.backends.engine_cache import sidecar_path
    from vru_detector.backends.tensorrt import build_engine, TensorRTBackend

    engine = build_engine(qdq_onnx)
    side = json.loads(sidecar_path(engine).read_text())
    side['engine']['tensorrt_version'] = '0.0.0'
    sidecar_path(engine).write_text(json.dumps(side))
    backend = TensorRTBackend(engine)
    assert json.loads(sidecar_path(engine).read_text())['engine']['tensorrt_version'] != '0.0.0'
    backend.close()


def test_build_only_entry_point_explains_missing_tensorrt(tmp_path, capsys):
    if real_tensorrt():
        pytest.skip('TensorRT is installed here')
    from vru_detector.backends.tensorrt import main

    onnx = tmp_path / 'm_int8.onnx'
    onnx.write_bytes(b'x')
    assert main(['--build-only', str(onnx)]) == 2
    assert 'Install TensorRT' in capsys.readouterr().err
