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

"""Draw detections on an image (annotated outputs, debug topics, reports)."""
from __future__ import annotations

from typing import Callable, Sequence

import cv2
import numpy as np

from .detections import Detections

# BGR colours for the VRU classes (person, rider, bicycle, motorcycle, car), then a fallback cycle.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (56, 56, 255), (255, 112, 31), (0, 204, 255), (255, 0, 204), (160, 160, 160),
    (49, 210, 207), (10, 249, 72), (23, 204, 146), (134, 219, 61), (52, 147, 26),
)


def class_color(class_id: int,
                palette: Sequence[tuple[int, int, int]] = PALETTE) -> tuple[int, int, int]:
    return tuple(int(c) for c in palette[int(class_id) % len(palette)])


def draw_detections(image: np.ndarray, dets: Detections, copy: bool = True,
                    color: tuple[int, int, int] | None = None, show_score: bool = True,
                    color_of: Callable[[str, int], tuple[int, int, int]] | None = None,
                    ) -> np.ndarray:
    """
    Draw boxes with ``name score`` labels (``name #track score`` for tracked detections).

    Colours: ``color`` for every box, else ``color_of(name, class_id)`` (the node passes its
    classes.yaml styles), else the built-in per-class palette.
    """
    out = np.array(image, dtype=np.uint8, copy=True, order='C') if copy else image
    thickness = max(1, round(sum(out.shape[:2]) / 600))
    font_scale = max(thickness / 3, 0.4)
    text_thickness = max(1, thickness - 1)
    track_ids = dets.track_ids if dets.track_ids is not None else np.full(len(dets), -1)
    for box, score, cls, track in zip(dets.xyxy, dets.scores, dets.class_ids, track_ids):
        name = dets.names[int(cls)]
        x1, y1, x2, y2 = (int(round(float(v))) for v in box)
        c = color or (color_of(name, int(cls)) if color_of else class_color(cls))
        cv2.rectangle(out, (x1, y1), (x2, y2), c, thickness)
        if track >= 0:
            name = f'{name} #{int(track)}'
        text = f'{name} {float(score):.2f}' if show_score else name
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale,
                                         text_thickness)
        top = max(y1 - th - base, 0)
        cv2.rectangle(out, (x1, top), (x1 + tw, top + th + base), c, -1)
        cv2.putText(out, text, (x1, top + th), cv2.FONT_HERSHEY_SIMPLEX, font_scale,
                    (255, 255, 255), text_thickness, cv2.LINE_AA)
    return out
