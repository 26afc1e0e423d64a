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

"""The three pedestrian clips of ../shared/data/videos: frames, stamps and MOT ground truth."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

CLIPS = ('TUD-Campus.mp4', 'TUD-Stadtmitte.mp4', 'vtest.avi')


@dataclass
class Clip:
    """Decoded frames (BGR), their stamps in seconds, and per-frame GT ids and xyxy boxes."""

    name: str
    frames: list[np.ndarray]
    stamps: np.ndarray
    gt_ids: list[np.ndarray]
    gt_xyxy: list[np.ndarray]


def read_mot_boxes(path: Path, num_frames: int, shape: tuple[int, int]
                   ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """MOT15 gt.txt -> per-frame ids and clipped xyxy boxes; flag-0 boxes are left out."""
    rows = np.loadtxt(path, delimiter=',', ndmin=2)
    h, w = shape
    ids, boxes = [], []
    for k in range(1, num_frames + 1):
        r = rows[(rows[:, 0] == k) & (rows[:, 6] != 0)]
        xyxy = np.stack([r[:, 2], r[:, 3], r[:, 2] + r[:, 4], r[:, 3] + r[:, 5]], 1)
        ids.append(r[:, 1].astype(np.int64))
        boxes.append(xyxy.clip(0, [w, h, w, h]))
    return ids, boxes


def load_clip(video: Path, max_frames: int | None = None) -> Clip:
    """Decode ``video`` and read ``<stem>.gt.txt`` beside it; stamps at the file's fps."""
    cap = cv2.VideoCapture(str(video))
    fps = cap.get(cv2.CAP_PROP_FPS) or 10.0
    frames = []
    while max_frames is None or len(frames) < max_frames:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    if not frames:
        raise SystemExit(f'{video}: no frames decoded')
    ids, boxes = read_mot_boxes(video.with_name(video.stem + '.gt.txt'), len(frames),
                                frames[0].shape[:2])
    return Clip(video.stem, frames, np.arange(len(frames)) / fps, ids, boxes)
