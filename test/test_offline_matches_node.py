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
Offline replay predicts the live node: vru-detect and vru-eval-bag use the node's thresholds.

The node applies config/classes.yaml (car 0.40) on top of ``conf`` 0.25. vru-detect once used
0.25 for every class and showed a car the node never published. Here a bag made by vru-make-bag
from shared frames goes through the node's ROS-free pipeline, vru-detect and vru-eval-bag
--write-bag, and all three must give the same detections.
"""
import json

from fixed_output_model import build_fixed_output_onnx, DEFAULT_BOXES, FixedBox
import numpy as np
from optional import EVAL_EXTRA, requires
import pytest
from vru_detector import Detector
from vru_detector.class_config import default_thresholds, load_class_config
from vru_detector.cli.detect import main as detect_main
from vru_detector.msgs.messages import rosbags_message_types
from vru_detector.replay.bag_images import BagImages
from vru_detector.replay.evaluate_bag import main as eval_main
from vru_detector.replay.make_bag import main as make_main
from vru_detector.ros.params import PARAMS, thresholds_from
from vru_detector.ros.pipeline import DetectionPipeline
from vru_detector.stats import PipelineStats

TOPIC = '/camera/image_raw'
FRAMES = 4
# the default person (0.90) and car (0.60), and a car at 0.32: over conf 0.25, under car's 0.40
BOXES = DEFAULT_BOXES + (FixedBox((200.0, 30.0, 280.0, 90.0), 4, 0.32),)


@pytest.fixture(scope='module')
def bag(tmp_path_factory, shared_data):
    root = shared_data / 'bdd100k_vru'
    out = tmp_path_factory.mktemp('parity') / 'bag'
    assert make_main(['--images', str(root / 'images' / 'val'), '--labels',
                      str(root / 'labels' / 'val'), '--out', str(out), '--fps', '10',
                      '--max-frames', str(FRAMES)]) == 0
    return out


@pytest.fixture(scope='module')
def model(tmp_path_factory):
    return build_fixed_output_onnx(tmp_path_factory.mktemp('model') / 'fixed.onnx', BOXES)


def node_detections(bag, model):
    """Return what detector_node publishes for each frame: its thresholds, its pipeline."""
    styles = load_class_config(None)  # the node's default class_config
    detector = Detector(model)
    values = {p.name: p.default for p in PARAMS}
    t = thresholds_from(values, default_thresholds(styles), detector.names)  # as on configure
    detector.set_thresholds(t.conf, t.class_conf, t.classes)
    pipeline = DetectionPipeline(detector, rosbags_message_types(), PipelineStats(), styles)
    with BagImages(bag, TOPIC) as frames:
        msgs = [pipeline.process(msg, 0.0).detections for _, msg in frames.messages(TOPIC)]
    return [as_records(m) for m in msgs]


def as_records(array):
    """(class name, score, x1, y1, x2, y2) of each Detection2D."""
    out = []
    for d in array.detections:
        c, (w, h) = d.bbox.center.position, (d.bbox.size_x, d.bbox.size_y)
        out.append((d.results[0].hypothesis.class_id, d.results[0].hypothesis.score,
                    c.x - w / 2, c.y - h / 2, c.x + w / 2, c.y + h / 2))
    return out


def detect_records(bag, out, model, *extra):
    assert detect_main(['--model', str(model), '--source', str(bag), '--image-topic', TOPIC,
                        '--save-dir', str(out), '--no-images', *extra]) == 0
    lines = (out / 'detections.jsonl').read_text().splitlines()
    return [[(d['name'], d['score'], *d['box']) for d in json.loads(line)['detections']]
            for line in lines]


def assert_same(ours, node):
    assert len(ours) == len(node) == FRAMES
    for a, b in zip(ours, node):
        assert [d[0] for d in a] == [d[0] for d in b]
        np.testing.assert_allclose([d[1:] for d in a], [d[1:] for d in b], atol=1e-3)


def test_vru_detect_gives_what_the_node_publishes(bag, model, tmp_path):
    node = node_detections(bag, model)
    assert [d[0] for d in node[0]] == ['person', 'car']  # the 0.32 car is not published
    assert_same(detect_records(bag, tmp_path / 'default', model), node)
    # one threshold for every class (what vru-detect did before): the extra car comes back
    single = detect_records(bag, tmp_path / 'single', model, '--class-config', 'none')
    assert [d[0] for d in single[0]] == ['person', 'car', 'car']


@requires(*EVAL_EXTRA)
def test_vru_eval_bag_operates_at_the_node_thresholds(bag, model, tmp_path):
    out = tmp_path / 'eval'
    assert eval_main([str(bag), '--model', str(model), '--image-topic', TOPIC, '--gt-topic',
                      '/ground_truth/detections', '--out', str(out), '--write-bag',
                      '--worst', '0', '--no-progress']) == 0
    metrics = json.loads((out / 'metrics.json').read_text())
    assert metrics['operating_point']['conf'] == {
        'person': 0.25, 'rider': 0.25, 'bicycle': 0.25, 'motorcycle': 0.25, 'car': 0.4}
    topic = '/replay/detections'
    with BagImages(out / 'replay_bag', '/replay/image/compressed') as replay:
        written = [as_records(m) for _, m in replay.messages(topic)]
    assert_same(written, node_detections(bag, model))
