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

"""A CI-sized soak (the full 20,000-frame one is bench/bench_soak.py): memory stays flat."""
from pathlib import Path
import sys

import cv2
from fixed_output_model import build_fixed_output_onnx
import pytest


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'bench'))
from bench_soak import soak  # noqa: E402, I100 - bench/ goes on sys.path just above


@pytest.mark.slow
def test_memory_flat_and_malformed_frames_counted(tmp_path, street_images):
    pytest.importorskip('rosbags')
    model = build_fixed_output_onnx(tmp_path / 'fixed.onnx', imgsz=160)
    images = [cv2.resize(cv2.imread(str(p)), (320, 180)) for p in street_images[:2]]
    result = soak(model, images, frames=3000, warmup=300, progress=False)
    assert result.skipped == 3000 // 500  # every malformed frame skipped, no good one lost
    assert result.rss_growth_mb < 20, f'resident memory grew {result.rss_growth_mb:.1f} MB'
