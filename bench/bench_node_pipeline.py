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
The node's per-frame work, stage by stage, against the model's own inference time.

    python bench/bench_node_pipeline.py [--frames 40] [--model M.onnx] [--backend B] [--profile]

ROS-free: rosbags message types, real 1280x720 street frames as bgr8 Images, the node's
DetectionPipeline, and "publish" = CDR serialization of the Detection2DArray (what the
middleware must do with it). With 5 and with 100 detections per frame, it prints the median
ms of each stage and processing / inference (target on a real graph: end to end / inference
<= 1.3 at 720p, conf 0.25). ``--profile`` lists the hottest functions outside the model;
``--startup`` times the first frames after activation with the old warm-up (one inference on a
blank input-sized image) and the new one (the whole path 3x at 1280x720).
Default model: ultralytics' YOLOv8n COCO weights in ../shared/models, exported to ONNX at 640.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time

from common import pretrained_onnx, print_table, street_images
import cv2
import numpy as np

from vru_detector import Detector
from vru_detector.msgs.convert import numpy_to_image
from vru_detector.msgs.messages import (detection_to_msg, detections_to_msg, make_header,
                                        rosbags_message_types)
from vru_detector.msgs.msg_types import typestore_with_vision_msgs
from vru_detector.ros.pipeline import DetectionPipeline
from vru_detector.stats import PipelineStats, STAGES

# (label, conf, max_det): the real model at the operating threshold, capped to 5 detections;
# and a low threshold so that every frame carries 100
CASES = (('5 detections', 0.25, 5), ('100 detections', 0.001, 100))


def camera_frames(n: int, types) -> list:
    """1280x720 bgr8 Image messages of real BDD100K frames, stamped."""
    msgs = []
    for k, path in enumerate(p for p in street_images(4 * n) if 'bdd100k' in str(p)):
        image = cv2.imread(str(path))
        if image.shape[:2] != (720, 1280):
            image = cv2.resize(image, (1280, 720))
        msgs.append(numpy_to_image(image, 'bgr8', make_header(100 + k, 0, 'cam', types),
                                   types.Image))
        if len(msgs) == n:
            break
    return msgs


def run_case(detector: Detector, msgs: list, frames: int, types, serialize) -> dict:
    """Median ms per stage over ``frames`` frames (after 5 warm-up frames), and detections."""
    pipeline = DetectionPipeline(detector, types, PipelineStats())
    rows = {stage: [] for stage in STAGES}
    rows['processing'], counts = [], []
    for i in range(frames + 5):
        result = pipeline.process(msgs[i % len(msgs)], 1e9, publish=serialize)
        if i < 5:
            continue
        for stage, ms in result.stages_ms.items():
            rows[stage].append(ms)
        rows['processing'].append(result.processing_ms)
        counts.append(len(result.detections.detections))
    med = {k: statistics.median(v) for k, v in rows.items() if k != 'debug_image'}
    med['detections'] = statistics.median(counts)
    return med


def profile_case(detector: Detector, msgs: list, types, serialize, top: int = 12) -> None:
    """Print the functions with the most own time outside the model, for 100 detections."""
    pipeline = DetectionPipeline(detector, types, PipelineStats())
    prof = cProfile.Profile()
    prof.enable()
    for i in range(20):
        pipeline.process(msgs[i % len(msgs)], 1e9, publish=serialize)
    prof.disable()
    stats = pstats.Stats(prof)
    rows = []
    for (file, line, func), (_, calls, own, cum, _) in stats.stats.items():
        if 'onnxruntime' in file or func == 'run':
            continue
        rows.append([f'{file.split("site-packages/")[-1].split("work/main/")[-1]}:{func}',
                     calls // 20, own / 20 * 1e3, cum / 20 * 1e3])
    rows.sort(key=lambda r: -r[2])
    print('\nprofile, 100 detections, per frame (ms), inference excluded')
    print_table(['function', 'calls/frame', 'own ms', 'cumulative ms'], rows[:top])


def compare_builders(detector: Detector, msgs: list, types, repeat: int = 30) -> None:
    """Detection2DArray building: per frame (shared header and pose) vs one message per box."""
    image = numpy_image(msgs[0])
    dets = detector(image)
    header = msgs[0].header

    def box_by_box():
        return types.Detection2DArray(header=header, detections=[
            detection_to_msg(dets.xyxy[i], dets.scores[i], dets.labels[i], header, types)
            for i in range(len(dets))])

    fast, slow = [], []
    for _ in range(repeat):  # interleaved
        t0 = time.perf_counter()
        detections_to_msg(dets, header, types)
        t1 = time.perf_counter()
        box_by_box()
        t2 = time.perf_counter()
        fast.append((t1 - t0) * 1e3)
        slow.append((t2 - t1) * 1e3)
    f, b = statistics.median(fast), statistics.median(slow)
    print(f'\nmessage building, {len(dets)} detections, median of {repeat}')
    print_table(['builder', 'ms', 'ratio'], [['per frame (detections_to_msg)', f, f / b],
                                             ['one message per box (before)', b, 1.0]])


def numpy_image(msg) -> np.ndarray:
    from vru_detector.msgs.convert import message_to_bgr8
    return message_to_bgr8(msg)


def first_frames(model: str, msgs: list, types, serialize, new: bool, n: int) -> list:
    """Ms of the first ``n`` frames after a fresh model load and one kind of warm-up."""
    detector = Detector(model, conf=0.25)
    pipeline = DetectionPipeline(detector, types, PipelineStats())
    if new:
        pipeline.warm_up()
    else:
        h, w = detector.info.input_shape
        detector(np.zeros((h, w, 3), np.uint8))
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        pipeline.process(msgs[i % len(msgs)], 1e9, publish=serialize)
        times.append((time.perf_counter() - t0) * 1e3)
    detector.close()
    return times


def startup(model: str, msgs: list, types, serialize, trials: int = 5, first: int = 3,
            total: int = 20) -> None:
    """First frames after activation, old warm-up vs new, each over fresh loads (alternated)."""
    runs = {False: [], True: []}
    for _ in range(trials):
        for new in (False, True):
            runs[new].append(first_frames(model, msgs, types, serialize, new, total))
    rows = []
    for new, label in ((False, 'old: 1 inference, blank, input-sized'),
                       (True, 'new: whole path 3x at 1280x720')):
        t = np.asarray(runs[new])
        steady = float(np.median(t[:, first + 5:]))
        head = float(np.median(t[:, :first].sum(1)))
        rows.append([label, float(np.median(t[:, 0])), head, steady,
                     float(np.median(t[:, 0])) / steady, head / (first * steady)])
    print(f'\nstart-up: ms after activation, median over {trials} fresh loads each')
    print_table(['warm-up', 'frame 1', f'first {first} (sum)', 'steady median',
                 'frame 1 / steady', f'first {first} / ({first} x steady)'], rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument('--frames', type=int, default=40)
    p.add_argument('--model', help='ONNX model (default: YOLOv8n COCO at 640)')
    p.add_argument('--backend', help='onnxruntime, openvino, ... (default: from the file)')
    p.add_argument('--profile', action='store_true')
    p.add_argument('--startup', action='store_true')
    p.add_argument('--startup-only', action='store_true', help='skip the stage table')
    args = p.parse_args()
    model = args.model or pretrained_onnx()
    types = rosbags_message_types()
    store = typestore_with_vision_msgs()

    def serialize(msg):
        store.serialize_cdr(msg, 'vision_msgs/msg/Detection2DArray')

    msgs = camera_frames(8, types)
    if args.startup_only:
        return startup(model, msgs, types, serialize)
    detector = Detector(model, backend=args.backend)
    rows = []
    shown = [s for s in STAGES if s not in ('debug_image', 'tracking')]  # no tracker here
    for label, conf, max_det in CASES:  # interleaved twice: the machine is shared
        detector.set_thresholds(conf)
        detector.max_det = max_det
        runs = [run_case(detector, msgs, args.frames // 2, types, serialize) for _ in range(2)]
        med = {k: statistics.mean(r[k] for r in runs) for k in runs[0]}
        rows.append([label, int(med['detections'])] + [med[s] for s in shown]
                    + [med['processing'], med['processing'] / med['inference']])
    print(f'model {model} ({detector.backend.name}), 1280x720 bgr8, {args.frames} frames per '
          'case, median ms')
    print_table(['case', 'dets'] + list(shown) + ['processing', 'processing / inference'], rows)
    if args.profile:
        detector.set_thresholds(CASES[1][1])
        detector.max_det = CASES[1][2]
        profile_case(detector, msgs, types, serialize)
        compare_builders(detector, msgs, types)
    if args.startup:
        startup(model, msgs, types, serialize)


if __name__ == '__main__':
    main()
