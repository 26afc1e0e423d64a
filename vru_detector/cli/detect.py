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
`vru-detect`: run the detector on an image, a folder, a video or a bag; save annotated output.

Writes ``detections.jsonl`` (one line per frame) and annotated images (or an annotated video)
to ``--save-dir``, and prints a per-class summary with the mean time of each stage. As in
ultralytics, an existing ``--save-dir`` is never mixed into: the run goes to ``DIR2``, ``DIR3``,
... unless ``--exist-ok`` is given. A frame that cannot be decoded is skipped and named; a run
in which no frame could be read exits with status 1. Score thresholds are the node's: ``--conf``,
with the per-class ones of config/classes.yaml (``--class-config``), so a bag gives here the
detections detector_node publishes for it.
"""
from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path
import sys

import cv2
from tqdm import tqdm

from .help import description, HelpFormatter
from ..backends import BACKENDS
from ..class_config import (CLASS_CONFIG_HELP, color_for, DEFAULT_CONF, default_thresholds,
                            load_cli_class_config, model_thresholds)
from ..detector import Detector
from ..errors import InvalidImageError, ModelOutputError, VruDetectorError
from ..save_dir import new_run_dir
from ..sources import Source
from ..tracker import DEFAULT_TRACKER, make_tracker, TRACKERS
from ..visualize import draw_detections


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog='vru-detect', description=description(__doc__, 2),
                                formatter_class=HelpFormatter)
    p.add_argument('--model', required=True,
                   help='.onnx (FP32 or INT8 Q/DQ), .xml (OpenVINO IR), .engine or .pt')
    p.add_argument('--source', required=True, help='image, folder of images, video, or rosbag2')
    p.add_argument('--save-dir', default='runs/detect',
                   help='output folder; if it exists, DIR2, DIR3, ... is used')
    p.add_argument('--exist-ok', action='store_true',
                   help='write into --save-dir even if it exists (files of the same name are '
                   'replaced, others stay)')
    p.add_argument('--image-topic', help='image topic when --source is a bag (a bag with one '
                   'image topic still needs it; the error lists them)')
    p.add_argument('--backend', choices=BACKENDS,
                   help='inference backend; default: chosen from the model file suffix (.onnx '
                   'on the CPU: openvino when installed, else onnxruntime)')
    p.add_argument('--device', default='cpu',
                   help='cpu, cuda or cuda:N; gpu or npu (Intel, openvino backend)')
    p.add_argument('--threads', type=int, default=0,
                   help='CPU inference threads (onnxruntime, openvino); 0: every core')
    p.add_argument('--conf', type=float, default=DEFAULT_CONF,
                   help='score threshold of the classes --class-config gives none')
    p.add_argument('--class-config', help=CLASS_CONFIG_HELP)
    p.add_argument('--iou', type=float, default=0.7, help='NMS IoU threshold')
    p.add_argument('--max-det', type=int, default=300, help='most detections kept per frame')
    p.add_argument('--classes', nargs='+', help='keep only these class names or ids')
    p.add_argument('--no-images', action='store_true', help='write detections.jsonl only')
    p.add_argument('--tracker', choices=TRACKERS, default='none',
                   help='track over the frames (video, bag, or an image folder in name order) '
                   'and write/draw each track ID; time comes from bag stamps, else the '
                   f'video rate (30 fps for images); {DEFAULT_TRACKER} is the node default')
    return p


def _class_key(value: str) -> str | int:
    return int(value) if value.isdigit() else value


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        classes = [_class_key(c) for c in args.classes] if args.classes else None
        args.styles = load_cli_class_config(args.class_config)
        options = {'threads': args.threads} if args.threads else {}
        detector = Detector(args.model, backend=args.backend, device=args.device, conf=args.conf,
                            iou=args.iou, max_det=args.max_det, classes=classes, **options)
        detector.set_thresholds(args.conf, model_thresholds(default_thresholds(args.styles),
                                                            detector.names), classes)
        source = Source(args.source, image_topic=args.image_topic)
        args.fps = source.fps or 30.0  # the tracker's clock where frames carry no stamp
        args.tracker_obj = make_tracker(args.tracker, frame_rate=args.fps)
    except (VruDetectorError, ValueError) as exc:  # ValueError: a bad --class-config
        print(f'vru-detect: error: {exc}', file=sys.stderr)
        return 2
    save_dir = new_run_dir(args.save_dir, args.exist_ok)
    try:
        result = _run(args, detector, source, save_dir)
    except VruDetectorError as exc:  # e.g. a bag that turns out corrupt half-way
        print(f'vru-detect: error: {exc} (results of the frames before it are in {save_dir})',
              file=sys.stderr)
        return 1
    frames, skipped = result
    if frames == 0:
        print(f'vru-detect: error: none of the {skipped} input frame(s) of {source.path} could '
              'be decoded (see the messages above); nothing was detected', file=sys.stderr)
        return 1
    return 0


def _run(args: argparse.Namespace, detector: Detector, source: Source,
         save_dir: Path) -> tuple[int, int]:
    """Detect on every frame, writing JSONL and annotated output; returns (frames, skipped)."""
    counts: collections.Counter[str] = collections.Counter()
    stage_ms: collections.Counter[str] = collections.Counter()
    frames = skipped = 0
    annotated = _AnnotatedOutput(save_dir, source, enabled=not args.no_images,
                                 styles=args.styles)
    with open(save_dir / 'detections.jsonl', 'w') as jsonl, annotated:
        for frame in tqdm(source, total=len(source) or None, desc='vru-detect', unit='frame'):
            if frame.image is None:
                skipped += 1
                tqdm.write(f'skipped {frame.key}: {frame.problem or "could not be decoded"}')
                continue
            if frame.problem:
                tqdm.write(f'warning: {frame.key} {frame.problem}')
            try:
                dets = detector(frame.image)
            except (InvalidImageError, ModelOutputError) as exc:
                skipped += 1
                tqdm.write(f'skipped {frame.key}: {exc}')
                continue
            if args.tracker_obj is not None:
                stamp = frame.index / args.fps if frame.stamp_ns is None else \
                    frame.stamp_ns / 1e9
                dets = args.tracker_obj.update(dets, stamp)
            frames += 1
            counts.update(dets.labels)
            for stage in ('preprocess_ms', 'inference_ms', 'postprocess_ms'):
                stage_ms[stage] += getattr(detector.times, stage)
            h, w = frame.image.shape[:2]
            record = {'source': str(source.path), 'frame': frame.key, 'index': frame.index,
                      'width': w, 'height': h, 'detections': dets.to_records()}
            if frame.stamp_ns is not None:
                record['stamp_ns'] = frame.stamp_ns
            jsonl.write(json.dumps(record) + '\n')
            annotated.write(frame.key, frame.image, dets)
    print(summary(frames, skipped, counts, stage_ms, detector, save_dir))
    return frames, skipped


class _AnnotatedOutput:
    """Annotated frames as images, or as one video for a video source (closed on exit)."""

    def __init__(self, save_dir: Path, source: Source, enabled: bool = True,
                 styles: dict | None = None) -> None:
        self.save_dir, self.source, self.enabled = save_dir, source, enabled
        self.styles = styles or {}  # class colours, as the node draws them
        self.video: cv2.VideoWriter | None = None

    def write(self, key: str, image, dets) -> None:
        if not self.enabled:
            return
        annotated = draw_detections(image, dets,
                                    color_of=lambda name, k: color_for(name, k, self.styles))
        if self.source.kind != 'video':
            cv2.imwrite(str(self.save_dir / f'{key}.jpg'), annotated)
            return
        if self.video is None:
            h, w = image.shape[:2]
            path = self.save_dir / f'{self.source.path.stem}_annotated.mp4'
            self.video = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'),
                                         self.source.fps, (w, h))
        self.video.write(annotated)

    def __enter__(self) -> _AnnotatedOutput:
        return self

    def __exit__(self, *exc) -> None:
        if self.video is not None:
            self.video.release()


def summary(frames: int, skipped: int, counts, stage_ms, detector: Detector,
            save_dir: Path) -> str:
    """Human-readable end-of-run summary."""
    per_frame = {k: v / max(frames, 1) for k, v in stage_ms.items()}
    info = detector.info
    own = ', '.join(f'{name} {value:.2f}' for name, value in detector.class_conf.items())
    lines = [f'{frames} frames processed, {skipped} skipped; model {info.source} '
             f'({detector.backend.name}, {info.precision}, input {info.input_shape})',
             f'score thresholds: {detector.conf:.2f}' + (f' ({own})' if own else ''),
             'mean ms/frame: ' + (', '.join(f'{k[:-3]} {v:.1f}' for k, v in per_frame.items())
                                  or '- (no frame was processed)'),
             'detections: ' + (', '.join(f'{n} {c}' for n, c in counts.most_common()) or 'none'),
             f'results in {save_dir}/ (detections.jsonl and annotated output)']
    return '\n'.join(lines)


if __name__ == '__main__':
    sys.exit(main())
