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
``vru-eval-bag``: how the deployed detector does on a recorded drive (no ROS needed).

Reads the bag with rosbags, runs the Detector on every frame of the image topic (batch 1, the
node's code path), matches ground truth (a label file/folder, or a Detection2DArray topic in the
bag) by frame key, header stamp or frame index, and writes to ``--out``: metrics.json, report.md,
PR curves, confusion matrix, a grid of the worst frames, optionally a Foxglove/RViz bag with
images + predictions + ground truth. ``--realtime`` replays the recorded arrival times against
the measured latency and reports which frames a live node (single slot, newest frame wins)
would have dropped, and the recall left after those drops.

    vru-eval-bag drive/ --model student_int8.onnx --image-topic /camera/image_raw \\
        --gt-topic /ground_truth/detections --out eval/ --realtime
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
import sys
import time
from typing import Any, Callable, Sequence

import numpy as np

from .bag_images import BagFrame, BagImages, stamp_to_ns
from .errors import BagReadError, LabelFormatError
from .ground_truth import (dataset_names, default_image_dir, detect_format, find_image,
                           FrameTruth, GroundTruth, load_ground_truth, map_class,
                           parse_yolo_lines)
from .metrics import ReplayMetrics, VRU_CLASSES
from .realtime import simulate_single_slot
from ..errors import VruDetectorError

STAGES = ('read_decode', 'preprocess', 'inference', 'postprocess', 'detector', 'total')


@dataclass
class FrameTiming:
    index: int
    log_ns: int
    ms: dict[str, float]


@dataclass
class EvalRun:
    """State of one evaluation (kept so partial results survive an error)."""

    metrics: ReplayMetrics
    timings: list[FrameTiming] = field(default_factory=list)
    unlabelled: list[int] = field(default_factory=list)
    frames_in_bag: int = 0
    wall_s: float = 0.0
    error: str | None = None


# ----------------------------------------------------------------------------- ground truth
class TruthLookup:
    """Finds the ground truth of a bag frame: by stored frame key, header stamp or index."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = tuple(names)
        self.by_key: dict[str, FrameTruth] = {}
        self.by_stamp: dict[int, FrameTruth] = {}
        self.ordered: list[FrameTruth] = []
        self.lazy_yolo: dict[str, str] = {}
        self.ordered_keys: list[str] = []
        self.class_map: dict[int, int | None] | None = None
        self.stamps = np.zeros(0, np.int64)
        self.mode = 'key'
        self.description = ''

    @classmethod
    def from_labels(cls, path: Path, names: Sequence[str], bag_keys: list[str] | None,
                    match: str, image_dir: Path | None = None) -> TruthLookup:
        self = cls(names)
        fmt = detect_format(path)
        truth: GroundTruth | None = None
        first = next(iter(sorted(path.glob('*.txt'))), None) if fmt == 'yolo' else None
        if first is not None and image_dir is None and \
                find_image(default_image_dir(path), first.stem) is None:
            # normalised boxes and no images beside: scale with each bag frame's size
            try:
                self.lazy_yolo = {p.stem: p.read_text() for p in sorted(path.glob('*.txt'))}
            except (OSError, UnicodeDecodeError) as exc:
                raise LabelFormatError(f'{path}: unreadable label file ({exc})') from None
            keys = sorted(self.lazy_yolo)
            source = dataset_names(path)
            if source is not None:
                self.class_map = {i: map_class(n, names, str(path)) for i, n in enumerate(source)}
        else:
            truth = load_ground_truth(path, names, image_dir=image_dir)
            self.by_key = truth.by_key
            self.ordered = truth.frames
            keys = list(truth.by_key)
        if match == 'auto':
            match = 'key' if bag_keys and set(bag_keys) & set(keys) else 'index'
        if match == 'stamp':
            raise VruDetectorError('--match stamp needs --gt-topic (label files carry no stamps)')
        self.mode = match
        if self.lazy_yolo and match == 'index':
            self.ordered_keys = keys
        self.description = f'{path} ({fmt}, matched by frame {match})'
        return self

    @classmethod
    def from_topic(cls, frames: BagImages, topic: str, names: Sequence[str]) -> TruthLookup:
        from .messages import read_detection_array

        self = cls(names)
        if topic not in frames.topics:
            raise BagReadError(f'ground-truth topic {topic!r} is not in {frames.bag}; it has: '
                               + ', '.join(f'{t} [{m}]' for t, m in sorted(frames.topics.items())))
        if frames.topics[topic] != 'vision_msgs/msg/Detection2DArray':
            raise BagReadError(f'ground-truth topic {topic!r} carries {frames.topics[topic]}, '
                               'expected vision_msgs/msg/Detection2DArray')
        for _, msg in frames.messages(topic):
            xyxy, cls_ids, _, ignore = read_detection_array(msg, names)
            stamp = stamp_to_ns(msg.header.stamp)
            self.by_stamp[stamp] = FrameTruth(str(stamp), xyxy, cls_ids, ignore)
        self.stamps = np.array(sorted(self.by_stamp), np.int64)
        self.mode = 'stamp'
        self.description = f'topic {topic} ({len(self.by_stamp)} messages, matched by stamp)'
        return self

    def find(self, frame: BagFrame, tolerance_ns: int = 1_000_000) -> FrameTruth | None:
        if self.mode == 'stamp':
            if frame.stamp_ns in self.by_stamp:
                return self.by_stamp[frame.stamp_ns]
            if not len(self.stamps):
                return None
            i = int(np.clip(np.searchsorted(self.stamps, frame.stamp_ns), 1, len(self.stamps)) - 1)
            near = min(self.stamps[i:i + 2], key=lambda s: abs(int(s) - frame.stamp_ns))
            return self.by_stamp[int(near)] if abs(int(near) - frame.stamp_ns) <= \
                tolerance_ns else None
        if self.lazy_yolo:
            key = frame.key if self.mode == 'key' else (
                self.ordered_keys[frame.index] if frame.index < len(self.ordered_keys) else None)
            if key is None or key not in self.lazy_yolo:
                return None
            shape = frame.image.shape[:2]
            boxes, classes = parse_yolo_lines(self.lazy_yolo[key], shape, len(self.names), key,
                                              self.class_map)
            return FrameTruth.from_lists(key, boxes, classes, None, shape)
        if self.mode == 'key':
            return self.by_key.get(frame.key)
        return self.ordered[frame.index] if frame.index < len(self.ordered) else None


# ----------------------------------------------------------------------------- running
def percentiles(values: Sequence[float] | np.ndarray) -> dict[str, float | None]:
    if not len(values):
        return {'p50': None, 'p95': None, 'p99': None, 'mean': None}
    v = np.asarray(values, np.float64)
    p50, p95, p99 = np.percentile(v, [50, 95, 99])
    return {'p50': round(float(p50), 3), 'p95': round(float(p95), 3),
            'p99': round(float(p99), 3), 'mean': round(float(v.mean()), 3)}


def run_evaluation(frames: BagImages, detector: Any, lookup: TruthLookup, run: EvalRun,
                   max_frames: int | None = None, progress: bool = True,
                   on_frame: Callable[[BagFrame, Any, FrameTruth | None], None] | None = None
                   ) -> EvalRun:
    """Detect on every frame, feeding metrics and timings; stops cleanly on a bag error."""
    from tqdm import tqdm

    total = frames.count if max_frames is None else min(frames.count, max_frames)
    run.frames_in_bag = frames.count
    it = iter(frames)
    bar = tqdm(total=total, desc='evaluating', unit='frame', disable=not progress)
    t_start = time.perf_counter()
    try:
        while max_frames is None or len(run.timings) < max_frames:
            t0 = time.perf_counter()
            try:
                frame = next(it)
            except StopIteration:
                break
            t1 = time.perf_counter()
            dets = detector(frame.image)
            t2 = time.perf_counter()
            st = detector.times
            run.timings.append(FrameTiming(frame.index, frame.log_ns, {
                'read_decode': (t1 - t0) * 1e3, 'preprocess': st.preprocess_ms,
                'inference': st.inference_ms, 'postprocess': st.postprocess_ms,
                'detector': (t2 - t1) * 1e3, 'total': (t2 - t0) * 1e3}))
            truth = lookup.find(frame)
            if truth is None:
                run.unlabelled.append(frame.index)
            else:
                h, w = frame.image.shape[:2]
                run.metrics.add(frame.index, frame.key, frame.stamp_ns, truth.clipped(h, w),
                                dets.xyxy, dets.scores, dets.class_ids)
            if on_frame is not None:
                on_frame(frame, dets, truth)
            bar.update(1)
    except (BagReadError, VruDetectorError, ValueError) as exc:
        run.error = f'{type(exc).__name__}: {exc}'
    except KeyboardInterrupt:
        run.error = 'interrupted (Ctrl-C)'
    finally:
        bar.close()
        run.wall_s = time.perf_counter() - t_start
    return run


def latency_summary(run: EvalRun) -> dict:
    stages = {s: percentiles([t.ms[s] for t in run.timings]) for s in STAGES}
    n = len(run.timings)
    det_mean = stages['detector']['mean']
    return {'stages': stages, 'frames': n,
            'throughput_fps': round(n / run.wall_s, 3) if run.wall_s > 0 and n else None,
            'detector_fps': round(1000.0 / det_mean, 3) if det_mean else None}


def realtime_summary(run: EvalRun, conf: float) -> dict | None:
    if len(run.timings) < 2:
        return None
    arrival = [t.log_ns for t in run.timings]
    order = np.argsort(arrival, kind='mergesort')
    arrival_sorted = np.asarray(arrival)[order]
    latency = np.asarray([run.timings[i].ms['read_decode'] + run.timings[i].ms['detector']
                          for i in order])
    sim = simulate_single_slot(arrival_sorted, latency)
    dropped_idx = {run.timings[order[i]].index for i in sim.dropped}
    pos = {rec.index: p for p, rec in enumerate(run.metrics.frames)}
    lost = frozenset(pos[i] for i in dropped_idx if i in pos)
    op = run.metrics.operating_point(conf, lost)
    span = (arrival_sorted[-1] - arrival_sorted[0]) / 1e9
    return {
        'policy': 'single slot, newest frame wins',
        'frames': len(arrival), 'recorded_fps': round((len(arrival) - 1) / span, 3)
        if span > 0 else None,
        'dropped_frames': len(dropped_idx), 'drop_rate': round(len(dropped_idx) / len(arrival), 4),
        'dropped': sorted(dropped_idx),
        'recall': op['all']['recall'], 'vru_recall': (op['vru'] or {}).get('recall'),
        'precision': op['all']['precision'],
        'end_to_end_ms': percentiles(sim.end_to_end_ms(arrival_sorted)),
    }


def worst_frames(bag: Path, topic: str, run: EvalRun, conf: float, count: int) -> list:
    """(title, annotated image) of the frames with most misses (VRU x2) + false alarms."""
    from .report import annotate_errors

    errors = run.metrics.frame_errors(conf)
    # a missed VRU weighs twice a missed car or a false alarm
    scored = [(2 * vru + other + fa, pos) for pos, vru, other, fa in errors if vru + other + fa]
    scored.sort(key=lambda x: (-x[0], x[1]))
    chosen = {run.metrics.frames[pos].index: pos for _, pos in scored[:count]}
    if not chosen:
        return []
    tiles: dict[int, tuple[str, np.ndarray]] = {}
    try:
        with BagImages(bag, topic) as frames:
            for frame in frames:
                if frame.index in chosen:
                    rec = run.metrics.frames[chosen[frame.index]]
                    _, vru, other, fa = errors[chosen[frame.index]]
                    tiles[frame.index] = (
                        f'frame {frame.index} ({frame.key}): {vru + other} missed ({vru} VRU), '
                        f'{fa} false alarms',
                        annotate_errors(frame.image, rec, run.metrics.names, conf))
                if len(tiles) == len(chosen) or frame.index > max(chosen):
                    break
    except (BagReadError, VruDetectorError):
        pass  # a corrupt tail already reported; draw what could be read
    return [tiles[i] for i in chosen if i in tiles]


class PredictionBagWriter:
    """An mcap bag with the frames (JPEG), predictions and ground truth, for Foxglove / RViz."""

    def __init__(self, path: Path, names: Sequence[str], conf: float) -> None:
        from rosbags.rosbag2 import StoragePlugin, Writer

        from .make_bag import sensor_qos
        from ..ros.msg_types import typestore_with_vision_msgs

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
        keep = dets.scores >= self.conf
        pred = detection_array(ts, hdr, dets.xyxy[keep],
                               [self.names[c] for c in dets.class_ids[keep]], dets.scores[keep])
        self.writer.write(self.pred, frame.log_ns, ts.serialize_cdr(pred, det_type))
        if truth is not None:
            gt = detection_array(ts, hdr, truth.xyxy, [self.names[c] for c in truth.class_ids],
                                 None, [IGNORE_ID if i else '' for i in truth.ignore])
            self.writer.write(self.gt, frame.log_ns, ts.serialize_cdr(gt, det_type))

    def close(self) -> None:
        self.writer.close()


def write_report(out: Path, run: EvalRun, args: argparse.Namespace, detector: Any,
                 lookup: TruthLookup) -> dict:
    from . import report

    conf = args.conf
    metrics = run.metrics.summary(conf)
    metrics['bag'] = str(args.bag)
    metrics['run'] = {
        'model': str(args.model), 'backend': getattr(detector.backend, 'name', ''),
        'input_shape': list(detector.info.input_shape), 'precision': detector.info.precision,
        'image_topic': args.image_topic, 'ground_truth': lookup.description,
        'eval_conf': args.eval_conf, 'nms_iou': args.iou, 'frames_in_bag': run.frames_in_bag,
        'frames_read': len(run.timings), 'unlabelled_frames': len(run.unlabelled),
        'error': run.error, 'vru_classes': [n for n in run.metrics.names if n in VRU_CLASSES],
    }
    metrics['latency'] = latency_summary(run)
    if args.realtime:
        metrics['realtime'] = realtime_summary(run, conf)
    images = []
    coco = run.metrics.coco()
    curves = {run.metrics.names[k]: (rc, pr) for k, (rc, pr, _) in coco.pr_curves.items()}
    ap50 = {n: metrics['coco']['by_class'][n]['mAP50'] for n in curves}
    images.append(report.plot_pr_curves(curves, ap50, out / 'pr_curves.png'))
    cm = metrics['confusion_matrix']
    images.append(report.plot_confusion(np.asarray(cm['matrix']), cm['labels'],
                                        out / 'confusion_matrix.png'))
    if args.worst > 0 and run.metrics.frames:
        tiles = worst_frames(args.bag, args.image_topic, run, conf, args.worst)
        grid = report.plot_worst_frames(tiles, out / 'worst_frames.png')
        if grid:
            images.append(grid)
    metrics['files'] = [p.name for p in images]
    report.write_json(out / 'metrics.json', metrics)
    report.write_markdown(metrics, out / 'report.md', [str(p) for p in images])
    return metrics


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog='vru-eval-bag', description=__doc__.strip().split('\n\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('bag', type=Path, help='rosbag2 folder (mcap or sqlite3)')
    p.add_argument('--model', type=Path, required=True, help='.onnx / .engine / .pt')
    p.add_argument('--image-topic', required=True, help='sensor_msgs Image or CompressedImage')
    gt = p.add_mutually_exclusive_group(required=True)
    gt.add_argument('--labels', type=Path, help='YOLO labels folder, COCO/BDD100K .json or '
                    'MOT gt.txt')
    gt.add_argument('--gt-topic', help='vision_msgs/Detection2DArray topic in the bag')
    p.add_argument('--out', type=Path, required=True, help='report folder (created)')
    p.add_argument('--label-images', type=Path,
                   help='images of a YOLO labels folder (for their sizes); default: the '
                   "images/ folder beside, else each bag frame's size")
    p.add_argument('--match', choices=('auto', 'key', 'index', 'stamp'), default='auto',
                   help='how label files map to frames: the frame keys vru-make-bag stored, '
                   'else frame order (auto); --gt-topic always matches header stamps')
    p.add_argument('--conf', type=float, default=0.25, help='operating score threshold')
    p.add_argument('--eval-conf', type=float, default=0.001,
                   help='score threshold of the detections that feed mAP (COCO style)')
    p.add_argument('--iou', type=float, default=0.7, help='NMS IoU')
    p.add_argument('--backend', choices=('onnxruntime', 'tensorrt', 'torch'))
    p.add_argument('--device', default='cpu')
    p.add_argument('--threads', type=int, help='ONNX Runtime intra-op threads (default: all)')
    p.add_argument('--max-frames', type=int, help='evaluate only the first N frames')
    p.add_argument('--realtime', action='store_true',
                   help='simulate live replay at the recorded rate: dropped frames, recall')
    p.add_argument('--write-bag', action='store_true',
                   help='also write OUT/replay_bag (mcap: images, predictions, ground truth)')
    p.add_argument('--worst', type=int, default=9, help='frames in the worst-frames grid')
    p.add_argument('--no-progress', action='store_true')
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from ..detector import Detector

    args = build_parser().parse_args(argv)
    try:
        options = {} if args.threads is None else {'threads': args.threads}
        detector = Detector(args.model, backend=args.backend, device=args.device,
                            conf=args.eval_conf, iou=args.iou, max_det=300, **options)
        if not args.eval_conf <= args.conf <= 1:
            raise VruDetectorError(f'--conf {args.conf} must be within [--eval-conf '
                                   f'{args.eval_conf}, 1]: mAP detections feed the operating '
                                   'point')
        frames = BagImages(args.bag, args.image_topic).__enter__()
    except (VruDetectorError, LabelFormatError) as exc:
        print(f'vru-eval-bag: error: {exc}', file=sys.stderr)
        return 2
    writer = None
    try:
        if args.gt_topic:
            lookup = TruthLookup.from_topic(frames, args.gt_topic, detector.names)
        else:
            lookup = TruthLookup.from_labels(args.labels, detector.names, frames.keys,
                                             args.match, args.label_images)
        args.out.mkdir(parents=True, exist_ok=True)
        if args.write_bag:
            bag_out = args.out / 'replay_bag'
            if bag_out.exists():
                raise VruDetectorError(f'{bag_out} exists; remove it or choose another --out')
            writer = PredictionBagWriter(bag_out, detector.names, args.conf)
        run = run_evaluation(frames, detector, lookup, EvalRun(ReplayMetrics(detector.names)),
                             args.max_frames, not args.no_progress, writer)
    except (VruDetectorError, LabelFormatError, OSError) as exc:
        frames.close()
        print(f'vru-eval-bag: error: {exc}', file=sys.stderr)
        return 2
    finally:
        if writer is not None:
            writer.close()
    frames.close()
    metrics = write_report(args.out, run, args, detector, lookup)
    op = metrics['operating_point']['all']
    print(f'{metrics["frames"]} frames: mAP50-95 {metrics["coco"]["mAP50_95"]}, mAP50 '
          f'{metrics["coco"]["mAP50"]}, P {op["precision"]} R {op["recall"]} at conf '
          f'{args.conf}; report in {args.out}')
    if run.error:
        print(f'vru-eval-bag: error: stopped after {len(run.timings)} frames: {run.error} '
              '(metrics of the frames before it were written)', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
