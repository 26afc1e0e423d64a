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


"""`vru-detect` on what new users have: truncated JPEGs, nothing decodable, reused dirs, bags."""
import shutil

from fixed_output_model import build_fixed_output_onnx
import pytest

from vru_detector.cli.detect import main


@pytest.fixture(scope='module')
def model(tmp_path_factory):
    return build_fixed_output_onnx(tmp_path_factory.mktemp('m') / 'fixed.onnx')


def _detect(model, source, out, *extra):
    return main(['--model', str(model), '--source', str(source), '--save-dir', str(out),
                 *extra])


def test_truncated_jpeg_is_processed_with_a_warning(tmp_path, model, street_images, capsys):
    whole = street_images[0].read_bytes()
    cut = tmp_path / 'cut.jpg'
    cut.write_bytes(whole[:len(whole) // 2])
    assert _detect(model, cut, tmp_path / 'out') == 0
    out = capsys.readouterr().out
    assert 'warning: cut is a truncated JPEG' in out and '1 frames processed' in out
    capsys.readouterr()
    assert _detect(model, street_images[0], tmp_path / 'whole') == 0
    assert 'truncated JPEG' not in capsys.readouterr().out


def test_a_run_where_nothing_decodes_exits_1(tmp_path, model, capsys):
    src = tmp_path / 'imgs'
    src.mkdir()
    (src / 'a.jpg').write_bytes(b'\xff\xd8\xff not a jpeg')
    (src / 'b.png').write_bytes(b'')
    assert _detect(model, src, tmp_path / 'out') == 1
    captured = capsys.readouterr()
    assert 'skipped a: could not be decoded' in captured.out
    assert 'none of the 2 input frame(s)' in captured.err


def test_a_reused_save_dir_gets_a_numbered_sibling(tmp_path, model, street_images, capsys):
    src = tmp_path / 'imgs'
    src.mkdir()
    shutil.copy(street_images[0], src)
    shutil.copy(street_images[1], src)
    out = tmp_path / 'out'
    assert _detect(model, src, out) == 0
    (src / street_images[1].name).unlink()
    assert _detect(model, src, out) == 0
    assert _detect(model, src, out) == 0
    assert len((out / 'detections.jsonl').read_text().splitlines()) == 2
    for again in (tmp_path / 'out2', tmp_path / 'out3'):
        assert len((again / 'detections.jsonl').read_text().splitlines()) == 1
    assert 'results in ' + str(tmp_path / 'out3') in capsys.readouterr().out
    assert _detect(model, src, out, '--exist-ok') == 0
    assert len((out / 'detections.jsonl').read_text().splitlines()) == 1
    assert not (tmp_path / 'out4').exists()


@pytest.fixture(scope='module')
def bag(tmp_path_factory, street_images):
    from vru_detector.replay.make_bag import main as make_bag

    root = tmp_path_factory.mktemp('bag')
    (root / 'imgs').mkdir()
    for p in street_images[:2]:
        shutil.copy(p, root / 'imgs')
    assert make_bag(['--images', str(root / 'imgs'), '--out', str(root / 'bag')]) == 0
    return root / 'bag'


@pytest.mark.parametrize('topic, message', [
    (None, 'is a rosbag2: pass --image-topic with one of its image topics: /camera/image_raw'),
    ('/wrong', "topic '/wrong' is not in"),
])
def test_a_bag_with_a_missing_or_wrong_topic_is_refused_before_any_work(
        tmp_path, model, bag, capsys, topic, message):
    extra = [] if topic is None else ['--image-topic', topic]
    assert _detect(model, bag, tmp_path / 'out', *extra) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / 'out').exists()


def test_a_bag_with_its_topic_is_detected_frame_by_frame(tmp_path, model, bag, capsys):
    assert _detect(model, bag, tmp_path / 'out', '--image-topic', '/camera/image_raw') == 0
    assert len((tmp_path / 'out' / 'detections.jsonl').read_text().splitlines()) == 2
