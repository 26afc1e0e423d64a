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

"""The node's per-frame work (convert, detect, build messages, count) with rosbags types."""
import math
import time

from fixed_output_model import build_fixed_output_onnx, DEFAULT_BOXES, expected_pixels
import numpy as np
import pytest
from vru_detector import Detector
from vru_detector.backends.base import Backend
from vru_detector.class_config import load_class_config
from vru_detector.msgs.convert import image_to_numpy, numpy_to_compressed, numpy_to_image
from vru_detector.msgs.messages import make_header, rosbags_message_types
from vru_detector.ros.pipeline import DetectionPipeline
from vru_detector.stats import PipelineStats, STAGES

TYPES = rosbags_message_types()
H, W = 480, 640


@pytest.fixture(scope='module')
def detector(tmp_path_factory):
    return Detector(build_fixed_output_onnx(tmp_path_factory.mktemp('fixed') / 'fixed.onnx'))


@pytest.fixture
def pipeline(detector):
    detector.set_thresholds(0.25)
    clock = iter(np.arange(0.0, 100.0, 0.05))
    return DetectionPipeline(detector, TYPES, PipelineStats(), load_class_config(None),
                             monotonic=lambda: float(next(clock)))


def frame(stamp_s: float = 100.0, frame_id: str = 'cam', value: int = 90):
    header = make_header(int(stamp_s), int(round(stamp_s % 1 * 1e9)), frame_id, TYPES)
    return numpy_to_image(np.full((H, W, 3), value, np.uint8), 'bgr8', header, TYPES.Image)


def labels(result):
    return [d.results[0].hypothesis.class_id for d in result.detections.detections]


def test_a_good_frame_gives_detections_with_its_header_and_latency(pipeline):
    result = pipeline.process(frame(100.25), ros_now_s=100.30)
    assert result.skipped is None
    assert result.detections.header.frame_id == 'cam'
    assert result.detections.header.stamp.nanosec == 250_000_000
    assert labels(result) == ['person', 'car']
    det = result.detections.detections[0]
    x1, y1, x2, y2 = expected_pixels(DEFAULT_BOXES[0], (H, W))
    assert det.bbox.center.position.x == pytest.approx((x1 + x2) / 2, abs=0.05)
    assert result.pipeline_ms == pytest.approx(50.0)
    assert result.inference_ms > 0 and result.debug_image is None
    snap = pipeline.stats.snapshot(1.0)
    assert snap.processed == 1 and snap.pipeline_p50_ms == pytest.approx(50.0)


def test_malformed_frames_are_counted_and_the_next_good_one_is_processed(pipeline):
    short = frame()
    short.data = short.data[:-5]
    unknown = frame()
    unknown.encoding = '32FC1'
    garbage = TYPES.CompressedImage(header=frame().header, format='jpeg',
                                    data=np.frombuffer(b'definitely not jpeg', np.uint8))
    results = [pipeline.process(m, 101.0) for m in (short, unknown, garbage, frame())]
    assert [r.skipped for r in results] == ['malformed_image', 'unsupported_encoding',
                                            'undecodable_compressed', None]
    assert 'bytes' in results[0].error and '32FC1' in results[1].error
    assert labels(results[3]) == ['person', 'car']
    snap = pipeline.stats.snapshot(1.0)
    assert (snap.skipped, snap.processed) == (3, 1)
    assert snap.skipped_by_reason == {'malformed_image': 1, 'unsupported_encoding': 1,
                                      'undecodable_compressed': 1}


def test_compressed_frames_work_the_same(pipeline):
    msg = numpy_to_compressed(np.full((H, W, 3), 90, np.uint8), frame().header,
                              TYPES.CompressedImage)
    assert labels(pipeline.process(msg, 101.0)) == ['person', 'car']


def test_debug_image_is_drawn_only_when_asked(pipeline):
    result = pipeline.process(frame(), 101.0, draw=True)
    image = image_to_numpy(result.debug_image)
    assert result.debug_image.encoding == 'bgr8' and image.shape == (H, W, 3)
    assert result.debug_image.header.frame_id == 'cam'
    x1, y1, x2, y2 = (int(round(v)) for v in expected_pixels(DEFAULT_BOXES[0], (H, W)))
    person = load_class_config(None)['person'].color_bgr
    assert tuple(image[(y1 + y2) // 2, x1]) == person
    assert tuple(image[(y1 + y2) // 2, (x1 + x2) // 2]) == (90, 90, 90)


def test_threshold_changes_apply_to_the_next_frame(pipeline, detector):
    detector.set_thresholds(0.7)
    assert labels(pipeline.process(frame(), 101.0)) == ['person']
    detector.set_thresholds(0.25, classes=['car'])
    assert labels(pipeline.process(frame(), 101.0)) == ['car']


def test_unstamped_frames_have_no_pipeline_latency(pipeline):
    result = pipeline.process(frame(0.0), 101.0)
    assert math.isnan(result.pipeline_ms)
    assert math.isnan(pipeline.stats.snapshot(1.0).pipeline_p50_ms)


class FakeRosClock:
    """The ROS clock of a test: seconds that only move when told to."""

    def __init__(self, start_s: float) -> None:
        self.now_s = start_s
        self.reads = []

    def __call__(self) -> float:
        self.reads.append(self.now_s)
        return self.now_s


class SlowBackend(Backend):
    """A real backend whose inference also takes ``ros_s`` of ROS time (and a little real)."""

    name = 'slow'

    def __init__(self, inner: Backend, clock: FakeRosClock, ros_s: float) -> None:
        super().__init__(inner.info, inner.input_dtype, inner.max_batch)
        self.inner, self.clock, self.ros_s = inner, clock, ros_s

    def infer(self, batch):
        self.clock.now_s += self.ros_s
        time.sleep(0.02)
        return self.inner.infer(batch)


def test_a_slow_model_shows_up_in_the_pipeline_latency(detector):
    """The clock is read after inference and publishing: 250 ms of inference is in the figure."""
    clock = FakeRosClock(100.0)
    slow = Detector(SlowBackend(detector.backend, clock, ros_s=0.25), conf=0.25)
    pipeline = DetectionPipeline(slow, TYPES, PipelineStats())
    events = []

    def publish(msg):
        events.append(('detections', clock.now_s))
        clock.now_s += 0.01  # the middleware's own time

    result = pipeline.process(frame(100.0), clock, publish=publish)
    assert labels(result) == ['person', 'car']
    assert result.pipeline_ms == pytest.approx(260.0)  # inference 250 + publish 10, not 0
    assert events == [('detections', 100.25)] and clock.reads == [100.26]
    assert result.inference_ms >= 20.0  # real time of the slow backend
    assert pipeline.stats.snapshot(1.0).pipeline_p50_ms == pytest.approx(260.0)


def test_detections_are_published_before_the_debug_image_is_drawn(pipeline):
    order = []
    result = pipeline.process(
        frame(), lambda: order.append('clock') or 101.0, draw=True,
        publish=lambda m: order.append(('detections', m.header.frame_id)),
        publish_debug=lambda m: order.append(('debug', m.encoding)))
    assert order == [('detections', 'cam'), 'clock', ('debug', 'bgr8')]
    assert result.stages_ms['debug_image'] > 0


def test_stage_times_cover_the_processing_time_and_reach_the_stats(pipeline):
    result = pipeline.process(frame(), 101.0, publish=lambda m: None)
    assert set(result.stages_ms) == set(STAGES)
    assert math.isnan(result.stages_ms['debug_image'])  # not drawn
    on_path = sum(v for k, v in result.stages_ms.items() if k != 'debug_image')
    assert on_path == pytest.approx(result.processing_ms, rel=1e-6)
    assert all(v >= 0 for k, v in result.stages_ms.items() if k != 'debug_image')
    assert result.stages_ms['inference'] == result.inference_ms
    snap = pipeline.stats.snapshot(1.0)
    assert snap.stage_p50_ms['messages'] == pytest.approx(result.stages_ms['messages'])
    assert snap.processing_p50_ms == pytest.approx(result.processing_ms)


class RecordingDetector:
    """Delegates to a Detector and records the image sizes it was given."""

    def __init__(self, inner):
        self.inner, self.shapes = inner, []

    def __call__(self, image):
        self.shapes.append(image.shape)
        return self.inner(image)

    @property
    def times(self):
        return self.inner.times

    @property
    def names(self):
        return self.inner.names


def test_warm_up_runs_the_whole_path_at_camera_size_and_counts_nothing(detector):
    detector.set_thresholds(0.25)
    recording = RecordingDetector(detector)
    stats = PipelineStats()
    pipeline = DetectionPipeline(recording, TYPES, stats, load_class_config(None))
    runs = pipeline.warm_up()
    assert len(runs) == 3 and all(ms > 0 for ms in runs)
    assert recording.shapes == [(720, 1280, 3)] * 3  # through conversion, not input-sized
    assert pipeline.stats is stats
    snap = stats.snapshot(1.0)
    assert (snap.processed, snap.skipped, snap.received) == (0, 0, 0)
    assert labels(pipeline.process(frame(), 101.0)) == ['person', 'car']  # ready afterwards


def test_warm_up_runs_tracking_messages_and_drawing_on_boxes_and_leaves_no_track(detector):
    """A real model finds nothing on the warm-up frame: boxes warm what only boxes run."""
    from vru_detector.ros.pipeline import WARMUP_TRACK_STEPS
    from vru_detector.tracker import make_tracker

    pytest.importorskip('trackers', reason='pip install trackers')
    detector.set_thresholds(1.0)  # like a real model on a blank frame: no detection at all
    tracker = make_tracker('bytetrack')
    pipeline = DetectionPipeline(detector, TYPES, PipelineStats(), load_class_config(None),
                                 tracker=tracker)
    serialized = []
    pipeline.warm_up(runs=1, serialize=serialized.append)
    arrays = [m for m in serialized if hasattr(m, 'detections')]
    images = [m for m in serialized if hasattr(m, 'encoding')]
    assert len(arrays) == 1 + WARMUP_TRACK_STEPS and len(images) == 1 + WARMUP_TRACK_STEPS
    boxes = arrays[-1].detections
    assert [d.results[0].hypothesis.class_id for d in boxes] == list(detector.names)
    assert all(d.id for d in boxes)  # the tracker confirmed them: its matching path ran
    assert tracker.active_tracks == 0 and tracker.resets == 0  # and forgot them
    detector.set_thresholds(0.25)
    assert labels(pipeline.process(frame(), 101.0)) == ['person', 'car']


def test_settle_heap_collects_and_freezes_what_is_alive():
    import gc

    from vru_detector.ros.pipeline import settle_heap

    try:
        assert settle_heap() >= 0.0
        assert gc.get_freeze_count() > 1000  # the modules and everything else alive now
    finally:
        gc.unfreeze()
