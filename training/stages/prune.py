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
The prune stage: sparsity training, BN-scale channel pruning and a KD fine-tune.

Steps (``steps``): ``sparsity`` trains with an L1 penalty on the BatchNorm scales (or, schedule
``fade``, fades the planned channels to 0), ``prune`` cuts channels by |gamma| (Torch-Pruning's
dependency graph, split-free C2f), ``finetune`` trains the cut model further, distilled from
the unpruned one (CWD by default: ``kd``). Library: training/prune/.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
import json
from pathlib import Path
from typing import Any

from ..prune.names import ALLOCATIONS, IMPORTANCES, SCHEDULES, STAGES as STEPS
from ..settings import option, RecipeError, Settings

# Channel-wise distillation only: the pruned student keeps the teacher's layer layout, so the
# neck features pair up one to one; response terms can be switched on through ``kd``.
FINETUNE_KD = {'score': {'enabled': False}, 'box': {'enabled': False}, 'cwd': {'enabled': True},
               'feature': {'enabled': False}}


@dataclass
class PruneSettings(Settings):
    """Sparsity schedule, the cut and the fine-tune (recipe section ``prune:``)."""

    steps: list[str] = option(list(STEPS), 'steps to run (in the order sparsity, prune, '
                              'finetune)', choices=STEPS)
    sparsity_epochs: int = option(50, 'epochs of training with the L1 penalty on BN gammas',
                                  low=0)
    lam: float = option(5e-4, 'L1 strength on BN gammas (0: no L1; fade then allows any '
                        'optimizer)', low=0)
    schedule: str = option('constant', 'L1 over the sparsity epochs: constant, linear (0 -> '
                           'lam), or fade (the planned channels shrink to 0 while training, '
                           'for short runs)', choices=SCHEDULES)
    fade_end: float = option(0.75, 'fade: share of the sparsity epochs after which the planned '
                             'channels are 0', low=0, low_open=True, high=1)
    ratio: float | None = option(0.5, 'share of prunable channels to remove', low=0, high=1,
                                 high_open=True)
    threshold: float | None = option(None, 'prune the channels with |gamma| below this instead '
                                     'of a ratio', low=0)
    allocation: str = option('global', 'global: rank all channels by |gamma| together (after '
                             'sparsity training); uniform: the same share of every layer',
                             choices=ALLOCATIONS)
    importance: str = option('bn_scale', 'how channels are ranked: bn_scale (|gamma|, after '
                             "sparsity training), or torch_pruning's magnitude (group L2) or "
                             'lamp, which need no sparsity training', choices=IMPORTANCES)
    min_channels: int = option(8, 'fewest channels a layer keeps', low=1)
    round_to: int = option(8, 'kept channel counts are multiples of this (tensor-core '
                           'friendly)', low=1)
    finetune_epochs: int = option(50, 'KD fine-tune epochs of the pruned model', low=0)
    kd: dict[str, Any] = option(FINETUNE_KD, 'KD terms of the fine-tune, as distill.kd')
    imgsz: int = option(640, "square input size in pixels (the recipe: distill's)", low=32)
    batch: int = option(16, "images per batch (the recipe: distill's)", low=1)
    seed: int = option(0, "random seed (the recipe: distill's)", low=0)
    device: str | None = option(None, 'ultralytics device: cpu, 0, or 0,1 (the recipe: that '
                                'of the distill stage)')
    train: dict[str, Any] = option({}, 'other ultralytics train arguments (the recipe: added '
                                   'to those of the distill stage), e.g. workers=0 fraction=0.1')

    STAGE = 'prune'
    FLAG_RENAMED = {'--lam-schedule': '--schedule', '--stages': '--steps',
                    '--workers': '--train workers=N', '--fraction': '--train fraction=F'}

    def check(self) -> None:
        from .common import check_train_keys

        if self.ratio is None and self.threshold is None:
            raise RecipeError(f'{self.STAGE}: give a ratio (0 <= r < 1) or a gamma threshold')
        if self.threshold is not None and self.ratio is None and self.importance != 'bn_scale':
            raise RecipeError(f'{self.STAGE}: a threshold is a |gamma| (importance: bn_scale); '
                              f'with importance: {self.importance} give a ratio')
        if self.allocation == 'uniform' and self.threshold is not None:
            raise RecipeError(f'{self.STAGE}: uniform allocation cuts a share of each layer: '
                              'give a ratio, not a threshold')
        if self.imgsz % 32:
            raise RecipeError(f'{self.where("imgsz")}: must be a multiple of 32 (YOLOv8 '
                              f'stride), got {self.imgsz}')
        check_train_keys(self.train, self.where('train'))
        if self.kd:
            from ..distill.config import KDConfig

            object.__setattr__(self, 'kd', KDConfig.from_dict(
                self.kd, where=self.where('kd')).to_dict())


SETTINGS = PruneSettings


def run(settings: PruneSettings, run_dir: Path, model: Path, data: Path | None = None,
        teacher: Path | None = None, validate: bool = False, latency_runs: int = 0,
        latency_threads: int = 1) -> dict[str, Any]:
    """
    Run the steps on checkpoint ``model`` into ``run_dir``; returns paths and the report's.

    ``teacher``: the fine-tune's KD teacher (default: ``model``). ``validate`` and
    ``latency_runs`` add mAP and ONNX Runtime latency to the stage's own report.
    """
    from ..prune.pipeline import run_steps

    return run_steps(settings, Path(run_dir), Path(model), data=data, teacher=teacher,
                     validate=validate, latency_runs=latency_runs,
                     latency_threads=latency_threads)


def add_inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--model', type=Path, required=True,
                        help='input checkpoint (the KD student .pt)')
    parser.add_argument('--data', type=Path, help='YOLO dataset yaml (training + validation)')
    parser.add_argument('--out', type=Path, required=True, help='run directory')
    parser.add_argument('--teacher', type=Path,
                        help='KD teacher for the fine-tune (default: the unpruned --model)')
    parser.add_argument('--recipe', type=Path, help='recipe YAML: its prune: section is the '
                        'starting point the flags override')
    g = parser.add_argument_group("this command's own report (the pipeline's is its evaluate "
                                  'stage)')
    g.add_argument('--no-val', action='store_true', help='skip mAP before/after')
    g.add_argument('--latency-runs', type=int, default=30,
                   help='ONNX Runtime latency runs per model; 0 skips it')
    g.add_argument('--latency-threads', type=int, default=1,
                   help='ONNX Runtime threads of the latency measurement')


def main(args: argparse.Namespace, settings: PruneSettings, recipe: dict[str, Any]) -> int:
    result = run(settings, args.out, args.model, data=args.data, teacher=args.teacher,
                 validate=not args.no_val, latency_runs=args.latency_runs,
                 latency_threads=args.latency_threads)
    print(json.dumps(result, indent=2))
    return 0
