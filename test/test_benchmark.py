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

"""The pooled street benchmark: sources, AP against pycocotools, the command line."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from fixed_output_model import build_fixed_output_onnx, FixedBox
import numpy as np
from optional import requires
import pytest
from test_replay_metrics import noisy_predictions, pycocotools_stats

from vru_detector.detections import Detections
from vru_detector.labels import FrameTruth
from vru_detector.replay import benchmark
from vru_detector.replay.bench_sources import (BENCH_CLASSES, load_sources,
                                               novel_view_spacing, POOLED)
from vru_detector.replay.weighted_metrics import WeightedReplay

pytestmark = requires('scipy')


class NoisyDetector:
    """Stands in for Detector: noisy copies of each frame's truth, in frame order."""

    def __init__(self, truths, seed: int, names=BENCH_CLASSES) -> None:
        rng = np.random.default_rng(seed)
        self.preds = [noisy_predictions(t, rng, t.image_shape) for t in truths]
        self.names = names
        self.calls = 0
        self.info = SimpleNamespace(precision='fp32', input_shape=(640, 640))

    def __call__(self, image):
        xyxy, scores, classes = self.preds[self.calls]
        self.calls += 1
        return Detections(xyxy, scores, classes, self.names, image.shape[:2])


@requires('pycocotools', 'scipy')
def test_pooled_ap50_equals_pycocotools_over_all_pooled_frames(shared_data):
    srcs = load_sources(shared_data, POOLED)
    frames = [f for s in srcs for f in s.frames]
    classes, folded = benchmark.class_plan([BENCH_CLASSES])
    assert folded == {} and classes == BENCH_CLASSES
    truths = []
    for frame, image in zip(frames, benchmark.iter_images(frames)):
        h, w = image[1].shape[:2]
        truths.append(frame.truth.clipped(h, w))
    det = NoisyDetector(truths, seed=3)
    metrics = benchmark.evaluate_model(det, frames, classes, folded)
    # a source's unlabelled classes are left out; pycocotools sees the same frames with
    # every class labelled, so compare on classes all pooled sources label: person
    stats, per_class = pycocotools_stats(SimpleNamespace(frames=truths), det.preds)
    only_person = np.zeros((len(frames), len(classes)), bool)
    only_person[:, 0] = True
    w = WeightedReplay(metrics, 0.25, only_person)
    ones = np.ones((1, len(frames)))
    assert w.ap50(ones, 0)[0] == pytest.approx(per_class['person'][1], abs=1e-9)
    everything = WeightedReplay(metrics, 0.25)
    assert everything.map50(ones)[0] == pytest.approx(stats[1], abs=1e-9)


def dropped(det: NoisyDetector, share: float, seed: int) -> NoisyDetector:
    """Remove a share of the detections (the same detector, made worse)."""
    rng = np.random.default_rng(seed)
    out = NoisyDetector([], 0)
    for xyxy, scores, classes in det.preds:
        keep = rng.random(len(scores)) >= share
        out.preds.append((xyxy[keep], scores[keep], classes[keep]))
    return out


def test_api_finds_a_model_with_detections_removed_worse(shared_data):
    srcs = load_sources(shared_data, ('bdd100k_vru', 'street_vru'))
    truths = [f.truth for s in srcs for f in s.frames]
    full = NoisyDetector(truths, seed=4)
    result = benchmark.run_benchmark([full, dropped(full, 0.4, seed=5), NoisyDetector(truths, 4)],
                                     loaded=srcs, names=['full', 'dropped', 'same'],
                                     progress=False, resamples=300)
    assert result.verdict('dropped') == 'worse'
    assert result.verdict('dropped', 'recall') == 'worse'
    assert result.verdict('same') == 'no significant difference'
    assert result.figure('full').estimate > result.figure('dropped').estimate
    # the pooled AP is one evaluation of all pooled frames, not a mean of the sources' APs
    per_source = [result.figure('full', scope=s.name).estimate for s in srcs]
    assert result.figure('full').estimate != pytest.approx(np.mean(per_source), abs=1e-6)
    # the pipeline's final summary names the better file in plain words
    from training.benchmark_eval import start_verdict, summary_lines
    from training.pipeline_log import final_summary

    verdict = start_verdict(result, 'full', 'dropped', Path('run/deployable_int8.onnx'),
                            Path('run/evaluate/start.onnx'))
    text = final_summary(Path('run'), Path('run/report.md'), [], {}, '1 min', verdict)
    assert 'WORSE than the pretrained model it started from' in text
    assert 'The better file is the start: run/evaluate/start.onnx' in text
    same = start_verdict(result, 'full', 'same', Path('a'), Path('b'))
    assert 'do not differ significantly' in '\n'.join(summary_lines(same))


def test_sources_count_frames_boxes_and_groups(shared_data):
    srcs = {s.name: s for s in load_sources(shared_data)}
    assert (len(srcs['bdd100k_vru'].frames), srcs['bdd100k_vru'].boxes()) == (100, 155)
    assert (len(srcs['street_vru'].frames), srcs['street_vru'].boxes('rider')) == (68, 14)
    assert srcs['street_vru'].groups < 68          # KITTI scenes seen twice are one group
    clips = srcs['mot_clips']
    assert clips.groups == 3 and set(clips.spacing) == {'vtest', 'TUD-Stadtmitte', 'TUD-Campus'}
    assert all(f.labelled == ('person',) for f in clips.frames)
    assert not srcs['coco_vru'].pooled and srcs['coco_vru'].groups == 111


def track(step_px: float, width: float = 40.0, frames: int = 60) -> list[FrameTruth]:
    """One person walking right at ``step_px`` per frame."""
    return [FrameTruth.from_lists(str(i + 1), [[i * step_px, 0, i * step_px + width, 100]], [0],
                                  object_ids=[7]) for i in range(frames)]


def test_novel_view_spacing_follows_how_fast_people_move():
    # IoU of a 40 px wide box shifted by d: (40 - d) / (40 + d) < 0.1 once d > 32.7 px
    assert novel_view_spacing(track(4.0)) == 9          # 36 px after 9 frames
    assert novel_view_spacing(track(2.0)) == 17         # 34 px after 17 frames
    assert novel_view_spacing(track(50.0)) == 1


def test_a_model_without_rider_scores_riders_as_persons():
    coco_like = ('person', 'bicycle', 'car', 'motorcycle', 'bus')
    classes, folded = benchmark.class_plan([BENCH_CLASSES, coco_like])
    assert folded == {'rider': 'person'} and 'rider' not in classes


def fixed_model(path, boxes):
    return build_fixed_output_onnx(path, [FixedBox(*b) for b in boxes], imgsz=320)


@pytest.mark.parametrize('backend', [None, 'onnxruntime'])
def test_benchmark_command_end_to_end(shared_data, tmp_path, capsys, backend):
    good = fixed_model(tmp_path / 'good.onnx',
                       [((40, 100, 120, 260), 0, 0.9), ((200, 60, 230, 140), 0, 0.8)])
    worse = fixed_model(tmp_path / 'worse.onnx', [((40, 100, 120, 260), 0, 0.9)])
    out = tmp_path / 'bench'
    rc = benchmark.main([str(good), str(worse), '--data-root', str(shared_data), '--sources',
                         'street_vru', 'bdd100k_vru', '--out', str(out), '--quiet',
                         '--resamples', '200'] + (['--backend', backend] if backend else []))
    assert rc == 0
    result = json.loads((out / 'benchmark.json').read_text())
    assert set(result['figures']) == {'pooled', 'street_vru', 'bdd100k_vru'}
    assert set(result['differences']['pooled']) == {'worse'}
    fig = result['figures']['pooled']['good']['person_ap50']
    assert fig['low'] <= fig['estimate'] <= fig['high'] and fig['groups'] == 49 + 63
    assert result['verdicts']['pooled']['worse']['fp_per_frame'] == 'better'  # 1 box, not 2
    # INT8 arithmetic differs between runtimes: the report names the one that ran each model
    from vru_detector.backends import backend_for
    runtime = backend or backend_for(tmp_path / 'good.onnx')
    assert {m['backend'] for m in result['models']} == {runtime}
    text = (out / 'benchmark.md').read_text()
    assert '## Pooled' in text and 'Paired difference vs good' in text
    assert f'| good | `{tmp_path / "good.onnx"}` | fp32 | {runtime} |' in text
    assert capsys.readouterr().out.startswith('# VRU street benchmark')


@pytest.mark.parametrize('what', ['model', 'data'])
def test_missing_model_or_data_exits_2_with_a_message(shared_data, tmp_path, capsys, what):
    model = fixed_model(tmp_path / 'm.onnx', [((40, 100, 120, 260), 0, 0.9)])
    if what == 'model':
        argv = [str(tmp_path / 'nowhere.onnx'), '--data-root', str(shared_data)]
    else:
        argv = [str(model), '--data-root', str(tmp_path / 'no_data')]
    assert benchmark.main(argv + ['--out', str(tmp_path / 'o'), '--quiet']) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: ') and 'Traceback' not in err
    assert ('nowhere.onnx not found' in err) if what == 'model' else ('--data-root' in err)


def test_train_evaluate_without_its_data_is_a_clear_error(tmp_path, capsys):
    from training.cli import main

    model = fixed_model(tmp_path / 'm.onnx', [((40, 100, 120, 260), 0, 0.9)])
    rc = main(['evaluate', '--models', str(model), '--data-root', str(tmp_path / 'none'),
               '--out', str(tmp_path / 'o')])
    err = capsys.readouterr().err
    assert rc == 2 and 'vru-train evaluate:' in err and '--data-root' in err
