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

"""`vru-train prune`: sparsity training, BN-scale channel pruning and KD fine-tune."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from .names import ALLOCATIONS, SCHEDULES, STAGES

if TYPE_CHECKING:  # torch is imported only when a command runs (fast --help)
    from .pipeline import PruneJob


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--model', type=Path, required=True,
                        help='input checkpoint (the KD student .pt)')
    parser.add_argument('--data', type=Path, help='YOLO dataset yaml (training + validation)')
    parser.add_argument('--out', type=Path, required=True, help='run directory')
    parser.add_argument('--teacher', type=Path,
                        help='KD teacher for the fine-tune (default: the unpruned --model)')
    parser.add_argument('--stages', default=','.join(STAGES),
                        help=f'comma-separated subset of {",".join(STAGES)} (default: all)')
    parser.add_argument('--imgsz', type=int, default=640, help='square input size in pixels')
    parser.add_argument('--batch', type=int, default=16, help='images per batch')
    parser.add_argument('--device', default='cpu', help='ultralytics device: cpu, 0, or 0,1')
    parser.add_argument('--workers', type=int, default=8, help='data-loader worker processes')
    parser.add_argument('--fraction', type=float, default=1.0,
                        help='share of the training images used')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    g = parser.add_argument_group('sparsity training')
    g.add_argument('--sparsity-epochs', type=int, default=50,
                   help='epochs of training with the L1 penalty on BN gammas')
    g.add_argument('--lam', type=float, default=5e-4, help='L1 strength on BN gammas')
    g.add_argument('--lam-schedule', choices=SCHEDULES, default='constant',
                   help='constant, or linear ramp 0 -> lam over the epochs; fade: the planned '
                        'channels shrink to 0 while training (for short runs; --lam 0 allows '
                        'any optimizer)')
    g.add_argument('--fade-end', type=float, default=0.75,
                   help='fade: share of the sparsity epochs after which the channels are 0')
    g = parser.add_argument_group('channel pruning')
    g.add_argument('--ratio', type=float, default=0.5,
                   help='share of prunable channels to remove')
    g.add_argument('--allocation', choices=ALLOCATIONS, default='global',
                   help='global: rank all channels by |gamma| together (after sparsity '
                        'training); uniform: the same share of every layer')
    g.add_argument('--threshold', type=float,
                   help='prune channels with |gamma| below this instead of a ratio')
    g.add_argument('--min-channels', type=int, default=8,
                   help='fewest channels a layer keeps')
    g.add_argument('--round-to', type=int, default=8,
                   help='kept channel counts are multiples of this (tensor-core friendly)')
    g = parser.add_argument_group('fine-tune')
    g.add_argument('--finetune-epochs', type=int, default=50,
                   help='KD fine-tune epochs of the pruned model')
    g.add_argument('--kd', type=json.loads,
                   help='KD terms as JSON, e.g. \'{"cwd": {"weight": 2.0}}\' (default: CWD only)')
    g = parser.add_argument_group('report')
    g.add_argument('--no-val', action='store_true', help='skip mAP before/after')
    g.add_argument('--latency-runs', type=int, default=30, help='0 skips the ONNX latency')
    g.add_argument('--latency-threads', type=int, default=1,
                   help='ONNX Runtime threads of the latency measurement')


def job_from_args(args: argparse.Namespace) -> PruneJob:
    """Build the prune job the flags describe (imports torch)."""
    from .channel_pruning import PruneSettings
    from .pipeline import PruneJob
    from .sparsity import SparsitySchedule

    stages = tuple(s.strip() for s in args.stages.split(',') if s.strip())
    return PruneJob(
        model=args.model, out=args.out, data=args.data, teacher=args.teacher, stages=stages,
        imgsz=args.imgsz, batch=args.batch, device=args.device, workers=args.workers,
        fraction=args.fraction, seed=args.seed, sparsity_epochs=args.sparsity_epochs,
        schedule=SparsitySchedule(lam=args.lam, mode=args.lam_schedule, fade_end=args.fade_end),
        prune=PruneSettings(ratio=None if args.threshold is not None else args.ratio,
                            threshold=args.threshold, min_channels=args.min_channels,
                            round_to=args.round_to, imgsz=args.imgsz,
                            allocation=args.allocation),
        finetune_epochs=args.finetune_epochs, kd=args.kd, validate=not args.no_val,
        latency_runs=args.latency_runs, latency_threads=args.latency_threads)


def run(args: argparse.Namespace) -> int:
    from .pipeline import run_job

    result = run_job(job_from_args(args))
    print(json.dumps(result, indent=2))
    return 0
