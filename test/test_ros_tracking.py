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

"""The node's per-frame pipeline with a tracker: Detection2D.id, stamps, resets, diagnostics."""
from __future__ import annotations

from fixed_output_model import build_fixed_output_onnx, FixedBox
import numpy as np
from optional import requires
import pytest

from vru_detector import Detector
from vru_detector.class_config import load_class_config
from vru_detector.msgs.convert import numpy_to_image
from vru_detector.msgs.messages import (diagnostic_values, diagnostics_msg, make_header,
                                        rosbags_message_types)
from vru_detector.ros.params import PARAMS_BY_NAME
from vru_detector.ros.pipeline import DetectionPipeline
from vru_detector.stats import PipelineStats
from vru_detector.tracker import Tracker

pytestmark = requires('trackers')
TYPES = rosbags_message_types()
BOXES = (FixedBox((40.0, 100.0, 120.0, 260.0), 0, 0.90),    # person
         FixedBox((180.0, 140.0, 300.0, 220.0), 4, 0.80))   # car


@pytest.fixture(scope='module')
def detector(tmp_path_factory):
    return Detector(build_fixed_output_onnx(tmp_path_factory.mktemp('m') / 'fixed.onnx', BOXES))


def pipeline_with(detector, algorithm='bytetrack'):
    return DetectionPipeline(detector, TYPES, PipelineStats(), load_class_config(None),
                             tracker=Tracker(algorithm, frame_rate=10.0))


def frame(stamp_s: float):
    header = make_header(int(stamp_s), int(round(stamp_s % 1 * 1e9)), 'cam', TYPES)
    return numpy_to_image(np.full((480, 640, 3), 90, np.uint8), 'bgr8', header, TYPES.Image)


def ids(result) -> list[str]:
    return [d.id for d in result.detections.detections]


def diagnostics(p) -> dict:
    header = make_header(0, 0, '', TYPES)
    return diagnostic_values(diagnostics_msg(p.stats.snapshot(1.0), header, TYPES, 'x'))


def test_detection2d_id_is_the_track_id_and_stays(detector):
    p = pipeline_with(detector)
    results = [p.process(frame(100.0 + k / 10), 200.0) for k in range(6)]
    assert ids(results[0]) == ['', ''], 'no track is confirmed on its first frame'
    settled = [ids(r) for r in results[2:]]
    assert all(s == settled[0] for s in settled) and all(i.isdigit() for i in settled[0])
    assert len(set(settled[0])) == 2
    values = diagnostics(p)
    assert values['active_tracks'] == '2' and values['track_resets'] == '0'
    assert float(values['stage_tracking_p50_ms']) > 0


def test_dropped_frames_keep_the_ids_and_a_backwards_stamp_resets(detector):
    p = pipeline_with(detector)
    first = [ids(p.process(frame(100.0 + k / 10), 200.0)) for k in range(4)]
    after_gap = ids(p.process(frame(100.9), 200.0))  # 5 frames dropped: 0.5 s < 1 s budget
    assert after_gap == first[-1]
    looped = ids(p.process(frame(100.0), 200.0))  # ros2 bag play --loop starts again
    assert looped == ['', '']
    again = [ids(p.process(frame(100.0 + k / 10), 200.0)) for k in range(1, 4)]
    assert set(again[-1]).isdisjoint(first[-1]), 'track IDs are not reused after a reset'
    assert diagnostics(p)['track_resets'] == '1'


def test_warm_up_leaves_no_track_behind(detector):
    p = pipeline_with(detector)
    p.warm_up(runs=3)
    assert p.tracker.active_tracks == 0
    assert ids(p.process(frame(50.0), 60.0)) == ['', '']


def test_without_a_tracker_ids_are_empty_and_diagnostics_say_nothing(detector):
    p = DetectionPipeline(detector, TYPES, PipelineStats(), load_class_config(None))
    results = [p.process(frame(100.0 + k / 10), 200.0) for k in range(3)]
    assert all(ids(r) == ['', ''] for r in results)
    assert 'active_tracks' not in diagnostics(p)


def test_tracker_parameter_offers_the_algorithms_and_defaults_to_bytetrack():
    spec = PARAMS_BY_NAME['tracker']
    assert spec.default == 'bytetrack' and spec.read_only
    assert spec.choices == ('none', 'bytetrack', 'sort', 'ocsort')
    assert spec.check('deepsort') is not None and spec.check('none') is None
