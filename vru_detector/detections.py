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

"""The value a Detector returns for one image: boxes in original-image pixels."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Detections:
    """
    Detections of one image.

    xyxy: float32 [N, 4] corner boxes in pixels of the image given to the detector (clipped).
    scores: float32 [N] confidence in [0, 1], sorted descending.
    class_ids: int64 [N] indices into ``names``.
    names: the model's class names, indexed by class id (all classes, not only detected ones).
    image_shape: (height, width) of the image the boxes refer to.
    track_ids: int64 [N] track of each detection (-1: not yet confirmed), set by a Tracker;
        None when the detections were not tracked.
    """

    xyxy: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray
    names: tuple[str, ...]
    image_shape: tuple[int, int] = field(default=(0, 0))
    track_ids: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.scores)
        if self.xyxy.shape != (n, 4) or self.class_ids.shape != (n,):
            raise ValueError(
                f'Detections: xyxy {self.xyxy.shape}, scores {self.scores.shape}, class_ids '
                f'{self.class_ids.shape} disagree; expected [N,4], [N], [N]')
        if self.track_ids is not None and self.track_ids.shape != (n,):
            raise ValueError(f'Detections: track_ids {self.track_ids.shape} disagree with '
                             f'{n} detections; expected [N]')

    @classmethod
    def empty(cls, names: tuple[str, ...], image_shape: tuple[int, int] = (0, 0)) -> Detections:
        """No detections (a frame with nothing above threshold)."""
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32),
                   np.zeros(0, np.int64), tuple(names), tuple(image_shape))

    def __len__(self) -> int:
        return len(self.scores)

    @property
    def labels(self) -> list[str]:
        """Class name of each detection (what vision_msgs' hypothesis.class_id carries)."""
        return [self.names[int(i)] for i in self.class_ids]

    def select(self, keep: np.ndarray) -> Detections:
        """Return a subset by boolean mask or index array, same names and image shape."""
        return Detections(self.xyxy[keep], self.scores[keep], self.class_ids[keep],
                          self.names, self.image_shape,
                          None if self.track_ids is None else self.track_ids[keep])

    def to_records(self) -> list[dict]:
        """
        JSON-friendly list: one dict per detection (class_id, name, score, box xyxy).

        Tracked detections also carry ``track_id`` (-1: a track not yet confirmed).
        """
        records = [
            {'class_id': int(c), 'name': self.names[int(c)], 'score': round(float(s), 6),
             'box': [round(float(v), 3) for v in b]}
            for b, s, c in zip(self.xyxy, self.scores, self.class_ids)
        ]
        if self.track_ids is not None:
            for record, track_id in zip(records, self.track_ids):
                record['track_id'] = int(track_id)
        return records
