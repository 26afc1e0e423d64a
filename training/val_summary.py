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
The figures we quote from one ultralytics validation: per-class AP50, P and R at a threshold.

Ultralytics reports P and R at the confidence that maximises F1, which is not the threshold a
deployed detector runs at; its per-confidence curves give P and R at any threshold (conf 0.25
is the node's default) without running the model again.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

OPERATING_CONF = 0.25  # the node's and vru-detect's default threshold


def class_ap50(result) -> dict[str, float]:
    """AP50 of every class that has ground truth in the split, by class name."""
    box, names = result.box, result.names
    return {str(names[int(c)]): float(box.ap50[i]) for i, c in enumerate(box.ap_class_index)}


def _curves_at(result, conf: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-class precision and recall at ``conf`` (the curves are on linspace(0, 1))."""
    p, r = np.asarray(result.box.p_curve), np.asarray(result.box.r_curve)
    if p.size == 0:
        return p, r
    i = min(int(round(conf * (p.shape[1] - 1))), p.shape[1] - 1)
    return p[:, i], r[:, i]


def pr_at_conf(result, conf: float = OPERATING_CONF) -> tuple[float, float]:
    """Class-mean precision and recall of detections scoring at least ``conf``."""
    p, r = _curves_at(result, conf)
    return (float(p.mean()), float(r.mean())) if p.size else (0.0, 0.0)


def class_pr_at_conf(result, conf: float = OPERATING_CONF) -> dict[str, tuple[float, float]]:
    """Precision and recall of each class's detections scoring at least ``conf``, by name."""
    p, r = _curves_at(result, conf)
    return {str(result.names[int(c)]): (float(p[k]), float(r[k]))
            for k, c in enumerate(result.box.ap_class_index)} if p.size else {}


def summarize(result) -> dict[str, Any]:
    """mAP50, mAP50-95, P/R (F1-optimal, at conf 0.25 and 0.001), per-class AP50: fractions."""
    box = result.box
    p25, r25 = pr_at_conf(result)
    p001, r001 = pr_at_conf(result, 0.001)
    return {'map50': float(box.map50), 'map50_95': float(box.map), 'precision': float(box.mp),
            'recall': float(box.mr), 'precision_at_0.25': p25, 'recall_at_0.25': r25,
            'precision_at_0.001': p001, 'recall_at_0.001': r001, 'ap50': class_ap50(result),
            'pr_at_0.25': class_pr_at_conf(result)}


def validate_module(model, data: str | Path, imgsz: int, workdir: Path, batch: int = 8,
                    device: str | None = None) -> dict[str, Any]:
    """Validate a DetectionModel as it is (a copy: validation fuses it) on the val split."""
    from copy import deepcopy

    from ultralytics.models.yolo.detect import DetectionValidator

    args = {'data': str(data), 'imgsz': int(imgsz), 'batch': int(batch), 'conf': 0.001,
            'device': device or 'cpu', 'plots': False, 'verbose': False, 'split': 'val',
            'project': str(workdir), 'name': 'start_val', 'exist_ok': True}
    validator = DetectionValidator(args=args)
    validator(model=deepcopy(model).float().eval())
    return summarize(validator.metrics)


def format_line(metrics: dict[str, Any]) -> str:
    """``mAP50 19.1 | person AP50 31.3, P/R@0.25 78.4/18.7 | mean P/R@0.25 70.9/13.4``."""
    person = metrics.get('ap50', {}).get('person')
    person_text = '-' if person is None else f'{100 * person:.1f}'
    pr = metrics.get('pr_at_0.25', {}).get('person')
    if pr is not None:
        person_text += f', P/R@0.25 {100 * pr[0]:.1f}/{100 * pr[1]:.1f}'
    return (f'mAP50 {100 * metrics["map50"]:.1f} | person AP50 {person_text} | mean P/R@0.25 '
            f'{100 * metrics["precision_at_0.25"]:.1f}/{100 * metrics["recall_at_0.25"]:.1f}')
