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

"""The OpenVINO backend: loading, metadata (ONNX, IR, ultralytics' export), devices, errors."""
from pathlib import Path
import sys

from fixed_output_model import build_fixed_output_onnx, DEFAULT_BOXES, expected_pixels
import numpy as np
from optional import requires
import pytest
from vru_detector import Detector
from vru_detector.backends import backend_for, load_backend
from vru_detector.errors import ArtifactMetadataError, BackendUnavailableError, ModelLoadError

pytestmark = requires('openvino', 'onnx')
SHARED_MODELS = Path(__file__).resolve().parents[2] / 'shared' / 'models'


@pytest.fixture
def fixed_onnx(tmp_path) -> Path:
    return build_fixed_output_onnx(tmp_path / 'fixed.onnx')


def _expected_boxes(shape):
    return np.array([expected_pixels(b, shape) for b in DEFAULT_BOXES], np.float32)


def test_openvino_runs_our_onnx_with_its_metadata(fixed_onnx):
    det = Detector(fixed_onnx, backend='openvino', threads=1)
    assert det.backend.name == 'openvino' and det.backend.device == 'CPU'
    assert det.names == ('person', 'rider', 'bicycle', 'motorcycle', 'car')
    assert det.info.input_shape == (320, 320) and det.info.precision == 'fp32'
    dets = det(np.full((480, 640, 3), 90, np.uint8))
    assert list(dets.labels) == ['person', 'car']
    np.testing.assert_allclose(dets.xyxy, _expected_boxes((480, 640)), atol=1e-3)
    np.testing.assert_allclose(dets.scores, [0.9, 0.6], atol=1e-6)


def test_ir_converted_from_onnx_keeps_metadata_and_outputs(fixed_onnx, tmp_path):
    from vru_detector.backends.openvino import main

    xml = tmp_path / 'ir' / 'fixed.xml'
    assert main([str(fixed_onnx), '--out', str(xml)]) == 0
    assert xml.is_file() and xml.with_suffix('.bin').is_file()
    assert backend_for(xml) == 'openvino'
    by_ir, by_onnx = Detector(xml), Detector(fixed_onnx, backend='onnxruntime')
    assert by_ir.info.names == by_onnx.info.names
    assert by_ir.info.input_shape == by_onnx.info.input_shape
    image = np.full((300, 500, 3), 90, np.uint8)
    np.testing.assert_allclose(by_ir(image).xyxy, by_onnx(image).xyxy, atol=1e-3)


def test_ir_without_metadata_reads_ultralytics_sidecar(fixed_onnx, tmp_path):
    import openvino as ov

    model = ov.Core().read_model(str(fixed_onnx))
    model.set_rt_info('', ['framework'])  # an IR that carries nothing of ours
    ov.save_model(model, str(tmp_path / 'bare.xml'))
    with pytest.raises(ArtifactMetadataError, match='lacks names'):
        Detector(tmp_path / 'bare.xml')
    (tmp_path / 'metadata.yaml').write_text(
        'task: detect\nstride: 32\nbatch: 1\nimgsz: [320, 320]\n'
        'names: {0: person, 1: rider, 2: bicycle, 3: motorcycle, 4: car}\n')
    det = Detector(tmp_path / 'bare.xml')
    assert det.names[0] == 'person' and det.info.input_shape == (320, 320)


def test_ultralytics_openvino_export_runs_in_our_detector(street_images):
    """The shared yolov8n OpenVINO INT8 export (ultralytics 8.1) as ultralytics wrote it."""
    xml = SHARED_MODELS / 'yolov8n_coco' / 'openvino_int8' / 'yolov8n.xml'
    if not xml.is_file():
        pytest.skip(f'{xml} not found (../shared/models beside the repo)')
    import cv2

    det = Detector(xml, conf=0.25, classes=['person', 'car'])
    assert len(det.names) == 80 and det.info.input_shape == (640, 640)
    found = sum(len(det(cv2.imread(str(p)))) for p in street_images[:3])
    assert found > 0


def test_onnx_on_cpu_defaults_to_openvino_and_elsewhere_to_onnxruntime(fixed_onnx):
    assert backend_for(fixed_onnx, 'cpu') == 'openvino'
    assert backend_for(fixed_onnx, 'cuda:0') == 'onnxruntime'
    assert Detector(fixed_onnx).backend.name == 'openvino'


def test_missing_device_lists_the_available_ones(fixed_onnx):
    with pytest.raises(BackendUnavailableError, match=r"device='npu' .* available: cpu"):
        Detector(fixed_onnx, backend='openvino', device='npu')
    with pytest.raises(BackendUnavailableError, match='available: cpu'):
        Detector(fixed_onnx, backend='openvino', device='cuda:0')


def test_threads_only_for_cpu_runtimes(fixed_onnx):
    with pytest.raises(ModelLoadError, match='threads=2 applies to the onnxruntime and openvino'):
        load_backend(fixed_onnx, backend='torch', threads=2)


def test_missing_openvino_names_the_extra(fixed_onnx, monkeypatch):
    from vru_detector.backends import openvino as ov_backend

    monkeypatch.setitem(sys.modules, 'openvino', None)  # import openvino -> ImportError
    assert not ov_backend.openvino_available()
    assert backend_for(fixed_onnx, 'cpu') == 'onnxruntime'
    with pytest.raises(BackendUnavailableError, match=r'pip install "vru_detector\[openvino\]"'):
        Detector(fixed_onnx, backend='openvino')


def test_corrupt_model_says_what_to_do(tmp_path):
    bad = tmp_path / 'broken.xml'
    bad.write_text('<net><layers>')
    with pytest.raises(ModelLoadError, match='OpenVINO could not load the model.*Re-export'):
        Detector(bad)
