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

"""Replay tracking: MOT identities travel in Detection2D.id; vru-eval-bag --tracking end to end."""
from __future__ import annotations

import json
from pathlib import Path

from fixed_output_model import build_fixed_output_onnx, FixedBox
import numpy as np
from optional import requires
import pytest

from vru_detector.replay.bag_images import BagImages
from vru_detector.replay.evaluate_bag import main as eval_main
from vru_detector.replay.make_bag import main as make_main

pytestmark = requires('trackers', 'trackeval')
GT_TOPIC = '/ground_truth/detections'
FRAMES = 4


@pytest.fixture(scope='module')
def campus(shared_data: Path, tmp_path_factory) -> tuple[Path, np.ndarray]:
    """TUD-Campus frames 1-4 as a bag with MOT ground truth; and the GT rows of those frames."""
    gt_file = shared_data / 'videos' / 'TUD-Campus.gt.txt'
    bag = tmp_path_factory.mktemp('campus') / 'bag'
    assert make_main(['--video', str(shared_data / 'videos' / 'TUD-Campus.mp4'), '--labels',
                      str(gt_file), '--out', str(bag), '--max-frames', str(FRAMES)]) == 0
    rows = np.loadtxt(gt_file, delimiter=',', ndmin=2)
    return bag, rows[rows[:, 0] <= FRAMES]


def test_made_bag_carries_the_mot_identities(campus):
    bag, rows = campus
    with BagImages(bag, '/camera/image_raw') as frames:
        messages = [msg for _, msg in frames.messages(GT_TOPIC)]
    assert len(messages) == FRAMES
    for k, msg in enumerate(messages, 1):
        ids = sorted(int(d.id) for d in msg.detections)
        assert ids == sorted(rows[rows[:, 0] == k, 1].astype(int).tolist())


def test_eval_bag_tracking_on_boxes_placed_on_the_first_frame(campus, tmp_path):
    """A fixed model boxing frame 1's pedestrians: each is tracked from frame 2 (ByteTrack)."""
    bag, rows = campus
    first = rows[rows[:, 0] == 1]
    # TUD-Campus is 640x480: a 320 px letterbox halves it and pads 40 px on top
    boxes = tuple(FixedBox((x / 2, y / 2 + 40, (x + w) / 2, (y + h) / 2 + 40), 0, 0.9)
                  for x, y, w, h in first[:, 2:6])
    model = build_fixed_output_onnx(tmp_path / 'fixed.onnx', boxes)
    out = tmp_path / 'eval'
    assert eval_main([str(bag), '--model', str(model), '--image-topic', '/camera/image_raw',
                      '--gt-topic', GT_TOPIC, '--out', str(out), '--tracking', '--realtime',
                      '--worst', '0', '--no-progress']) == 0
    t = json.loads((out / 'metrics.json').read_text())['tracking']
    assert t['tracker'] == 'bytetrack' and t['frame_rate'] == pytest.approx(25.0)
    per_id = t['all_frames']['first_track_per_id']
    assert sorted(int(i) for i in per_id) == sorted(set(rows[:, 1].astype(int).tolist()))
    for gid in first[:, 1].astype(int):
        # ByteTrack confirms a track on its 2nd consecutive detection: 1 frame, 1/25 s
        assert per_id[str(gid)]['frames'] == 1, (gid, per_id[str(gid)])
        assert per_id[str(gid)]['seconds'] == pytest.approx(0.04)
    m = t['all_frames']['metrics']
    assert m['IDSW'] == 0 and m['gt_ids'] == len(per_id) and m['frames'] == FRAMES
    assert t['realtime'] is not None and 'dropped_frames' in t['realtime']
    assert '## Tracking (bytetrack, trackeval)' in (out / 'report.md').read_text()


def test_tracking_needs_ground_truth_identities(campus, shared_data, tmp_path, capsys):
    bag, _ = campus
    model = build_fixed_output_onnx(tmp_path / 'fixed.onnx')
    rc = eval_main([str(bag), '--model', str(model), '--image-topic', '/camera/image_raw',
                    '--labels', str(shared_data / 'bdd100k_vru' / 'labels' / 'val'),
                    '--match', 'index', '--out', str(tmp_path / 'e'), '--tracking',
                    '--no-progress'])
    err = capsys.readouterr().err
    assert rc == 2 and 'object identities' in err and 'Traceback' not in err
