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
The teacher-student module: ultralytics' ``DistillationModel`` with our KD losses.

Ultralytics' wrapper already keeps the teacher frozen in eval mode (also across ``.train()``),
captures features with picklable hooks, is stripped of the teacher in the EMA, and is unwrapped
to the bare student by ``strip_optimizer`` when training ends. We keep all of that and replace
its single score-weighted L2 term with response KD, CWD and adaptive multi-layer alignment.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from ultralytics.nn.distill_model import DistillationModel

from .config import KDConfig
from .terms import registered, TermInputs
from .terms.base import TermContext


class KDDetectionModel(DistillationModel):
    """
    Student + frozen teacher; ``loss(batch)`` = detection loss + weighted KD terms.

    ``teacher_model``: checkpoint path or module (any YOLOv8 ``DetectionModel``);
    ``student_model``: any ``DetectionModel`` (a pruned one included) with ``.args`` set;
    ``kd``: :class:`KDConfig` or its dict. The terms are those of :mod:`.terms`; each enabled
    one is ``self.terms[name]`` and its weighted loss ``kd_<name>`` in the loss items.
    """

    def __init__(self, teacher_model: str | Path | nn.Module, student_model: nn.Module,
                 kd: KDConfig | dict | None = None):
        super().__init__(teacher_model=teacher_model, student_model=student_model)
        self.kd = KDConfig.from_dict(kd).to_dict()
        cfg = KDConfig.from_dict(self.kd)
        self.projector = nn.ModuleList()  # ultralytics' L2 term is replaced by the terms below
        self.n_neck = len(self.feats_idx) - 1  # hook levels 0..n-1 neck, n = Detect head
        n_layers = len(student_model.model) - 1
        kinds = registered()
        enabled = list(cfg.enabled())
        s_extra: list[int] = []
        t_extra: list[int] = []
        self.spans: dict[str, slice] = {}  # a term's levels among the extra hooked layers
        for name, settings in enabled:
            s_layers, t_layers = kinds[name].layers(settings)
            for i in s_layers + t_layers:
                if i >= n_layers:
                    raise ValueError(f'kd.{name}.layers: layer {i} does not exist (the model '
                                     f'has layers 0..{n_layers - 1} before its Detect head)')
            self.spans[name] = slice(len(s_extra), len(s_extra) + len(s_layers))
            s_extra += s_layers
            t_extra += t_layers
        self.feats_idx = [*self.feats_idx, *s_extra]
        self.teacher_feats_idx = [*self.teacher_feats_idx, *t_extra]
        self._register_feature_hooks()
        s_ch, t_ch = self._feature_channels(student_model)
        neck = slice(0, self.n_neck)
        extra = slice(self.n_neck, None)  # the channel lists skip the head level
        device = next(student_model.parameters()).device
        reg_max = student_model.model[-1].reg_max
        self.terms = nn.ModuleDict()
        self.weights = {}
        for name, settings in enabled:
            span = self.spans[name]
            context = TermContext((s_ch[neck], t_ch[neck]),
                                  (s_ch[extra][span], t_ch[extra][span]), reg_max)
            self.terms[name] = kinds[name].build(settings, context).to(device)
            self.weights[f'kd_{name}'] = settings.weight
        self.kd_names = tuple(f'kd_{name}' for name in self.terms)

    def _register_feature_hooks(self) -> None:
        """
        Register the feature hooks; a layer may feed several levels.

        Neck outputs are both CWD and alignment levels, so stale hooks are cleared once per
        layer before any is registered (the parent clears per level).
        """
        from ultralytics.nn.distill_model import FeatureHook

        self._remove_feature_hooks()
        for s, t in zip(self.feats_idx, self.teacher_feats_idx):
            self._clear_feature_hooks(self.student_model.model[s])
            if self.teacher_model is not None:
                self._clear_feature_hooks(self.teacher_model.model[t])
        for i, (s, t) in enumerate(zip(self.feats_idx, self.teacher_feats_idx)):
            self._student_hooks.append(self.student_model.model[s].register_forward_hook(
                FeatureHook(self._student_feats, i)))
            if self.teacher_model is not None:
                self._teacher_hooks.append(self.teacher_model.model[t].register_forward_hook(
                    FeatureHook(self._teacher_feats, i)))

    @property
    def align_layers(self) -> list[int]:
        """Student layers of the adaptive feature alignment (``kd.feature``), if it runs."""
        if 'feature' not in self.spans:
            return []
        return list(self.feats_idx[self.n_neck + 1:][self.spans['feature']])

    def _feature_channels(self, student: nn.Module) -> tuple[list[int], list[int]]:
        """Channels of every hooked non-head layer, from one small dummy forward pass."""
        ch = student.yaml.get('channels', 3)
        stride = int(max(student.stride.max().item(), 32))
        device = next(student.parameters()).device
        was_training = student.training
        student.eval()
        self._teacher_feats.clear()
        self._student_feats.clear()
        with torch.no_grad():
            im = torch.zeros(1, ch, 2 * stride, 2 * stride, device=device)
            self.teacher_model(im)
            student(im)
        student.train(was_training)
        keys = [i for i in range(len(self.feats_idx)) if i != self.n_neck]
        s = [self._student_feats[i].shape[1] for i in keys]
        t = [self._teacher_feats[i].shape[1] for i in keys]
        self._teacher_feats.clear()
        self._student_feats.clear()
        return s, t

    def kd_losses(self, student_head: dict, teacher_head: dict, fg_mask: torch.Tensor,
                  student_feats: dict, teacher_feats: dict) -> dict[str, torch.Tensor]:
        """Weighted KD terms, computed in FP32 with autocast off (safe under AMP)."""
        device_type = fg_mask.device.type
        first = self.n_neck + 1  # the extra hooked layers follow the neck and the head level
        neck = range(self.n_neck)
        out = {}
        with torch.autocast(device_type=device_type, enabled=False):
            for name, term in self.terms.items():
                span = self.spans[name]
                levels = range(first + span.start, first + span.stop)
                out[f'kd_{name}'] = term.compute(TermInputs(
                    student_head, teacher_head, fg_mask,
                    [student_feats[i] for i in neck], [teacher_feats[i] for i in neck],
                    [student_feats[i] for i in levels], [teacher_feats[i] for i in levels]))
        return {k: v.float() * self.weights[k] for k, v in out.items()}

    def loss(self, batch, preds=None):
        """Compute detection (box, cls, dfl) and KD terms, each scaled by batch size."""
        student = self.student_model
        if getattr(student, 'criterion', None) is None:
            student.criterion = student.init_criterion()
        criterion = student.criterion
        device = batch['img'].device
        if not self.training:  # validation during training: KD terms are not computed
            if preds is None:
                preds = student(batch['img'])
            regular, items = student.loss(batch, preds)
            zeros = torch.zeros(len(self.kd_names), device=device)
            items.update({k: torch.zeros((), device=device) for k in self.kd_names})
            return torch.cat([regular, zeros]), items
        if not hasattr(criterion, 'get_assigned_targets_and_loss'):
            raise TypeError(f'{type(criterion).__name__}: KD needs a YOLOv8-style detection loss '
                            '(v8DetectionLoss) that exposes its foreground assignment')
        self._teacher_feats.clear()
        self._student_feats.clear()
        with torch.no_grad():
            self.teacher_model(batch['img'])
        preds = student(batch['img'])
        head = criterion.parse_output(preds)
        (fg_mask, *_), det_loss, items = criterion.get_assigned_targets_and_loss(head, batch)
        teacher_head = self.decouple_outputs(self._teacher_feats[self.n_neck])
        terms = self.kd_losses(head, teacher_head, fg_mask, self._student_feats,
                               self._teacher_feats)
        bs = batch['img'].shape[0]
        items.update({k: v.detach() for k, v in terms.items()})
        kd = torch.stack([terms[k] for k in self.kd_names]) if terms else det_loss.new_zeros(0)
        return torch.cat([det_loss * bs, kd * bs]), items

    def alignment_weights(self) -> dict[int, float]:
        """Return the last step's adaptive alignment weight per student layer index."""
        if 'feature' not in self.terms:
            return {}
        weights = self.terms['feature'].last_weights.tolist()
        return {layer: float(w) for layer, w in zip(self.align_layers, weights)}
