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
Structured channel pruning of a YOLOv8 DetectionModel by BatchNorm scale (network slimming).

Torch-Pruning's ``DependencyGraph`` finds the coupled channels (C2f concat, residual adds,
SPPF, the Detect head's inputs); ``BNScaleImportance`` scores each channel group by the mean
|gamma| of its BatchNorms (``importance: bn_scale``), or Torch-Pruning's group magnitude or
LAMP does (``magnitude``, ``lamp``: criteria that need no sparsity training). The channels to
remove are chosen here, not by Torch-Pruning's global pruner, because that pruner has no
per-layer minimum and rounds every layer down: all channels are ranked globally by importance
and one cut in that ranking is searched so the pruned share of channels is as close as possible
to the requested ratio *after* each layer keeps at least ``min_channels`` and a multiple of
``round_to`` channels (moving the cut by one channel changes the pruned count by at most
``round_to``, so the ratio is reached within ``round_to / prunable channels`` unless the
minimums make it unreachable). The plan is explicit (which channels of which BatchNorm go), so
it can be checked.

A channel whose gamma is ~0 still outputs a constant, ``act(beta)`` (summed over an Add, kept
by concat, max-pool and upsample). Removing it would drop that constant from every consumer, so
before removal it is folded into each consuming conv: ``W[:, c].sum() * constant`` moves into
the conv's BatchNorm running mean (or its bias, for the Detect head's output convs). The pruned
model then equals the unpruned one with the planned gammas set to 0, betas kept, exactly for
1x1 consumers and away from the zero-padded border for 3x3 ones.

The Detect head's final 1x1 convs (box and class outputs) and the DFL integral conv are never
pruned (their outputs are the model's output format); their inputs may shrink.
"""
from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
import math
from typing import Any, Callable

import torch
from torch import nn

from .c2f_split_free import replace_c2f
from ..stages.prune import PruneSettings  # how much to prune, where: the stage's settings


@dataclass
class GroupPlan:
    """One coupled channel group: its root conv, size, and the channels that go."""

    root: str
    channels: int
    pruned: list[int]
    bn_channels: dict[str, list[int]] = field(default_factory=dict)

    @property
    def kept(self) -> int:
        return self.channels - len(self.pruned)


@dataclass
class PrunePlan:
    """Every prunable group of a model and what pruning removes from it."""

    settings: PruneSettings
    threshold: float
    groups: list[GroupPlan]

    @property
    def channels_before(self) -> int:
        return sum(g.channels for g in self.groups)

    @property
    def channels_after(self) -> int:
        return sum(g.kept for g in self.groups)

    @property
    def achieved_ratio(self) -> float:
        return 1.0 - self.channels_after / max(self.channels_before, 1)

    @property
    def tolerance(self) -> float:
        """
        How far the achieved ratio may sit from the requested one (rounding).

        One ``round_to`` step, as a share of all prunable channels.
        """
        return self.settings.round_to / max(self.channels_before, 1)

    def to_dict(self) -> dict[str, Any]:
        return {'settings': asdict(self.settings), 'threshold': self.threshold,
                'channels_before': self.channels_before, 'channels_after': self.channels_after,
                'achieved_ratio': self.achieved_ratio,
                'groups': [{'root': g.root, 'channels': g.channels, 'kept': g.kept}
                           for g in self.groups]}


def detect_head(model: nn.Module) -> nn.Module:
    """Return the Detect module (last layer) of an ultralytics DetectionModel."""
    from ultralytics.nn.modules import Detect

    layers = getattr(model, 'model', None)
    head = layers[-1] if layers is not None else None
    if not isinstance(head, Detect):
        raise TypeError(f'expected an ultralytics DetectionModel whose last layer is Detect, '
                        f'got {type(model).__name__} ending in {type(head).__name__}')
    return head


def head_output_layers(model: nn.Module) -> list[nn.Module]:
    """List the Detect head's final convs (box, class, one2one copies) and the DFL conv."""
    head = detect_head(model)
    layers: list[nn.Module] = []
    for attr in ('cv2', 'cv3', 'one2one_cv2', 'one2one_cv3'):
        branches = getattr(head, attr, None)
        if branches is not None:
            layers.extend(seq[-1] for seq in branches)
    if isinstance(getattr(head, 'dfl', None), nn.Module):
        layers.append(head.dfl)
    return layers


def prepare_for_pruning(model: nn.Module) -> nn.Module:
    """Make ``model`` traceable in place: float32, split-free C2f, every parameter trainable."""
    detect_head(model)
    model.float()
    replace_c2f(model)
    for p in model.parameters():
        p.requires_grad_(True)
    return model


def _output_transform(out: Any) -> Any:
    return out[0] if isinstance(out, (tuple, list)) else out


def build_graph(model: nn.Module, imgsz: int) -> Any:
    """
    Torch-Pruning dependency graph of a prepared model, traced at ``imgsz`` on its device.

    The head's output convs are excluded later (as group roots), not here: a layer ignored
    while tracing is treated as channel-preserving and would couple unrelated channels.
    """
    import torch_pruning as tp

    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    example = torch.zeros(1, 3, imgsz, imgsz, device=device)
    graph = tp.DependencyGraph().build_dependency(
        model, example_inputs=example, output_transform=_output_transform, verbose=False)
    model.train(was_training)
    return graph


def _idx(i: Any) -> int:
    return int(getattr(i, 'idx', i))


def _importance(tp: Any, criterion: str) -> Any:
    """
    Torch-Pruning's importance for ``criterion`` (``PruneSettings.importance``).

    |gamma| stays raw (network slimming ranks sparsity-trained gammas across layers as they
    are); group magnitude is normalized per group (its default) and LAMP by its own rule, so
    that a global ranking compares layers fairly.
    """
    if criterion == 'bn_scale':
        return tp.importance.BNScaleImportance(group_reduction='mean', normalizer=None)
    if criterion == 'magnitude':
        return tp.importance.GroupMagnitudeImportance(p=2, group_reduction='mean',
                                                      normalizer='mean')
    if criterion == 'lamp':
        return tp.importance.LAMPImportance(p=2, group_reduction='mean', normalizer='lamp')
    raise ValueError(f'unknown channel importance {criterion!r}')


def _prunable_groups(graph: Any, model: nn.Module, criterion: str = 'bn_scale'
                     ) -> list[tuple[nn.Module, Callable, torch.Tensor]]:
    """(root module, pruning fn, per-channel importance) of every group with BatchNorms."""
    import torch_pruning as tp

    importance = _importance(tp, criterion)
    out = []
    for group in graph.get_all_groups(ignored_layers=head_output_layers(model),
                                      root_module_types=[nn.Conv2d]):
        imp = importance(group)
        if imp is None:
            continue
        root = group[0].dep.target.module
        out.append((root, group[0].dep.handler, imp.detach().float().cpu()))
    return out


def _kept(n: int, below: int, settings: PruneSettings) -> int:
    """Channels a group of ``n`` keeps when ``below`` of them fall under the threshold."""
    step = settings.round_to
    keep = int(round((n - below) / step)) * step
    floor = min(n, math.ceil(settings.min_channels / step) * step)
    return int(min(n, max(keep, floor)))


def plan_pruning(model: nn.Module, settings: PruneSettings, graph: Any = None) -> PrunePlan:
    """
    Decide which channels go (nothing is changed). ``model`` must be prepared.

    ``settings.threshold``, when set, cuts every channel whose |gamma| is below it; else the
    cut removes ``settings.ratio`` of the prunable channels.
    """
    graph = graph or build_graph(model, settings.imgsz)
    groups = _prunable_groups(graph, model, settings.importance)
    if not groups:
        raise ValueError('no prunable BatchNorm channel groups found in the model')
    if settings.allocation == 'uniform':  # rank within each layer: every layer cut alike
        groups = [(root, fn, (torch.argsort(torch.argsort(imp, stable=True)).float() + 1)
                   / len(imp)) for root, fn, imp in groups]
    # One global ranking of all channels by importance (stable, so ties are broken by
    # position and any count can be reached); a group's channels below rank k are candidates.
    imps = torch.cat([imp for _, _, imp in groups])
    order = torch.argsort(imps, stable=True)
    rank = torch.empty_like(order)
    rank[order] = torch.arange(len(order))
    group_ranks, start = [], 0
    for _, _, imp in groups:
        group_ranks.append(rank[start:start + len(imp)])
        start += len(imp)
    sorted_ranks = [torch.sort(r).values for r in group_ranks]
    total = len(imps)

    def kept_at(k: int) -> list[int]:
        return [_kept(len(r), int(torch.searchsorted(r, k)), settings) for r in sorted_ranks]

    if settings.threshold is None:
        target = settings.ratio * total
        lo, hi = 0, total  # smallest k whose pruned count reaches the target
        while lo < hi:
            mid = (lo + hi) // 2
            if total - sum(kept_at(mid)) >= target:
                hi = mid
            else:
                lo = mid + 1
        k = lo
        if lo > 0:
            under = total - sum(kept_at(lo - 1))
            over = total - sum(kept_at(lo))
            k = lo - 1 if target - under < over - target else lo
    else:
        k = int((imps < settings.threshold).sum())
    threshold = float(imps[order[k]]) if k < total else float(imps.max())

    plans = []
    name_of = graph._module2name
    for (root, fn, imp), ranks, keep in zip(groups, group_ranks, kept_at(k)):
        n_pruned = len(imp) - keep
        pruned = sorted(torch.argsort(ranks)[:n_pruned].tolist()) if n_pruned > 0 else []
        plan = GroupPlan(root=name_of[root], channels=len(imp), pruned=pruned)
        if pruned:
            for dep, idxs in graph.get_pruning_group(root, fn, pruned):
                target = dep.target.module
                if isinstance(target, nn.BatchNorm2d) and graph.is_out_channel_pruning_fn(
                        dep.handler):
                    plan.bn_channels[name_of[target]] = sorted({_idx(i) for i in idxs})
        plans.append(plan)
    return PrunePlan(settings=settings, threshold=threshold, groups=plans)


def _removed_inputs(graph: Any, model: nn.Module, plan: PrunePlan) -> dict[str, set[int]]:
    """Conv name -> the input channels pruning removes from it (every group, every consumer)."""
    modules = dict(model.named_modules())
    name_of = graph._module2name
    removed: dict[str, set[int]] = {}
    for gp in plan.groups:
        if not gp.pruned:
            continue
        root = modules[gp.root]
        for dep, idxs in graph.get_pruning_group(
                root, graph.get_pruner_of_module(root).prune_out_channels, gp.pruned):
            target = dep.target.module
            if (isinstance(target, nn.Conv2d) and target.groups == 1
                    and graph.is_in_channel_pruning_fn(dep.handler)):
                removed.setdefault(name_of[target], set()).update(_idx(i) for i in idxs)
    return removed


@torch.no_grad()
def fold_pruned_constants(model: nn.Module, plan: PrunePlan, graph: Any) -> int:
    """
    Move the constant the planned channels output into their consumers; returns convs changed.

    The constants are read, not derived: a copy of the model with the planned gammas set to 0
    runs once and each consumer records its to-be-removed input channels (constant maps).
    """
    removed = _removed_inputs(graph, model, plan)
    if not removed:
        return 0
    reference = copy.deepcopy(model).eval()
    zero_planned_channels(reference, plan)
    ref_modules = dict(reference.named_modules())
    constants: dict[str, torch.Tensor] = {}

    def recorder(name: str, idxs: list[int]) -> Callable:
        def hook(_module: nn.Module, inputs: tuple) -> None:
            x = inputs[0][0, idxs]
            h, w = x.shape[-2:]
            constants[name] = x[:, h // 2, w // 2].clone()  # constant maps: any pixel will do
        return hook

    order = {name: sorted(idxs) for name, idxs in removed.items()}
    handles = [ref_modules[name].register_forward_pre_hook(recorder(name, idxs))
               for name, idxs in order.items()]
    try:
        device = next(model.parameters()).device
        size = plan.settings.imgsz
        reference(torch.zeros(1, 3, size, size, device=device))
    finally:
        for handle in handles:
            handle.remove()
    modules = dict(model.named_modules())
    bn_after = {id(m.conv): m.bn for m in model.modules()
                if isinstance(getattr(m, 'conv', None), nn.Conv2d)
                and isinstance(getattr(m, 'bn', None), nn.BatchNorm2d)}
    for name, idxs in order.items():
        conv = modules[name]
        delta = (conv.weight[:, idxs].sum((2, 3)) * constants[name].to(conv.weight)).sum(1)
        bn = bn_after.get(id(conv))
        if bn is not None:
            bn.running_mean.sub_(delta)
        elif conv.bias is not None:
            conv.bias.add_(delta)
        else:
            conv.bias = nn.Parameter(delta.clone())
    return len(order)


def apply_plan(model: nn.Module, plan: PrunePlan, graph: Any, fold: bool = True) -> None:
    """
    Remove the planned channels from ``model`` (the model ``graph`` was traced on).

    ``fold`` first moves their constant output into the consumers (see the module docstring).
    """
    if fold:
        fold_pruned_constants(model, plan, graph)
    modules = dict(model.named_modules())
    for gp in plan.groups:
        if not gp.pruned:
            continue
        root = modules[gp.root]
        group = graph.get_pruning_group(root, graph.get_pruner_of_module(root).prune_out_channels,
                                        gp.pruned)
        if not graph.check_pruning_group(group):
            raise RuntimeError(f'pruning {len(gp.pruned)} of {gp.channels} channels of '
                               f'{gp.root} would empty a layer; lower the ratio')
        group.prune()


@torch.no_grad()
def zero_planned_channels(model: nn.Module, plan: PrunePlan) -> None:
    """Set gamma of every planned channel to 0, beta kept (the unpruned equivalent of pruning)."""
    modules = dict(model.named_modules())
    for gp in plan.groups:
        for name, idxs in gp.bn_channels.items():
            modules[name].weight[idxs] = 0.0


def prune_model(model: nn.Module, settings: PruneSettings) -> PrunePlan:
    """Prepare, plan and prune ``model`` in place; returns the plan that was applied."""
    prepare_for_pruning(model)
    graph = build_graph(model, settings.imgsz)
    plan = plan_pruning(model, settings, graph)
    apply_plan(model, plan, graph)
    return plan
