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
Write an evaluation's frames, predictions and ground truth to an mcap bag for Foxglove / RViz.

``vru-eval-bag --write-bag`` passes the writer as the per-frame callback of the evaluation.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from .bag_images import BagFrame
from .metrics import Conf, threshold_at
from ..labels import FrameTruth


class PredictionBagWriter:
    """An mcap bag with the frames (JPEG), predictions and ground truth, for Foxglove / RViz."""

    def __init__(self, path: Path, names: Sequence[str], conf: Conf) -> None:
        from rosbags.rosbag2 import StoragePlugin, Writer

        from .make_bag import sensor_qos
        from ..msgs.msg_types import typestore_with_vision_msgs

        self.ts = typestore_with_vision_msgs()
        self.names, self.conf = tuple(names), conf
        self.writer = Writer(path, version=8, storage_plugin=StoragePlugin.MCAP)
        self.writer.open()
        qos = sensor_qos()
        det_type = 'vision_msgs/msg/Detection2DArray'
        self.img = self.writer.add_connection('/replay/image/compressed',
                                              'sensor_msgs/msg/CompressedImage',
                                              typestore=self.ts, offered_qos_profiles=qos)
        self.pred = self.writer.add_connection('/replay/detections', det_type, typestore=self.ts,
                                               offered_qos_profiles=qos)
        self.gt = self.writer.add_connection('/replay/ground_truth', det_type, typestore=self.ts,
                                             offered_qos_profiles=qos)

    def __call__(self, frame: BagFrame, dets: Any, truth: FrameTruth | None) -> None:
        from .messages import IGNORE_ID, detection_array, header, image_message

        ts, det_type = self.ts, 'vision_msgs/msg/Detection2DArray'
        hdr = header(ts, frame.stamp_ns, frame.frame_id)
        msg, msgtype = image_message(ts, frame.image, hdr, compressed=True, jpeg_quality=85)
        self.writer.write(self.img, frame.log_ns, ts.serialize_cdr(msg, msgtype))
        keep = dets.scores >= threshold_at(self.conf, dets.class_ids)
        pred = detection_array(ts, hdr, dets.xyxy[keep],
                               [self.names[c] for c in dets.class_ids[keep]], dets.scores[keep])
        self.writer.write(self.pred, frame.log_ns, ts.serialize_cdr(pred, det_type))
        if truth is not None:
            gt = detection_array(ts, hdr, truth.xyxy, [self.names[c] for c in truth.class_ids],
                                 None, [IGNORE_ID if i else '' for i in truth.ignore])
            self.writer.write(self.gt, frame.log_ns, ts.serialize_cdr(gt, det_type))

    def close(self) -> None:
        self.writer.close()
