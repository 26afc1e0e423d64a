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
Ground-truth boxes from the label formats people have: YOLO txt, COCO JSON, BDD100K JSON, MOT.

Every reader returns the same value, a :class:`GroundTruth` (frames of :class:`FrameTruth` with
xyxy boxes in original-image pixels and class ids in the *model's* class list), so evaluation,
the bag writer and the training data converter share one shape. Malformed input raises
:class:`LabelFormatError` naming the file, the line/entry and what was expected; nothing else.
Image paths named in label files are checked not to escape the dataset folder.
"""
from __future__ import annotations

import configparser
from dataclasses import dataclass, field
import json
import math
from pathlib import Path, PurePosixPath, PureWindowsPath
import re
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .errors import LabelFormatError

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')

# Category names of the public datasets mapped onto our class names (BDD100K, MOT, COCO).
CATEGORY_ALIASES = {
    'pedestrian': 'person', 'bike': 'bicycle', 'motor': 'motorcycle', 'motorbike': 'motorcycle',
    'cyclist': 'rider',
}
# MOT16/17 gt.txt class column (9-column files): 1 pedestrian, 2 person on vehicle, 3 car,
# 4 bicycle, 5 motorbike, 7 static person; the rest (6 non-motorized vehicle, 8 distractor,
# 9 occluder, 10 occluder on ground, 11 occluder full, 12 reflection) are ignore regions.
MOT_CLASSES = {1: 'person', 2: 'rider', 3: 'car', 4: 'bicycle', 5: 'motorcycle', 7: 'person'}


@dataclass(frozen=True)
class FrameTruth:
    """
    Ground truth of one image / video frame.

    key: image file stem (image datasets) or 1-based frame number as a string (MOT).
    xyxy: float32 [N, 4] boxes in pixels of the original image.
    class_ids: int64 [N] indices into the model's class names.
    ignore: bool [N] boxes that count neither as hits nor as misses (COCO iscrowd, MOT flag 0):
        detections on them are not false alarms (COCO "crowd" semantics).
    image_shape: (height, width) when the label file says it, else None.
    """

    key: str
    xyxy: np.ndarray
    class_ids: np.ndarray
    ignore: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    image_shape: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        n = len(self.class_ids)
        if len(self.ignore) != n:
            object.__setattr__(self, 'ignore', np.zeros(n, bool))
        if self.xyxy.shape != (n, 4):
            raise LabelFormatError(
                f'{self.key}: boxes {self.xyxy.shape} and classes ({n}) disagree')

    def __len__(self) -> int:
        return len(self.class_ids)

    @classmethod
    def from_lists(cls, key: str, boxes: Sequence[Sequence[float]], class_ids: Sequence[int],
                   ignore: Sequence[bool] | None = None,
                   image_shape: tuple[int, int] | None = None) -> FrameTruth:
        xyxy = np.asarray(boxes, np.float32).reshape(-1, 4)
        ign = np.zeros(len(class_ids), bool) if ignore is None else np.asarray(ignore, bool)
        return cls(key, xyxy, np.asarray(class_ids, np.int64).reshape(-1), ign, image_shape)

    def clipped(self, height: int, width: int) -> FrameTruth:
        """Boxes clipped to the image (MOT boxes may extend past the border)."""
        xyxy = self.xyxy.copy()
        xyxy[:, [0, 2]] = xyxy[:, [0, 2]].clip(0, width)
        xyxy[:, [1, 3]] = xyxy[:, [1, 3]].clip(0, height)
        return FrameTruth(self.key, xyxy, self.class_ids, self.ignore, (height, width))


@dataclass
class GroundTruth:
    """Frames of one dataset in natural key order, with the class names the ids refer to."""

    names: tuple[str, ...]
    frames: list[FrameTruth]
    source: str = ''

    def __post_init__(self) -> None:
        self.frames = sorted(self.frames, key=lambda f: natural_key(f.key))
        self.by_key = {f.key: f for f in self.frames}
        if len(self.by_key) != len(self.frames):
            keys = [f.key for f in self.frames]
            dup = next(k for i, k in enumerate(keys) if k in keys[:i])
            raise LabelFormatError(f'{self.source}: image/frame {dup!r} appears twice')

    def __len__(self) -> int:
        return len(self.frames)

    def get(self, key: str) -> FrameTruth | None:
        return self.by_key.get(key)


def natural_key(text: str) -> tuple:
    """Sort key that orders 'frame2' before 'frame10' (and MOT '2' before '10')."""
    return tuple((0, int(t), '') if t.isdigit() else (1, 0, t)
                 for t in re.split(r'(\d+)', text) if t)


def safe_relative(name: str, where: str) -> str:
    """Check a label file's image path: refused if absolute or leaving the dataset ('..')."""
    if not isinstance(name, str) or not name.strip():
        raise LabelFormatError(f'{where}: image name must be a non-empty string, got {name!r}')
    if '\x00' in name:
        raise LabelFormatError(f'{where}: image name {name!r} contains a NUL byte')
    for pure in (PurePosixPath(name), PureWindowsPath(name)):
        if pure.is_absolute() or pure.anchor or '..' in pure.parts:
            raise LabelFormatError(
                f'{where}: image path {name!r} is absolute or leaves the dataset folder; '
                'label files may only name images below the dataset root')
    return name


def resolve_inside(root: Path, name: str, where: str = '') -> Path:
    """``root / name`` for a label-file image path, guaranteed to stay inside ``root``."""
    safe_relative(name, where or str(root))
    root = Path(root).resolve()
    path = (root / name).resolve()
    if root != path and root not in path.parents:
        raise LabelFormatError(f'{where or root}: {name!r} resolves outside {root} (symlink?)')
    return path


def map_class(name: Any, names: Sequence[str], where: str) -> int | None:
    """Return the model class id of a dataset category (aliases applied); None: not a class."""
    if not isinstance(name, str):
        raise LabelFormatError(f'{where}: category must be a string, got {name!r}')
    key = name.strip().lower()
    key = CATEGORY_ALIASES.get(key, key)
    lowered = [n.lower() for n in names]
    return lowered.index(key) if key in lowered else None


def _number(value: Any, where: str, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise LabelFormatError(f'{where}: {what} must be a number, got {value!r}')
    try:
        out = float(value)
    except ValueError:
        raise LabelFormatError(f'{where}: {what} must be a number, got {value!r}') from None
    if not math.isfinite(out):
        raise LabelFormatError(f'{where}: {what} is {value!r}; expected a finite number')
    return out


def _check_box(x1: float, y1: float, x2: float, y2: float, where: str) -> list[float]:
    if x2 < x1 or y2 < y1:
        raise LabelFormatError(f'{where}: box {[x1, y1, x2, y2]} has negative width or height')
    return [x1, y1, x2, y2]


# ----------------------------------------------------------------------------- YOLO
def image_size(path: Path) -> tuple[int, int]:
    """(height, width) of an image file, read from its header only."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            width, height = im.size
    except (OSError, UnidentifiedImageError) as exc:
        raise LabelFormatError(f'{path}: cannot read the image size ({exc})') from None
    return int(height), int(width)


def find_image(image_dir: Path, stem: str) -> Path | None:
    for suffix in IMAGE_SUFFIXES + tuple(s.upper() for s in IMAGE_SUFFIXES):
        path = image_dir / f'{stem}{suffix}'
        if path.is_file():
            return path
    return None


def default_image_dir(labels_dir: Path) -> Path:
    """Ultralytics' convention: .../labels/<split> holds the labels of .../images/<split>."""
    parts = list(labels_dir.parts)
    if 'labels' in parts:
        i = len(parts) - 1 - parts[::-1].index('labels')
        return Path(*parts[:i], 'images', *parts[i + 1:])
    return labels_dir


def parse_yolo_lines(text: str, image_shape: tuple[int, int], n_classes: int, where: str,
                     class_map: Mapping[int, int | None] | None = None) -> tuple[list, list]:
    """Boxes (pixels) and class ids of one YOLO label file's text ``class cx cy w h`` lines."""
    height, width = image_shape
    boxes, classes = [], []
    for lineno, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        at = f'{where}:{lineno}'
        if len(fields) != 5:
            raise LabelFormatError(
                f'{at}: expected 5 fields "class cx cy w h" (normalised), found {len(fields)}: '
                f'{line[:80]!r}. Segment/pose labels are not supported.')
        cls_f = _number(fields[0], at, 'class')
        if cls_f != int(cls_f) or cls_f < 0:
            raise LabelFormatError(f'{at}: class {fields[0]!r} must be a non-negative integer')
        cls = int(cls_f)
        if class_map is not None:
            if cls not in class_map:
                raise LabelFormatError(f'{at}: class {cls} is not in the dataset names')
            mapped = class_map[cls]
            if mapped is None:
                continue
            cls = mapped
        elif cls >= n_classes:
            raise LabelFormatError(f'{at}: class {cls} >= number of model classes {n_classes}')
        cx, cy, w, h = (_number(v, at, name) for v, name in zip(fields[1:], 'cx cy w h'.split()))
        if w < 0 or h < 0 or not all(-0.01 <= v <= 1.01 for v in (cx, cy, w, h)):
            raise LabelFormatError(
                f'{at}: cx cy w h = {cx} {cy} {w} {h}; expected values normalised to [0, 1] '
                '(pixel coordinates are not YOLO format)')
        boxes.append([(cx - w / 2) * width, (cy - h / 2) * height,
                      (cx + w / 2) * width, (cy + h / 2) * height])
        classes.append(cls)
    return boxes, classes


def read_yolo_labels(labels_dir: str | Path, names: Sequence[str],
                     image_dir: str | Path | None = None,
                     source_names: Sequence[str] | None = None) -> GroundTruth:
    """
    Read a YOLO ``labels/<split>`` folder (normalised ``class cx cy w h``) into pixels.

    Image sizes come from the images beside (``images/<split>``, or ``image_dir``).
    ``source_names`` are the dataset's class names when they differ from the model's; classes
    the model does not have are dropped.
    """
    labels_dir = Path(labels_dir)
    if not labels_dir.is_dir():
        raise LabelFormatError(f'{labels_dir}: not a folder of YOLO .txt label files')
    image_dir = Path(image_dir) if image_dir else default_image_dir(labels_dir)
    class_map = None
    if source_names is not None:
        class_map = {i: map_class(n, names, f'{labels_dir} names') for i, n in
                     enumerate(source_names)}
    frames = []
    files = sorted(labels_dir.glob('*.txt'))
    if not files:
        raise LabelFormatError(f'{labels_dir}: no .txt label files found')
    for path in files:
        image = find_image(image_dir, path.stem)
        if image is None:
            raise LabelFormatError(
                f'{path}: no image {path.stem}.* in {image_dir}; YOLO boxes are normalised, so '
                'the image is needed for its size (pass image_dir / --images)')
        shape = image_size(image)
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise LabelFormatError(f'{path}: unreadable label file ({exc})') from None
        boxes, classes = parse_yolo_lines(text, shape, len(names), str(path), class_map)
        frames.append(FrameTruth.from_lists(path.stem, boxes, classes, None, shape))
    return GroundTruth(tuple(names), frames, str(labels_dir))


# ----------------------------------------------------------------------------- COCO
def _load_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise LabelFormatError(f'{path}: not a readable JSON file ({exc})') from None


def _image_key(name: str, where: str) -> str:
    safe_relative(name, where)
    return PurePosixPath(name.replace('\\', '/')).stem


def read_coco_json(path: str | Path, names: Sequence[str]) -> GroundTruth:
    """
    COCO ``instances_*.json``: ``bbox`` [x, y, w, h] pixels; ``iscrowd`` boxes are ignored.

    Categories are matched to the model's classes by name; others are dropped.
    """
    path = Path(path)
    data = _load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get('images'), list) or \
            not isinstance(data.get('annotations'), list) or \
            not isinstance(data.get('categories'), list):
        raise LabelFormatError(f'{path}: expected a COCO object with images, annotations and '
                               'categories lists')
    cat_map: dict[Any, int | None] = {}
    for i, cat in enumerate(data['categories']):
        if not isinstance(cat, dict) or 'id' not in cat:
            raise LabelFormatError(f'{path}: categories[{i}] needs id and name, got {cat!r}'[:200])
        cat_map[cat['id']] = map_class(cat.get('name'), names, f'{path}: categories[{i}]')
    images: dict[Any, tuple[str, tuple[int, int] | None]] = {}
    for i, img in enumerate(data['images']):
        where = f'{path}: images[{i}]'
        if not isinstance(img, dict) or 'id' not in img or 'file_name' not in img:
            raise LabelFormatError(f'{where}: needs id and file_name, got {img!r}'[:200])
        shape = None
        if 'height' in img and 'width' in img:
            shape = (int(_number(img['height'], where, 'height')),
                     int(_number(img['width'], where, 'width')))
        try:
            images[img['id']] = (_image_key(img['file_name'], where), shape)
        except TypeError:
            raise LabelFormatError(f'{where}: id {img["id"]!r} is not a valid key') from None
    per_image: dict[Any, tuple[list, list, list]] = {k: ([], [], []) for k in images}
    for i, ann in enumerate(data['annotations']):
        where = f'{path}: annotations[{i}]'
        if not isinstance(ann, dict):
            raise LabelFormatError(f'{where}: expected an object, got {ann!r}'[:200])
        try:
            image_id, cat_id = ann['image_id'], ann['category_id']
            bbox = ann['bbox']
        except KeyError as exc:
            raise LabelFormatError(f'{where}: missing {exc}') from None
        try:
            known_image, known_cat = image_id in per_image, cat_id in cat_map
        except TypeError:
            raise LabelFormatError(f'{where}: image_id/category_id must be scalars') from None
        if not known_image:
            raise LabelFormatError(f'{where}: image_id {image_id!r} is not in images')
        if not known_cat:
            raise LabelFormatError(f'{where}: category_id {cat_id!r} is not in categories')
        if cat_map[cat_id] is None:
            continue
        if not isinstance(bbox, list) or len(bbox) != 4:
            raise LabelFormatError(f'{where}: bbox must be [x, y, w, h], got {bbox!r}'[:200])
        x, y, w, h = (_number(v, where, 'bbox value') for v in bbox)
        boxes, classes, ignore = per_image[image_id]
        boxes.append(_check_box(x, y, x + w, y + h, where))
        classes.append(cat_map[cat_id])
        ignore.append(bool(ann.get('iscrowd', 0)))
    frames = [FrameTruth.from_lists(images[k][0], *per_image[k], image_shape=images[k][1])
              for k in images]
    return GroundTruth(tuple(names), frames, str(path))


# ----------------------------------------------------------------------------- BDD100K
def read_bdd_json(path: str | Path, names: Sequence[str]) -> GroundTruth:
    """
    BDD100K detection JSON: ``[{name, labels: [{category, box2d: {x1,y1,x2,y2}}]}]``.

    Also accepts the Scalabel ``{"frames": [...]}`` wrapper. Categories map by name
    (bike -> bicycle, motor -> motorcycle, pedestrian -> person); others are dropped.
    """
    path = Path(path)
    data = _load_json(path)
    if isinstance(data, dict) and isinstance(data.get('frames'), list):
        data = data['frames']
    if not isinstance(data, list):
        raise LabelFormatError(f'{path}: expected a BDD100K list of frames [{{name, labels}}]')
    frames = []
    for i, item in enumerate(data):
        where = f'{path}: [{i}]'
        if not isinstance(item, dict) or 'name' not in item:
            raise LabelFormatError(f'{where}: expected an object with "name", got {item!r}'[:200])
        key = _image_key(item['name'], where)
        shape = None
        if 'height' in item and 'width' in item:
            shape = (int(_number(item['height'], where, 'height')),
                     int(_number(item['width'], where, 'width')))
        labels = item.get('labels') or []
        if not isinstance(labels, list):
            raise LabelFormatError(f'{where}: labels must be a list')
        boxes, classes = [], []
        for j, lab in enumerate(labels):
            at = f'{where}.labels[{j}]'
            if not isinstance(lab, dict):
                raise LabelFormatError(f'{at}: expected an object, got {lab!r}'[:200])
            box = lab.get('box2d')
            if box is None:
                continue  # lanes / drivable-area polygons carry no box
            cls = map_class(lab.get('category'), names, at)
            if cls is None:
                continue
            if not isinstance(box, dict):
                raise LabelFormatError(f'{at}: box2d must be {{x1, y1, x2, y2}}, got {box!r}')
            try:
                coords = [_number(box[k], at, k) for k in ('x1', 'y1', 'x2', 'y2')]
            except KeyError as exc:
                raise LabelFormatError(f'{at}: box2d lacks {exc}') from None
            boxes.append(_check_box(coords[0], coords[1], coords[2], coords[3], at))
            classes.append(cls)
        frames.append(FrameTruth.from_lists(key, boxes, classes, None, shape))
    return GroundTruth(tuple(names), frames, str(path))


# ----------------------------------------------------------------------------- MOT
def read_seqinfo(path: Path) -> dict[str, str]:
    """Read a MOTChallenge seqinfo.ini as a dict (frameRate, seqLength, imWidth, imHeight)."""
    parser = configparser.ConfigParser()
    try:
        parser.read_string(path.read_text())
        return dict(parser['Sequence'])
    except (OSError, UnicodeDecodeError, configparser.Error, KeyError) as exc:
        raise LabelFormatError(f'{path}: not a MOT seqinfo.ini ([Sequence] section): {exc}')


def find_seqinfo(gt_path: Path) -> Path | None:
    """``<name>.seqinfo.ini`` beside ``<name>.gt.txt``, or MOT's ``<seq>/seqinfo.ini``."""
    stem = gt_path.name.split('.')[0]
    for cand in (gt_path.with_name(f'{stem}.seqinfo.ini'), gt_path.parent / 'seqinfo.ini',
                 gt_path.parent.parent / 'seqinfo.ini'):
        if cand.is_file():
            return cand
    return None


def read_mot_gt(path: str | Path, names: Sequence[str], num_frames: int | None = None,
                image_shape: tuple[int, int] | None = None) -> GroundTruth:
    """
    Read a MOTChallenge ``gt.txt``: ``frame,id,left,top,width,height,flag[,...]``.

    Keys are the 1-based frame numbers as strings. ``flag`` 0 boxes are ignore regions. 9-column
    files (MOT16/17) carry a class (pedestrian, car, ...; distractors become ignore regions);
    others are all pedestrians. Boxes are clipped to the image when its size is known (argument,
    or the seqinfo.ini beside); frames without boxes up to ``num_frames`` (or seqLength) exist
    with no boxes.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelFormatError(f'{path}: unreadable MOT gt file ({exc})') from None
    seqinfo = find_seqinfo(path)
    if seqinfo is not None:
        info = read_seqinfo(seqinfo)
        if image_shape is None and 'imheight' in info and 'imwidth' in info:
            image_shape = (int(_number(info['imheight'], str(seqinfo), 'imHeight')),
                           int(_number(info['imwidth'], str(seqinfo), 'imWidth')))
        if num_frames is None and 'seqlength' in info:
            num_frames = int(_number(info['seqlength'], str(seqinfo), 'seqLength'))
    person = map_class('person', names, str(path))
    per_frame: dict[int, tuple[list, list, list]] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        at = f'{path}:{lineno}'
        fields = [f.strip() for f in line.replace(' ', ',').split(',') if f.strip()]
        if len(fields) < 6:
            raise LabelFormatError(f'{at}: expected "frame,id,left,top,width,height,flag,..." '
                                   f'(>= 6 comma-separated values), found {line[:80]!r}')
        values = [_number(v, at, 'field') for v in fields]
        number = values[0]
        if number != int(number) or number < 1:
            raise LabelFormatError(f'{at}: frame {fields[0]!r} must be an integer >= 1')
        x, y, w, h = values[2:6]
        if w < 0 or h < 0:
            raise LabelFormatError(f'{at}: negative width/height {w}, {h}')
        flag = values[6] if len(values) > 6 else 1
        cls: int | None = person
        ignore = flag == 0
        if len(values) == 9:  # MOT16/17: class column
            mot_class = int(values[7])
            mapped = MOT_CLASSES.get(mot_class)
            cls = map_class(mapped, names, at) if mapped else person
            ignore = ignore or mapped is None
        if cls is None:
            if not ignore:
                continue
            cls = person if person is not None else 0
        boxes, classes, ign = per_frame.setdefault(int(number), ([], [], []))
        boxes.append([x, y, x + w, y + h])
        classes.append(cls)
        ign.append(ignore)
    if person is None and any(not all(v[2]) for v in per_frame.values()):
        raise LabelFormatError(f'{path}: MOT boxes are pedestrians but the model has no '
                               f'"person" class (its classes: {list(names)})')
    last = max([*per_frame, num_frames or 0])
    frames = []
    for index in range(1, last + 1):
        frame = FrameTruth.from_lists(str(index), *per_frame.get(index, ([], [], [])))
        frames.append(frame.clipped(*image_shape) if image_shape else frame)
    return GroundTruth(tuple(names), frames, str(path))


# ----------------------------------------------------------------------------- dispatch
def detect_format(path: Path) -> str:
    """'yolo' (folder), 'mot' (.txt), 'coco' or 'bdd' (.json, by content)."""
    if path.is_dir():
        return 'yolo'
    if not path.is_file():
        raise LabelFormatError(f'{path}: label file or folder does not exist')
    if path.suffix.lower() == '.txt':
        return 'mot'
    if path.suffix.lower() == '.json':
        data = _load_json(path)
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


def dataset_names(labels_dir: Path) -> list[str] | None:
    """Class names of the YOLO dataset a labels folder belongs to (its data.yaml), if found."""
    import yaml

    for parent in list(Path(labels_dir).resolve().parents)[:3]:
        for cand in sorted(parent.glob('*.yaml')):
            try:
                data = yaml.safe_load(cand.read_text())
            except (OSError, yaml.YAMLError, UnicodeDecodeError):
                continue
            names = data.get('names') if isinstance(data, dict) else None
            if isinstance(names, dict):
                try:
                    return [str(names[i]) for i in range(len(names))]
                except KeyError:
                    continue
            if isinstance(names, list):
                return [str(n) for n in names]
    return None


def iter_keys(gt: GroundTruth) -> Iterable[str]:
    return (f.key for f in gt.frames)
