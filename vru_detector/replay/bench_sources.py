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
The street benchmark's sources: frames, ground truth and the independent group of each frame.

- ``bdd100k_vru`` val: BDD100K keyframes; frames whose names share the first part (the
  recording, ``b1d0a191-...``) form one group, since one drive gives similar streets.
- ``street_vru``: KITTI object images and MOT17 frames; its manifest's ``source_group``
  (KITTI scenes grouped by look, one MOT17 sequence each) is the group.
- ``mot_clips``: the three MOT15 clips of ``videos/``, one group per clip, sampled every
  :func:`novel_view_spacing` frames (see there).
- ``coco_vru`` val: COCO photos, each its own group. Some are COCO training images, so a
  COCO-pretrained model has seen them: reported apart, never pooled.

Each source says which classes it labels; a class is only scored on frames that label it
(KITTI has no bicycle boxes, the clips label pedestrians only).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from .coco_eval import coco_iou
from ..labels import (class_names, data_yaml_names, dataset_names, dataset_split_dir, find_image,
                      FrameTruth, label_dir, LabelFormatError, map_class, read_mot_gt,
                      read_yolo_labels)

# The benchmark's classes: the student's classes (config/classes.yaml), in its class-id order.
BENCH_CLASSES = class_names()
POOLED = ('bdd100k_vru', 'street_vru', 'mot_clips')
SOURCES = POOLED + ('coco_vru',)
CLIPS = ('vtest', 'TUD-Stadtmitte', 'TUD-Campus')
# Consecutive clip samples are new views when the median IoU of a person's box with the
# same person's box in the previous sample is below this: most people have moved about
# their own width, so they stand on new background in a new pose (see novel_view_spacing).
NOVEL_VIEW_IOU = 0.1
KITTI_CLASSES = ('person', 'rider', 'car')     # KITTI labels no bicycle / motorcycle boxes


@dataclass(frozen=True)
class BenchFrame:
    """One frame of the benchmark: where its image is, its truth, group and labelled classes."""

    source: str
    group: str
    key: str
    truth: FrameTruth               # class ids index BENCH_CLASSES
    labelled: tuple[str, ...]
    image_path: Path | None = None  # an image file, or
    video: Path | None = None       # a video and the 0-based frame index in it
    video_index: int = -1


@dataclass
class BenchSource:
    """All frames of one source, with what the report says about it."""

    name: str
    frames: list[BenchFrame]
    pooled: bool
    note: str
    spacing: dict[str, int] = field(default_factory=dict)   # clip -> sampling step (frames)

    @property
    def groups(self) -> int:
        return len({f.group for f in self.frames})

    def boxes(self, cls: str = 'person') -> int:
        """Ground-truth boxes of one class (not ignore regions) on the frames that label it."""
        k = BENCH_CLASSES.index(cls)
        return int(sum(((f.truth.class_ids == k) & ~f.truth.ignore).sum()
                       for f in self.frames if cls in f.labelled))


class MissingSourceError(LabelFormatError):
    """A benchmark source's folder or files are not where they should be."""


def _need(path: Path, what: str) -> Path:
    if not path.exists():
        raise MissingSourceError(
            f'{path} not found: the benchmark needs {what}. Pass --data-root pointing at the '
            "folder holding it (the repository's ../shared/data), or leave the source out "
            'with --sources')
    return path


def _yolo_source(root: Path, name: str, group_of: Callable[[str], str],
                 labelled_of: Callable[[str], tuple[str, ...]], pooled: bool,
                 note: str) -> BenchSource:
    labels = _need(root / name / 'labels' / 'val', f'the {name} val split')
    truth = read_yolo_labels(labels, BENCH_CLASSES, source_names=dataset_names(labels))
    images = root / name / 'images' / 'val'
    frames = [BenchFrame(name, group_of(f.key), f.key, f, labelled_of(f.key),
                         image_path=find_image(images, f.key)) for f in truth.frames]
    return BenchSource(name, frames, pooled, note)


def _manifest_column(path: Path, column: str) -> dict[str, str]:
    with open(_need(path, 'the manifest.csv of street_vru'), newline='') as f:
        return {Path(row['file']).stem: row[column] for row in csv.DictReader(f)}


def load_bdd(root: Path) -> BenchSource:
    """BDD100K val; a group is one recording (the name's part before the dash)."""
    return _yolo_source(root, 'bdd100k_vru', lambda key: key.split('-')[0],
                        lambda key: BENCH_CLASSES, True,
                        'BDD100K keyframes; grouped by recording (name before the dash)')


def load_street(root: Path) -> BenchSource:
    """KITTI + MOT17 street frames; a group is the manifest's scene / sequence."""
    groups = _manifest_column(root / 'street_vru' / 'manifest.csv', 'source_group')
    return _yolo_source(
        root, 'street_vru', lambda key: groups.get(key, key),
        lambda key: KITTI_CLASSES if key.startswith('kitti') else BENCH_CLASSES, True,
        'KITTI object + MOT17 frames; grouped by KITTI scene / MOT17 sequence (manifest); '
        'KITTI frames score person, rider and car only')


def load_coco(root: Path) -> BenchSource:
    """COCO val photos, each its own group; COCO has no rider class (a cyclist is a person)."""
    return _yolo_source(
        root, 'coco_vru', lambda key: key, lambda key: ('person', 'bicycle', 'motorcycle', 'car'),
        False, 'NOT POOLED: some photos are COCO training images, so COCO-pretrained models '
        'have seen them; each photo its own group; no rider class (riders are persons)')


def same_person_iou(frames: Sequence[FrameTruth], step: int) -> np.ndarray:
    """Return the IoU of each person's box with their own box ``step`` frames later."""
    out = []
    for a, b in zip(frames[:-step], frames[step:]):
        where = {int(o): i for i, o in enumerate(b.object_ids)}
        for i, oid in enumerate(a.object_ids):
            j = where.get(int(oid))
            if j is not None and not a.ignore[i]:
                out.append(coco_iou(a.xyxy[i:i + 1], b.xyxy[j:j + 1], np.zeros(1, bool))[0, 0])
    return np.asarray(out)


def novel_view_spacing(frames: Sequence[FrameTruth], max_iou: float = NOVEL_VIEW_IOU) -> int:
    """
    Return the smallest step (in frames) at which consecutive samples of a clip show new views.

    Measured on the clip's own tracks: the median IoU of a person's box with the same
    person's box one step later must fall below ``max_iou`` (default 0.1: most people have
    moved about their width). Closer samples repeat the same people at the same place and
    add copies, not evidence. Static people stay copies at any step; they are few here.
    """
    for step in range(1, max(2, len(frames))):
        ious = same_person_iou(frames, step)
        if not len(ious) or float(np.median(ious)) < max_iou:
            return step
    return max(1, len(frames) - 1)


def load_clips(root: Path, clips: Sequence[str] = CLIPS) -> BenchSource:
    """Load the MOT clips of ``videos/``, each sampled at its own novel-view spacing."""
    folder = root / 'videos'
    frames, spacing = [], {}
    for clip in clips:
        gt_path = _need(folder / f'{clip}.gt.txt', f'the ground truth of the {clip} clip')
        video = next((p for p in sorted(folder.glob(f'{clip}.*'))
                      if p.suffix.lower() in ('.mp4', '.avi')), None)
        if video is None:
            raise MissingSourceError(f'{folder}: no video {clip}.mp4 / .avi beside {gt_path.name}')
        gt = read_mot_gt(gt_path, BENCH_CLASSES)
        step = spacing[clip] = novel_view_spacing(gt.frames)
        for index in range(0, len(gt.frames), step):
            truth = gt.frames[index]   # gt frame n is video frame n - 1
            frames.append(BenchFrame('mot_clips', clip, f'{clip}_{index + 1:06d}', truth,
                                     ('person',), video=video, video_index=index))
    note = ('MOT15 clips (PETS09-S2L1, TUD-Stadtmitte, TUD-Campus); one group per clip; '
            'sampled every ' + ', '.join(f'{k} {v}' for k, v in spacing.items()) +
            f' frames (median IoU of a person with itself between samples < {NOVEL_VIEW_IOU})')
    return BenchSource('mot_clips', frames, True, note, spacing)


def load_yolo_dataset(data_yaml: str | Path, split: str = 'val') -> BenchSource:
    """
    Load any ultralytics data.yaml split as a source (each image its own group, not pooled).

    Classes are matched to BENCH_CLASSES by name; the dataset labels the ones it names.
    """
    data_yaml = _need(Path(data_yaml), 'the data.yaml given')
    images = dataset_split_dir(data_yaml, split)
    labels = label_dir(images)
    if labels == images:
        raise LabelFormatError(f'{images}: expected an .../images/<split> folder (labels in '
                               '.../labels/<split>)')
    _need(labels, f'the labels of {images}')
    names = data_yaml_names(data_yaml)
    truth = read_yolo_labels(labels, BENCH_CLASSES, images, source_names=names)
    hit = {map_class(str(n), BENCH_CLASSES, str(data_yaml)) for n in names}
    labelled = tuple(c for i, c in enumerate(BENCH_CLASSES) if i in hit)
    name = f'{data_yaml.parent.name}:{split}'
    frames = [BenchFrame(name, f.key, f.key, f, labelled, image_path=find_image(images, f.key))
              for f in truth.frames]
    return BenchSource(name, frames, False, f'{data_yaml} {split}; each image its own group')


LOADERS = {'bdd100k_vru': load_bdd, 'street_vru': load_street, 'mot_clips': load_clips,
           'coco_vru': load_coco}


def load_sources(root: str | Path, names: Sequence[str] = SOURCES) -> list[BenchSource]:
    """Load the named sources from the data root (``../shared/data``)."""
    unknown = [n for n in names if n not in LOADERS]
    if unknown:
        raise MissingSourceError(f'unknown source(s) {unknown}; the sources are {list(SOURCES)}')
    return [LOADERS[n](Path(root)) for n in names]


def iter_images(frames: Sequence[BenchFrame]) -> Iterator[tuple[BenchFrame, np.ndarray]]:
    """Yield each frame with its BGR image (videos decoded once, in order)."""
    import cv2

    from ..sources import read_image

    by_video: dict[Path, dict[int, np.ndarray]] = {}
    for frame in frames:
        if frame.video is None:
            image, problem = read_image(frame.image_path) if frame.image_path else (None, None)
            if image is None:
                raise MissingSourceError(f'{frame.source} {frame.key}: image '
                                         f'{frame.image_path} {problem or "not found"}')
            yield frame, image
            continue
        if frame.video not in by_video:
            wanted = {f.video_index for f in frames if f.video == frame.video}
            by_video = {frame.video: {}}       # keep one clip's sampled frames at a time
            cap = cv2.VideoCapture(str(frame.video))
            index = 0
            while wanted:
                ok, img = cap.read()
                if not ok:
                    break
                if index in wanted:
                    by_video[frame.video][index] = img
                    wanted.discard(index)
                index += 1
            cap.release()
        image = by_video[frame.video].get(frame.video_index)
        if image is None:
            raise MissingSourceError(f'{frame.video}: frame {frame.video_index} could not be '
                                     'decoded (the video is shorter than its ground truth)')
        yield frame, image
