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

"""INT8 accuracy is measured on what the runtime computes, not on a CPU kernel's overflow."""
import numpy as np
import pytest
from test_quantize import calibrated, fp32_onnx, train_dir  # noqa: F401 (fixtures)


@pytest.mark.slow
def test_validated_int8_file_computes_what_the_runtime_backend_computes(calibrated,  # noqa: F811
                                                                        fp32_onnx,  # noqa: F811
                                                                        bdd_yaml, tmp_path):
    pytest.importorskip('ultralytics')
    import onnxruntime as ort

    from training.datasets import dataset_split_dir
    from training.evaluate import cpu_ready
    from training.quantize.calibration_set import load_batch
    from vru_detector.backends.onnxruntime import OnnxRuntimeBackend

    assert cpu_ready(fp32_onnx, tmp_path) == fp32_onnx  # FP32 files are validated as they are
    validated = cpu_ready(calibrated.model, tmp_path / 'cpu')
    session = ort.InferenceSession(str(validated), providers=['CPUExecutionProvider'])
    meta = session.get_modelmeta().custom_metadata_map
    assert meta['precision'] == 'int8' and 'names' in meta  # ultralytics and we read these
    backend = OnnxRuntimeBackend(calibrated.model)
    for path in sorted(dataset_split_dir(bdd_yaml, 'val').glob('*.jpg'))[:3]:
        x = load_batch([path], (320, 320))
        ours = backend.infer(x)
        theirs = session.run(None, {session.get_inputs()[0].name: x})[0]
        np.testing.assert_allclose(theirs, ours, atol=1e-5)
