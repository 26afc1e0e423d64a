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
to ``--save-dir``, and prints a per-class summary with the mean time of each stage.
"""
from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path
import sys

import cv2
from tqdm import tqdm

from ..detector import Detector
from ..errors import InvalidImageError, ModelOutputError, VruDetectorError
from ..sources import Source
from ..visualize import draw_detections


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog='vru-detect', description=__doc__.strip().splitlines()[0])
    p.add_argument('--model', required=True, help='.onnx (FP32 or INT8 Q/DQ), .engine or .pt')
    p.add_argument('--source', required=True, help='image, folder of images, video, or rosbag2')
    p.add_argument('--save-dir', default='runs/detect',
                   help='output folder (default: runs/detect)')
    p.add_argument('--image-topic', help='image topic when --source is a bag')
    p.add_argument('--backend', choices=['onnxruntime', 'tensorrt', 'torch'],
                   help='default: chosen from the model file suffix')
    p.add_argument('--device', default='cpu', help='cpu, cuda or cuda:N')
    p.add_argument('--conf', type=float, default=0.25, help='score threshold (default 0.25)')
    p.add_argument('--iou', type=float, default=0.7, help='NMS IoU threshold (default 0.7)')
    p.add_argument('--max-det', type=int, default=300)
    p.add_argument('--classes', nargs='+', help='keep only these class names or ids')
    p.add_argument('--no-images', action='store_true', help='write detections.jsonl only')
    return p


def _class_key(value: str) -> str | int:
    return int(value) if value.isdigit() else value


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        classes = [_class_key(c) for c in args.classes] if args.classes else None
        detector = Detector(args.model, backend=args.backend, device=args.device, conf=args.conf,
                            iou=args.iou, max_det=args.max_det, classes=classes)
        source = Source(args.source, image_topic=args.image_topic)
    except VruDetectorError as exc:
        print(f'vru-detect: {exc}', file=sys.stderr)
        return 2
    save_dir = Path(args.save_dir)
    save_dir.mkdir(parents=True, exist_ok=True)
    writer = None
    counts: collections.Counter[str] = collections.Counter()
    stage_ms = collections.Counter()
    frames = skipped = 0
    with open(save_dir / 'detections.jsonl', 'w') as jsonl:
        for frame in tqdm(source, total=len(source) or None, desc='vru-detect', unit='frame'):
            if frame.image is None:
                skipped += 1
                tqdm.write(f'skipped {frame.key}: image could not be decoded')
                continue
            try:
                dets = detector(frame.image)
            except (InvalidImageError, ModelOutputError) as exc:
                skipped += 1
                tqdm.write(f'skipped {frame.key}: {exc}')
                continue
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
            if args.no_images:
                continue
            annotated = draw_detections(frame.image, dets)
            if source.kind == 'video':
                if writer is None:
                    writer = cv2.VideoWriter(str(save_dir / f'{source.path.stem}_annotated.mp4'),
                                             cv2.VideoWriter_fourcc(*'mp4v'), source.fps, (w, h))
                writer.write(annotated)
            else:
                cv2.imwrite(str(save_dir / f'{frame.key}.jpg'), annotated)
    if writer is not None:
        writer.release()
    print(summary(frames, skipped, counts, stage_ms, detector, save_dir))
    return 0


def summary(frames: int, skipped: int, counts, stage_ms, detector: Detector,
            save_dir: Path) -> str:
    """Human-readable end-of-run summary."""
    per_frame = {k: v / max(frames, 1) for k, v in stage_ms.items()}
    info = detector.info
    lines = [f'{frames} frames processed, {skipped} skipped; model {info.source} '
             f'({detector.backend.name}, {info.precision}, input {info.input_shape})',
             'mean ms/frame: ' + ', '.join(f'{k[:-3]} {v:.1f}' for k, v in per_frame.items()),
             'detections: ' + (', '.join(f'{n} {c}' for n, c in counts.most_common()) or 'none'),
             f'results in {save_dir}/ (detections.jsonl and annotated output)']
    return '\n'.join(lines)


if __name__ == '__main__':
    sys.exit(main())
