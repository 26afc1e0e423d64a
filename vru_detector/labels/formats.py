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
Pick the reader of a label path: YOLO folder, MOT gt.txt, COCO or BDD100K JSON (by content).

Every reader returns the same value, a :class:`GroundTruth`, so evaluation, the bag writer
and the training data converter share one shape.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .bdd100k import read_bdd_json
from .coco import read_coco_json
from .data_yaml import dataset_names
from .errors import LabelFormatError, LabelNotFoundError
from .mot import read_mot_gt
from .truth import GroundTruth, load_json
from .yolo import read_yolo_labels


def detect_format(path: Path) -> str:
    """'yolo' (folder), 'mot' (.txt), 'coco' or 'bdd' (.json, by content)."""
    if path.is_dir():
        return 'yolo'
    if not path.is_file():
        raise LabelNotFoundError(f'{path}: label file or folder does not exist')
    if path.suffix.lower() == '.txt':
        return 'mot'
    if path.suffix.lower() == '.json':
        data = load_json(path)
        if isinstance(data, dict) and 'annotations' in data:
            return 'coco'
        if isinstance(data, list) or (isinstance(data, dict) and 'frames' in data):
            return 'bdd'
        raise LabelFormatError(f'{path}: JSON is neither COCO (images/annotations/categories) '
                               'nor BDD100K ([{name, labels}])')
    raise LabelFormatError(f'{path}: unknown label format; expected a YOLO labels folder, a '
                           'COCO/BDD100K .json or a MOT gt.txt')


def load_ground_truth(path: str | Path, names: Sequence[str],
                      image_dir: str | Path | None = None,
                      source_names: Sequence[str] | None = None) -> GroundTruth:
    """Read any supported label format into model class ids (format chosen from the path)."""
    path = Path(path)
    fmt = detect_format(path)
    if fmt == 'yolo':
        if source_names is None:
            source_names = dataset_names(path)
        return read_yolo_labels(path, names, image_dir, source_names)
    if fmt == 'mot':
        return read_mot_gt(path, names)
    if fmt == 'coco':
        return read_coco_json(path, names)
    return read_bdd_json(path, names)
