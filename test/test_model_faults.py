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

"""Models that load but misbehave: wrong output layout is refused at load, NaN output per frame."""
import numpy as np
import onnx
from onnx import helper, TensorProto
import pytest

from vru_detector import Detector, ModelLoadError, ModelOutputError

NAMES = "{0: 'person', 1: 'rider', 2: 'bicycle', 3: 'motorcycle', 4: 'car'}"


def constant_model(path, values: np.ndarray, imgsz=64):
    """Write an ONNX model that ignores its image and outputs ``values`` (+ 0 * mean(image))."""
    out_shape = list(values.shape)
    graph = helper.make_graph(
        [helper.make_node('ReduceMean', ['images'], ['m'], keepdims=0),
         helper.make_node('Mul', ['m', 'zero'], ['z']),
         helper.make_node('Add', ['const', 'z'], ['output0'])],
        'constant',
        [helper.make_tensor_value_info('images', TensorProto.FLOAT, [1, 3, imgsz, imgsz])],
        [helper.make_tensor_value_info('output0', TensorProto.FLOAT, out_shape)],
        [helper.make_tensor('const', TensorProto.FLOAT, out_shape, values.ravel().tolist()),
         helper.make_tensor('zero', TensorProto.FLOAT, [], [0.0])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)])
    model.ir_version = 8
    for key, value in {'names': NAMES, 'imgsz': f'[{imgsz}, {imgsz}]', 'stride': '32'}.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, path)
    return path


def head(n=6):
    values = np.zeros((1, 9, n), np.float32)
    values[0, :4] = [[32], [32], [10], [20]]
    values[0, 4, 0] = 0.9
    return values


def test_constant_model_detects_its_box(tmp_path):
    det = Detector(constant_model(tmp_path / 'ok.onnx', head()))
    dets = det(np.zeros((64, 64, 3), np.uint8))
    assert dets.labels == ['person']
    np.testing.assert_allclose(dets.xyxy, [[27, 22, 37, 42]])


def test_nan_output_raises_model_output_error_per_frame(tmp_path):
    values = head()
    values[0, 4:, 2] = np.nan
    det = Detector(constant_model(tmp_path / 'nan.onnx', values))
    with pytest.raises(ModelOutputError, match='NaN'):
        det(np.zeros((64, 64, 3), np.uint8))


def test_output_without_anchor_axis_is_refused_at_load(tmp_path):
    with pytest.raises(ModelLoadError, match=r'expected \[B, 4\+nc, N\]'):
        Detector(constant_model(tmp_path / 'flat.onnx', np.zeros((1, 9), np.float32)))


def test_output_of_other_class_count_is_refused_at_load(tmp_path):
    with pytest.raises(ModelLoadError, match='outputs 84 values per box'):
        Detector(constant_model(tmp_path / 'coco.onnx', np.zeros((1, 84, 6), np.float32)))
