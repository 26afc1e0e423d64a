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
The tracking table of the three MOT clips: vru-make-bag, then vru-eval-bag --tracking --realtime.

    python bench/tracking_results.py [--model M.onnx] [--out runs/tracking] [--backend B]

Without ``--model`` it takes the demo pipeline's deployable INT8 student
(``runs/demo/deployable_int8.onnx``, else the newest ``runs/demo/*int8*.onnx``). Each clip
becomes a bag with its MOT ground truth (identities in Detection2D.id); vru-eval-bag replays it
once, and reports tracking over every frame and over the frames a live
node would have processed at the recorded rate with the latency measured in that run. Prints
the commands it ran and a markdown table (docs/results/2026-12-01-tracking.md was made so).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
import shlex
import subprocess
import sys

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.clips import CLIPS  # noqa: E402, I100
from bench.common import print_table, SHARED_DATA  # noqa: E402


def demo_model() -> Path:
    deployable = REPO / 'runs' / 'demo' / 'deployable_int8.onnx'
    if deployable.is_file():  # what the demo pipeline publishes
        return deployable
    found = sorted((REPO / 'runs' / 'demo').glob('**/*int8*.onnx'),
                   key=lambda p: p.stat().st_mtime)
    if not found:
        raise SystemExit('no runs/demo/*int8*.onnx: run the demo pipeline first (README) or pass '
                         '--model (e.g. an export of ../shared/models/yolov8n_coco made with '
                         '`vru-train export --imgsz 640`)')
    return found[-1]


def run(command: list[str], module: str) -> None:
    """Run an entry point as ``python -m`` (same venv); print it as the user would type it."""
    print('$ ' + shlex.join(command), flush=True)
    subprocess.run([sys.executable, '-m', module, *command[1:]], check=True)


def rows_of(name: str, metrics: dict) -> list[list]:
    rows = []
    for mode in ('all_frames', 'realtime'):
        r = metrics['tracking'].get(mode)
        if not r:
            continue
        m, f = r['metrics'], r['first_track']
        dropped = r.get('dropped_frames', 0)

        def trio(unit: str, digits: int) -> str:
            values = [f[f'{unit}_{q}'] for q in ('median', 'p90', 'max')]
            return ' / '.join('-' if v is None else f'{v:.{digits}f}' for v in values)

        rows.append([name, 'all frames' if mode == 'all_frames' else 'realtime',
                     metrics['frames'], dropped, f"{m['MOTA']:.3f}", f"{m['IDF1']:.3f}",
                     f"{m['HOTA']:.3f}", m['IDSW'], m['FP'], m['FN'], m['gt_ids'],
                     trio('frames', 1), trio('seconds', 2), f['never_tracked']])
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--model', type=Path, help='default: the newest runs/demo/*int8*.onnx')
    p.add_argument('--videos', type=Path, default=SHARED_DATA / 'videos')
    p.add_argument('--out', type=Path, default=REPO / 'runs' / 'tracking')
    p.add_argument('--tracker', default='bytetrack')
    p.add_argument('--threads', type=int, help='inference threads (default: all)')
    p.add_argument('--backend', help='onnxruntime or openvino (default: from the model file)')
    args = p.parse_args()
    model = args.model or demo_model()
    rows, fps = [], {}
    for clip in CLIPS:
        video = args.videos / clip
        stem = video.stem
        bag = args.out / 'bags' / stem
        if not bag.exists():
            run(['vru-make-bag', '--video', str(video), '--labels',
                 str(video.with_name(stem + '.gt.txt')), '--out', str(bag)],
                'vru_detector.replay.make_bag')
        out = args.out / 'eval' / stem
        command = ['vru-eval-bag', str(bag), '--model', str(model), '--image-topic',
                   '/camera/image_raw', '--gt-topic', '/ground_truth/detections', '--out',
                   str(out), '--tracking', args.tracker, '--realtime', '--worst', '0',
                   '--no-progress']
        if args.threads:
            command += ['--threads', str(args.threads)]
        if args.backend:
            command += ['--backend', args.backend]
        run(command, 'vru_detector.replay.evaluate_bag')
        metrics = json.loads((out / 'metrics.json').read_text())
        fps[stem] = (metrics['tracking']['frame_rate'],
                     metrics['latency']['stages']['detector']['mean'])
        rows += rows_of(stem, metrics)
    print(f'\nmodel {model} ({args.backend or "backend from the file"}); tracker '
          f'{args.tracker}; detections at --conf 0.25\n')
    print_table(['clip', 'mode', 'frames', 'dropped', 'MOTA', 'IDF1', 'HOTA', 'IDSW', 'FP', 'FN',
                 'GT ids', 'first track median / p90 / max (frames)', '(seconds)',
                 'never tracked'], rows)
    print('\nrecorded rate and mean detector ms per frame: '
          + ', '.join(f'{k} {r:.0f} fps, {ms:.0f} ms' for k, (r, ms) in fps.items()))


if __name__ == '__main__':
    main()
