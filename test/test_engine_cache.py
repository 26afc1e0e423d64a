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

"""TensorRT engine bookkeeping without a GPU: sidecar round trip, rebuild/refuse decisions."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vru_detector.artifact import ArtifactInfo
from vru_detector.backends.engine_cache import (BuildTarget, check_input, concrete_shape,
                                                EngineSidecar, file_sha256, load_sidecar,
                                                numpy_dtype, plan_engine, profile_shapes,
                                                sidecar_path, timing_cache_path, write_sidecar)
from vru_detector.errors import ArtifactMetadataError, ModelLoadError

ORIN = BuildTarget('10.3.0', 'Orin', '8.7')
INFO = ArtifactInfo(names=('person', 'rider', 'bicycle', 'motorcycle', 'car'),
                    input_shape=(384, 640), stride=32, precision='int8', calibration_id='abc123')


def make_engine(folder: Path, onnx_bytes: bytes = b'onnx-v1', target: BuildTarget = ORIN,
                with_onnx: bool = True) -> Path:
    onnx = folder / 'student_int8.onnx'
    onnx.write_bytes(onnx_bytes)
    engine = folder / 'student_int8.engine'
    engine.write_bytes(b'engine')
    write_sidecar(engine, EngineSidecar(target, onnx.name, file_sha256(onnx), 1,
                                        INFO.to_metadata()))
    if not with_onnx:
        onnx.unlink()
    return engine


def test_sidecar_round_trip_keeps_metadata_and_build_info(tmp_path):
    engine = make_engine(tmp_path)
    raw = json.loads(sidecar_path(engine).read_text())
    assert raw['precision'] == 'int8' and raw['engine']['gpu_name'] == 'Orin'
    sidecar = load_sidecar(engine)
    assert sidecar.target == ORIN
    info = sidecar.artifact_info(str(engine))
    assert info.names == INFO.names
    assert info.input_shape == (384, 640)
    assert info.precision == 'int8' and info.calibration_id == 'abc123'


def test_matching_engine_is_loaded(tmp_path):
    plan = plan_engine(make_engine(tmp_path), ORIN)
    assert plan.action == 'load' and plan.reasons == []


@pytest.mark.parametrize('target, words', [
    (BuildTarget('10.3.0', 'NVIDIA GeForce RTX 4090', '8.9'), 'GPU'),
    (BuildTarget('8.6.2', 'Orin', '8.7'), 'TensorRT 8.6.2'),
])
def test_engine_from_other_gpu_or_tensorrt_is_rebuilt_from_onnx_beside_it(tmp_path, target,
                                                                          words):
    plan = plan_engine(make_engine(tmp_path), target)
    assert plan.action == 'build'
    assert plan.onnx == tmp_path / 'student_int8.onnx'
    assert any(words in r for r in plan.reasons)


def test_changed_onnx_triggers_rebuild(tmp_path):
    engine = make_engine(tmp_path)
    (tmp_path / 'student_int8.onnx').write_bytes(b'onnx-v2')
    plan = plan_engine(engine, ORIN)
    assert plan.action == 'build' and 'ONNX beside it changed' in plan.reasons[0]


def test_incompatible_engine_without_onnx_is_refused_with_instructions(tmp_path):
    engine = make_engine(tmp_path, with_onnx=False)
    with pytest.raises(ModelLoadError, match='Orin.*no ONNX beside it|no ONNX beside it'):
        plan_engine(engine, BuildTarget('10.3.0', 'Tesla T4', '7.5'))
    # the same engine on its own GPU loads (there is nothing to compare the ONNX hash with)
    assert plan_engine(engine, ORIN).action == 'load'


def test_stale_engine_with_rebuild_disabled_names_the_build_command(tmp_path):
    engine = make_engine(tmp_path)
    with pytest.raises(ModelLoadError, match='--build-only'):
        plan_engine(engine, BuildTarget('10.3.0', 'Tesla T4', '7.5'), rebuild=False)


def test_missing_or_foreign_sidecar(tmp_path):
    engine = make_engine(tmp_path)
    sidecar_path(engine).write_text(json.dumps({'names': ['a']}))
    with pytest.raises(ArtifactMetadataError, match='engine'):
        load_sidecar(engine)
    plan = plan_engine(engine, ORIN)  # unusable sidecar + ONNX present -> rebuild
    assert plan.action == 'build' and 'sidecar' in plan.reasons[0]


def test_onnx_model_path_plans_a_build_next_to_it(tmp_path):
    onnx = tmp_path / 'm.onnx'
    onnx.write_bytes(b'x')
    plan = plan_engine(onnx, ORIN)
    assert plan.action == 'build' and plan.engine == tmp_path / 'm.engine'
    with pytest.raises(ModelLoadError, match='no such ONNX'):
        plan_engine(tmp_path / 'missing.onnx', ORIN)


def test_timing_cache_is_per_gpu_and_version(tmp_path):
    a = timing_cache_path(tmp_path / 'x.engine', ORIN)
    b = timing_cache_path(tmp_path / 'x.engine', BuildTarget('10.3.0', 'NVIDIA H100 80GB HBM3'))
    assert a != b and a.parent == tmp_path
    assert b.name == 'timing-nvidia-h100-80gb-hbm3-trt10.3.0.cache'


def test_profile_and_binding_shapes():
    assert profile_shapes((1, 3, 320, 320), 8) == ((1, 3, 320, 320),) * 3
    assert profile_shapes((-1, 3, 320, 320), 8) == ((1, 3, 320, 320), (4, 3, 320, 320),
                                                    (8, 3, 320, 320))
    with pytest.raises(ModelLoadError, match='only the batch'):
        profile_shapes((-1, 3, -1, -1), 8)
    assert concrete_shape((-1, 9, 2100), 3) == (3, 9, 2100)
    assert concrete_shape((1, 9, 2100), 1) == (1, 9, 2100)


def test_input_check_names_expected_shape():
    check_input(np.zeros((2, 3, 32, 32), np.float32), (-1, 3, 32, 32), 4)
    with pytest.raises(ValueError, match=r'\[B, 3, 32, 32\]'):
        check_input(np.zeros((1, 3, 64, 32), np.float32), (-1, 3, 32, 32), 4)
    with pytest.raises(ValueError, match='1..4'):
        check_input(np.zeros((5, 3, 32, 32), np.float32), (-1, 3, 32, 32), 4)


def test_numpy_dtype_names():
    assert numpy_dtype('DataType.FLOAT') is np.float32
    assert numpy_dtype('HALF') is np.float16
    with pytest.raises(ModelLoadError, match='not supported'):
        numpy_dtype('DataType.FP8')
