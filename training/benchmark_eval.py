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
The pooled street benchmark inside the training tools: start vs deployable, FP32 vs INT8.

The pipeline's evaluate stage exports the recipe's pretrained start the way it exports its
own models (ONNX, at the deployment size) and puts it first in the benchmark, so every other
model gets a paired difference against where training began; ``vru-train evaluate`` uses it
to compare each FP32 model with its INT8 twin. Missing benchmark data is not fatal here: the
report says the benchmark was skipped and why.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from vru_detector.replay.bench_sources import POOLED


def run_benchmark_section(models: Mapping[str, Path], out_dir: Path,
                          sources: Sequence[str] = POOLED, data_root: str | Path | None = None,
                          progress: bool = True) -> dict[str, Any]:
    """
    Benchmark ``models`` (name -> ONNX; the first is the reference) into ``out_dir``.

    Returns ``{'markdown': ..., 'result': BenchmarkResult | None, 'skipped': reason | None}``.
    """
    from vru_detector.replay.bench_report import markdown, write_outputs
    from vru_detector.replay.bench_sources import MissingSourceError
    from vru_detector.replay.benchmark import default_data_root, run_benchmark

    if not sources:
        return {'markdown': '', 'result': None, 'skipped': 'turned off in the recipe'}
    try:
        result = run_benchmark(list(models.values()), data_root or default_data_root(),
                               sources, names=list(models), progress=progress)
    except MissingSourceError as exc:
        return {'markdown': f'Street benchmark skipped: {exc}\n', 'result': None,
                'skipped': str(exc)}
    write_outputs(result, out_dir)
    text = markdown(result).replace('# VRU street benchmark', '## Street benchmark', 1)
    return {'markdown': text.replace('\n## ', '\n### ').replace('\n### Street', '\n## Street'),
            'result': result, 'skipped': None}


def start_verdict(result, start: str, deployable: str, deployable_file: Path,
                  start_file: Path) -> dict[str, Any]:
    """
    Say whether the deployable model is worse than its start (pooled person AP50, paired).

    ``better_file`` names the file to use when it is: the start's ONNX.
    """
    from vru_detector.replay.bench_report import verdict_sentence

    verdict = result.verdict(deployable)
    d = result.difference(deployable)
    out = {'start': start, 'deployable': deployable, 'verdict': verdict,
           'difference': d.as_dict(), 'sentence': verdict_sentence(result, deployable),
           'better_file': None}
    if verdict == 'worse':
        out['better_file'] = str(start_file)
    elif verdict == 'better':
        out['better_file'] = str(deployable_file)
    return out


def summary_lines(verdict: Mapping[str, Any] | None) -> list[str]:
    """Return the final summary's plain words on the deployable model vs its start."""
    if not verdict:
        return []
    sentence = verdict['sentence']
    if verdict['verdict'] == 'worse':
        return ['', 'WARNING: the deployable model is WORSE than the pretrained model it started '
                f'from on the pooled street benchmark. {sentence}.',
                f'  The better file is the start: {verdict["better_file"]}']
    return ['', f'deployable vs its start on the pooled street benchmark: {sentence}.']
