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
The images of one split and their kept boxes, read through ``vru_detector.labels``.

BDD100K, COCO and VisDrone labels are read by the runtime's readers (the ones replay uses),
so a conversion and an evaluation see the same boxes. An existing YOLO dataset (its data.yaml)
is a source too: how several datasets become one; its classes are matched by name, and each
image is named ``<dataset folder>/<its name>`` so that two datasets' ``000001.jpg`` never
collide. Ignore regions (COCO crowds, VisDrone score 0) are not trained on: they are dropped
and counted.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from vru_detector.labels import (data_yaml_names, FrameTruth, GroundTruth, image_size,
                                 IMAGE_SUFFIXES, LabelFormatError, LabelNotFoundError,
                                 read_bdd_json, read_coco_json, read_visdrone, read_yolo_image)
from vru_detector.labels.data_yaml import split_dirs

# How each format marks the boxes it keeps as ignore regions (the counts.json "dropped" key).
IGNORED = {'coco': 'crowd', 'visdrone': 'ignored (score 0)'}


@dataclass
class SourceImage:
    """One source image, the name it gets below ``images/<split>/``, and its ground truth."""

    image: Path
    name: str
    truth: FrameTruth  # image_shape set; class ids index the output class list


def _with_shape(frame: FrameTruth, image: Path) -> FrameTruth:
    """Frame with its image size (from the label file, else the image header)."""
    if frame.image_shape is not None:
        return frame
    return FrameTruth(frame.key, frame.xyxy, frame.class_ids, frame.ignore, image_size(image),
                      frame.object_ids, frame.image)


def _images_of(gt: GroundTruth, images: Path, ignored: str,
               dropped: Counter) -> Iterator[SourceImage]:
    """Turn a reader's frames into source images below ``images``; ignore regions counted."""
    dropped.update(gt.dropped)
    for frame in gt.frames:
        image = images / frame.image  # the reader checked it stays below ``images``
        if not image.is_file():
            raise LabelNotFoundError(f'{image}: image named in {gt.source} not found; give '
                                     'the folder holding the images of these labels')
        if frame.ignore.any():
            dropped[ignored] += int(frame.ignore.sum())
        yield SourceImage(image, frame.image, _with_shape(frame, image))


def read_annotations(source: str, annotations: Path, images: Path, names: Sequence[str],
                     dropped: Counter) -> Iterator[SourceImage]:
    """Images of a BDD100K JSON, COCO JSON or VisDrone folder, boxes in ``names`` ids."""
    if source == 'visdrone':
        gt = read_visdrone(annotations, images, names)
    else:
        gt = READ_JSON[source](annotations, names)
    return _images_of(gt, Path(images), IGNORED.get(source, 'ignored'), dropped)


def read_yolo(data_yaml: Path, split: str, names: Sequence[str],
              dropped: Counter) -> Iterator[SourceImage]:
    """Every image of ``split`` in a YOLO data.yaml, classes mapped by name."""
    folders = split_dirs(data_yaml, split)
    if len(folders) != 1:
        raise LabelFormatError(f'{data_yaml}: has no single {split}: folder (found '
                               f'{len(folders)}); merge datasets one folder each')
    images = folders[0]
    source_names = data_yaml_names(data_yaml)
    prefix = Path(data_yaml).resolve().parent.name
    for image in sorted(p for p in images.rglob('*') if p.suffix.lower() in IMAGE_SUFFIXES):
        frame = read_yolo_image(image, names, source_names, dropped)
        yield SourceImage(image, f'{prefix}/{image.relative_to(images).as_posix()}', frame)


READ_JSON: dict[str, Callable[[Path, Sequence[str]], GroundTruth]] = {
    'bdd100k': read_bdd_json, 'coco': read_coco_json}
SOURCES = ('bdd100k', 'coco', 'visdrone', 'yolo')


def read_split(source: str, split: str, inputs: Sequence[Path], names: Sequence[str],
               dropped: Counter) -> Iterable[SourceImage]:
    """Images of one split: (annotations, images) for a converter, data.yaml files for yolo."""
    if source == 'yolo':
        return (item for path in inputs for item in read_yolo(Path(path), split, names, dropped))
    if len(inputs) != 2:
        raise ValueError(f'{split}: {source} takes ANNOTATIONS IMAGES, got {len(inputs)} paths')
    return read_annotations(source, Path(inputs[0]), Path(inputs[1]), names, dropped)
