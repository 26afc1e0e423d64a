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

"""COCO mAP of vru_detector.replay against pycocotools on real labels with noisy predictions."""
from __future__ import annotations

import contextlib
import io

import numpy as np
from optional import requires
import pytest

from vru_detector.labels import FrameTruth, GroundTruth, load_ground_truth
from vru_detector.replay.metrics import ReplayMetrics

needs_pycocotools = requires('pycocotools')
NAMES = ('person', 'rider', 'bicycle', 'motorcycle', 'car')


def noisy_predictions(truth: FrameTruth, rng: np.random.Generator, shape: tuple[int, int]):
    """Make detections like a mediocre detector's: jittered hits, misses, wrong classes, ghosts."""
    h, w = shape
    boxes, scores, classes = [], [], []
    for box, cls in zip(truth.xyxy, truth.class_ids):
        if rng.random() < 0.15:
            continue  # missed
        bw, bh = box[2] - box[0], box[3] - box[1]
        for _ in range(1 + int(rng.random() < 0.2)):  # sometimes a duplicate
            jitter = rng.normal(0, 0.12, 4) * [bw, bh, bw, bh]
            boxes.append(box + jitter)
            scores.append(rng.uniform(0.05, 1.0))
            classes.append(cls if rng.random() > 0.1 else rng.integers(len(NAMES)))
    for _ in range(rng.integers(0, 6)):  # false alarms of every size
        size = rng.choice([12.0, 50.0, 200.0]) * rng.uniform(0.5, 1.5, 2)
        x, y = rng.uniform(0, w - size[0]), rng.uniform(0, h - size[1])
        boxes.append([x, y, x + size[0], y + size[1]])
        scores.append(rng.uniform(0.01, 0.9))
        classes.append(rng.integers(len(NAMES)))
    xyxy = np.asarray(boxes, np.float32).reshape(-1, 4)
    xyxy[:, [0, 2]] = xyxy[:, [0, 2]].clip(0, w)
    xyxy[:, [1, 3]] = xyxy[:, [1, 3]].clip(0, h)
    return xyxy, np.asarray(scores, np.float32), np.asarray(classes, np.int64)


def pycocotools_stats(truth: GroundTruth, preds: list) -> tuple[float, float, dict]:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images, anns, dets = [], [], []
    for img_id, frame in enumerate(truth.frames, 1):
        h, w = frame.image_shape
        images.append({'id': img_id, 'width': w, 'height': h, 'file_name': frame.key})
        for box, cls, ign in zip(frame.xyxy.astype(float), frame.class_ids, frame.ignore):
            bw, bh = box[2] - box[0], box[3] - box[1]
            anns.append({'id': len(anns) + 1, 'image_id': img_id, 'category_id': int(cls) + 1,
                         'bbox': [box[0], box[1], bw, bh], 'area': bw * bh,
                         'iscrowd': int(ign)})
        xyxy, scores, classes = preds[img_id - 1]
        for box, s, c in zip(xyxy.astype(float), scores, classes):
            dets.append({'image_id': img_id, 'category_id': int(c) + 1, 'score': float(s),
                         'bbox': [box[0], box[1], box[2] - box[0], box[3] - box[1]]})
    gt = COCO()
    gt.dataset = {'images': images, 'annotations': anns,
                  'categories': [{'id': i + 1, 'name': n} for i, n in enumerate(NAMES)]}
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        dt = gt.loadRes(dets)
        ev = COCOeval(gt, dt, 'bbox')
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    per_class = {}
    prec = ev.eval['precision']  # [T, R, K, A, M]
    for k in range(len(NAMES)):
        p = prec[:, :, k, 0, -1]
        p50 = prec[0, :, k, 0, -1]
        per_class[NAMES[k]] = (p[p > -1].mean() if (p > -1).any() else float('nan'),
                               p50[p50 > -1].mean() if (p50 > -1).any() else float('nan'))
    return ev.stats, per_class


def ours(truth: GroundTruth, preds: list) -> ReplayMetrics:
    m = ReplayMetrics(NAMES)
    for i, (frame, (xyxy, scores, classes)) in enumerate(zip(truth.frames, preds)):
        m.add(i, frame.key, i, frame, xyxy, scores, classes)
    return m


@needs_pycocotools
@pytest.mark.parametrize('dataset', ['bdd', 'coco'])
def test_map_matches_pycocotools(shared_data, dataset):
    if dataset == 'bdd':
        truth = load_ground_truth(shared_data / 'bdd100k_vru' / 'labels' / 'val', NAMES)
    else:  # crowd-free COCO (YOLO labels drop iscrowd, so use those)
        truth = load_ground_truth(shared_data / 'coco_vru' / 'labels' / 'val', NAMES)
    rng = np.random.default_rng(1)
    preds = [noisy_predictions(f, rng, f.image_shape) for f in truth.frames]
    stats, per_class = pycocotools_stats(truth, preds)
    summary = ours(truth, preds).coco().summary()
    assert summary['mAP50_95'] == pytest.approx(stats[0], abs=1e-3)
    assert summary['mAP50'] == pytest.approx(stats[1], abs=1e-3)
    for i, area in enumerate(('small', 'medium', 'large')):
        ref = stats[3 + i]
        got = summary['by_area'][area]['mAP50_95']
        if ref < 0:
            assert np.isnan(got)
        else:
            assert got == pytest.approx(ref, abs=1e-3)
    checked = 0
    for name, (ref, ref50) in per_class.items():
        got = summary['by_class'][name]
        if np.isnan(ref):
            assert np.isnan(got['mAP50_95'])
            continue
        assert got['mAP50_95'] == pytest.approx(ref, abs=1e-3), name
        assert got['mAP50'] == pytest.approx(ref50, abs=1e-3), name
        checked += 1
    assert checked >= 3
    assert 0.1 < summary['mAP50_95'] < 0.9  # the noise makes a non-trivial score


@needs_pycocotools
def test_map_with_crowd_boxes_matches_pycocotools(shared_data):
    """COCO JSON keeps iscrowd boxes: they are ignore regions in both implementations."""
    truth = load_ground_truth(
        shared_data / 'coco_vru' / 'annotations' / 'instances_val2017_subset.json', NAMES)
    assert any(f.ignore.any() for f in truth.frames)
    rng = np.random.default_rng(2)
    preds = []
    for f in truth.frames:
        xyxy, s, c = noisy_predictions(f, rng, f.image_shape)
        preds.append((xyxy, s, c))
    stats, _ = pycocotools_stats(truth, preds)
    summary = ours(truth, preds).coco().summary()
    assert summary['mAP50_95'] == pytest.approx(stats[0], abs=1e-3)
    assert summary['mAP50'] == pytest.approx(stats[1], abs=1e-3)


def test_perfect_predictions_score_one_and_miss_nothing(shared_data):
    truth = load_ground_truth(shared_data / 'bdd100k_vru' / 'labels' / 'val', NAMES)
    m = ReplayMetrics(NAMES)
    for i, f in enumerate(truth.frames[:20]):
        m.add(i, f.key, i, f, f.xyxy, np.full(len(f), 0.9, np.float32), f.class_ids)
    s = m.summary(conf=0.5)
    assert s['coco']['mAP50_95'] == pytest.approx(1.0)
    assert s['operating_point']['all']['recall'] == 1.0
    assert s['operating_point']['false_positives_per_frame'] == 0
    assert s['missed_vru'] == []
    cm = np.asarray(s['confusion_matrix']['matrix'])
    assert cm[:-1, :-1].trace() == sum(len(f) for f in truth.frames[:20])


def test_operating_point_counts_misses_and_false_alarms():
    truth = FrameTruth.from_lists('a', [[10, 10, 60, 110], [200, 50, 260, 170]], [0, 4])
    m = ReplayMetrics(NAMES)
    # person found (0.8), car found only below the threshold (0.2), one ghost rider (0.6)
    m.add(0, 'a', 5, truth, [[12, 11, 61, 108], [201, 52, 258, 168], [300, 300, 340, 380]],
          [0.8, 0.2, 0.6], [0, 4, 1])
    op = m.operating_point(0.5)
    assert op['all'] == {'precision': 0.5, 'recall': 0.5, 'f1': 0.5, 'tp': 1, 'fp': 1, 'fn': 1}
    assert op['by_class']['car']['fn'] == 1 and op['by_class']['rider']['fp'] == 1
    assert op['false_positives_per_frame'] == 1.0
    # person 50x100 (medium) found, car 60x120 (medium) missed
    assert op['recall_by_size'] == {'small': None, 'medium': 0.5, 'large': None}
    lost = m.operating_point(0.5, lost={0})
    assert lost['all']['tp'] == 0 and lost['all']['fn'] == 2 and lost['all']['fp'] == 0
    assert m.missed(0.5) == []  # the car is missed, but a car is not a VRU
    assert m.missed(0.9)[0]['objects'][0]['class'] == 'person'
    cm = m.confusion_matrix(0.5)
    assert cm[0, 0] == 1 and cm[1, 5] == 1 and cm[5, 4] == 1
