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

"""`vru-train export`: ONNX with runtime metadata that our Detector and ultralytics agree on."""
from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.slow
def test_export_static_and_dynamic_batch(trained_tiny, tmp_path, street_images):
    import cv2
    import onnx

    from training.cli import main
    from vru_detector import Detector

    pt, _ = trained_tiny
    before = sorted(p.name for p in pt.parent.iterdir())
    static = tmp_path / 'static.onnx'
    assert main(['export', '--weights', str(pt), '--imgsz', '320', '--out', str(static)]) == 0
    assert sorted(p.name for p in pt.parent.iterdir()) == before  # nothing written by the weights

    model = onnx.load(str(static))
    assert max(o.version for o in model.opset_import if o.domain in ('', 'ai.onnx')) >= 17
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta['precision'] == 'fp32' and meta['imgsz'] == '[320, 320]'
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [1, 3, 320, 320]

    dynamic = tmp_path / 'dynamic.onnx'
    assert main(['export', '--weights', str(pt), '--imgsz', '320', '--dynamic-batch',
                 '--out', str(dynamic)]) == 0
    dyn = onnx.load(str(dynamic)).graph.input[0].type.tensor_type.shape.dim
    assert dyn[0].dim_param and [d.dim_value for d in dyn[1:]] == [3, 320, 320]

    images = [cv2.imread(str(p)) for p in street_images[:3]]
    one = Detector(static, conf=0.001)
    many = Detector(dynamic, conf=0.001)
    assert many.backend.max_batch > 1
    for a, b in zip([one(im) for im in images], many.detect_batch(images)):
        assert len(a.scores) == len(b.scores)
        np.testing.assert_allclose(a.xyxy, b.xyxy, atol=0.05)
        np.testing.assert_allclose(a.scores, b.scores, atol=1e-5)


@pytest.mark.slow
def test_export_half_writes_an_fp16_graph_with_float32_io(trained_tiny, tmp_path,
                                                          street_images):
    import cv2
    import onnx
    from onnx import TensorProto

    from training.cli import main
    from vru_detector import Detector

    pt, fp32 = trained_tiny
    half = tmp_path / 'half.onnx'
    assert main(['export', '--weights', str(pt), '--imgsz', '320', '--half',
                 '--out', str(half)]) == 0
    model = onnx.load(str(half))
    assert {p.key: p.value for p in model.metadata_props}['precision'] == 'fp16'
    floats = [i for i in model.graph.initializer
              if i.data_type in (TensorProto.FLOAT, TensorProto.FLOAT16) and len(i.dims) == 4]
    assert floats and all(i.data_type == TensorProto.FLOAT16 for i in floats)  # conv weights
    for value in (model.graph.input[0], model.graph.output[0]):  # the runtime's pre/post
        assert value.type.tensor_type.elem_type == TensorProto.FLOAT
    # ONNX Runtime runs the fp16 graph as written; OpenVINO would pick its own CPU precision
    a, b = (Detector(m, conf=0.01, backend='onnxruntime') for m in (fp32, half))
    assert b.info.precision == 'fp16'
    for path in street_images[:3]:
        image = cv2.imread(str(path))
        ra = a.backend.infer(_blob(a, image))
        rb = b.backend.infer(_blob(b, image))
        assert np.abs(ra[:, 4:] - rb[:, 4:]).max() < 5e-3  # scores
        assert np.abs(ra[:, :4] - rb[:, :4]).max() < 1.0  # box pixels at 320


def _blob(det, image):
    from vru_detector.preprocess import preprocess

    return preprocess([image], det.info.input_shape)[0]


def test_export_rejects_bad_settings(tmp_path):
    from training.export import export_onnx

    with pytest.raises(ValueError, match='opset 13'):
        export_onnx(tmp_path / 'x.pt', opset=13)
    with pytest.raises(ValueError, match='multiples of the model stride'):
        export_onnx(tmp_path / 'x.pt', imgsz=300)
    with pytest.raises(FileNotFoundError, match='x.pt'):
        export_onnx(tmp_path / 'x.pt', imgsz=320)
