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

"""A bad model fails when the Detector is built, with the fix in the message."""
import onnx
import pytest

from vru_detector import ArtifactMetadataError, Detector, ModelLoadError
from vru_detector.artifact import artifact_from_metadata


def test_missing_file_names_path_and_fix(tmp_path):
    with pytest.raises(ModelLoadError, match=r'does not exist.*vru-train export'):
        Detector(tmp_path / 'nope.onnx')


def test_unknown_suffix(tmp_path):
    path = tmp_path / 'model.tflite'
    path.write_bytes(b'x')
    with pytest.raises(ModelLoadError, match="unknown model type '.tflite'"):
        Detector(path)


def test_corrupt_onnx_fails_at_construction(tmp_path, random_onnx):
    path = tmp_path / 'broken.onnx'
    path.write_bytes(random_onnx.read_bytes()[:5000])
    with pytest.raises(ModelLoadError, match='could not load'):
        Detector(path)


def test_model_without_metadata_explains_how_to_fix(tmp_path, random_onnx):
    model = onnx.load(random_onnx)
    del model.metadata_props[:]
    path = tmp_path / 'bare.onnx'
    onnx.save(model, path)
    with pytest.raises(ArtifactMetadataError, match=r'lacks names, imgsz, stride.*export'):
        Detector(path)


def test_class_count_disagreeing_with_metadata_is_refused(tmp_path, random_onnx):
    model = onnx.load(random_onnx)
    for prop in model.metadata_props:
        if prop.key == 'names':
            prop.value = "{0: 'person', 1: 'rider'}"
    path = tmp_path / 'two_names.onnx'
    onnx.save(model, path)
    with pytest.raises(ModelLoadError, match=r'outputs 9 values per box.*names 2 classes'):
        Detector(path)


def test_metadata_reads_ultralytics_export(random_onnx):
    det = Detector(random_onnx)
    assert det.names == ('person', 'rider', 'bicycle', 'motorcycle', 'car')
    assert det.info.input_shape == (320, 320) and det.info.stride == 32
    assert det.info.precision == 'fp32' and det.backend.name in ('openvino', 'onnxruntime')


@pytest.mark.parametrize('meta, match', [
    ({'names': "{0: 'a', 2: 'b'}", 'imgsz': '[320, 320]', 'stride': '32'}, 'class ids'),
    ({'names': "{0: 'a'}", 'imgsz': '[320]', 'stride': '32'}, 'imgsz'),
    ({'names': "{0: 'a'}", 'imgsz': '640', 'stride': '32', 'precision': 'int4'}, 'precision'),
    ({'names': 'not a literal (', 'imgsz': '640', 'stride': '32'}, 'not a Python literal'),
])
def test_metadata_validation(meta, match):
    with pytest.raises(ArtifactMetadataError, match=match):
        artifact_from_metadata(meta, 'm.onnx')


def test_metadata_roundtrip():
    info = artifact_from_metadata({'names': ['a', 'b'], 'imgsz': 640, 'stride': 32,
                                   'precision': 'int8', 'calibration_id': 'abc'}, 'm')
    again = artifact_from_metadata(info.to_metadata(), 'm')
    assert again.names == ('a', 'b') and again.input_shape == (640, 640)
    assert again.precision == 'int8' and again.calibration_id == 'abc'
