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

"""Group bootstrap intervals and weighted replay metrics on synthetic frames and detections."""
from __future__ import annotations

import numpy as np
from optional import requires
import pytest

from vru_detector.labels import FrameTruth
from vru_detector.replay.bootstrap import contrast, interval, paired_difference
from vru_detector.replay.coco_eval import accumulate
from vru_detector.replay.metrics import ReplayMetrics
from vru_detector.replay.weighted_metrics import WeightedReplay

pytestmark = requires('scipy')
NAMES = ('person', 'car')


def synthetic_frames(n: int, seed: int) -> list[FrameTruth]:
    """Frames of 640x480 with 0-6 people of every height and 0-3 cars."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n):
        boxes, classes = [], []
        for cls, count in ((0, rng.integers(0, 7)), (1, rng.integers(0, 4))):
            for _ in range(count):
                h = rng.choice([20.0, 50.0, 150.0]) * rng.uniform(0.7, 1.3)
                w = h * (0.4 if cls == 0 else 1.5)
                x, y = rng.uniform(0, 640 - w), rng.uniform(0, 480 - min(h, 470))
                boxes.append([x, y, x + w, y + min(h, 470)])
                classes.append(cls)
        frames.append(FrameTruth.from_lists(f'f{i}', boxes, classes, image_shape=(480, 640)))
    return frames


def detect(frames: list[FrameTruth], seed: int, miss: float = 0.2):
    """Detect like a mediocre detector: jittered hits, misses and false alarms."""
    rng = np.random.default_rng(seed)
    out = []
    for frame in frames:
        boxes, scores, classes = [], [], []
        for box, cls in zip(frame.xyxy, frame.class_ids):
            if rng.random() < miss:
                continue
            size = np.array([box[2] - box[0], box[3] - box[1]] * 2)
            boxes.append(box + rng.normal(0, 0.1, 4) * size)
            scores.append(rng.uniform(0.1, 1.0))
            classes.append(cls)
        for _ in range(rng.integers(0, 3)):
            x, y = rng.uniform(0, 560, 2)
            boxes.append([x, y, x + 30, y + 70])
            scores.append(rng.uniform(0.01, 0.6))
            classes.append(rng.integers(2))
        out.append((np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(scores, np.float32),
                    np.asarray(classes, np.int64)))
    return out


def replay(frames, dets) -> ReplayMetrics:
    m = ReplayMetrics(NAMES)
    for i, (frame, (xyxy, scores, classes)) in enumerate(zip(frames, dets)):
        m.add(i, frame.key, i, frame, xyxy, scores, classes)
    return m


def weighted(frames, dets) -> WeightedReplay:
    return WeightedReplay(replay(frames, dets), conf=0.25)


def drop_detections(dets, fraction: float, seed: int):
    """Remove a share of the detections (the same detector, made worse)."""
    rng = np.random.default_rng(seed)
    out = []
    for xyxy, scores, classes in dets:
        keep = rng.random(len(scores)) >= fraction
        out.append((xyxy[keep], scores[keep], classes[keep]))
    return out


def test_weighted_ap50_equals_accumulate_on_the_repeated_frames():
    frames = synthetic_frames(60, seed=1)
    metrics = replay(frames, detect(frames, seed=2))
    w = WeightedReplay(metrics, conf=0.25)
    rng = np.random.default_rng(3)
    weights = rng.integers(0, 4, size=(5, len(frames))).astype(float)
    weights[0] = 1.0
    for row in weights:
        repeated = [[ev for f, ev in enumerate(per_class) for _ in range(int(row[f]))]
                    for per_class in metrics.evals]
        ref = accumulate(repeated, NAMES)
        for k in range(len(NAMES)):
            assert w.ap50(row[None], k)[0] == pytest.approx(ref.mean_ap(cls=k, iou=0.5),
                                                            abs=1e-12)
        assert w.map50(row[None])[0] == pytest.approx(ref.mean_ap(iou=0.5), abs=1e-12)


def test_weighted_recall_and_false_alarms_match_the_operating_point():
    frames = synthetic_frames(50, seed=4)
    metrics = replay(frames, detect(frames, seed=5))
    w = WeightedReplay(metrics, conf=0.25)
    ones = np.ones((1, len(frames)))
    op = metrics.operating_point(0.25)
    assert w.recall(ones, 0)[0] == pytest.approx(op['by_class']['person']['recall'], abs=1e-6)
    fp_all = (w.false_positives_per_frame(ones, 0) + w.false_positives_per_frame(ones, 1))[0]
    assert fp_all == pytest.approx(op['false_positives_per_frame'], abs=1e-6)
    by_height = sum(w.gt_count(0, h) for h in ('small', 'medium', 'large'))
    assert by_height == w.gt_count(0) == sum(int((f.class_ids == 0).sum()) for f in frames)


def test_unlabelled_classes_are_left_out():
    frames = synthetic_frames(30, seed=6)
    metrics = replay(frames, detect(frames, seed=7))
    labelled = np.ones((30, 2), bool)
    labelled[:15, 1] = False                        # first half: a source without car labels
    w = WeightedReplay(metrics, 0.25, labelled)
    half = replay(frames[15:], detect(frames, seed=7)[15:])
    ones = np.ones((1, 30))
    ref = WeightedReplay(half, 0.25).ap50(np.ones((1, 15)), 1)[0]
    assert w.ap50(ones, 1)[0] == pytest.approx(ref, abs=1e-12)
    assert w.gt_count(1) == sum(int((f.class_ids == 1).sum()) for f in frames[15:])


def test_identical_models_differ_by_an_interval_containing_zero():
    frames = synthetic_frames(80, seed=8)
    dets = detect(frames, seed=9)
    a, b = weighted(frames, dets), weighted(frames, dets)
    diff = paired_difference(lambda w: a.ap50(w, 0), lambda w: b.ap50(w, 0),
                             [f.key for f in frames])
    assert diff.low <= 0 <= diff.high
    assert diff.estimate == 0
    assert diff.verdict() == 'no significant difference'


def test_a_model_with_detections_removed_is_found_worse():
    frames = synthetic_frames(150, seed=10)
    dets = detect(frames, seed=11)
    a, b = weighted(frames, dets), weighted(frames, drop_detections(dets, 0.3, seed=12))
    groups = [f.key for f in frames]
    diff = paired_difference(lambda w: a.ap50(w, 0), lambda w: b.ap50(w, 0), groups)
    assert diff.high < 0 and diff.verdict() == 'worse'
    recall = paired_difference(lambda w: a.recall(w, 0), lambda w: b.recall(w, 0), groups)
    assert recall.verdict() == 'worse'
    # the paired interval is tighter than either model's own interval
    own = interval(lambda w: a.ap50(w, 0), groups)
    assert diff.high - diff.low < own.high - own.low


def test_the_interval_narrows_as_images_are_added():
    frames = synthetic_frames(400, seed=13)
    dets = detect(frames, seed=14)
    widths = []
    for n in (40, 400):
        w = weighted(frames[:n], dets[:n])
        iv = interval(lambda x: w.ap50(x, 0), [f.key for f in frames[:n]])
        assert iv.low <= iv.estimate <= iv.high
        widths.append(iv.high - iv.low)
    assert widths[1] < 0.6 * widths[0]  # ~1/sqrt(10) expected; 0.6 leaves room for noise


def test_whole_clips_are_resampled_not_their_frames():
    """Ten copies of each of 30 frames: as 30 clips the interval is as wide as 30 frames'."""
    frames = synthetic_frames(30, seed=15)
    dets = detect(frames, seed=16)
    copies = [f for f in frames for _ in range(10)]
    w = weighted(copies, [d for d in dets for _ in range(10)])
    clips = [f.key for f in copies]
    as_frames = [str(i) for i in range(len(copies))]
    by_clip = interval(lambda x: w.ap50(x, 0), clips)
    by_frame = interval(lambda x: w.ap50(x, 0), as_frames)
    single = weighted(frames, dets)
    alone = interval(lambda x: single.ap50(x, 0), [f.key for f in frames])
    assert by_clip.groups == 30 and by_frame.groups == 300
    assert by_clip.high - by_clip.low == pytest.approx(alone.high - alone.low, rel=1e-9)
    assert by_frame.high - by_frame.low < 0.6 * (by_clip.high - by_clip.low)


def test_a_seed_gives_the_same_interval_every_time():
    frames = synthetic_frames(60, seed=17)
    w = weighted(frames, detect(frames, seed=18))
    groups = [f.key for f in frames]
    first = interval(lambda x: w.ap50(x, 0), groups, seed=5)
    assert interval(lambda x: w.ap50(x, 0), groups, seed=5) == first
    other = interval(lambda x: w.ap50(x, 0), groups, seed=6)
    assert (other.low, other.high) != (first.low, first.high)
    assert first.method == 'BCa' and first.level == 0.95


def test_undefined_figures_and_bad_settings():
    frames = [FrameTruth.from_lists('empty', [], [], image_shape=(10, 10))] * 3
    w = weighted(frames, [(np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64))] * 3)
    iv = interval(lambda x: w.ap50(x, 0), ['a', 'b', 'c'])
    assert np.isnan(iv.estimate) and iv.verdict() == 'undefined'
    assert iv.as_dict()['low'] is None
    with pytest.raises(ValueError, match='method'):
        interval(lambda x: w.ap50(x, 0), ['a', 'b', 'c'], method='student')


def test_a_figure_undefined_on_a_few_resamples_still_gets_an_interval():
    """Two frames in 40 hold all small pedestrians: some resamples draw none of them."""
    frames = synthetic_frames(40, seed=19)
    rng = np.random.default_rng(0)
    values = np.where(np.arange(40) < 36, np.nan, rng.uniform(size=40))

    def share(x):  # mean of the defined values under the weights; NaN without any
        ok = ~np.isnan(values)
        den = x[:, ok].sum(1)
        return np.where(den > 0, (x[:, ok] @ values[ok]) / np.where(den > 0, den, 1), np.nan)
    iv = interval(share, [f.key for f in frames])
    assert iv.method == 'percentile (defined draws)' and iv.low <= iv.estimate <= iv.high


def test_a_bag_is_resampled_in_blocks_of_time():
    from vru_detector.replay.replay_intervals import markdown_lines, replay_intervals

    frames = synthetic_frames(60, seed=21)
    metrics = ReplayMetrics(NAMES)
    for i, (frame, det) in enumerate(zip(frames, detect(frames, seed=22))):
        metrics.add(i, frame.key, i * 500_000_000, frame, *det)   # 2 frames per second
    block = replay_intervals(metrics, 0.25, block_s=10.0, resamples=200)
    assert block['blocks'] == 3
    ap = block['figures']['person AP50']
    assert ap['groups'] == 3 and ap['low'] <= ap['estimate'] <= ap['high']
    assert '| person AP50 |' in '\n'.join(markdown_lines(block))
    one = replay_intervals(metrics, 0.25, block_s=60.0, resamples=200)
    assert one['blocks'] == 1 and one['figures']['mAP50']['low'] is None
    assert 'fewer than two blocks' in '\n'.join(markdown_lines(one))


def test_a_contrast_of_four_models_is_the_difference_of_their_paired_differences():
    # per-frame scores, mean as the statistic: a drop-minus-drop (teacher vs student at INT8)
    rng = np.random.default_rng(0)
    values = rng.normal(size=(4, 60)) + np.array([[0.5], [0.3], [0.2], [0.15]])
    stats = [lambda w, v=v: (w * v).sum(axis=1) / w.sum(axis=1) for v in values]
    groups = np.repeat(np.arange(12), 5)
    drop_a = paired_difference(stats[0], stats[1], groups, seed=3)
    drop_b = paired_difference(stats[2], stats[3], groups, seed=3)
    both = contrast(stats, [-1.0, 1.0, 1.0, -1.0], groups, seed=3)
    assert both.estimate == pytest.approx(drop_a.estimate - drop_b.estimate)
    # [-1, 1] is exactly the paired difference, interval included
    pair = contrast(stats[:2], [-1.0, 1.0], groups, seed=3)
    assert (pair.low, pair.high) == pytest.approx((drop_a.low, drop_a.high))
    with pytest.raises(ValueError, match='2 statistics for 1 coefficients'):
        contrast(stats[:2], [1.0], groups)
