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
Sparsity-aware training: an L1 penalty on BatchNorm scales (network slimming).

Network slimming (Liu et al. 2017) minimises ``mean loss + lambda * sum|gamma|``. The penalty
enters as its subgradient, added to ``gamma.grad`` after AMP unscaling and gradient clipping,
right before the optimizer step. Two things keep ``lam`` on the paper's scale:

* ultralytics' loss is the per-image loss times the batch size, summed over ``accumulate``
  batches (x world size under DDP) before a step, so the subgradient is scaled the same way:
  ``gamma.grad += lam * batch * world * accumulate * sign(gamma)``. One SGD step (no momentum)
  then moves gamma by ``lr * batch * world * accumulate * lam``, exactly what the paper's step
  on a mean loss moves it by at ultralytics' learning rate.
* the optimizer is SGD whenever ``lam > 0``: ``optimizer=auto`` picks AdamW for short runs,
  and Adam divides every gradient by its running RMS, so ``lam * sign(gamma)`` would no longer
  mean ``lam``.

The paper used lambda 1e-4 (CIFAR) and 1e-5 (ImageNet). Channels whose gamma reaches ~0 carry
a constant and are pruned (the constant folded into the next layer). The Detect head's output
convs are never touched (they have no BatchNorm and define the output format).

Schedule ``fade`` replaces the L1 ranking by a cut planned at the start (the stage settings),
whose channels then fade out while the model trains (:mod:`.channel_fade`): what a short run
can afford, where L1 moves the gammas of a pretrained model too little to rank them.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

import torch
from torch import nn
from ultralytics.models.yolo.detect import DetectionTrainer
from ultralytics.utils import LOGGER

from .channel_fade import attach, ChannelFade
from .channel_pruning import head_output_layers, prepare_for_pruning, PruneSettings
from .gamma_stats import collect_gammas, gamma_stats, plot_gamma_histogram
from .trainers import checkpoint_module


NEAR_ZERO = 1e-2  # |gamma| below this counts as "near zero" in the logs


def lam_at(settings: PruneSettings, epoch: int, epochs: int) -> float:
    """
    Lambda during 0-based ``epoch`` of ``epochs``.

    ``constant`` and ``fade``: ``lam`` throughout; ``linear``: 0 -> lam, sparsity grows.
    """
    if settings.schedule in ('constant', 'fade'):
        return settings.lam
    return settings.lam * (epoch + 1) / max(epochs, 1)


def sparsity_targets(model: nn.Module) -> list[nn.BatchNorm2d]:
    """List the BatchNorms the L1 term applies to: all outside the head's output layers."""
    excluded = {id(m) for layer in head_output_layers(model) for m in layer.modules()}
    return [m for m in model.modules()
            if isinstance(m, nn.BatchNorm2d) and m.affine and id(m) not in excluded]


@torch.no_grad()
def add_l1_subgradient(bns: Iterable[nn.BatchNorm2d], lam: float) -> None:
    """``gamma.grad += lam * sign(gamma)`` for every BatchNorm that has a gradient."""
    if lam == 0:
        return
    for bn in bns:
        if bn.weight.grad is not None:
            bn.weight.grad.add_(torch.sign(bn.weight), alpha=lam)


class SparsityTrainer(DetectionTrainer):
    """
    ultralytics DetectionTrainer with the BN-gamma L1 term and per-epoch gamma logs.

    Writes ``<save_dir>/sparsity/gamma_epochNNN.png`` and ``gamma_stats.jsonl`` (near-zero
    share, percentiles, lambda) after every epoch.
    """

    def __init__(self, *args, settings: PruneSettings | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.sparsity = settings or PruneSettings()
        chosen = str(self.args.optimizer)
        if self.sparsity.lam > 0:  # a fade without L1 trains with any optimizer
            if chosen not in ('auto', 'SGD'):
                raise ValueError(f'sparsity training runs with SGD (the L1 step lam*sign(gamma) '
                                 f'only means lam under SGD; Adam-type optimizers rescale it); '
                                 f'got optimizer={chosen!r}: drop the option or pass SGD')
            self.args.optimizer = 'SGD'
        self._targets: list[nn.BatchNorm2d] | None = None
        self._targets_of: int | None = None
        self.fade: ChannelFade | None = None
        self.add_callback('on_train_epoch_end', _log_gammas)

    def get_model(self, cfg=None, weights=None, verbose: bool = True):
        """Train a given checkpoint's module as is (pruned ones too); build from yaml else."""
        if weights is None:
            model = super().get_model(cfg, weights, verbose)
        else:
            model = checkpoint_module(weights).float()
            for p in model.parameters():
                p.requires_grad_(True)
        if self.sparsity.schedule == 'fade':
            prepare_for_pruning(model)
            self.fade = attach(self, ChannelFade.planned(model, self.sparsity,
                                                         self.sparsity.fade_end))
            LOGGER.info(f'sparsity: {self.fade.channels} channels of {len(self.fade.targets)} '
                        f'BatchNorms ({self.fade.plan.achieved_ratio:.1%} of the prunable '
                        f'channels) fade to 0 by {self.sparsity.fade_end:.0%} of training')
        return model

    def sparsity_bns(self) -> list[nn.BatchNorm2d]:
        from ultralytics.utils.torch_utils import unwrap_model

        model = unwrap_model(self.model)
        if self._targets is None or self._targets_of != id(model):
            self._targets, self._targets_of = sparsity_targets(model), id(model)
        return self._targets

    def current_lambda(self) -> float:
        return lam_at(self.sparsity, self.epoch, self.epochs)

    def loss_scale(self) -> int:
        """How many images' (per-image) losses the gradient of one step sums."""
        world = max(int(getattr(self, 'world_size', 1) or 1), 1)
        return int(self.batch_size) * world * int(self.accumulate)

    def optimizer_step(self):
        """Run the stock step (unscale, clip, step, EMA), adding the L1 subgradient first."""
        self.scaler.unscale_(self.optimizer)
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), max_norm=10.0)
        add_l1_subgradient(self.sparsity_bns(), self.current_lambda() * self.loss_scale())
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad()
        if self.ema:
            self.ema.update(self.model)


def _log_gammas(trainer: SparsityTrainer) -> None:
    """Write this epoch's gamma histogram PNG and a JSON line of gamma statistics."""
    gammas = collect_gammas(trainer.sparsity_bns())
    stats = gamma_stats(gammas, NEAR_ZERO)
    out = Path(trainer.save_dir) / 'sparsity'
    epoch = trainer.epoch + 1
    plot_gamma_histogram(gammas, out / f'gamma_epoch{epoch:03d}.png', f'epoch {epoch}',
                         NEAR_ZERO)
    record = {'epoch': epoch, 'lambda': trainer.current_lambda(), **stats.to_dict()}
    with open(out / 'gamma_stats.jsonl', 'a') as f:
        f.write(json.dumps(record) + '\n')
    LOGGER.info(f'sparsity: epoch {epoch} lambda={record["lambda"]:.2e} '
                f'{stats.near_zero:.1%} of {stats.count} gammas < {stats.eps:g} '
                f'(median |gamma| {stats.median:.3f})')


def train_sparse(model: str | Path, data: Path, settings: PruneSettings,
                 **train_args) -> Path:
    """
    Sparsity-train ``model`` (.pt / .yaml) on ``data``; returns the last checkpoint.

    ``settings``: lam, schedule and, for ``fade``, the cut it plans and fades out.
    """
    overrides = {'model': str(model), 'data': str(data), **train_args}
    trainer = SparsityTrainer(overrides=overrides, settings=settings)
    trainer.train()
    return Path(trainer.last)
