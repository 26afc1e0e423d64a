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

"""`vru-detect` on a folder with a corrupt file, on a video, and with a bad model."""
import json
import shutil

import cv2

from vru_detector.cli.detect import main


def test_folder_with_corrupt_image(tmp_path, random_onnx, street_images, capsys):
    src = tmp_path / 'imgs'
    src.mkdir()
    for p in street_images[:2]:
        shutil.copy(p, src / p.name)
    (src / 'zz_corrupt.jpg').write_bytes(b'\xff\xd8\xff not really a jpeg')
    out = tmp_path / 'out'
    assert main(['--model', str(random_onnx), '--source', str(src), '--save-dir', str(out),
                 '--conf', '0.05', '--class-config', 'none', '--classes', 'person', 'car']) == 0
    records = [json.loads(line) for line in (out / 'detections.jsonl').read_text().splitlines()]
    assert [r['frame'] for r in records] == [p.stem for p in street_images[:2]]
    for rec in records:
        assert rec['detections'], 'random model at conf 0.05 finds boxes'
        for d in rec['detections']:
            assert d['name'] in ('person', 'car')
            x1, y1, x2, y2 = d['box']
            assert 0 <= x1 <= x2 <= rec['width'] and 0 <= y1 <= y2 <= rec['height']
    annotated = cv2.imread(str(out / f'{street_images[0].stem}.jpg'))
    assert annotated.shape == cv2.imread(str(street_images[0])).shape
    assert '2 frames processed, 1 skipped' in capsys.readouterr().out


def test_video_source_writes_annotated_video(tmp_path, random_onnx, shared_data):
    clip = tmp_path / 'clip.avi'
    cap = cv2.VideoCapture(str(shared_data / 'videos' / 'TUD-Campus.mp4'))
    writer = None
    for _ in range(5):
        ok, frame = cap.read()
        assert ok
        if writer is None:
            writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*'MJPG'), 10,
                                     frame.shape[1::-1])
        writer.write(frame)
    writer.release()
    out = tmp_path / 'out'
    assert main(['--model', str(random_onnx), '--source', str(clip), '--save-dir', str(out)]) == 0
    assert len((out / 'detections.jsonl').read_text().splitlines()) == 5
    video = cv2.VideoCapture(str(out / 'clip_annotated.mp4'))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 5


def test_bad_model_exits_2_with_message(tmp_path, capsys):
    assert main(['--model', str(tmp_path / 'x.onnx'), '--source', str(tmp_path)]) == 2
    assert 'does not exist' in capsys.readouterr().err
