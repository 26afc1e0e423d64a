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

"""`vru-train evaluate`: FP32 vs INT8 through ultralytics' validator, on a labelled subset."""
from __future__ import annotations

import json
from pathlib import Path
import shutil

import numpy as np
import pytest
import yaml


def pseudo_labelled_subset(images: list[Path], model: Path, dest: Path,
                           per_image: int = 5) -> Path:
    """
    Build a YOLO dataset whose labels are the FP32 model's own top boxes.

    The briefly trained test model scores ~0 mAP on human labels, which cannot show an INT8
    drop; against its own FP32 boxes FP32 finds every label and INT8 errors would show.
    """
    import cv2

    from vru_detector import Detector

    det = Detector(model, conf=0.0)
    (dest / 'images' / 'val').mkdir(parents=True)
    (dest / 'labels' / 'val').mkdir(parents=True)
    for path in images:
        image = cv2.imread(str(path))
        h, w = image.shape[:2]
        d = det(image)
        top = np.argsort(-d.scores)[:per_image]
        lines = []
        for (x1, y1, x2, y2), c in zip(d.xyxy[top], d.class_ids[top]):
            lines.append(f'{int(c)} {(x1 + x2) / 2 / w:.6f} {(y1 + y2) / 2 / h:.6f} '
                         f'{(x2 - x1) / w:.6f} {(y2 - y1) / h:.6f}')
        # a copy, not a link: ultralytics resolves links and would read the human labels
        shutil.copyfile(path, dest / 'images' / 'val' / path.name)
        (dest / 'labels' / 'val' / (path.stem + '.txt')).write_text('\n'.join(lines) + '\n')
    data = dest / 'data.yaml'
    names = dict(enumerate(det.names))
    data.write_text(yaml.safe_dump({'train': 'images/val', 'val': 'images/val', 'names': names}))
    return data


@pytest.mark.slow
def test_evaluate_reports_fp32_int8_and_drop(trained_tiny, bdd_yaml, tmp_path):
    from training.cli import main
    from training.export import export_onnx
    from training.quantize.calibration_set import dataset_split_dir, select_calibration_images
    from training.quantize.calibrate import calibrate

    fp32 = export_onnx(trained_tiny[0], tmp_path / 'student.onnx', 320)
    calib = select_calibration_images(dataset_split_dir(bdd_yaml, 'train'), 16)
    calibrate(fp32, calib, tmp_path / 'student_int8.onnx')  # the sibling evaluate finds
    val = sorted(dataset_split_dir(bdd_yaml, 'val').glob('*.jpg'))[:8]
    data = pseudo_labelled_subset(val, fp32, tmp_path / 'subset')
    out = tmp_path / 'report'
    # the weakly trained model scores below ultralytics' default conf 0.001: keep all boxes
    assert main(['evaluate', '--models', str(fp32), '--data', str(data), '--conf', '1e-6',
                 '--out', str(out)]) == 0

    rows = json.loads((out / 'evaluation.json').read_text())
    assert len(rows) == 1 and rows[0]['int8_model'].endswith('student_int8.onnx')
    fp, q = rows[0]['fp32'], rows[0]['int8']
    for metrics in (fp, q):
        assert all(0.0 <= v <= 1.0 for v in metrics.values())
        assert metrics['map50'] >= metrics['map50_95']
    # its own boxes are all found (the validator keeps every class per box, so precision and
    # mAP stay low for this near-uniform-score model; measured recall 1.0 for both)
    assert fp['recall'] > 0.9 and q['recall'] > 0.9
    assert abs(rows[0]['drop']['map50'] - (fp['map50'] - q['map50'])) < 1e-9
    assert abs(rows[0]['drop']['map50']) < 0.02  # INT8 keeps the FP32 boxes; measured 0.001
    assert '| student |' in (out / 'evaluation.md').read_text()
    assert (out / 'int8_drop.png').stat().st_size > 1000


def test_evaluate_refuses_swapped_precisions(random_onnx, tmp_path):
    from training.evaluate import compare

    with pytest.raises(ValueError, match='expected int8'):
        compare([random_onnx], [random_onnx], tmp_path / 'data.yaml')
