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
Tracking metrics equal trackeval's and motmetrics' own runs on the same MOT-format files.

The reference is each library's documented file path: trackeval's Evaluator over a MOT15
folder (gt/, seqinfo.ini, trackers/<name>/data/<seq>.txt) and motmetrics' loadtxt +
compare_to_groundtruth. Ours is computed from in-memory frames, as vru-eval-bag does.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from optional import requires
import pytest

from vru_detector.replay.tracking_metrics import TrackFrame, tracking_report

pytestmark = requires('trackeval')  # tracking_report computes with it

FPS = 25.0
SEQ = 'seq'


def box(x: float, y: float = 100.0, w: float = 40.0, h: float = 80.0) -> list[float]:
    return [x, y, w, h]


def known_case() -> tuple[list, list, int]:
    """
    10 frames. GT 1 (frames 1-10), 2 (3-10), 3 (6-10); track 7 -> 8 switch on GT 1 at frame 6.

    GT 2 is tracked from frame 5, GT 3 never; track 11 is a false positive on frames 1-2.
    Rows are MOT15 lines: frame, id, left, top, width, height, flag/conf.
    """
    gt, trk = [], []
    for f in range(1, 11):
        gt.append([f, 1, *box(10 + 5 * f), 1])
        if f >= 3:
            gt.append([f, 2, *box(200 + 3 * f, 50), 1])
        if f >= 6:
            gt.append([f, 3, *box(400, 200), 1])
        if 2 <= f <= 5:
            trk.append([f, 7, *box(11 + 5 * f), 0.9])
        if f >= 6:
            trk.append([f, 8, *box(12 + 5 * f, 102), 0.9])
        if f >= 5:
            trk.append([f, 9, *box(201 + 3 * f, 52), 0.8])
        if f <= 2:
            trk.append([f, 11, *box(500, 300), 0.7])
    return gt, trk, 10


def frames_from_rows(gt: list, trk: list, n: int) -> list[TrackFrame]:
    def xyxy(rows):
        a = np.asarray(rows, np.float64).reshape(-1, 7)
        return a[:, 1].astype(np.int64), np.c_[a[:, 2:4], a[:, 2:4] + a[:, 4:6]]

    frames = []
    for f in range(1, n + 1):
        g = [r for r in gt if r[0] == f and r[6] != 0]
        t = [r for r in trk if r[0] == f]
        gid, gbox = xyxy(g)
        tid, tbox = xyxy(t)
        frames.append(TrackFrame((f - 1) / FPS, gid, gbox, tid, tbox))
    return frames


def write_mot(path: Path, rows: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(''.join(','.join(f'{v:.17g}' for v in r) + ',-1,-1,-1\n' for r in rows))
    return path


def trackeval_on_files(tmp: Path, gt: list, trk: list, n: int) -> dict:
    """Run trackeval's own MOT15 pipeline on files (the MOTChallenge reference)."""
    trackeval = pytest.importorskip('trackeval', reason='pip install trackeval')
    from trackeval.datasets import MotChallenge2DBox
    from trackeval.metrics import CLEAR, HOTA, Identity

    write_mot(tmp / 'gt' / SEQ / 'gt' / 'gt.txt', gt)
    (tmp / 'gt' / SEQ / 'seqinfo.ini').write_text(
        f'[Sequence]\nname={SEQ}\nframeRate={FPS:g}\nseqLength={n}\nimWidth=640\n'
        'imHeight=480\n')
    write_mot(tmp / 'trackers' / 'ours' / 'data' / f'{SEQ}.txt', trk)
    dataset = MotChallenge2DBox({
        'GT_FOLDER': str(tmp / 'gt'), 'TRACKERS_FOLDER': str(tmp / 'trackers'),
        'BENCHMARK': 'MOT15', 'SKIP_SPLIT_FOL': True, 'SEQ_INFO': {SEQ: n},
        'TRACKERS_TO_EVAL': ['ours'], 'PRINT_CONFIG': False})
    evaluator = trackeval.Evaluator({
        'USE_PARALLEL': False, 'PRINT_RESULTS': False, 'PRINT_CONFIG': False,
        'OUTPUT_SUMMARY': False, 'OUTPUT_DETAILED': False, 'PLOT_CURVES': False,
        'TIME_PROGRESS': False, 'DISPLAY_LESS_PROGRESS': True, 'PRINT_ONLY_COMBINED': True})
    res, msg = evaluator.evaluate([dataset], [HOTA(), CLEAR({'PRINT_CONFIG': False}),
                                              Identity({'PRINT_CONFIG': False})])
    assert msg['MotChallenge2DBox']['ours'] == 'Success', msg
    r = res['MotChallenge2DBox']['ours'][SEQ]['pedestrian']
    return {'MOTA': r['CLEAR']['MOTA'], 'IDF1': r['Identity']['IDF1'],
            'HOTA': float(np.mean(r['HOTA']['HOTA'])), 'IDSW': r['CLEAR']['IDSW'],
            'FP': r['CLEAR']['CLR_FP'], 'FN': r['CLEAR']['CLR_FN']}


def motmetrics_on_files(tmp: Path, gt: list, trk: list, monkeypatch) -> dict:
    """Run motmetrics' MOT15 path; its last release (1.4.0, 2022) still calls np.asfarray."""
    mm = pytest.importorskip('motmetrics', reason='pip install motmetrics')
    if not hasattr(np, 'asfarray'):  # removed in NumPy 2.0; the documented equivalent
        monkeypatch.setattr(np, 'asfarray', lambda a: np.asarray(a, np.float64), raising=False)
    gt_df = mm.io.loadtxt(str(write_mot(tmp / 'mm' / 'gt.txt', gt)), fmt='mot15-2D')
    ts_df = mm.io.loadtxt(str(write_mot(tmp / 'mm' / 'ts.txt', trk)), fmt='mot15-2D')
    acc = mm.utils.compare_to_groundtruth(gt_df, ts_df, 'iou', distth=0.5)
    s = mm.metrics.create().compute(acc, metrics=['mota', 'idf1', 'num_switches'], name='x')
    return {'MOTA': float(s['mota'].iloc[0]), 'IDF1': float(s['idf1'].iloc[0]),
            'IDSW': int(s['num_switches'].iloc[0])}


def assert_same(ours: dict, ref: dict) -> None:
    for key, value in ref.items():
        assert ours[key] == pytest.approx(value, abs=1e-9), f'{key}: ours {ours[key]}, ref {value}'


def test_known_case_equals_trackeval_and_motmetrics_on_files(tmp_path, monkeypatch):
    gt, trk, n = known_case()
    report = tracking_report(frames_from_rows(gt, trk, n))
    ours = report['metrics']
    assert_same(ours, trackeval_on_files(tmp_path, gt, trk, n))
    assert_same(ours, motmetrics_on_files(tmp_path, gt, trk, monkeypatch))
    # the case as designed: one switch, 2 FP (track 11), misses of GT 1 f1, GT 2 f3-4, GT 3
    assert (ours['IDSW'], ours['FP'], ours['FN']) == (1, 2, 1 + 2 + 5)


def test_ignored_ground_truth_is_removed_as_trackeval_does_for_mot15(tmp_path):
    gt, trk, n = known_case()
    gt += [[f, 4, *box(300, 300), 0] for f in (1, 2, 3)]   # flag 0: not evaluated
    trk += [[f, 12, *box(301, 300), 0.9] for f in (1, 2, 3)]
    ours = tracking_report(frames_from_rows(gt, trk, n))['metrics']
    assert_same(ours, trackeval_on_files(tmp_path, gt, trk, n))


def test_time_to_first_track_of_the_known_case():
    gt, trk, n = known_case()
    report = tracking_report(frames_from_rows(gt, trk, n))
    per_id = report['first_track_per_id']
    assert (per_id['1']['frames'], per_id['2']['frames'], per_id['3']['frames']) == (1, 2, None)
    assert per_id['2']['seconds'] == pytest.approx(2 / FPS)
    summary = report['first_track']
    assert summary['pedestrians'] == 3 and summary['never_tracked'] == 1
    assert summary['frames_median'] == 1.5 and summary['frames_max'] == 2
    assert summary['seconds_max'] == pytest.approx(2 / FPS)


def test_dropped_frames_count_for_latency_not_for_mota():
    """A frame the node dropped has no output: it delays the first track but is not scored."""
    gt, trk, n = known_case()
    frames = frames_from_rows(gt, trk, n)
    frames[1].evaluated = False  # GT 1's first tracked frame (2) is dropped -> tracked at 3
    report = tracking_report(frames)
    assert report['first_track_per_id']['1']['frames'] == 2
    assert report['metrics']['frames'] == n - 1


def test_real_clip_with_our_tracker_equals_trackeval_on_files(tmp_path, shared_data):
    """TUD-Campus GT, tracked by our ByteTrack from jittered, thinned GT boxes: same figures."""
    pytest.importorskip('trackers', reason='pip install trackers')
    from vru_detector.detections import Detections
    from vru_detector.tracker import Tracker

    rows = np.loadtxt(shared_data / 'videos' / 'TUD-Campus.gt.txt', delimiter=',', ndmin=2)
    n = int(rows[:, 0].max())
    rng = np.random.default_rng(0)
    tracker = Tracker('bytetrack', frame_rate=FPS)
    gt, trk = [], []
    for f in range(1, n + 1):
        r = rows[rows[:, 0] == f]
        gt += [[f, int(i), x, y, w, h, 1] for i, x, y, w, h in r[:, 1:6]]
        keep = rng.random(len(r)) > 0.15  # missed detections
        xywh = r[keep, 2:6] + rng.normal(0, 2.0, (int(keep.sum()), 4))
        d = Detections(np.c_[xywh[:, :2], xywh[:, :2] + xywh[:, 2:]].astype(np.float32),
                       rng.uniform(0.5, 1.0, len(xywh)).astype(np.float32),
                       np.zeros(len(xywh), np.int64), ('person',))
        out = tracker.update(d, (f - 1) / FPS)
        trk += [[f, int(t), b[0], b[1], b[2] - b[0], b[3] - b[1], 0.9]
                for b, t in zip(out.xyxy.astype(np.float64), out.track_ids) if t >= 0]
    ours = tracking_report(frames_from_rows(gt, trk, n))['metrics']
    ref = trackeval_on_files(tmp_path, gt, trk, n)
    assert_same(ours, ref)
    assert ours['IDSW'] < 10 and 0.3 < ours['MOTA'] < 1.0, ours
