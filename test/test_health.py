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

"""Node health without ROS: model faults are ERROR, bad frames and silence WARN; it recovers."""
import cv2
import numpy as np
import pytest

from test_model_faults import constant_model, head
from vru_detector import Detector
from vru_detector.health import detector_health
from vru_detector.stats import PipelineStats, StatsSnapshot


def snap(**skips):
    return StatsSnapshot(0.0, 0.0, 10, 10, 0, sum(skips.values()), dict(skips))


def test_levels():
    assert detector_health(snap(), {}, 0.1, '/image', 'best_effort') == ('OK', 'running')
    level, msg = detector_health(snap(malformed_image=2), {}, 0.1, '/image', 'best_effort')
    assert level == 'WARN' and '2 malformed_image' in msg
    level, msg = detector_health(snap(inference_error=1, malformed_image=2), {}, 0.1, '/i', 'x')
    assert level == 'ERROR' and 'NaN' in msg
    assert detector_health(snap(inference_error=1), {'inference_error': 1}, 0.1, '/i', 'x')[0] \
        == 'OK'  # no new fault since the last report: recovered
    level, msg = detector_health(snap(), {}, 10.0, '/cam/image', 'reliable')
    assert level == 'WARN' and '/cam/image' in msg and 'reliable' in msg


def test_nan_model_frames_skipped_and_reported_as_error(tmp_path, street_images):
    pytest.importorskip('rosbags')
    from vru_detector.msgs.convert import numpy_to_image
    from vru_detector.msgs.messages import make_header, rosbags_message_types
    from vru_detector.ros.pipeline import DetectionPipeline

    values = head()
    values[0, 4:, 1] = np.nan
    types = rosbags_message_types()
    stats = PipelineStats()
    pipeline = DetectionPipeline(Detector(constant_model(tmp_path / 'nan.onnx', values)),
                                 types, stats)
    image = cv2.resize(cv2.imread(str(street_images[0])), (128, 72))
    msg = numpy_to_image(image, 'bgr8', make_header(1, 0, 'cam', types), types.Image)
    for _ in range(3):
        result = pipeline.process(msg, ros_now_s=1.0)
        assert result.skipped == 'inference_error' and result.detections is None
    level, message = detector_health(stats.snapshot(2.0), {}, 0.0, '/image', 'best_effort')
    assert level == 'ERROR' and '3 frame(s)' in message
