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

"""
A tiny, real ONNX model whose YOLOv8 head output is fixed: known boxes for end-to-end tests.

The graph reads its image input (``0 * mean(images)`` is added to a constant), so it runs
through the same Detector, letterbox, decode and NMS as a trained model, yet always yields the
same candidates. Launch tests of the node use it to assert exact class names and pixel boxes
without training anything. Needs only ``onnx`` and numpy.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence, Tuple, Union

import numpy as np

CLASS_NAMES = ('person', 'rider', 'bicycle', 'motorcycle', 'car')


@dataclass(frozen=True)
class FixedBox:
    """One candidate in network-input pixels: corner box, class index, score."""

    xyxy: Tuple[float, float, float, float]
    class_id: int
    score: float


DEFAULT_BOXES = (
    FixedBox((40.0, 100.0, 120.0, 260.0), 0, 0.90),   # person
    FixedBox((180.0, 140.0, 300.0, 220.0), 4, 0.60),  # car
)


def head_output(boxes: Sequence[FixedBox], num_classes: int) -> np.ndarray:
    """Build the raw head tensor [1, 4 + nc, N]: cx, cy, w, h, then one score row per class."""
    out = np.zeros((1, 4 + num_classes, len(boxes)), dtype=np.float32)
    for i, b in enumerate(boxes):
        x1, y1, x2, y2 = b.xyxy
        out[0, :4, i] = ((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1)
        out[0, 4 + b.class_id, i] = b.score
    return out


def build_fixed_output_onnx(path: Union[str, Path], boxes: Sequence[FixedBox] = DEFAULT_BOXES,
                            names: Sequence[str] = CLASS_NAMES, imgsz: int = 320,
                            precision: str = 'fp32') -> Path:
    """Write the model to ``path`` with ultralytics-style metadata; return the path."""
    import onnx
    from onnx import helper, numpy_helper, TensorProto

    for b in boxes:
        if not 0 <= b.class_id < len(names):
            raise ValueError(f'class_id {b.class_id} is outside 0..{len(names) - 1}')
    const = numpy_helper.from_array(head_output(boxes, len(names)), 'fixed_head')
    zero = numpy_helper.from_array(np.zeros((), np.float32), 'zero')
    nodes = [
        helper.make_node('ReduceMean', ['images'], ['image_mean'], keepdims=0),
        helper.make_node('Mul', ['image_mean', 'zero'], ['no_effect']),
        helper.make_node('Add', ['fixed_head', 'no_effect'], ['output0']),
    ]
    graph = helper.make_graph(
        nodes, 'fixed_output_yolov8',
        [helper.make_tensor_value_info('images', TensorProto.FLOAT, [1, 3, imgsz, imgsz])],
        [helper.make_tensor_value_info('output0', TensorProto.FLOAT,
                                       [1, 4 + len(names), len(boxes)])],
        initializer=[const, zero])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)])
    model.ir_version = 8
    meta = {'names': repr(dict(enumerate(names))), 'imgsz': repr([imgsz, imgsz]),
            'stride': '32', 'task': 'detect', 'batch': '1', 'precision': precision,
            'description': 'fixed-output test model (test/fixed_output_model.py)'}
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def expected_pixels(box: FixedBox, image_hw: Tuple[int, int], imgsz: int = 320) -> np.ndarray:
    """Where ``box`` lands in an ``image_hw`` image after un-letterboxing (ultralytics rules)."""
    h, w = image_hw
    r = min(imgsz / h, imgsz / w)
    new_w, new_h = max(round(w * r), 1), max(round(h * r), 1)
    left, top = round((imgsz - new_w) / 2 - 0.1), round((imgsz - new_h) / 2 - 0.1)
    x1, y1, x2, y2 = box.xyxy
    out = np.array([(x1 - left) * w / new_w, (y1 - top) * h / new_h,
                    (x2 - left) * w / new_w, (y2 - top) * h / new_h], dtype=np.float64)
    return out.clip(0, [w, h, w, h])
