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

"""Draw detections on a BGR image for the node's debug topic (boxes, class name, score)."""
from __future__ import annotations

from typing import Dict

import cv2
import numpy as np

from ..class_config import ClassStyle, color_for
from ..detections import Detections


def draw_detections(image_bgr: np.ndarray, dets: Detections,
                    styles: Dict[str, ClassStyle]) -> np.ndarray:
    """Return a copy of ``image_bgr`` with one labelled box per detection."""
    out = np.array(image_bgr, dtype=np.uint8, copy=True, order='C')
    thickness = max(1, round(min(out.shape[:2]) / 300))
    for box, score, cid in zip(dets.xyxy, dets.scores, dets.class_ids):
        name = dets.names[int(cid)]
        color = color_for(name, int(cid), styles)
        x1, y1, x2, y2 = (int(round(float(v))) for v in box)
        cv2.rectangle(out, (x1, y1), (x2, y2), color, thickness)
        label = f'{name} {float(score):.2f}'
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
        top = max(y1 - th - base, 0)
        cv2.rectangle(out, (x1, top), (x1 + tw, top + th + base), color, -1)
        cv2.putText(out, label, (x1, top + th), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (255, 255, 255), 1, cv2.LINE_AA)
    return out
