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
FP32 vs INT8 of one model on the same labelled images: AP50 and paired bootstrap intervals.

Both models run through the runtime's :class:`vru_detector.Detector` (ONNX Runtime on the CPU,
the INT8 file as the CPU backend prepares it), detections are matched per image and class as
pycocotools does (``vru_detector.replay.coco_eval``), and the INT8 drop is bootstrapped over
images with the same resample for both models (``scipy.stats.bootstrap``), so the interval is
that of the difference, not of two independent scores.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

Evals = list  # [class][image] -> ImageClassEval (one model on one image list)


@dataclass(frozen=True)
class PairedDrop:
    """FP32 and INT8 AP50 (percentage points) and the drop FP32 - INT8 with its 95% interval."""

    fp32: float
    int8: float
    drop: float
    low: float
    high: float

    @property
    def relative(self) -> float:
        """Return the drop as a share of FP32 (0.05 = INT8 lost 5% of the FP32 score)."""
        return self.drop / self.fp32 if self.fp32 else float('nan')


def image_truth(image: Path, names: Sequence[str], source_names: Sequence[str] | None = None):
    """Ground-truth boxes (pixels) and class ids of one YOLO-labelled image, model class ids."""
    from vru_detector.labels import read_yolo_image

    truth = read_yolo_image(image, names, source_names)
    return truth.xyxy, truth.class_ids


def evaluate_images(model: str | Path, images: Sequence[Path], conf: float = 0.001,
                    backend: str | None = None) -> Evals:
    """
    Per-class, per-image matching of ``model``'s detections on ``images``.

    Label classes are mapped to the model's by name (the data.yaml beside the labels), so a
    COCO model is scored on the classes it shares with the dataset. ``backend`` picks the
    runtime (default: the one the file implies); INT8 arithmetic differs between runtimes.
    """
    import cv2
    from tqdm import tqdm
    from vru_detector import Detector
    from vru_detector.replay.coco_eval import evaluate_image_class
    from vru_detector.labels import dataset_names

    from .calibration_set import label_path

    det = Detector(str(model), backend=backend, conf=conf)
    names = list(det.names)
    evals: Evals = [[] for _ in names]
    sources: dict[Path, list[str] | None] = {}
    for image in tqdm(images, desc=f'evaluate {Path(model).name}', unit='img', leave=False):
        found = det(cv2.imread(str(image), cv2.IMREAD_COLOR))
        folder = label_path(image).parent
        if folder not in sources:
            sources[folder] = dataset_names(folder)
        gt_xyxy, gt_cls = image_truth(image, names, sources[folder])
        for k in range(len(names)):
            d, g = found.class_ids == k, gt_cls == k
            evals[k].append(evaluate_image_class(found.xyxy[d], found.scores[d], gt_xyxy[g],
                                                 np.zeros(int(g.sum()), bool)))
    return evals


def ap50(evals: Evals, names: Sequence[str], cls: int | None = None,
         index: np.ndarray | None = None) -> float:
    """
    AP50 in percentage points of one class (``cls``) or the class mean, on ``index`` images.

    Only classes with ground truth in ``evals`` are accumulated (the others have no AP), which
    keeps bootstrapping an 80-class COCO model as cheap as a 5-class one.
    """
    from vru_detector.replay.coco_eval import accumulate

    classes = [cls] if cls is not None else [
        k for k, e in enumerate(evals) if any(x.num_gt['all'] for x in e)]
    picked = [evals[k] if index is None else [evals[k][i] for i in index] for k in classes]
    return 100.0 * accumulate(picked, tuple(names[k] for k in classes)).mean_ap(iou=0.5)


def paired_drop(fp32: Evals, int8: Evals, names: Sequence[str], cls: int | None = None,
                resamples: int = 1000, seed: int = 0) -> PairedDrop:
    """FP32 - INT8 AP50 with a 95% percentile bootstrap interval over images (paired)."""
    from scipy.stats import bootstrap

    def drop(index: np.ndarray) -> float:
        return ap50(fp32, names, cls, index) - ap50(int8, names, cls, index)

    n = len(fp32[0])
    ci = bootstrap((np.arange(n),), drop, vectorized=False, n_resamples=resamples,
                   method='percentile', random_state=np.random.default_rng(seed)
                   ).confidence_interval
    a, b = ap50(fp32, names, cls), ap50(int8, names, cls)
    return PairedDrop(a, b, a - b, float(ci.low), float(ci.high))
