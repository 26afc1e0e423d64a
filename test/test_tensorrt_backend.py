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
    from training.quantize.cli import calibrate

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
    assert sidecar.onnx_name == qdq_onnx.name
    trt_backend = TensorRTBackend(engine)
    ort_backend = OnnxRuntimeBackend(qdq_onnx)
    x = preprocess([cv2.imread(str(street_images[-1]))], trt_backend.info.input_shape)[0]
    a, b = trt_backend.infer(x), ort_backend.infer(x)
    assert a.shape == b.shape
    assert np.abs(a[:, 4:] - b[:, 4:]).max() < 0.05
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
