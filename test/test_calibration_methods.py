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


"""Calibration methods (ONNX Runtime's calibrators): same inputs, same INT8 file, every method."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx  # a runtime requirement
import pytest

from test_qdq_placement import SIZE, tiny_model


def _fp32_with_images(tmp_path: Path) -> tuple[Path, list[Path]]:
    """Return the miniature YOLOv8 graph as an FP32 artifact and 8 calibration images."""
    import cv2

    from training.export import set_metadata

    path = tiny_model(tmp_path / 'tiny.onnx')
    model = onnx.load(str(path))
    set_metadata(model, {'names': str({i: f'c{i}' for i in range(2)}),
                         'imgsz': f'[{SIZE}, {SIZE}]', 'stride': '8', 'precision': 'fp32'})
    onnx.save(model, str(path))
    rng = np.random.default_rng(3)
    folder = tmp_path / 'images'
    folder.mkdir()
    images = []
    for i in range(8):
        images.append(folder / f'im{i}.png')
        cv2.imwrite(str(images[-1]), rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8))
    return path, images


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize('method', ['max', 'percentile', 'entropy'])
def test_same_model_images_and_seed_give_a_byte_identical_int8_file(tmp_path, method):
    from training.quantize.calibrate import calibrate
    from training.quantize.qdq import QuantSettings

    fp32, images = _fp32_with_images(tmp_path)
    settings = QuantSettings(method=method, percentile=99.9)
    runs = [calibrate(fp32, images, tmp_path / f'run{i}' / 'int8.onnx', settings, seed=5)
            for i in range(2)]  # separate report folders: the ranges are calibrated twice
    assert _digest(runs[0].model) == _digest(runs[1].model)
    assert runs[0].calibration_id == runs[1].calibration_id
    meta = {p.key: p.value for p in onnx.load(str(runs[0].model)).metadata_props}
    assert json.loads(meta['quantization'])['method'] == method
    other = calibrate(fp32, images[:4], tmp_path / 'other' / 'int8.onnx', settings, seed=5)
    assert _digest(other.model) != _digest(runs[0].model)  # the images do matter


def _ranges(tmp_path: Path, method: str, **kw) -> dict[str, tuple[float, float]]:
    from test_qdq_placement import Reader
    from training.quantize.qdq import quantize_qdq, QuantSettings

    cache = tmp_path / f'{method}-{kw}.json'
    quantize_qdq(tiny_model(tmp_path / 'tiny.onnx'), tmp_path / 'q.onnx', Reader(),
                 QuantSettings(method=method, **kw), cache)
    from onnxruntime.quantization.calibrate import load_tensors_data

    ranges = load_tensors_data(cache)
    return {name: tuple(float(np.ravel(v)[0]) for v in ranges[name].range_value)
            for name in ranges.data}


def test_histogram_methods_clip_the_max_range_and_entropy_is_not_min_max(tmp_path):
    full = _ranges(tmp_path, 'max')
    pct = _ranges(tmp_path, 'percentile', percentile=99.0)
    ent = _ranges(tmp_path, 'entropy')
    assert set(full) <= set(pct) and set(full) <= set(ent)
    width = {t: max(abs(lo), abs(hi)) for t, (lo, hi) in full.items()}
    for ranges in (pct, ent):
        clipped = [t for t in full if max(abs(v) for v in ranges[t]) < 0.99 * width[t]]
        assert all(max(abs(v) for v in ranges[t]) <= width[t] * (1 + 1e-6) for t in full)
        # quantize_static's own Entropy (128 bins, 128 quantized) would return the max here
        assert len(clipped) >= 3, (len(clipped), len(full))
    pct_999 = _ranges(tmp_path, 'percentile', percentile=99.999)
    assert sum(max(map(abs, pct_999[t])) >= max(map(abs, pct[t])) for t in full) == len(full)


def test_calibrate_settings_have_one_default_for_recipe_and_command_line():
    from training.cli import stage_parser
    from training.quantize.qdq import QuantSettings
    from training.recipe import RecipeError, stage_settings
    from training.stages.calibrate import CalibrateSettings

    default = CalibrateSettings()
    parser = stage_parser('calibrate')[0]
    args = parser.parse_args(['--model', 'm.onnx', '--data', 'd.yaml'])
    assert stage_settings({}, 'calibrate', **CalibrateSettings.given_flags(args)) == default
    assert default.quant() == QuantSettings()  # the Q/DQ defaults are the library's
    recipe = {'calibrate': {'method': 'percentile', 'percentile': 99.99, 'max_drop': 1}}
    opts = stage_settings(recipe, 'calibrate')
    assert opts.quant() == QuantSettings(method='percentile', percentile=99.99)
    assert opts.max_drop == 1.0 and opts.num_images == default.num_images
    with pytest.raises(RecipeError, match='max_dorp'):
        stage_settings({'calibrate': {'max_dorp': 1}}, 'calibrate')
    with pytest.raises(ValueError, match='method'):
        CalibrateSettings.from_recipe({'method': 'kl'})
