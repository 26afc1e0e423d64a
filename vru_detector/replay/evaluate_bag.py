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
would have dropped, and the recall left after those drops. The operating point is the node's:
``--conf`` with the per-class thresholds of config/classes.yaml (``--class-config``).

    vru-eval-bag drive/ --model student_int8.onnx --image-topic /camera/image_raw \\
        --gt-topic /ground_truth/detections --out eval/ --realtime

Several bags, a folder of bags or a list file evaluate each bag as a Ray task (local by
default, ``--address`` for a cluster, ``--workers 0`` for none) and add the pooled figures over
every frame; ``--baseline-model`` gates the model on the corpus (see ``fleet``).
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path
import sys
from typing import Any, Sequence

import numpy as np

from .bag_images import BagImages
from .errors import BagReadError
from .eval_run import EvalRun, latency_summary, realtime_summary, run_evaluation
from .fleet_inputs import is_fleet_input
from .metrics import Conf, conf_text, describe_conf, ReplayMetrics
from .prediction_bag import PredictionBagWriter
from .replay_intervals import BLOCK_S, replay_intervals
from .tracking_eval import add_tracking, chain, check_identities, TrackingRecorder
from .truth_lookup import TruthLookup
from ..backends import BACKENDS
from ..class_config import (CLASS_CONFIG_HELP, DEFAULT_CONF, default_thresholds,
                            load_cli_class_config, model_thresholds)
from ..cli.help import description, HelpFormatter
from ..errors import VruDetectorError
from ..extras import require
from ..labels import LabelFormatError, vru_names
from ..tracker import DEFAULT_TRACKER, TRACKERS


def worst_frames(bag: Path, topic: str, run: EvalRun, conf: Conf, count: int) -> list:
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


def write_report(out: Path, run: EvalRun, args: argparse.Namespace, detector: Any,
                 lookup: TruthLookup) -> dict:
    from . import report

    conf = args.operating
    metrics = run.metrics.summary(conf)
    metrics['bag'] = str(args.bag)
    metrics['run'] = {
        'model': str(args.model), 'backend': getattr(detector.backend, 'name', ''),
        'input_shape': list(detector.info.input_shape), 'precision': detector.info.precision,
        'image_topic': args.image_topic, 'ground_truth': lookup.description,
        'eval_conf': args.eval_conf, 'nms_iou': args.iou, 'frames_in_bag': run.frames_in_bag,
        'frames_read': len(run.timings), 'unlabelled_frames': len(run.unlabelled),
        'error': run.error, 'vru_classes': [n for n in run.metrics.names if n in vru_names()],
    }
    metrics['latency'] = latency_summary(run)
    if args.realtime:
        metrics['realtime'] = realtime_summary(run, conf)
    try:
        metrics['intervals'] = replay_intervals(run.metrics, conf, args.block_s)
    except ImportError as exc:  # scipy is the optional [eval] extra
        metrics['intervals'] = {'block_s': args.block_s, 'skipped': str(exc)}
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


def headline(metrics: dict, conf: float | dict, out: Path) -> str:
    """One line of results; a value that cannot exist says why instead of printing None."""
    def value(v: Any, why: str) -> str:
        return why if v is None else (f'{v:.3f}' if isinstance(v, float) else str(v))

    op, coco = metrics['operating_point']['all'], metrics['coco']
    no_truth = '- (no ground-truth boxes)'
    return (f'{metrics["frames"]} frames: mAP50-95 {value(coco["mAP50_95"], no_truth)}, mAP50 '
            f'{value(coco["mAP50"], no_truth)}, '
            f'P {value(op["precision"], f"- (no detection scored >= {conf_text(conf)})")} '
            f'R {value(op["recall"], no_truth)} at conf {conf_text(conf)}; report in {out}')


def operating_thresholds(args: argparse.Namespace, names: Sequence[str]) -> np.ndarray:
    """Return the node's score threshold of each class: ``--conf``, ``--class-config``'s."""
    from ..detector import class_thresholds

    own = model_thresholds(default_thresholds(load_cli_class_config(args.class_config)), names)
    thresholds = class_thresholds(list(names), args.conf, own)
    if not args.eval_conf <= thresholds.min():
        raise VruDetectorError(
            f'operating thresholds {conf_text(describe_conf(thresholds, names))} must be at '
            f'least --eval-conf {args.eval_conf}: mAP detections feed the operating point')
    return thresholds


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog='vru-eval-bag', description=description(__doc__, 2),
                                formatter_class=HelpFormatter)
    p.add_argument('bag', type=Path, nargs='+',
                   help='rosbag2 folder (mcap or sqlite3); several bags, a folder of bags or a '
                   'text file listing one bag per line evaluate them all (see --workers)')
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
    p.add_argument('--conf', type=float, default=DEFAULT_CONF,
                   help='operating score threshold of the classes --class-config gives none')
    p.add_argument('--class-config', help=CLASS_CONFIG_HELP)
    p.add_argument('--eval-conf', type=float, default=0.001,
                   help='score threshold of the detections that feed mAP (COCO style)')
    p.add_argument('--iou', type=float, default=0.7, help='NMS IoU')
    p.add_argument('--backend', choices=BACKENDS,
                   help='inference backend; default: chosen from the model file suffix (.onnx '
                   'on the CPU: openvino when installed, else onnxruntime)')
    p.add_argument('--device', default='cpu',
                   help='cpu, cuda or cuda:N; gpu or npu (Intel, openvino backend)')
    p.add_argument('--threads', type=int, help='CPU inference threads (onnxruntime, openvino; '
                   'default: all; 1 per bag with many bags)')
    p.add_argument('--max-frames', type=int, help='evaluate only the first N frames')
    p.add_argument('--realtime', action='store_true',
                   help='simulate live replay at the recorded rate: dropped frames, recall')
    p.add_argument('--write-bag', action='store_true',
                   help='also write OUT/replay_bag (mcap: images, predictions, ground truth)')
    p.add_argument('--tracking', nargs='?', const=DEFAULT_TRACKER, choices=TRACKERS[1:],
                   help='track the detections at --conf with the header stamps and report '
                   f'MOTA, IDF1, HOTA, ID switches and time to first track (default '
                   f'{DEFAULT_TRACKER}); needs ground truth with identities (MOT gt.txt)')
    p.add_argument('--block-s', type=float, default=BLOCK_S,
                   help='seconds of recording resampled together for the 95%% intervals '
                        '(frames of one drive are not independent)')
    p.add_argument('--worst', type=int, default=9, help='frames in the worst-frames grid')
    p.add_argument('--no-progress', action='store_true', help='no progress bar (for logs)')
    fleet = p.add_argument_group('many bags (a folder or list of bags, or several BAG arguments)')
    fleet.add_argument('--workers', type=int, default=os.cpu_count() or 1,
                       help='Ray workers on this machine, one bag per task and --threads CPUs '
                       'each (default: all cores); 0: no Ray, one bag after another here')
    fleet.add_argument('--address', help='join this Ray cluster (e.g. ray://head:10001 or '
                       'auto) instead of starting a local one')
    fleet.add_argument('--baseline-model', type=Path,
                       help='also evaluate this model; print the paired difference per bag and '
                       'pooled, and exit 3 when --model is significantly worse on person recall '
                       'or AP50 (95%% bootstrap interval over bags entirely below 0)')
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from ..detector import Detector

    args = build_parser().parse_args(argv)
    if is_fleet_input(args.bag) or args.baseline_model is not None:
        from .fleet import run_fleet

        return run_fleet(args)
    args.bag = args.bag[0]
    try:
        require('eval', 'vru-eval-bag')
        options = {} if args.threads is None else {'threads': args.threads}
        detector = Detector(args.model, backend=args.backend, device=args.device,
                            conf=args.eval_conf, iou=args.iou, max_det=300, **options)
        args.operating = operating_thresholds(args, detector.names)
        frames = BagImages(args.bag, args.image_topic).__enter__()
    except (VruDetectorError, LabelFormatError, ValueError) as exc:  # ValueError: class config
        print(f'vru-eval-bag: error: {exc}', file=sys.stderr)
        return 2
    writer = None
    try:
        if args.gt_topic:
            lookup = TruthLookup.from_topic(frames, args.gt_topic, detector.names)
        else:
            lookup = TruthLookup.from_labels(args.labels, detector.names, frames.keys,
                                             args.match, args.label_images)
        recorder = None
        if args.tracking:
            check_identities(lookup)
            recorder = TrackingRecorder(args.operating)
        args.out.mkdir(parents=True, exist_ok=True)
        if args.write_bag:
            bag_out = args.out / 'replay_bag'
            if bag_out.exists():
                raise VruDetectorError(f'{bag_out} exists; remove it or choose another --out')
            writer = PredictionBagWriter(bag_out, detector.names, args.operating)
        run = run_evaluation(frames, detector, lookup, EvalRun(ReplayMetrics(detector.names)),
                             args.max_frames, not args.no_progress, chain(writer, recorder))
    except (VruDetectorError, LabelFormatError, OSError) as exc:
        frames.close()
        print(f'vru-eval-bag: error: {exc}', file=sys.stderr)
        return 2
    finally:
        if writer is not None:
            writer.close()
    frames.close()
    metrics = write_report(args.out, run, args, detector, lookup)
    print(headline(metrics, describe_conf(args.operating, detector.names), args.out))
    if recorder is not None and recorder.index:
        for mode, r in add_tracking(args.out, metrics, recorder, args.tracking).items():
            if isinstance(r, dict) and 'metrics' in r:
                m, ft = r['metrics'], r['first_track']
                print(f'tracking ({args.tracking}, {mode}): MOTA {m["MOTA"]:.3f} IDF1 '
                      f'{m["IDF1"]:.3f} HOTA {m["HOTA"]:.3f} IDSW {m["IDSW"]}; first track '
                      f'median {ft["frames_median"]} frames, max {ft["frames_max"]}')
    if run.error:
        print(f'vru-eval-bag: error: stopped after {len(run.timings)} frames: {run.error} '
              '(metrics of the frames before it were written)', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
