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
Start a model from pretrained weights, its head's classes matched to ours by name.

On a 2-core CPU a model trained from random initialisation learns nothing useful in hours,
while one started from COCO weights is useful in minutes, so every training stage can start
here. The architecture is the checkpoint's own; only the class count changes. Ultralytics'
``DetectionModel.load`` transfers every tensor whose name and shape match and copies the
classification rows of classes whose names agree (it rebuilds the class branch at the source
width so those rows keep their exact values). ``init_classes`` then starts a class the source
does not have from one it has (``{'rider': 'person'}``); every other class starts fresh, at the
head's low prior score (zero weights, ultralytics' prior bias).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import torch
from torch import nn


@dataclass
class TransferReport:
    """Which of our classes kept trained weights (and from which source class) and which not."""

    weights: str
    source_classes: int
    kept: dict[str, str] = field(default_factory=dict)  # our class -> source class
    fresh: list[str] = field(default_factory=list)
    tensors: tuple[int, int] = (0, 0)  # transferred / total

    def summary(self) -> str:
        """One line for the log, e.g. ``person<-person, rider<-person; fresh: none``."""
        kept = ', '.join(k if k == v else f'{k}<-{v}' for k, v in self.kept.items()) or 'none'
        return (f'{Path(self.weights).name}: {self.tensors[0]}/{self.tensors[1]} tensors '
                f'transferred; classes with trained weights: {kept}; starting fresh: '
                f'{", ".join(self.fresh) or "none"}')

    def to_dict(self) -> dict:
        """Plain values for the run manifest."""
        return {'weights': self.weights, 'source_classes': self.source_classes,
                'kept': dict(self.kept), 'fresh': list(self.fresh),
                'tensors': list(self.tensors)}


class PretrainedError(ValueError):
    """Pretrained weights that cannot start the requested model."""


def _norm(name: str) -> str:
    return str(name).strip().lower()


def load_source(weights: str | Path) -> nn.Module:
    """Load a detection checkpoint (EMA first, as ultralytics does) as an FP32 module."""
    from ultralytics.nn.tasks import load_checkpoint

    path = Path(weights)
    if not path.is_file():
        raise PretrainedError(f'pretrained weights {path} not found (nothing is downloaded '
                              'here): give a local .pt, e.g. ../shared/models/yolov8n_coco/'
                              'yolov8n_coco.pt')
    try:
        model, _ = load_checkpoint(str(path))
    except Exception as exc:  # noqa: B902 - torch/pickle raise many types for a bad file
        raise PretrainedError(f'{path}: not a readable ultralytics checkpoint ({exc}); give a '
                              'YOLOv8 detection .pt') from exc
    if not hasattr(model, 'yaml') or not hasattr(model.model[-1], 'nc'):
        raise PretrainedError(f'{path}: not a YOLO detection checkpoint')
    if model.is_fused():
        raise PretrainedError(f'{path}: the weights are fused for inference (no BatchNorm); '
                              'start from the unfused training checkpoint')
    return model.float()


def _cls_convs(model: nn.Module) -> list[nn.Conv2d]:
    """Return the last conv of each class branch of the Detect head (its rows are classes)."""
    return [branch[-1] for branch in model.model[-1].cv3]


def _pruned(source: nn.Module) -> bool:
    """Whether a checkpoint's layers differ from what its yaml builds (pruned or restructured)."""
    from copy import deepcopy

    from ultralytics.nn.tasks import DetectionModel

    built = DetectionModel(deepcopy(source.yaml), nc=int(source.model[-1].nc), verbose=False)
    shapes = {k: v.shape for k, v in built.state_dict().items()}
    return any(shapes.get(k) != v.shape for k, v in source.state_dict().items())


def pretrained_model(weights: str | Path, names: Sequence[str],
                     init_classes: Mapping[str, str] | None = None,
                     verbose: bool = True) -> tuple[nn.Module, TransferReport]:
    """
    Return a new DetectionModel for ``names`` started from ``weights``, and what transferred.

    ``init_classes`` maps one of our classes to a source class it starts from when the source
    has no class of that name (``{'rider': 'person'}``); names compare case-insensitively.
    """
    from copy import deepcopy

    from ultralytics.nn.tasks import DetectionModel
    from ultralytics.utils import LOGGER

    source = load_source(weights)
    names = list(names)
    source_names = {int(k): str(v) for k, v in dict(source.names).items()}
    lookup = {_norm(v): k for k, v in source_names.items()}
    init_classes = {_norm(k): v for k, v in (init_classes or {}).items()}
    for ours, theirs in init_classes.items():
        if ours not in {_norm(n) for n in names}:
            raise PretrainedError(f'init_classes: {ours!r} is not one of the classes {names}')
        if _norm(theirs) not in lookup:
            raise PretrainedError(f'init_classes: {ours}: {theirs!r} is not a class of '
                                  f'{weights} (it has {sorted(source_names.values())[:12]}...)')

    report = TransferReport(weights=str(weights), source_classes=len(source_names))
    if [_norm(source_names[i]) for i in sorted(source_names)] == [_norm(n) for n in names]:
        # Our classes in our order: the checkpoint is the start as it is (a pruned one too,
        # whose widths its yaml does not hold).
        model = deepcopy(source)
        model.names = dict(enumerate(names))
        report.kept = {n: source_names[i] for i, n in enumerate(names)}
        n_tensors = len(model.state_dict())
        report.tensors = (n_tensors, n_tensors)
        model.pt_path = str(weights)
        if verbose:
            LOGGER.info(f'pretrained start: {report.summary()}')
        return model, report
    if _pruned(source):
        raise PretrainedError(f'{weights}: a pruned checkpoint (its widths differ from its yaml) '
                              f'can only start a model with its own classes '
                              f'{list(source_names.values())}, not {names}')

    cfg = deepcopy(source.yaml)
    cfg['nc'] = len(names)
    model = DetectionModel(cfg, nc=len(names), verbose=False)
    model.names = dict(enumerate(names))
    model.load(source, verbose=False)  # name/shape match, class rows remapped by name

    dst_convs, src_convs = _cls_convs(model), _cls_convs(source)
    with torch.no_grad():
        for i, name in enumerate(names):
            theirs = name if _norm(name) in lookup else init_classes.get(_norm(name))
            if theirs is None:
                # Zero weights and the head's prior bias: a fresh class starts at a low score
                # everywhere instead of at a random conv's (often high) scores.
                for dst in dst_convs:
                    dst.weight[i] = 0.0
                report.fresh.append(name)
                continue
            j = lookup[_norm(theirs)]
            for dst, src in zip(dst_convs, src_convs):
                if dst.weight.shape[1:] != src.weight.shape[1:]:
                    raise PretrainedError(f'{weights}: its class branch width differs from the '
                                          'model built from it; cannot transfer class rows')
                dst.weight[i] = src.weight[j]
                dst.bias[i] = src.bias[j]
            report.kept[name] = source_names[j]
    src_sd, dst_sd = source.state_dict(), model.state_dict()
    same = sum(1 for k, v in dst_sd.items() if k in src_sd and src_sd[k].shape == v.shape)
    report.tensors = (same, len(dst_sd))
    model.pt_path = str(weights)
    if verbose:
        LOGGER.info(f'pretrained start: {report.summary()}')
    return model, report
