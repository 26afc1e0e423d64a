"""YOLOv8 head decode, class-aware NMS and filtering, in numpy (no torch).

Mirrors ultralytics' ``non_max_suppression`` for the single-label case: candidates whose best
class score exceeds the threshold, greedy NMS with boxes offset per class, then ``max_det``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import ModelOutputError

MAX_WH = 7680.0  # class offset for class-aware NMS (same constant as ultralytics)
MAX_NMS = 30000  # boxes kept for NMS, highest scores first


@dataclass(frozen=True)
class Candidates:
    """Decoded boxes of one image in network-input pixels, before NMS."""

    xyxy: np.ndarray      # float32 [M, 4]
    scores: np.ndarray    # float32 [M]
    class_ids: np.ndarray  # int64 [M]


def decode_yolov8(output: np.ndarray, conf_thres: np.ndarray | float, num_classes: int,
                  ) -> Candidates:
    """Decode one image's raw head output ``[4+nc, N]`` (cx, cy, w, h, class scores).

    ``conf_thres`` is a scalar or one threshold per class; a box is kept when its best class
    score is strictly above that class's threshold.
    """
    if output.ndim != 2 or output.shape[0] != 4 + num_classes:
        raise ModelOutputError(
            f'model output has shape {tuple(output.shape)} per image; expected '
            f'[{4 + num_classes}, N] (4 box values + {num_classes} class scores, YOLOv8 raw head). '
            'Re-export the model with `vru-train export` or ultralytics `format=onnx, nms=False`.')
    cls = output[4:]
    best = cls.argmax(0)
    score = np.take_along_axis(cls, best[None], 0)[0]
    thres = np.asarray(conf_thres, dtype=np.float32)
    keep = score > (thres[best] if thres.ndim else thres)
    if not keep.any():
        return Candidates(np.zeros((0, 4), np.float32), np.zeros(0, np.float32),
                          np.zeros(0, np.int64))
    box = output[:4, keep].T.astype(np.float32)
    xyxy = np.empty_like(box)
    half_w, half_h = box[:, 2] / 2, box[:, 3] / 2
    xyxy[:, 0] = box[:, 0] - half_w
    xyxy[:, 1] = box[:, 1] - half_h
    xyxy[:, 2] = box[:, 0] + half_w
    xyxy[:, 3] = box[:, 1] + half_h
    if not np.isfinite(xyxy).all() or not np.isfinite(score[keep]).all():
        raise ModelOutputError('model output contains NaN or infinite values; frame skipped')
    return Candidates(xyxy, score[keep].astype(np.float32), best[keep].astype(np.int64))


def nms(xyxy: np.ndarray, scores: np.ndarray, iou_thres: float) -> np.ndarray:
    """Greedy NMS (torchvision semantics: drop a box whose IoU with a kept one is > iou_thres).

    Returns kept indices sorted by descending score.
    """
    order = np.argsort(-scores, kind='stable')
    x1, y1, x2, y2 = (xyxy[:, i].astype(np.float32) for i in range(4))
    areas = (x2 - x1) * (y2 - y1)
    keep: list[int] = []
    while order.size:
        i = order[0]
        keep.append(int(i))
        rest = order[1:]
        if not rest.size:
            break
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        iou = inter / (areas[i] + areas[rest] - inter)
        order = rest[~(iou > iou_thres)]
    return np.asarray(keep, dtype=np.int64)


def select_detections(cand: Candidates, iou_thres: float, max_det: int,
                      agnostic: bool = False) -> Candidates:
    """Class-aware NMS (boxes offset by class id) then cap at ``max_det``."""
    if not len(cand.scores):
        return cand
    idx = np.arange(len(cand.scores))
    if len(idx) > MAX_NMS:
        idx = np.argsort(-cand.scores, kind='stable')[:MAX_NMS]
    offset = 0.0 if agnostic else MAX_WH
    boxes = cand.xyxy[idx] + (cand.class_ids[idx, None].astype(np.float32) * offset)
    kept = idx[nms(boxes, cand.scores[idx], iou_thres)][:max_det]
    return Candidates(cand.xyxy[kept], cand.scores[kept], cand.class_ids[kept])
