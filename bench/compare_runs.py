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
Compare two pipeline runs' figures (a refactor must not change the demo's results).

Compares, value by value, ``evaluate/metrics.json``, ``evaluate/benchmark/benchmark.json`` and
every stage's metrics in ``manifest.json`` of two run folders, leaving out what a rerun
changes by itself (latencies, wall times, paths), and the graphs of the deployable ONNX files
(their ``date`` and ``description`` metadata name when and where they were exported)::

    python bench/compare_runs.py /work/main/runs/demo_check runs/demo_check
"""
import argparse
import json
from pathlib import Path
import re
import sys

VARIES = re.compile(r'latency|seconds|wall|_ms$|path|file')


def flat(value, prefix=''):
    """Yield (dotted key, leaf value) of a JSON value."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from flat(v, f'{prefix}.{k}')
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from flat(v, f'{prefix}[{i}]')
    else:
        yield prefix, value


def compare(name: str, a, b) -> bool:
    """Print how many values were compared and which differ; True when none does."""
    fa, fb = dict(flat(a)), dict(flat(b))
    keys = [k for k in sorted(set(fa) | set(fb)) if not VARIES.search(k)]
    differ = [(k, fa.get(k), fb.get(k)) for k in keys if fa.get(k) != fb.get(k)]
    print(f'| {name} | {len(keys)} | {len(differ)} |')
    for row in differ[:20]:
        print(f'|   {row[0]} | {row[1]} | {row[2]} |')
    return not differ


def same_graph(a: Path, b: Path) -> bool:
    import onnx

    graphs = [onnx.load(str(p)).graph.SerializeToString() for p in (a, b)]
    return graphs[0] == graphs[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('a', type=Path, help='a pipeline run folder')
    parser.add_argument('b', type=Path, help='another one')
    args = parser.parse_args(argv)

    def load(run: Path, rel: str):
        return json.loads((run / rel).read_text())

    print('| file | values compared | differ |\n|---|---:|---:|')
    ok = compare('evaluate/metrics.json', load(args.a, 'evaluate/metrics.json'),
                 load(args.b, 'evaluate/metrics.json'))
    ok &= compare('evaluate/benchmark/benchmark.json',
                  load(args.a, 'evaluate/benchmark/benchmark.json'),
                  load(args.b, 'evaluate/benchmark/benchmark.json'))
    ma, mb = load(args.a, 'manifest.json'), load(args.b, 'manifest.json')
    ok &= compare('manifest.json stage metrics',
                  {k: v['metrics'] for k, v in ma['stages'].items()},
                  {k: v['metrics'] for k, v in mb['stages'].items()})
    for name in ('deployable_fp32.onnx', 'deployable_int8.onnx'):
        same = same_graph(args.a / name, args.b / name)
        ok &= same
        print(f'| {name} graph (weights, scales, nodes) | 1 | {0 if same else 1} |')
    for run, manifest in ((args.a, ma), (args.b, mb)):
        seconds = {k: v['seconds'] for k, v in manifest['stages'].items()}
        print(f'\n{run}: stage wall seconds {seconds}')
    print('\nFIGURES EQUAL' if ok else '\nFIGURES DIFFER')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
