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

"""Ground-truth readers: the four formats agree on real data; bad input is a LabelFormatError."""
from __future__ import annotations

import json

from hypothesis import given, HealthCheck, settings
from hypothesis import strategies as st
import numpy as np
import pytest
from vru_detector.errors import VruDetectorError
from vru_detector.labels import (LabelFormatError, load_ground_truth, parse_yolo_lines,
                                 read_bdd_json, read_coco_json, read_mot_gt, read_yolo_labels,
                                 resolve_inside)

NAMES = ('person', 'rider', 'bicycle', 'motorcycle', 'car')


def test_yolo_and_bdd_json_give_the_same_boxes(shared_data):
    root = shared_data / 'bdd100k_vru'
    yolo = load_ground_truth(root / 'labels' / 'val', NAMES)
    bdd = load_ground_truth(root / 'annotations' / 'bdd100k_det_val_subset.json', NAMES)
    assert [f.key for f in yolo.frames] == [f.key for f in bdd.frames]
    counts = np.bincount(np.concatenate([f.class_ids for f in yolo.frames]), minlength=5)
    assert counts.tolist() == [155, 7, 1, 8, 988]  # PROVENANCE.md, val split
    for a in yolo.frames:
        b = bdd.get(a.key)
        assert a.image_shape == b.image_shape == (720, 1280)
        order_a, order_b = (np.lexsort(np.round(x.xyxy, 0).T[::-1]) for x in (a, b))
        np.testing.assert_allclose(a.xyxy[order_a], b.xyxy[order_b], atol=0.01)
        np.testing.assert_array_equal(a.class_ids[order_a], b.class_ids[order_b])


def test_coco_json_keeps_crowd_boxes_as_ignore(shared_data):
    root = shared_data / 'coco_vru'
    coco = load_ground_truth(root / 'annotations' / 'instances_val2017_subset.json', NAMES)
    yolo = load_ground_truth(root / 'labels' / 'val', NAMES)
    assert len(coco) == len(yolo) == 111
    real = sum(int((~f.ignore).sum()) for f in coco.frames)
    assert real == sum(len(f) for f in yolo.frames) == 444 + 11 + 19 + 71
    assert sum(int(f.ignore.sum()) for f in coco.frames) > 0


def test_mot_gt_frames_clipped_and_numbered(shared_data):
    gt = read_mot_gt(shared_data / 'videos' / 'TUD-Campus.gt.txt', NAMES)
    assert len(gt) == 71 and gt.frames[0].key == '1' and gt.frames[-1].key == '71'
    assert sum(len(f) for f in gt.frames) == 359
    for f in gt.frames:
        assert f.image_shape == (480, 640)
        assert (f.xyxy[:, [0, 2]] <= 640).all() and (f.xyxy >= 0).all()
        assert set(f.class_ids.tolist()) <= {0}


def test_mot_ignore_flag_and_mot17_classes(tmp_path):
    p = tmp_path / 'gt.txt'
    p.write_text('1,1,10,10,20,40,1,1,1.0\n1,2,50,10,20,40,0,1,1.0\n2,3,5,5,30,30,1,3,0.8\n'
                 '2,4,5,5,30,30,1,8,0.8\n')
    gt = read_mot_gt(p, NAMES)
    f1, f2 = gt.get('1'), gt.get('2')
    assert f1.ignore.tolist() == [False, True] and f1.class_ids.tolist() == [0, 0]
    assert f2.class_ids.tolist() == [4, 0] and f2.ignore.tolist() == [False, True]


@pytest.mark.parametrize('line', ['0 0.5 0.5 0.1', '0 0.5 0.5 0.1 0.2 0.3', 'x 0.5 0.5 0.1 0.1',
                                  '9 0.5 0.5 0.1 0.1', '0 0.5 0.5 -0.1 0.1', '0 nan 0.5 0.1 0.1',
                                  '0 50 60 10 10', '1.5 0.5 0.5 0.1 0.1'])
def test_bad_yolo_lines_are_label_format_errors(tmp_path, line):
    import cv2

    (tmp_path / 'images').mkdir()
    (tmp_path / 'labels').mkdir()
    cv2.imwrite(str(tmp_path / 'images' / 'a.jpg'), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / 'labels' / 'a.txt').write_text(f'0 0.5 0.5 0.2 0.2\n{line}\n')
    with pytest.raises(LabelFormatError, match=r'a\.txt:2'):
        read_yolo_labels(tmp_path / 'labels', NAMES)


def test_yolo_label_without_image_says_where_to_look(tmp_path):
    (tmp_path / 'labels').mkdir()
    (tmp_path / 'labels' / 'a.txt').write_text('0 0.5 0.5 0.2 0.2\n')
    with pytest.raises(LabelFormatError, match='no image a'):
        read_yolo_labels(tmp_path / 'labels', NAMES)


@pytest.mark.parametrize('name', ['../../etc/passwd', '/etc/passwd', 'a/../../b.jpg',
                                  'C:\\x\\y.jpg', '..\\evil.jpg', '', 'a\x00b.jpg'])
def test_image_paths_cannot_leave_the_dataset(tmp_path, name):
    data = {'images': [{'id': 1, 'file_name': name, 'width': 10, 'height': 10}],
            'annotations': [], 'categories': [{'id': 1, 'name': 'person'}]}
    (tmp_path / 'c.json').write_text(json.dumps(data))
    with pytest.raises(LabelFormatError, match='image'):
        read_coco_json(tmp_path / 'c.json', NAMES)
    (tmp_path / 'b.json').write_text(json.dumps([{'name': name, 'labels': []}]))
    with pytest.raises(LabelFormatError):
        read_bdd_json(tmp_path / 'b.json', NAMES)
    with pytest.raises(LabelFormatError):
        resolve_inside(tmp_path, name)


def test_symlink_escape_is_refused(tmp_path):
    (tmp_path / 'data').mkdir()
    (tmp_path / 'data' / 'link').symlink_to(tmp_path)
    with pytest.raises(LabelFormatError, match='outside'):
        resolve_inside(tmp_path / 'data', 'link/secret.jpg')
    assert resolve_inside(tmp_path / 'data', 'sub/ok.jpg').name == 'ok.jpg'


FUZZ_CHECKS = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(
                        st.sampled_from(['images', 'annotations', 'categories', 'id', 'name',
                                         'file_name', 'image_id', 'category_id', 'bbox',
                                         'labels', 'box2d', 'x1', 'y1', 'x2', 'y2', 'category',
                                         'frames', 'width', 'height', 'iscrowd']), c,
                        max_size=6), max_leaves=25)


@settings(max_examples=150, deadline=None, suppress_health_check=FUZZ_CHECKS)
@given(data=JSON)
def test_any_json_is_read_or_refused_cleanly(tmp_path, data):
    path = tmp_path / 'labels.json'
    path.write_text(json.dumps(data))
    for reader in (read_coco_json, read_bdd_json, load_ground_truth):
        try:
            gt = reader(path, NAMES)
        except LabelFormatError as exc:
            assert isinstance(exc, (VruDetectorError, ValueError)) and str(exc)
        else:
            for f in gt.frames:
                assert f.xyxy.shape == (len(f), 4)


@settings(max_examples=150, deadline=None, suppress_health_check=FUZZ_CHECKS)
@given(text=st.text(alphabet='0123456789,.- \n-ea', max_size=120))
def test_any_mot_text_is_read_or_refused_cleanly(tmp_path, text):
    path = tmp_path / 'x.gt.txt'
    path.write_text(text)
    try:
        gt = read_mot_gt(path, NAMES)
    except LabelFormatError:
        return
    for f in gt.frames:
        assert int(f.key) >= 1 and np.isfinite(f.xyxy).all()


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet='0123456789. -\nexinfa+', max_size=80))
def test_any_yolo_text_is_read_or_refused_cleanly(text):
    try:
        boxes, classes = parse_yolo_lines(text, (720, 1280), len(NAMES), 'fuzz.txt')
    except LabelFormatError:
        return
    assert len(boxes) == len(classes)
    assert all(0 <= c < len(NAMES) for c in classes)
    assert np.isfinite(np.asarray(boxes, float)).all()
