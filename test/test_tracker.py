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

"""Tracker: stable IDs over a real clip, stamps bridge dropped frames, a backwards stamp resets."""
from __future__ import annotations

from pathlib import Path

import cv2
from fixed_output_model import build_fixed_output_onnx, CLASS_NAMES, FixedBox
import numpy as np
from optional import requires
import pytest

from vru_detector import Detector
from vru_detector.detections import Detections
from vru_detector.errors import VruDetectorError
from vru_detector.tracker import make_tracker, Tracker, TRACKERS

pytestmark = requires('trackers')  # pip install trackers (a runtime requirement)
ALGORITHMS = [a for a in TRACKERS if a != 'none']
FPS = 25.0


def moving_box(k: int, speed: float = 6.0) -> np.ndarray:
    """Give a 40x80 box moving right ``speed`` px per frame: 10 dropped frames move it 60 px."""
    x = 50.0 + speed * k
    return np.array([[x, 100.0, x + 40.0, 180.0]], np.float32)


def dets(xyxy: np.ndarray, class_ids=None, score: float = 0.9) -> Detections:
    n = len(xyxy)
    cls = np.zeros(n, np.int64) if class_ids is None else np.asarray(class_ids, np.int64)
    return Detections(np.asarray(xyxy, np.float32), np.full(n, score, np.float32), cls,
                      CLASS_NAMES, (480, 640))


@pytest.fixture(scope='module')
def clip_frames(shared_data: Path) -> list[np.ndarray]:
    """Decode the first 30 frames of a real pedestrian clip (TUD-Campus, 640x480)."""
    cap = cv2.VideoCapture(str(shared_data / 'videos' / 'TUD-Campus.mp4'))
    frames = []
    while len(frames) < 30:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    assert len(frames) == 30
    return frames


@pytest.mark.parametrize('algorithm', ALGORITHMS)
def test_ids_stable_over_a_clip_of_the_fixed_output_model(tmp_path, clip_frames, algorithm):
    """Each fixed box keeps one track ID over the whole clip; boxes of two classes differ."""
    boxes = (FixedBox((40.0, 100.0, 120.0, 260.0), 0, 0.90),     # person
             FixedBox((60.0, 150.0, 130.0, 280.0), 2, 0.85),     # bicycle under it
             FixedBox((200.0, 90.0, 260.0, 240.0), 0, 0.80))     # another person
    det = Detector(build_fixed_output_onnx(tmp_path / 'fixed.onnx', boxes), conf=0.25)
    tracker = Tracker(algorithm, frame_rate=FPS)
    per_frame = []
    for k, frame in enumerate(clip_frames):
        out = tracker.update(det(frame), stamp=1000.0 + k / FPS)
        assert out.track_ids is not None and len(out.track_ids) == len(out) == 3
        per_frame.append({(int(c), round(float(b[0]))): int(t)
                          for b, c, t in zip(out.xyxy, out.class_ids, out.track_ids)})
    settled = per_frame[5:]  # after each library's confirmation frames
    assert all(ids == settled[0] for ids in settled), 'a track ID changed on a static scene'
    assert all(t >= 0 for t in settled[0].values())
    assert len(set(settled[0].values())) == 3, 'two boxes share a track ID'
    assert tracker.active_tracks == 3


@pytest.mark.parametrize('algorithm', ALGORITHMS)
def test_a_gap_of_dropped_frames_keeps_the_id(algorithm):
    """10 dropped frames (0.4 s) move the box 60 px, more than its width: stamps bridge it."""
    tracker = Tracker(algorithm, frame_rate=FPS, lost_track_seconds=1.0)
    kept = list(range(12)) + list(range(22, 30))
    ids = [int(tracker.update(dets(moving_box(k)), k / FPS).track_ids[0]) for k in kept]
    confirmed = [i for i in ids if i >= 0]
    assert len(confirmed) >= 15 and len(set(confirmed)) == 1, ids
    assert ids[-1] == confirmed[0]


def test_the_gap_is_read_from_the_stamps():
    """Control for the test above: the same frames stamped as consecutive lose the track."""
    tracker = Tracker('bytetrack', frame_rate=FPS)
    kept = list(range(12)) + list(range(22, 30))
    ids = [int(tracker.update(dets(moving_box(k)), i / FPS).track_ids[0])
           for i, k in enumerate(kept)]
    assert ids[11] >= 0 and ids[-1] >= 0 and ids[-1] != ids[11]


def test_a_gap_longer_than_the_lost_track_budget_starts_a_new_track():
    tracker = Tracker('bytetrack', frame_rate=FPS, lost_track_seconds=0.2)
    before = [int(tracker.update(dets(moving_box(0, 0)), k / FPS).track_ids[0]) for k in range(5)]
    after = [int(tracker.update(dets(moving_box(0, 0)), 1.0 + k / FPS).track_ids[0])
             for k in range(5)]
    assert before[-1] >= 0 and after[-1] >= 0 and after[-1] != before[-1]


@pytest.mark.parametrize('algorithm', ALGORITHMS)
def test_a_backwards_stamp_resets_the_tracks(algorithm):
    tracker = Tracker(algorithm, frame_rate=FPS)
    first = [tracker.update(dets(moving_box(k)), 50.0 + k / FPS) for k in range(8)]
    old_id = int(first[-1].track_ids[0])
    assert old_id >= 0 and tracker.active_tracks == 1 and tracker.resets == 0
    again = tracker.update(dets(moving_box(0)), 50.0)  # the bag looped
    assert tracker.resets == 1
    assert again.track_ids[0] == -1, 'a track survived the jump back'
    later = [tracker.update(dets(moving_box(k)), 50.0 + k / FPS) for k in range(1, 8)]
    new_id = int(later[-1].track_ids[0])
    assert new_id >= 0 and new_id != old_id, 'IDs are unique across resets'
    assert tracker.active_tracks == 1


def test_order_scores_and_classes_are_kept():
    tracker = Tracker('bytetrack', frame_rate=FPS)
    xyxy = np.array([[10, 10, 50, 90], [300, 40, 360, 200], [100, 100, 140, 180]], np.float32)
    d = Detections(xyxy, np.array([0.95, 0.9, 0.3], np.float32), np.array([0, 4, 0]),
                   CLASS_NAMES, (480, 640))
    for k in range(4):
        out = tracker.update(d, k / FPS)
    np.testing.assert_array_equal(out.xyxy, d.xyxy)
    np.testing.assert_array_equal(out.class_ids, d.class_ids)
    assert out.track_ids[0] >= 0 and out.track_ids[1] >= 0 and out.track_ids[0] != out.track_ids[1]
    assert out.track_ids[2] == -1, 'a 0.3 box must not start a ByteTrack track (activation 0.7)'
    assert [r['track_id'] for r in out.to_records()] == [int(i) for i in out.track_ids]
    empty = tracker.update(Detections.empty(CLASS_NAMES), 4 / FPS)
    assert len(empty.track_ids) == 0 and tracker.active_tracks == 2, 'lost tracks are kept a while'


def test_bad_settings_are_clear_errors():
    assert make_tracker('none') is None
    with pytest.raises(VruDetectorError, match='not offered.*bytetrack'):
        Tracker('deepsort')
    with pytest.raises(VruDetectorError, match='not options of bytetrack.*track_activation'):
        Tracker('bytetrack', activation=0.5)
    with pytest.raises(VruDetectorError, match='frame_rate'):
        Tracker('sort', frame_rate=0)
    with pytest.raises(VruDetectorError, match='finite'):
        Tracker('sort').update(dets(moving_box(0)), float('nan'))
