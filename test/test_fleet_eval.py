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
vru-eval-bag over many bags: pooling, Ray against a plain loop, resume, corrupt bags, the gate.

Bags hold real BDD100K frames; the model is the fixed-output ONNX, and the ground truth adds a
person near each of its person boxes (shifted a little more on every frame) to the real labels,
so every bag has hits, misses and false alarms at several IoUs. One local Ray session (2 CPUs)
serves the whole module.
"""
from __future__ import annotations

import json
from pathlib import Path
import shutil
import subprocess
import sys

from optional import EVAL_EXTRA, requires
import pytest
from vru_detector.replay.evaluate_bag import main as eval_main

pytestmark = requires(*EVAL_EXTRA)  # vru-eval-bag needs the eval extra

NAMES = ('person', 'rider', 'bicycle', 'motorcycle', 'car')
IMAGE_TOPIC, GT_TOPIC = '/camera/image_raw', '/ground_truth/detections'
BAGS, FRAMES = 3, 3   # bags, frames per bag
# measured, not computed: may differ between two runs of the same bags
TIMING = ('detector_ms_p50', 'realtime_drops', 'wall_s', 'cpu_s', 'cached')


def fixed_boxes(with_persons: bool = True) -> list:
    """Candidates in 320x320 network pixels (BDD 1280x720 maps to x*4, (y-70)*4)."""
    from fixed_output_model import FixedBox

    boxes = [FixedBox((180.0, 140.0, 300.0, 220.0), 4, 0.60)]
    if with_persons:
        boxes += [FixedBox((40.0, 100.0, 120.0, 200.0), 0, 0.90),
                  FixedBox((200.0, 120.0, 260.0, 220.0), 0, 0.45)]
    return boxes


@pytest.fixture(scope='module')
def corpus(tmp_path_factory, shared_data):
    """BAGS bags of FRAMES frames, one bag of all those frames, and the fixed models."""
    pytest.importorskip('onnx', reason='the fixed-output test model is built with onnx')
    from vru_detector.labels import load_ground_truth
    from vru_detector.replay.make_bag import iter_image_folder, write_bag
    from fixed_output_model import build_fixed_output_onnx

    root = tmp_path_factory.mktemp('fleet')
    images = shared_data / 'bdd100k_vru' / 'images' / 'val'
    labels = root / 'labels'
    labels.mkdir()
    stems = [stem for stem, _ in iter_image_folder(images, 0, BAGS * FRAMES)]
    for i, stem in enumerate(stems):
        real = (shared_data / 'bdd100k_vru' / 'labels' / 'val' / f'{stem}.txt').read_text()
        shift = 6.0 * (i % FRAMES)  # pixels: IoU with the detection falls frame by frame
        extra = [(160 + shift, 120 + shift, 480 + shift, 520), (800, 200 + shift, 1040, 600)]
        lines = [f'0 {(x1 + x2) / 2560:.6f} {(y1 + y2) / 1440:.6f} {(x2 - x1) / 1280:.6f} '
                 f'{(y2 - y1) / 720:.6f}' for x1, y1, x2, y2 in extra[:1 + i % 2]]
        (labels / f'{stem}.txt').write_text(real + ''.join(f'{line}\n' for line in lines))
    truth = load_ground_truth(labels, NAMES, image_dir=images)
    bags = root / 'bags'
    for b in range(BAGS):
        write_bag(iter_image_folder(images, b * FRAMES, FRAMES), bags / f'drive{b}', 10, truth,
                  progress=False)
    write_bag(iter_image_folder(images, 0, BAGS * FRAMES), root / 'all', 10, truth,
              progress=False)
    models = {'good': build_fixed_output_onnx(root / 'good.onnx', fixed_boxes()),
              'blind': build_fixed_output_onnx(root / 'blind.onnx', fixed_boxes(False))}
    return {'root': root, 'bags': bags, 'all': root / 'all', **models}


@pytest.fixture(scope='module')
def ray_session():
    """One local Ray for the module (2 CPUs, no dashboard); the command reuses it."""
    ray = pytest.importorskip('ray', reason='needs ray (pip install -e ".[fleet]")')
    ray.init(num_cpus=2, include_dashboard=False, logging_level='ERROR', log_to_driver=False)
    yield ray
    ray.shutdown()


def fleet(corpus, out: Path, *extra: str, bags=None, model='good') -> int:
    argv = [str(b) for b in (bags or [corpus['bags']])]
    return eval_main([*argv, '--model', str(corpus[model]), '--image-topic', IMAGE_TOPIC,
                      '--gt-topic', GT_TOPIC, '--out', str(out), '--no-progress', *extra])


def load(out: Path) -> dict:
    return json.loads((out / 'fleet.json').read_text())


def without_timing(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


def test_pooled_figures_equal_one_bag_of_all_frames(corpus, tmp_path):
    assert fleet(corpus, tmp_path / 'fleet', '--workers', '0') == 0
    assert eval_main([str(corpus['all']), '--model', str(corpus['good']), '--image-topic',
                      IMAGE_TOPIC, '--gt-topic', GT_TOPIC, '--out', str(tmp_path / 'one'),
                      '--no-progress', '--worst', '0', '--threads', '1']) == 0
    pooled = load(tmp_path / 'fleet')
    one = json.loads((tmp_path / 'one' / 'metrics.json').read_text())
    assert pooled['pooled']['frames'] == one['frames'] == BAGS * FRAMES
    for key in ('coco', 'operating_point', 'ground_truth_boxes', 'confusion_matrix',
                'precision_at_recall'):
        assert pooled['pooled_metrics'][key] == one[key], key
    person = one['coco']['by_class']['person']
    assert 0 < person['mAP50_95'] < person['mAP50'] < 1  # hits at some IoUs, not all
    assert pooled['pooled']['person_ap50'] == pytest.approx(person['mAP50'])
    interval = pooled['pooled_intervals']['person_ap50']  # bags resampled whole
    assert interval['groups'] == BAGS
    assert interval['estimate'] == pytest.approx(person['mAP50'])
    assert interval['low'] < interval['estimate'] < interval['high']
    assert pooled['pooled']['person_recall'] == \
        one['operating_point']['by_class']['person']['recall']
    rows = pooled['bags']
    assert [r['bag'] for r in rows] == [f'drive{b}' for b in range(BAGS)]
    assert sum(r['pedestrians'] for r in rows) == pooled['pooled']['pedestrians'] == \
        one['ground_truth_boxes']['person']
    assert all(r['frames'] == FRAMES and r['error'] is None for r in rows)


@requires('ray')
def test_ray_gives_the_sequential_figures(corpus, tmp_path, ray_session):
    assert fleet(corpus, tmp_path / 'seq', '--workers', '0', '--realtime') == 0
    assert fleet(corpus, tmp_path / 'ray', '--workers', '2', '--realtime') == 0
    seq, par = load(tmp_path / 'seq'), load(tmp_path / 'ray')
    assert seq['pooled_metrics'] == par['pooled_metrics']
    assert without_timing(seq['bags']) == without_timing(par['bags'])
    assert without_timing([seq['pooled']]) == without_timing([par['pooled']])
    assert ray_session.is_initialized()  # the command joined this session, did not end it


def test_tracking_skips_bags_without_identities(corpus, tmp_path):
    """--tracking over a mixed corpus: photo bags (no identities) get detection figures only."""
    assert fleet(corpus, tmp_path / 'out', '--workers', '0', '--tracking') == 0
    rows = load(tmp_path / 'out')['bags']
    assert all(r['error'] is None and r['MOTA'] is None and r['frames'] == FRAMES
               for r in rows)


def test_bags_from_a_list_file_and_as_arguments(corpus, tmp_path):
    listing = tmp_path / 'bags.txt'
    listing.write_text('# two of the drives\n' + ''.join(
        f'{corpus["bags"] / f"drive{b}"}\n' for b in (2, 0)))
    assert fleet(corpus, tmp_path / 'list', '--workers', '0', bags=[listing]) == 0
    assert fleet(corpus, tmp_path / 'args', '--workers', '0',
                 bags=[corpus['bags'] / 'drive2', corpus['bags'] / 'drive0']) == 0
    a, b = load(tmp_path / 'list'), load(tmp_path / 'args')
    assert [r['bag'] for r in a['bags']] == ['drive2', 'drive0']
    assert a['pooled_metrics'] == b['pooled_metrics']


def test_rerun_skips_bags_done_with_the_same_model_and_bag(corpus, tmp_path, capsys):
    bags = tmp_path / 'bags'
    shutil.copytree(corpus['bags'], bags)
    out = tmp_path / 'out'
    assert fleet(corpus, out, '--workers', '0', bags=[bags]) == 0
    first = load(out)
    assert not any(r['cached'] for r in first['bags'])
    capsys.readouterr()
    assert fleet(corpus, out, '--workers', '0', bags=[bags]) == 0
    again = load(out)
    assert all(r['cached'] for r in again['bags'])
    assert f'{BAGS} of {BAGS} bag evaluations already done' in capsys.readouterr().err
    assert again['pooled_metrics'] == first['pooled_metrics']
    (bags / 'drive1' / 'notes.txt').write_text('re-recorded')  # the bag's hash changes
    assert fleet(corpus, out, '--workers', '0', bags=[bags]) == 0
    assert [r['cached'] for r in load(out)['bags']] == [True, False, True]
    assert fleet(corpus, out, '--workers', '0', bags=[bags], model='blind') == 0
    assert not any(r['cached'] for r in load(out)['bags'])  # another model: evaluated anew
    assert fleet(corpus, out, '--workers', '0', '--conf', '0.5', bags=[bags]) == 0
    assert not any(r['cached'] for r in load(out)['bags'])  # other settings: anew


@requires('ray')
def test_a_corrupt_bag_is_reported_and_the_others_finish(corpus, tmp_path, ray_session,
                                                         capsys):
    bags = tmp_path / 'bags'
    shutil.copytree(corpus['bags'], bags)
    truncated = bags / 'drive1' / 'drive1.mcap'
    truncated.write_bytes(truncated.read_bytes()[:truncated.stat().st_size // 2])
    garbage = bags / 'drive3'
    shutil.copytree(bags / 'drive0', garbage)
    (garbage / 'drive0.mcap').write_bytes(b'not an mcap file' * 100)
    out = tmp_path / 'out'
    assert fleet(corpus, out, '--workers', '2', bags=[bags]) == 1
    err = capsys.readouterr().err
    assert '2 of 4 bag evaluations failed (drive1, drive3' in err
    rows = {r['bag']: r for r in load(out)['bags']}
    assert rows['drive0']['error'] is None and rows['drive2']['error'] is None
    assert rows['drive0']['frames'] == rows['drive2']['frames'] == FRAMES
    assert rows['drive1']['error'] and rows['drive3']['error']
    assert (rows['drive1']['frames'] or 0) < FRAMES and not rows['drive3']['frames']
    assert load(out)['pooled']['frames'] == 2 * FRAMES + (rows['drive1']['frames'] or 0)
    assert 'drive1' in (out / 'fleet.md').read_text()
    # the failed bags are not stored: a rerun tries them again, the good ones are skipped
    assert fleet(corpus, out, '--workers', '0', bags=[bags]) == 1
    cached = {r['bag']: r['cached'] for r in load(out)['bags']}
    assert cached == {'drive0': True, 'drive1': False, 'drive2': True, 'drive3': False}


def test_gate_exit_codes(corpus, tmp_path, capsys):
    same = fleet(corpus, tmp_path / 'same', '--workers', '0', '--baseline-model',
                 str(corpus['good']))
    assert same == 0
    gate = load(tmp_path / 'same')['gate']
    assert gate['regression'] is False
    assert all(d['person_recall'] == 0 for d in gate['bags'])
    assert fleet(corpus, tmp_path / 'better', '--workers', '0', '--baseline-model',
                 str(corpus['blind'])) == 0
    capsys.readouterr()
    worse = fleet(corpus, tmp_path / 'worse', '--workers', '0', '--baseline-model',
                  str(corpus['good']), model='blind')
    assert worse == 3
    assert 'regression' in capsys.readouterr().err
    gate = load(tmp_path / 'worse')['gate']
    assert gate['regression'] is True
    recall = gate['pooled']['person_recall']
    assert recall['difference'] < 0 and recall['high'] < 0
    assert all(d['person_recall'] < 0 for d in gate['bags'])


def test_missing_ray_runs_in_process_or_says_what_to_install(corpus, tmp_path, monkeypatch,
                                                             capsys):
    monkeypatch.setitem(sys.modules, 'ray', None)  # import ray -> ImportError
    assert fleet(corpus, tmp_path / 'a', '--workers', '2') == 0
    assert 'pip install "vru_detector[fleet]"' in capsys.readouterr().err
    assert fleet(corpus, tmp_path / 'b', '--address', 'auto') == 2
    err = capsys.readouterr().err
    assert 'pip install "vru_detector[fleet]"' in err and 'Traceback' not in err


def test_bad_input_is_a_message(corpus, tmp_path, capsys):
    assert fleet(corpus, tmp_path / 'o', '--workers', '0',
                 bags=[tmp_path / 'nothing', corpus['bags']]) == 2
    assert 'no such bag, folder of bags or list file' in capsys.readouterr().err
    empty = tmp_path / 'empty'
    empty.mkdir()
    (empty / 'x').mkdir()
    assert fleet(corpus, tmp_path / 'o', '--workers', '0', bags=[empty]) == 2
    assert 'neither a bag nor a folder of bags' in capsys.readouterr().err
    assert eval_main([str(corpus['bags']), '--model', str(corpus['good']), '--image-topic',
                      IMAGE_TOPIC, '--labels', str(corpus['root'] / 'labels'), '--out',
                      str(tmp_path / 'o')]) == 2
    assert 'pass --gt-topic' in capsys.readouterr().err


def test_a_bag_task_needs_only_the_runtime(corpus):
    """What a Ray worker imports to evaluate a bag: no torch, no ultralytics, no rclpy."""
    code = (
        'import sys\n'
        'from vru_detector.replay.bag_task import EvalSettings, ModelSource, evaluate_bag, '
        'sha256_file\n'
        f'm = {str(corpus["good"])!r}\n'
        'r = evaluate_bag(sys.argv[1], ModelSource("good.onnx", sha256_file(m), m), '
        f'EvalSettings({IMAGE_TOPIC!r}, {GT_TOPIC!r}, 0.25, 0.001, 0.7, None, "cpu", 1, None, '
        'False, None))\n'
        'assert r.error is None and r.frames == 3, r.error\n'
        'heavy = [m for m in ("torch", "ultralytics", "rclpy", "ray") if m in sys.modules]\n'
        'assert not heavy, heavy\n')
    done = subprocess.run([sys.executable, '-c', code, str(corpus['bags'] / 'drive0')],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
