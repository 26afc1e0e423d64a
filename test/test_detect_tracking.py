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

"""vru-detect --tracker: track IDs in detections.jsonl and on the drawn boxes."""
from __future__ import annotations

from dataclasses import replace
import json

from fixed_output_model import build_fixed_output_onnx, CLASS_NAMES
import numpy as np
from optional import requires

from vru_detector.cli.detect import main as detect_main
from vru_detector.detections import Detections
from vru_detector.visualize import draw_detections

pytestmark = requires('trackers')


def test_video_jsonl_carries_stable_track_ids(tmp_path, shared_data):
    model = build_fixed_output_onnx(tmp_path / 'fixed.onnx')  # a person 0.90 and a car 0.60
    out = tmp_path / 'out'
    assert detect_main(['--model', str(model), '--source',
                        str(shared_data / 'videos' / 'TUD-Campus.mp4'), '--save-dir', str(out),
                        '--tracker', 'sort', '--no-images']) == 0
    lines = [json.loads(line) for line in (out / 'detections.jsonl').read_text().splitlines()]
    assert len(lines) == 71
    ids = [[d['track_id'] for d in line['detections']] for line in lines]
    assert all(len(i) == 2 for i in ids)
    settled = ids[5:]
    assert all(i == settled[0] for i in settled) and min(settled[0]) >= 0
    assert len(set(settled[0])) == 2


def test_without_tracker_jsonl_has_no_track_id(tmp_path, shared_data):
    model = build_fixed_output_onnx(tmp_path / 'fixed.onnx')
    image = sorted((shared_data / 'bdd100k_vru' / 'images' / 'val').glob('*.jpg'))[0]
    out = tmp_path / 'out'
    assert detect_main(['--model', str(model), '--source', str(image), '--save-dir',
                        str(out), '--no-images']) == 0
    line = json.loads((out / 'detections.jsonl').read_text())
    assert line['detections'] and all('track_id' not in d for d in line['detections'])


def test_track_id_is_drawn():
    image = np.zeros((240, 320, 3), np.uint8)
    dets = Detections(np.array([[20, 40, 120, 200]], np.float32), np.array([0.9], np.float32),
                      np.array([0]), CLASS_NAMES, (240, 320))
    plain = draw_detections(image, dets)
    tracked = draw_detections(image, replace(dets, track_ids=np.array([7])))
    unconfirmed = draw_detections(image, replace(dets, track_ids=np.array([-1])))
    assert (plain != tracked).any(), 'the track label was not drawn'
    np.testing.assert_array_equal(plain, unconfirmed)  # no ID yet: drawn as untracked
