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

"""vru-make-bag / vru-eval-bag end to end on bags built from the real images and videos."""
from __future__ import annotations

import json
from pathlib import Path
import sqlite3

import cv2
import numpy as np
import pytest
from vru_detector.labels import load_ground_truth, natural_key
from vru_detector.replay.bag_images import BagImages, decode_image, iter_bag_images
from vru_detector.replay.errors import BagReadError
from vru_detector.replay.evaluate_bag import main as eval_main
from vru_detector.replay.make_bag import main as make_main
from vru_detector.replay.realtime import simulate_single_slot
import yaml

NAMES = ('person', 'rider', 'bicycle', 'motorcycle', 'car')
N_BDD = 6  # frames per BDD bag: enough for every code path, quick on 2 cores
GT_TOPIC = '/ground_truth/detections'


def topic_of(compressed: bool) -> str:
    return '/camera/image_raw/compressed' if compressed else '/camera/image_raw'


@pytest.fixture(scope='module')
def bdd_dirs(shared_data):
    root = shared_data / 'bdd100k_vru'
    return root / 'images' / 'val', root / 'labels' / 'val'


@pytest.fixture(scope='module')
def bdd_bags(tmp_path_factory, bdd_dirs):
    """BDD100K val frames as mcap/raw, sqlite3/raw, mcap/JPEG and sqlite3/JPEG bags."""
    images, labels = bdd_dirs
    out = tmp_path_factory.mktemp('bags')
    bags = {}
    for storage in ('mcap', 'sqlite3'):
        for compressed in (False, True):
            bag = out / f'bdd_{storage}_{"jpeg" if compressed else "raw"}'
            argv = ['--images', str(images), '--labels', str(labels), '--out', str(bag),
                    '--storage', storage, '--fps', '10', '--frame-id', 'cam_front',
                    '--max-frames', str(N_BDD)] + (['--compressed'] if compressed else [])
            assert make_main(argv) == 0
            bags[storage, compressed] = bag
    return bags


def first_images(images_dir: Path, n: int) -> list[Path]:
    """Return the frames vru-make-bag writes first (natural order: 'f2' before 'f10')."""
    return sorted(images_dir.glob('*.jpg'), key=lambda p: natural_key(p.name))[:n]


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
@pytest.mark.parametrize('compressed', [False, True])
def test_made_bag_holds_frames_and_ground_truth(bdd_bags, bdd_dirs, storage, compressed):
    bag = bdd_bags[storage, compressed]
    meta = yaml.safe_load((bag / 'metadata.yaml').read_text())['rosbag2_bagfile_information']
    assert meta['storage_identifier'] == storage and meta['version'] == 8
    topics = {t['topic_metadata']['name']: t for t in meta['topics_with_message_count']}
    image_type = 'CompressedImage' if compressed else 'Image'
    image_meta = topics[topic_of(compressed)]['topic_metadata']
    assert image_meta['type'] == f'sensor_msgs/msg/{image_type}'
    assert topics[GT_TOPIC]['topic_metadata']['type'] == 'vision_msgs/msg/Detection2DArray'
    for t in topics.values():  # what ros2 bag play needs to re-offer the publishers' QoS
        assert t['message_count'] == N_BDD
        assert 'reliability' in t['topic_metadata']['offered_qos_profiles']
        assert t['topic_metadata']['type_description_hash'].startswith('RIHS01_')

    images_dir, labels_dir = bdd_dirs
    truth = load_ground_truth(labels_dir, NAMES)
    files = first_images(images_dir, N_BDD)
    with BagImages(bag, topic_of(compressed)) as frames:
        assert frames.keys == [p.stem for p in files]
        got = list(frames)
        gts = list(frames.messages(GT_TOPIC))
    stamps = [f.stamp_ns for f in got]
    assert np.all(np.diff(stamps) == 100_000_000)  # 10 Hz
    assert {f.frame_id for f in got} == {'cam_front'}
    for frame, path, (_, gt_msg) in zip(got, files, gts):
        ref = cv2.imread(str(path))
        diff = np.abs(frame.image.astype(int) - ref).mean()
        assert diff == 0 if not compressed else diff < 4  # JPEG q90 re-encode
        from vru_detector.replay.messages import read_detection_array

        xyxy, cls, _, _ = read_detection_array(gt_msg, NAMES)
        expect = truth.get(path.stem)
        np.testing.assert_allclose(xyxy, expect.xyxy, atol=1e-3)
        np.testing.assert_array_equal(cls, expect.class_ids)


def test_iter_bag_images_is_the_vru_detect_source(bdd_bags, bdd_dirs):
    items = list(iter_bag_images(bdd_bags['mcap', True], topic_of(True)))
    assert [k for k, _, _ in items] == [p.stem for p in first_images(bdd_dirs[0], N_BDD)]
    assert all(img.shape == (720, 1280, 3) and img.dtype == np.uint8 for _, img, _ in items)


def pycocotools_map(truth_frames, dets) -> tuple[float, float]:
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images, anns, results = [], [], []
    for i, (f, d) in enumerate(zip(truth_frames, dets), 1):
        images.append({'id': i, 'width': 1280, 'height': 720})
        for b, c in zip(f.xyxy.astype(float), f.class_ids):
            w, h = b[2] - b[0], b[3] - b[1]
            anns.append({'id': len(anns) + 1, 'image_id': i, 'category_id': int(c) + 1,
                         'bbox': [b[0], b[1], w, h], 'area': w * h, 'iscrowd': 0})
        for b, s, c in zip(d.xyxy.astype(float), d.scores, d.class_ids):
            results.append({'image_id': i, 'category_id': int(c) + 1, 'score': float(s),
                            'bbox': [b[0], b[1], b[2] - b[0], b[3] - b[1]]})
    gt = COCO()
    gt.dataset = {'images': images, 'annotations': anns,
                  'categories': [{'id': i + 1, 'name': n} for i, n in enumerate(NAMES)]}
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        ev = COCOeval(gt, gt.loadRes(results) if results else COCO(), 'bbox')
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return max(ev.stats[0], 0.0), max(ev.stats[1], 0.0)


@pytest.mark.slow
@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_eval_bag_equals_detector_on_the_source_images(bdd_bags, bdd_dirs, random_onnx,
                                                       tmp_path, storage):
    """Raw-image bag: the report's mAP is pycocotools' on the detector's output for the JPEGs."""
    pytest.importorskip('pycocotools')
    from vru_detector import Detector

    bag = bdd_bags[storage, False]
    out_topic, out_labels = tmp_path / 'by_topic', tmp_path / 'by_labels'
    common = [str(bag), '--model', str(random_onnx), '--image-topic', topic_of(False),
              '--no-progress', '--conf', '0.25', '--class-config', 'none']  # one threshold
    assert eval_main(common + ['--gt-topic', GT_TOPIC, '--out', str(out_topic),
                               '--write-bag']) == 0
    assert eval_main(common + ['--labels', str(bdd_dirs[1]), '--out', str(out_labels)]) == 0
    by_topic = json.loads((out_topic / 'metrics.json').read_text())
    by_labels = json.loads((out_labels / 'metrics.json').read_text())
    # ground truth from the bag's topic and from the label files is the same evaluation
    for key in ('frames', 'ground_truth_boxes', 'coco', 'operating_point', 'missed_vru'):
        assert by_topic[key] == by_labels[key], key
    if storage == 'mcap':  # YOLO labels with no images beside: scaled by each frame's size
        lone = tmp_path / 'lone_labels'
        lone.mkdir()
        for p in first_images(bdd_dirs[0], N_BDD):
            (lone / f'{p.stem}.txt').write_text((bdd_dirs[1] / f'{p.stem}.txt').read_text())
        assert eval_main(common + ['--labels', str(lone), '--out', str(tmp_path / 'lone'),
                                   '--worst', '0']) == 0
        lone_m = json.loads((tmp_path / 'lone' / 'metrics.json').read_text())
        for key in ('ground_truth_boxes', 'coco', 'operating_point'):
            assert lone_m[key] == by_topic[key], key

    det = Detector(random_onnx, conf=0.001)
    files = first_images(bdd_dirs[0], N_BDD)
    dets = [det(cv2.imread(str(p))) for p in files]
    truth = load_ground_truth(bdd_dirs[1], NAMES)
    ref50_95, ref50 = pycocotools_map([truth.get(p.stem) for p in files], dets)
    assert by_topic['coco']['mAP50_95'] == pytest.approx(ref50_95, abs=1e-3)
    assert by_topic['coco']['mAP50'] == pytest.approx(ref50, abs=1e-3)
    n_above = sum(int((d.scores >= 0.25).sum()) for d in dets)
    op = by_topic['operating_point']['all']
    assert op['tp'] + op['fp'] == n_above
    assert op['tp'] + op['fn'] == sum(by_topic['ground_truth_boxes'].values())
    assert by_topic['ground_truth_boxes'] == {
        n: int(sum((truth.get(p.stem).class_ids == i).sum() for p in files))
        for i, n in enumerate(NAMES)}

    for name in ('metrics.json', 'report.md', 'pr_curves.png', 'confusion_matrix.png'):
        assert (out_topic / name).stat().st_size > 0
    assert cv2.imread(str(out_topic / 'confusion_matrix.png')) is not None
    assert '| **all** |' in (out_topic / 'report.md').read_text()
    lat = by_topic['latency']['stages']
    assert all(lat[s]['p50'] <= lat[s]['p95'] <= lat[s]['p99'] for s in lat)
    # the Foxglove bag: frames, predictions, ground truth, one message each per frame
    with BagImages(out_topic / 'replay_bag', '/replay/image/compressed') as frames:
        assert frames.count == N_BDD
        assert len(list(frames.messages('/replay/detections'))) == N_BDD
        assert len(list(frames.messages('/replay/ground_truth'))) == N_BDD


@pytest.mark.slow
def test_eval_video_with_mot_ground_truth_and_realtime_drops(shared_data, random_onnx,
                                                             tmp_path):
    """TUD-Campus frames 11-18 as a JPEG sqlite3 bag at 1000 Hz: a live node must drop frames."""
    video = shared_data / 'videos' / 'TUD-Campus.mp4'
    gt_file = shared_data / 'videos' / 'TUD-Campus.gt.txt'
    bag = tmp_path / 'campus'
    assert make_main(['--video', str(video), '--labels', str(gt_file), '--out', str(bag),
                      '--storage', 'sqlite3', '--compressed', '--start', '10', '--max-frames',
                      '8', '--fps', '1000']) == 0
    out = tmp_path / 'eval'
    assert eval_main([str(bag), '--model', str(random_onnx), '--image-topic', topic_of(True),
                      '--labels', str(gt_file), '--out', str(out), '--realtime',
                      '--no-progress']) == 0
    m = json.loads((out / 'metrics.json').read_text())
    lines = [line.split(',') for line in gt_file.read_text().split()]
    expected = sum(1 for f in lines if 11 <= int(f[0]) <= 18)
    assert m['frames'] == 8 and m['ground_truth_boxes']['person'] == expected
    assert 'matched by frame key' in m['run']['ground_truth']
    rt = m['realtime']
    assert rt['recorded_fps'] == pytest.approx(1000, rel=1e-3)
    assert rt['dropped_frames'] >= 1  # no 320x320 CPU detector runs in 1 ms
    assert 0 not in rt['dropped'] and 7 not in rt['dropped']  # first and newest always run
    assert rt['recall'] <= m['operating_point']['all']['recall']


def test_single_slot_newest_frame_wins():
    # frames every 10 ms, detection takes 25 ms: 0 runs 0-25; 1 waits and is replaced by 2,
    # which runs 25-50; 3 is replaced by 4 (runs 50-75); 5 waits and runs 75-100
    arrival = [0, 10, 20, 30, 40, 50]
    result = simulate_single_slot(np.array(arrival) * 1_000_000, [25] * 6)
    assert result.processed.tolist() == [True, False, True, False, True, True]
    assert result.start_ns[[0, 2, 4, 5]].tolist() == [0, 25_000_000, 50_000_000, 75_000_000]
    assert result.end_to_end_ms(np.array(arrival) * 1_000_000).tolist() == [25, 30, 35, 50]
    assert simulate_single_slot(np.arange(5) * 50_000_000, [25] * 5).processed.all()


@pytest.mark.slow
def test_missing_topic_and_corrupt_frames(bdd_bags, random_onnx, tmp_path, capsys):
    bag = bdd_bags['sqlite3', False]
    rc = eval_main([str(bag), '--model', str(random_onnx), '--image-topic', '/nope',
                    '--gt-topic', GT_TOPIC, '--out', str(tmp_path / 'x'), '--no-progress'])
    err = capsys.readouterr().err
    assert rc == 2 and '/nope' in err and '/camera/image_raw [sensor_msgs/msg/Image]' in err

    # topics of the wrong message type, either way round
    rc = eval_main([str(bag), '--model', str(random_onnx), '--image-topic', GT_TOPIC,
                    '--gt-topic', GT_TOPIC, '--out', str(tmp_path / 'y'), '--no-progress'])
    assert rc == 2 and 'carries vision_msgs/msg/Detection2DArray' in capsys.readouterr().err
    rc = eval_main([str(bag), '--model', str(random_onnx), '--image-topic', topic_of(False),
                    '--gt-topic', topic_of(False), '--out', str(tmp_path / 'z'), '--no-progress'])
    assert rc == 2 and 'expected vision_msgs/msg/Detection2DArray' in capsys.readouterr().err

    # a recording with a damaged 4th frame: metrics of the first 3 are still written
    broken = tmp_path / 'broken'
    import shutil

    shutil.copytree(bag, broken)
    db = next(broken.glob('*.db3'))
    with sqlite3.connect(db) as con:
        topic_id = con.execute('select id from topics where name=?',
                               (topic_of(False),)).fetchone()[0]
        rows = con.execute('select id, data from messages where topic_id=? order by timestamp',
                           (topic_id,)).fetchall()
        con.execute('update messages set data=? where id=?', (rows[3][1][:5000], rows[3][0]))
    out = tmp_path / 'partial'
    rc = eval_main([str(broken), '--model', str(random_onnx), '--image-topic', topic_of(False),
                    '--gt-topic', GT_TOPIC, '--out', str(out), '--no-progress'])
    assert rc == 1
    m = json.loads((out / 'metrics.json').read_text())
    assert m['frames'] == 3 and 'frame 3' in m['run']['error']
    assert 'Stopped early' in (out / 'report.md').read_text()

    # a recording cut short (mcap without summary, recorder never wrote metadata.yaml):
    # the intact frames before the cut are evaluated, the damage is reported
    cut = tmp_path / 'cut'
    shutil.copytree(bdd_bags['mcap', False], cut)
    (cut / 'metadata.yaml').unlink()
    mcap = next(cut.glob('*.mcap'))
    mcap.write_bytes(mcap.read_bytes()[: mcap.stat().st_size * 6 // 10])
    out = tmp_path / 'cut_eval'
    rc = eval_main([str(cut), '--model', str(random_onnx), '--image-topic', topic_of(False),
                    '--gt-topic', GT_TOPIC, '--out', str(out), '--no-progress'])
    err = capsys.readouterr().err
    assert rc == 1 and 'front to back' in err and 'damaged at byte' in err
    m = json.loads((out / 'metrics.json').read_text())
    assert 1 <= m['frames'] < N_BDD and 'damaged' in m['run']['error']

    # not a bag at all
    junk = tmp_path / 'junk'
    junk.mkdir()
    (junk / 'metadata.yaml').write_text('rosbag2_bagfile_information: {version: 8}\n')
    rc = eval_main([str(junk), '--model', str(random_onnx), '--image-topic', topic_of(False),
                    '--gt-topic', GT_TOPIC, '--out', str(tmp_path / 'junk_eval'),
                    '--no-progress'])
    assert rc == 2 and 'cannot open the bag' in capsys.readouterr().err


def test_unknown_encoding_and_corrupt_jpeg_are_clear_errors():
    from vru_detector.replay.make_bag import DEFAULT_START_NS
    from vru_detector.replay.messages import header, image_message
    from vru_detector.msgs.msg_types import typestore_with_vision_msgs

    ts = typestore_with_vision_msgs()
    img = np.zeros((4, 6, 3), np.uint8)
    msg, _ = image_message(ts, img, header(ts, DEFAULT_START_NS, 'cam'))
    msg.encoding = 'yuv444_made_up'
    with pytest.raises(BagReadError, match='yuv444_made_up'):
        decode_image(msg)
    jpeg, _ = image_message(ts, img, header(ts, DEFAULT_START_NS, 'cam'), compressed=True)
    jpeg.data = jpeg.data[:10]
    with pytest.raises(BagReadError, match='corrupt'):
        decode_image(jpeg)
    # padded rows (step > width * 3) decode to the right pixels
    rgb = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    padded = np.zeros((4, 24), np.uint8)
    padded[:, :18] = rgb.reshape(4, 18)
    msg.encoding, msg.step, msg.data = 'rgb8', 24, padded.reshape(-1)
    np.testing.assert_array_equal(decode_image(msg), rgb[..., ::-1])


@pytest.mark.slow
def test_bag_labelled_with_the_models_own_output_scores_perfectly(
        bdd_dirs, random_onnx, tmp_path):
    """
    Ground truth = the detector's own boxes at the operating threshold.

    Every box must be found in the right frame (stamp matching, NMS, conf filtering line up).
    """
    from vru_detector import Detector
    from vru_detector.labels import FrameTruth, GroundTruth
    from vru_detector.replay.make_bag import iter_image_folder, write_bag

    det = Detector(random_onnx, conf=0.25)
    frames = list(iter_image_folder(bdd_dirs[0], 0, N_BDD))
    own = [FrameTruth.from_lists(key, d.xyxy, d.class_ids, image_shape=img.shape[:2])
           for key, img in frames for d in [det(img)]]
    n_boxes = sum(len(f) for f in own)
    assert n_boxes > 0
    bag = write_bag(iter(frames), tmp_path / 'own', 10, GroundTruth(NAMES, own),
                    progress=False).path
    out = tmp_path / 'eval'
    assert eval_main([str(bag), '--model', str(random_onnx), '--image-topic', topic_of(False),
                      '--gt-topic', GT_TOPIC, '--out', str(out), '--conf', '0.25',
                      '--class-config', 'none', '--no-progress']) == 0
    m = json.loads((out / 'metrics.json').read_text())
    assert sum(m['ground_truth_boxes'].values()) == n_boxes
    assert m['coco']['mAP50_95'] == pytest.approx(1.0)
    assert m['operating_point']['all'] == {'precision': 1.0, 'recall': 1.0, 'f1': 1.0,
                                           'tp': n_boxes, 'fp': 0, 'fn': 0}
    assert m['missed_vru'] == [] and not (out / 'worst_frames.png').exists()
    # above every score (the random model's are nearly constant) everything is missed
    scores = np.concatenate([det(img).scores for _, img in frames])
    strict_conf = round(float(scores.max()) + 0.01, 4)
    assert eval_main([str(bag), '--model', str(random_onnx), '--image-topic', topic_of(False),
                      '--gt-topic', GT_TOPIC, '--out', str(tmp_path / 'strict'), '--conf',
                      str(strict_conf), '--class-config', 'none', '--no-progress']) == 0
    strict = json.loads((tmp_path / 'strict' / 'metrics.json').read_text())
    assert strict['operating_point']['all']['fn'] == n_boxes
    assert strict['operating_point']['all']['tp'] == strict['operating_point']['all']['fp'] == 0
    assert strict['coco'] == m['coco']  # mAP does not depend on the operating threshold
    assert (tmp_path / 'strict' / 'worst_frames.png').is_file()


def test_make_bag_refuses_bad_input_and_leaves_nothing_behind(tmp_path, capsys):
    images = tmp_path / 'images'
    images.mkdir()
    cv2.imwrite(str(images / 'a.jpg'), np.full((48, 64, 3), 90, np.uint8))
    (images / 'b.jpg').write_bytes(b'not a jpeg')
    out = tmp_path / 'bag'
    assert make_main(['--images', str(images), '--out', str(out)]) == 2
    assert 'b.jpg' in capsys.readouterr().err and not out.exists()
    (images / 'b.jpg').unlink()
    (tmp_path / 'labels').mkdir()
    (tmp_path / 'labels' / 'a.txt').write_text('0 0.5 0.5 0.2\n')
    assert make_main(['--images', str(images), '--labels', str(tmp_path / 'labels'),
                      '--out', str(out)]) == 2
    assert 'expected 5 fields' in capsys.readouterr().err and not out.exists()
    assert make_main(['--images', str(images), '--out', str(out), '--storage', 'sqlite3']) == 0
    assert make_main(['--images', str(images), '--out', str(out)]) == 2  # never overwrites
    assert 'exists' in capsys.readouterr().err


def test_mcap_salvage_survives_any_cut(tmp_path):
    """Cut anywhere, the reader returns the intact messages before the cut and never raises."""
    from vru_detector.replay.make_bag import write_bag
    from vru_detector.replay.mcap_salvage import iter_mcap_messages, SalvageReport

    rng = np.random.default_rng(0)
    frames = [(str(i), rng.integers(0, 255, (24, 32, 3), np.uint8)) for i in range(5)]
    bag = write_bag(iter(frames), tmp_path / 'small', 10, progress=False).path
    data = next(bag.glob('*.mcap')).read_bytes()
    full = SalvageReport()
    assert len(list(iter_mcap_messages(next(bag.glob('*.mcap')), full))) == 5 and full.complete
    cut_file = tmp_path / 'cut.mcap'
    previous = 0
    for cut in sorted(rng.integers(0, len(data), 40)):
        cut_file.write_bytes(data[:cut])
        report = SalvageReport()
        got = [raw for _, _, raw in iter_mcap_messages(cut_file, report)]
        # a cut in the summary after the data section loses nothing
        assert previous <= len(got) <= 5 and (not report.complete or len(got) == 5)
        previous = len(got)
        if not got:  # nothing intact: the topic cannot even be found
            with pytest.raises(BagReadError):
                BagImages(cut_file, '/camera/image_raw').__enter__()
            continue
        seen = []
        with BagImages(cut_file, '/camera/image_raw') as bag_frames:
            assert bag_frames.count == len(got)
            raised = ''
            try:
                for frame in bag_frames:
                    seen.append(frame.image)
            except BagReadError as exc:
                raised = str(exc)
        assert ('damaged at byte' in raised) == (not report.complete)
        assert len(seen) == len(got)
        np.testing.assert_array_equal(seen[-1], frames[len(got) - 1][1])
