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
Wall time of ``vru-eval-bag`` on a corpus of bags: in process, Ray with 1 worker, Ray with 2.

Each run is the real command in a fresh process (Ray's start-up included) with an empty
``--out`` (nothing resumed), one ONNX Runtime thread per bag. The modes are interleaved and
repeated (the order rotates every round) because the machine is shared; the table gives each
mode's median and its ratio to the in-process run, side by side from the same session. The
CPU seconds spent inside the bag tasks (decode, inference, matching: ``cpu_s`` in fleet.json)
give the per-frame cost that other load on the machine does not blur. ``--corpus`` may also
be a list file of bags.

    python bench/fleet_corpus.py   # the corpus, once
    python bench/bench_fleet.py --model runs/bench/yolov8n_coco-320.onnx [--repeats 2]
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import statistics
import subprocess
import sys
import tempfile
import time

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from common import print_table  # noqa: E402, I100

MODES = {'in process (--workers 0)': '0', 'Ray, 1 worker': '1', 'Ray, 2 workers': '2'}


def run_once(corpus: Path, model: Path, workers: str, out: Path) -> tuple[float, float, dict]:
    """Wall seconds, CPU seconds of the bag tasks, and fleet.json."""
    cmd = [sys.executable, '-m', 'vru_detector.replay.evaluate_bag', str(corpus), '--model',
           str(model), '--image-topic', '/camera/image_raw', '--gt-topic',
           '/ground_truth/detections', '--out', str(out), '--workers', workers,
           '--no-progress']
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f'{" ".join(cmd)} failed:\n{done.stderr[-3000:]}')
    report = json.loads((out / 'fleet.json').read_text())
    return wall, sum(r['cpu_s'] for r in report['bags']), report


def ray_start_s() -> float:
    """Seconds to start and stop a local 1-CPU Ray in a fresh process."""
    code = ('import time, ray\nt = time.perf_counter()\n'
            'ray.init(num_cpus=1, include_dashboard=False, logging_level="ERROR")\n'
            'print(time.perf_counter() - t)\nray.shutdown()\n')
    done = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    return float(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.strip().split('\n\n')[0])
    p.add_argument('--corpus', type=Path, default=REPO / 'runs' / 'fleet' / 'corpus')
    p.add_argument('--model', type=Path, required=True)
    p.add_argument('--repeats', type=int, default=2)
    args = p.parse_args(argv)
    names = list(MODES)
    walls: dict[str, list[float]] = {n: [] for n in names}
    cpus: dict[str, list[float]] = {n: [] for n in names}
    report: dict = {}
    starts = []
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.repeats):
            order = names[rep % len(names):] + names[:rep % len(names)]
            for name in order:
                wall, cpu, report = run_once(args.corpus, args.model, MODES[name],
                                             Path(tmp) / f'{rep}-{MODES[name]}')
                walls[name].append(wall)
                cpus[name].append(cpu)
                print(f'round {rep + 1}/{args.repeats}: {name}: {wall:.1f} s wall, {cpu:.1f} s '
                      f'CPU in the bag tasks; load average {os.getloadavg()[0]:.1f}', flush=True)
            starts.append(ray_start_s())
    frames = report['pooled']['frames']
    base = statistics.median(walls[names[0]])
    base_cpu = statistics.median(cpus[names[0]])
    rows = []
    for name in names:
        med, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        rows.append([name, ' / '.join(f'{w:.1f}' for w in walls[name]), med, frames / med,
                     base / med, 1000 * cpu / frames, cpu / base_cpu])
    print(f'\n{frames} frames in {len(report["bags"])} bags, model '
          f'{args.model.name}, 1 ONNX Runtime thread per bag; Ray start-up alone: '
          + ' / '.join(f'{s:.1f}' for s in starts) + ' s\n')
    print_table(['mode', 'wall s (each round)', 'median wall s', 'frames/s',
                 'speed vs in process', 'task CPU ms/frame', 'task CPU vs in process'], rows)
    return 0


if __name__ == '__main__':
    sys.exit(main())
