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

r"""
``vru-make-bag``: a rosbag2 (mcap or sqlite3) of camera frames plus ground truth.

Turns an image folder or a video into what a car would have recorded: ``sensor_msgs/Image``
(bgr8) or ``CompressedImage`` (JPEG) at a fixed rate with a frame_id, and the labels as a
``vision_msgs/Detection2DArray`` topic with the same header stamps, so ``ros2 bag play`` can feed
the detector node and ``vru-eval-bag`` can score it. Types are registered from the real .msg
definitions and metadata.yaml (offered QoS, message definitions) is written by rosbags' Writer.

    vru-make-bag --images data/images/val --labels data/labels/val --out runs/bags/val
    vru-make-bag --video clip.mp4 --labels clip.gt.txt --storage sqlite3 --compressed

Without ``--out`` the bag goes to ``runs/bags/<folder or video name>`` (``...2``, ``...3`` if
taken), so a bag is never written into the current folder by accident.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
import json
from pathlib import Path
import shutil
import sys
from typing import Iterator, Literal, Sequence

import cv2
import numpy as np

from .bag_images import FRAME_KEYS
from .errors import BagReadError
from .messages import detection_array, header, IGNORE_ID, image_message
from ..cli.help import description, HelpFormatter
from ..errors import VruDetectorError
from ..labels import (class_names, GroundTruth, IMAGE_SUFFIXES, LabelFormatError,
                      load_ground_truth, natural_key)
from ..msgs.msg_types import typestore_with_vision_msgs
from ..save_dir import free_path

DEFAULT_START_NS = 1_700_000_000 * 1_000_000_000  # fixed epoch: bags are reproducible


@dataclass
class BagSummary:
    """What was written: path, frames, ground-truth frames, topics."""

    path: Path
    frames: int
    gt_frames: int
    image_topic: str
    gt_topic: str | None
    storage: str


def sensor_qos() -> list:
    """Return the offered QoS of a typical camera publisher: reliable, volatile, keep last 10."""
    from rosbags.interfaces import (Qos, QosDurability, QosHistory, QosLiveliness,
                                    QosReliability, QosTime)

    zero = QosTime(0, 0)
    return [Qos(QosHistory.KEEP_LAST, 10, QosReliability.RELIABLE, QosDurability.VOLATILE,
                zero, zero, QosLiveliness.AUTOMATIC, zero, False)]


def iter_image_folder(folder: Path, start: int = 0,
                      max_frames: int | None = None) -> Iterator[tuple[str, np.ndarray]]:
    """(stem, BGR) of the images of a folder in natural name order."""
    files = sorted((p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES),
                   key=lambda p: natural_key(p.name))
    if not files:
        raise VruDetectorError(f'{folder}: no images ({", ".join(IMAGE_SUFFIXES)}) found')
    files = files[start:None if max_frames is None else start + max_frames]
    for path in files:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise VruDetectorError(f'{path}: cannot decode the image (corrupt or not an image)')
        yield path.stem, image


def video_fps(path: Path) -> float:
    cap = cv2.VideoCapture(str(path))
    try:
        return float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    finally:
        cap.release()


def iter_video(path: Path, start: int = 0,
               max_frames: int | None = None) -> Iterator[tuple[str, np.ndarray]]:
    """(1-based frame number as MOT counts it, BGR) of a video's frames."""
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise VruDetectorError(f'{path}: OpenCV cannot open the video')
    try:
        index = 0
        emitted = 0
        while max_frames is None or emitted < max_frames:
            ok, frame = cap.read()
            if not ok:
                break
            index += 1
            if index <= start:
                continue
            emitted += 1
            yield str(index), frame
    finally:
        cap.release()


def write_bag(frames: Iterator[tuple[str, np.ndarray]], out: Path, fps: float,
              truth: GroundTruth | None = None, storage: str = 'mcap', frame_id: str = 'camera',
              compressed: bool = False, image_topic: str | None = None,
              gt_topic: str = '/ground_truth/detections', start_ns: int = DEFAULT_START_NS,
              jpeg_quality: int = 90, version: Literal[8, 9] = 8,
              progress: bool = True) -> BagSummary:
    """
    Write ``frames`` (key, BGR) as a rosbag2 at ``fps``, with ground truth if given.

    Frame keys are stored in metadata custom_data (``vru_detector.frame_keys``) so evaluation
    can match label files to frames exactly. Version 8 metadata is the newest that the Humble
    rosbag2 reads as well as Jazzy.
    """
    from rosbags.rosbag2 import StoragePlugin, Writer
    from tqdm import tqdm

    if fps <= 0:
        raise VruDetectorError(f'fps={fps}: must be > 0')
    if storage not in ('mcap', 'sqlite3'):
        raise VruDetectorError(f'storage {storage!r}: expected mcap or sqlite3')
    out = Path(out)
    if out.exists():
        raise VruDetectorError(f'{out} exists already; rosbag2 writers never overwrite. Remove it '
                               'or choose another --out.')
    ts = typestore_with_vision_msgs()
    image_topic = image_topic or ('/camera/image_raw/compressed' if compressed else
                                  '/camera/image_raw')
    plugin = StoragePlugin.MCAP if storage == 'mcap' else StoragePlugin.SQLITE3
    keys: list[str] = []
    gt_frames = 0
    missing: list[str] = []
    writer = Writer(out, version=version, storage_plugin=plugin)
    try:
        with writer:
            img_type = 'sensor_msgs/msg/CompressedImage' if compressed else 'sensor_msgs/msg/Image'
            img_conn = writer.add_connection(image_topic, img_type, typestore=ts,
                                             offered_qos_profiles=sensor_qos())
            gt_conn = None
            if truth is not None:
                gt_conn = writer.add_connection(gt_topic, 'vision_msgs/msg/Detection2DArray',
                                                typestore=ts, offered_qos_profiles=sensor_qos())
            for i, (key, image) in enumerate(tqdm(frames, desc=f'writing {out.name}', unit='frame',
                                                  disable=not progress)):
                stamp = start_ns + int(round(i * 1e9 / fps))
                hdr = header(ts, stamp, frame_id)
                msg, msgtype = image_message(ts, image, hdr, compressed, jpeg_quality)
                writer.write(img_conn, stamp, ts.serialize_cdr(msg, msgtype))
                keys.append(key)
                if gt_conn is not None and truth is not None:
                    frame = truth.get(key)
                    if frame is None:
                        missing.append(key)
                        xyxy, labels, ids = np.zeros((0, 4)), [], []
                    else:
                        h, w = image.shape[:2]
                        frame = frame.clipped(h, w)
                        xyxy = frame.xyxy
                        labels = [truth.names[c] for c in frame.class_ids]
                        ids = [IGNORE_ID if ig else ('' if oid < 0 else str(oid))
                               for ig, oid in zip(frame.ignore, frame.object_ids)]
                        gt_frames += 1
                    gt = detection_array(ts, hdr, xyxy, labels, None, ids)
                    writer.write(gt_conn, stamp, ts.serialize_cdr(
                        gt, 'vision_msgs/msg/Detection2DArray'))
            writer.set_custom_data(FRAME_KEYS, json.dumps(keys))
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)  # no half-written bag left behind
        raise
    if not keys:
        shutil.rmtree(out, ignore_errors=True)
        raise VruDetectorError('no frames were written (empty folder/video or --start too large)')
    if missing:
        print(f'warning: {len(missing)} frame(s) have no ground truth (written as empty): '
              f'{missing[:5]}{"..." if len(missing) > 5 else ""}', file=sys.stderr)
    return BagSummary(out, len(keys), gt_frames, image_topic,
                      gt_topic if truth is not None else None, storage)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog='vru-make-bag', description=description(__doc__, 4),
                                formatter_class=HelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument('--images', type=Path, help='folder of images (natural name order)')
    src.add_argument('--video', type=Path, help='video file (frames numbered from 1, as MOT)')
    p.add_argument('--labels', type=Path, help='ground truth: YOLO labels folder, COCO or '
                   'BDD100K .json, or MOT gt.txt (keys: image stem / frame number)')
    p.add_argument('--out', type=Path,
                   help='bag folder to create (must not exist); default: '
                   'runs/bags/<images folder or video name>, numbered if taken')
    p.add_argument('--storage', choices=('mcap', 'sqlite3'), default='mcap',
                   help='rosbag2 storage plugin (mcap: Jazzy default; sqlite3: Humble default)')
    p.add_argument('--fps', type=float, help="frame rate (default: the video's, else 10)")
    p.add_argument('--frame-id', default='camera', help='header.frame_id of every message')
    p.add_argument('--compressed', action='store_true',
                   help='write sensor_msgs/CompressedImage (JPEG) instead of raw bgr8 Image')
    p.add_argument('--jpeg-quality', type=int, default=90, help='JPEG quality of --compressed')
    p.add_argument('--image-topic', help='image topic; default /camera/image_raw, or '
                   '/camera/image_raw/compressed with --compressed')
    p.add_argument('--gt-topic', default='/ground_truth/detections',
                   help='vision_msgs/Detection2DArray topic of the --labels')
    p.add_argument('--names', default=','.join(class_names()),
                   help='class names the ground truth is mapped to (comma separated; default: '
                   "config/classes.yaml's classes, the student's)")
    p.add_argument('--start', type=int, default=0, help='skip this many frames first')
    p.add_argument('--max-frames', type=int, help='write at most this many frames')
    p.add_argument('--bag-version', type=int, choices=(8, 9), default=8,
                   help='rosbag2 metadata version (8: Humble and Jazzy; 9: Jazzy and newer)')
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    names = tuple(n.strip() for n in args.names.split(',') if n.strip())
    try:
        if args.images is not None:
            if not args.images.is_dir():
                raise VruDetectorError(f'--images {args.images}: not a folder')
            frames = iter_image_folder(args.images, args.start, args.max_frames)
            fps = args.fps or 10.0
        else:
            if not args.video.is_file():
                raise VruDetectorError(f'--video {args.video}: no such file')
            frames = iter_video(args.video, args.start, args.max_frames)
            fps = args.fps or video_fps(args.video) or 10.0
        out = args.out or free_path(Path('runs', 'bags', (args.images or args.video).stem))
        out.parent.mkdir(parents=True, exist_ok=True)
        truth = None
        if args.labels is not None:
            truth = load_ground_truth(args.labels, names, image_dir=args.images)
        summary = write_bag(frames, out, fps, truth, args.storage, args.frame_id,
                            args.compressed, args.image_topic, args.gt_topic,
                            jpeg_quality=args.jpeg_quality, version=args.bag_version)
    except (VruDetectorError, LabelFormatError, BagReadError) as exc:
        print(f'vru-make-bag: error: {exc}', file=sys.stderr)
        return 2
    print(f'wrote {summary.path} ({summary.storage}): {summary.frames} frames on '
          f'{summary.image_topic} at {fps:g} Hz'
          + (f', ground truth on {summary.gt_topic} ({summary.gt_frames} labelled frames)'
             if summary.gt_topic else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
