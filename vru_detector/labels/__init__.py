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
Ground-truth labels, read once for replay and for training alike (no torch, no training).

- ``classes``: our class list and the VRU classes, both from config/classes.yaml; the maps
  of public datasets' categories onto our names.
- one reader per format, each returning a :class:`GroundTruth` (pixel boxes, our class ids):
  ``yolo`` (labels folders, data.yaml), ``coco``, ``bdd100k``, ``mot``, ``visdrone``;
  :func:`load_ground_truth` picks one from the path.
- ``errors``: :class:`LabelFormatError` and its kin, the one error family for bad labels.
"""
from .bdd100k import read_bdd_json
from .classes import (CATEGORY_ALIASES, class_names, map_class, MOT_CLASSES, source_class_map,
                      VISDRONE_CLASSES, vru_ids, vru_names)
from .coco import read_coco_json
from .data_yaml import (data_yaml_names, dataset_names, dataset_split_dir, default_image_dir,
                        label_dir, label_path, load_data_yaml)
from .errors import ClassConfigError, LabelFormatError, LabelNotFoundError
from .formats import detect_format, load_ground_truth
from .mot import find_seqinfo, read_mot_gt, read_seqinfo
from .truth import (FrameTruth, GroundTruth, IMAGE_SUFFIXES, natural_key, resolve_inside,
                    safe_relative)
from .visdrone import read_visdrone
from .yolo import find_image, image_size, parse_yolo_lines, read_yolo_image, read_yolo_labels

__all__ = [
    'CATEGORY_ALIASES', 'class_names', 'ClassConfigError', 'data_yaml_names', 'dataset_names',
    'dataset_split_dir', 'default_image_dir', 'detect_format', 'find_image', 'find_seqinfo',
    'FrameTruth', 'GroundTruth', 'IMAGE_SUFFIXES', 'image_size', 'label_dir', 'label_path',
    'LabelFormatError', 'LabelNotFoundError', 'load_data_yaml', 'load_ground_truth',
    'map_class', 'MOT_CLASSES', 'natural_key', 'parse_yolo_lines', 'read_bdd_json',
    'read_coco_json', 'read_mot_gt', 'read_seqinfo', 'read_visdrone', 'read_yolo_image',
    'read_yolo_labels', 'resolve_inside', 'safe_relative', 'source_class_map',
    'VISDRONE_CLASSES', 'vru_ids', 'vru_names',
]
