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
Tracker cost per frame next to detector time, and ID quality, on the three pedestrian clips.

    python bench/bench_tracker.py --model M.onnx [--max-frames N] [--threads 2]
    python bench/bench_tracker.py --model M.onnx --supervision-path DIR   # sv.ByteTrack too
    python bench/bench_tracker.py --model M.onnx --trackers bytetrack --option NAME=VALUE

The detector (640 px model, CPU, person class) runs once over every frame of each clip and is
timed per frame; then every candidate tracker runs over the same detections, timed per frame,
in the same process. Target: tracker <= 3% of detector time. ID quality (trackeval's MOTA,
IDF1, HOTA, ID switches, and frames to a pedestrian's first track) is printed per clip, at the
full frame rate and with every other frame dropped (the stamps say so).

``--supervision-path`` points at a folder holding supervision 0.26 (its ByteTrack was removed
in later releases; ``pip install --no-deps --target DIR supervision==0.26.1``); then that
tracker is measured instead of the ``trackers`` library (the two cannot share a process).
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path
import sys
import time

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault('YOLO_OFFLINE', '1')

from bench.clips import CLIPS, load_clip  # noqa: E402, I100
from bench.common import print_table, SHARED_DATA  # noqa: E402


class SupervisionByteTrack:
    """supervision 0.26's sv.ByteTrack behind the Tracker interface (frame-counted, no stamps)."""

    algorithm = 'sv.ByteTrack(0.26)'

    def __init__(self, frame_rate: float) -> None:
        import supervision as sv

        self._sv = sv
        self._tracker = sv.ByteTrack(frame_rate=int(round(frame_rate)))

    def update(self, dets, stamp):
        from dataclasses import replace

        svd = self._sv.Detections(xyxy=dets.xyxy, confidence=dets.scores,
                                  class_id=dets.class_ids, data={'index': np.arange(len(dets))})
        out = self._tracker.update_with_detections(svd)
        ids = np.full(len(dets), -1, np.int64)
        if len(out):  # it returns only tracked rows, and drops ``data`` when there are none
            ids[out.data['index']] = out.tracker_id
        return replace(dets, track_ids=ids)


def make_candidates(args, fps: float) -> list:
    if args.supervision_path:
        return [SupervisionByteTrack(fps)]
    from vru_detector.tracker import Tracker

    options = dict(_option(o) for o in args.option)
    return [Tracker(name, frame_rate=fps, **options) for name in args.trackers]


def _option(text: str) -> tuple[str, float]:
    name, _, value = text.partition('=')
    return name, float(value)


def run_tracker(tracker, detections, stamps, keep) -> tuple[list, float]:
    """Feed the kept frames; return per-frame outputs (None where dropped) and mean ms."""
    out, times = [], []
    for dets, stamp, kept in zip(detections, stamps, keep):
        if not kept:
            out.append(None)
            continue
        t0 = time.perf_counter()
        out.append(tracker.update(dets, stamp))
        times.append(time.perf_counter() - t0)
    return out, 1e3 * float(np.mean(times))


def quality(clip, tracked) -> dict:
    from vru_detector.replay.tracking_metrics import TrackFrame, tracking_report

    frames = []
    for k, t in enumerate(tracked):
        f = TrackFrame(float(clip.stamps[k]), clip.gt_ids[k], clip.gt_xyxy[k],
                       evaluated=t is not None)
        if t is not None:
            confirmed = t.track_ids >= 0
            f.track_ids, f.track_xyxy = t.track_ids[confirmed], t.xyxy[confirmed]
        frames.append(f)
    return tracking_report(frames)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--model', type=Path, required=True, help='640 px detector ONNX')
    p.add_argument('--videos', type=Path, default=SHARED_DATA / 'videos')
    p.add_argument('--max-frames', type=int, help='first N frames of each clip')
    p.add_argument('--threads', type=int, default=0, help='ONNX Runtime threads (0: all)')
    p.add_argument('--trackers', nargs='+', default=['bytetrack', 'sort', 'ocsort'])
    p.add_argument('--supervision-path', type=Path)
    p.add_argument('--option', action='append', default=[], metavar='NAME=VALUE',
                   help='library tracker option for every --trackers entry, e.g. '
                   'track_activation_threshold=0.5')
    args = p.parse_args()
    if args.supervision_path:
        sys.path.insert(0, str(args.supervision_path))
    from vru_detector import Detector

    det = Detector(args.model, conf=0.25, classes=['person'], threads=args.threads)
    det(np.zeros((480, 640, 3), np.uint8))  # warm-up
    cost_rows, quality_rows = [], []
    for name in CLIPS:
        clip = load_clip(args.videos / name, args.max_frames)
        fps = 1.0 / float(np.median(np.diff(clip.stamps)))
        detections, det_ms = [], []
        for frame in clip.frames:
            t0 = time.perf_counter()
            detections.append(det(frame))
            det_ms.append(time.perf_counter() - t0)
        det_mean = 1e3 * float(np.mean(det_ms))
        counts = [len(d) for d in detections]
        for drop, keep in (('none', np.ones(len(clip.frames), bool)),
                           ('every 2nd', np.arange(len(clip.frames)) % 2 == 0)):
            for tracker in make_candidates(args, fps):
                tracked, trk_ms = run_tracker(tracker, detections, clip.stamps, keep)
                if drop == 'none':
                    cost_rows.append([clip.name, len(clip.frames), f'{np.mean(counts):.1f}',
                                      max(counts), tracker.algorithm, f'{det_mean:.1f}',
                                      f'{trk_ms:.3f}', f'{100 * trk_ms / det_mean:.2f}%'])
                r = quality(clip, tracked)
                m, ft = r['metrics'], r['first_track']
                quality_rows.append([clip.name, drop, tracker.algorithm, f"{m['MOTA']:.3f}",
                                     f"{m['IDF1']:.3f}", f"{m['HOTA']:.3f}", m['IDSW'],
                                     m['track_ids'], m['gt_ids'], ft['frames_median'],
                                     ft['never_tracked']])
    print('\nTracker cost per frame next to the detector (same process, same frames)\n')
    print_table(['clip', 'frames', 'persons/frame', 'max', 'tracker', 'detector ms',
                 'tracker ms', 'tracker/detector'], cost_rows)
    print('\nID quality (trackeval), detections at conf 0.25\n')
    print_table(['clip', 'dropped', 'tracker', 'MOTA', 'IDF1', 'HOTA', 'IDSW', 'track ids',
                 'gt ids', 'first track median (frames)', 'never tracked'], quality_rows)


if __name__ == '__main__':
    main()
