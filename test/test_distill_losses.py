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

"""KD losses: zero when the student equals the teacher, positive otherwise, FP32 under AMP."""
from __future__ import annotations

import copy

from optional import has, optional_import, requires
import pytest

torch = optional_import('torch')
pytestmark = requires('torch', 'ultralytics')
if has('torch') and has('ultralytics'):
    from training.distill.config import KDConfig
    from training.distill.terms.box import BoxDistributionDistillLoss
    from training.distill.terms.cwd import ChannelWiseDivergence
    from training.distill.terms.feature import AdaptiveFeatureAlignLoss
    from training.distill.terms.score import ScoreDistillLoss

KD_TERMS = ('kd_score', 'kd_box', 'kd_cwd', 'kd_feature')


def _models(tmp_path, teacher_scale='nano', student_scale='tiny'):
    from ultralytics.cfg import get_cfg

    from training.models import build_yolo

    torch.manual_seed(0)
    teacher = build_yolo(teacher_scale, workdir=tmp_path, exact_scale=True).model
    student = build_yolo(student_scale, workdir=tmp_path, exact_scale=True).model
    args = get_cfg(overrides={'imgsz': 160})
    for m in (teacher, student):
        m.args = args
    return teacher, student


def _batch(n=2, size=160):
    g = torch.Generator().manual_seed(1)
    return {'img': torch.rand(n, 3, size, size, generator=g),
            'batch_idx': torch.tensor([0., 0., 1.]),
            'cls': torch.tensor([[0.], [2.], [4.]]),
            'bboxes': torch.tensor([[0.5, 0.5, 0.3, 0.5], [0.3, 0.6, 0.2, 0.2],
                                    [0.4, 0.4, 0.4, 0.3]])}


def _kd(teacher, student, kd=None):
    from training.distill.model import KDDetectionModel

    model = KDDetectionModel(teacher, student, kd)
    return model.train()


def test_response_losses_zero_for_equal_logits_positive_otherwise():
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(2, 5, 30, generator=g)
    boxes = torch.randn(2, 64, 30, generator=g)
    fg = torch.rand(2, 30, generator=g) > 0.5
    for loss in (ScoreDistillLoss(mode='bce'), ScoreDistillLoss(2.0, mode='kl')):
        assert loss(scores, scores, fg).abs().item() < 1e-6
        assert loss(scores + torch.randn_like(scores), scores, fg).item() > 1e-3
    box = BoxDistributionDistillLoss()
    assert box(boxes, boxes, fg).abs().item() < 1e-6
    assert box(boxes * 3, boxes, fg).item() > 1e-4
    # no foreground anchor: zero, but still a graph for the backward pass
    s = scores.clone().requires_grad_(True)
    out = ScoreDistillLoss()(s, scores + 1, torch.zeros(2, 30, dtype=torch.bool))
    assert out.item() == 0.0 and out.requires_grad


def test_score_bce_matches_kl_of_bernoullis():
    s, t = torch.tensor([[[0.3]], [[-1.2]]]), torch.tensor([[[1.0]], [[0.5]]])
    fg = torch.ones(2, 1, dtype=torch.bool)
    ps, pt = s.sigmoid(), t.sigmoid()
    ref = (pt * (pt / ps).log() + (1 - pt) * ((1 - pt) / (1 - ps)).log()).sum() / 2
    assert torch.allclose(ScoreDistillLoss()(s, t, fg), ref, atol=1e-6)


def test_cwd_and_alignment_zero_for_equal_features_and_weights_follow_gap():
    g = torch.Generator().manual_seed(0)
    feats = [torch.randn(2, 8, 10, 10, generator=g), torch.randn(2, 16, 5, 5, generator=g)]
    cwd = ChannelWiseDivergence([8, 16], [8, 16])
    assert cwd(feats, feats).abs().item() < 1e-6
    assert cwd([f * 2 for f in feats], feats).item() > 1e-4
    align = AdaptiveFeatureAlignLoss([8, 16], [8, 16])
    assert align(feats, feats).abs().item() < 1e-6
    near = feats[0] + 0.05 * torch.randn_like(feats[0])
    far = torch.randn_like(feats[1])
    assert align([near, far], feats).item() > 0
    w = align.last_weights
    assert torch.isclose(w.sum(), torch.tensor(2.0)) and w[1] > w[0]  # larger gap, larger weight


def test_kd_terms_zero_when_student_is_teacher(tmp_path):
    teacher, _ = _models(tmp_path)
    student = copy.deepcopy(teacher)
    model = _kd(teacher, student)
    for m in student.modules():  # same features need the same BN statistics as the teacher's
        if isinstance(m, torch.nn.BatchNorm2d):
            m.eval()
    loss, items = model.loss(_batch())
    assert model.kd_names == KD_TERMS
    for k in KD_TERMS:
        assert abs(float(items[k])) < 1e-5, (k, items[k])
    assert torch.isfinite(loss).all() and loss[:3].sum() > 0  # detection loss still there


def test_kd_terms_positive_and_gradients_reach_student_and_adapters_only(tmp_path):
    teacher, student = _models(tmp_path)
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    model = _kd(teacher, student)
    assert not model.teacher_model.training
    loss, items = model.loss(_batch())
    for k in KD_TERMS:
        assert float(items[k]) > 0, k
    loss.sum().backward()
    assert all(p.grad is None for p in model.teacher_model.parameters())
    assert not any(p.requires_grad for p in model.teacher_model.parameters())
    adapters = [p for m in (model.terms['cwd'], model.terms['feature']) for p in m.parameters()]
    assert adapters and all(p.grad is not None and p.grad.abs().sum() > 0 for p in adapters)
    student_grads = [p.grad for p in model.student_model.parameters() if p.requires_grad]
    assert sum(g is not None and g.abs().sum() > 0 for g in student_grads) > 0.9 * len(
        student_grads)
    model.train()  # ultralytics calls .train() every epoch: the teacher must stay frozen
    assert not model.teacher_model.training
    after = teacher.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_each_kd_term_can_be_switched_off_and_weighted(tmp_path):
    teacher, student = _models(tmp_path)
    kd = {'score': {'enabled': False}, 'box': {'weight': 0.0}, 'cwd': {'weight': 3.0},
          'feature': {'layers': [4, 15]}}
    model = _kd(teacher, student, kd)
    assert model.kd_names == ('kd_box', 'kd_cwd', 'kd_feature')
    assert model.align_layers == [4, 15]
    loss, items = model.loss(_batch())
    assert 'kd_score' not in items and float(items['kd_box']) == 0.0
    assert loss.shape[0] == 3 + 3
    ref_model = _kd(teacher, student, {'cwd': {'weight': 1.0}})
    ref_model.terms['cwd'].load_state_dict(model.terms['cwd'].state_dict())  # same adapters
    ref = ref_model.loss(_batch())[1]['kd_cwd']
    assert torch.isclose(items['kd_cwd'], 3 * ref, rtol=1e-4)


def test_kd_losses_are_fp32_under_autocast(tmp_path):
    teacher, student = _models(tmp_path)
    model = _kd(teacher, student)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        _, items = model.loss(_batch())
    for k in KD_TERMS:
        assert items[k].dtype == torch.float32 and torch.isfinite(items[k])


@pytest.mark.parametrize('bad, message', [
    ({'cwd': {'temprature': 2}}, 'unknown key'),
    ({'foo': {}}, 'unknown KD term'),
    ({'score': {'mode': 'mse'}}, r"not one of \['bce', 'kl'\]"),
    ({'box': {'weight': 'high'}}, 'expected a number'),
    ({'feature': {'layers': []}}, 'non-empty list'),
])
def test_kd_config_rejects_bad_values_clearly(bad, message):
    with pytest.raises((ValueError, TypeError), match=message):
        KDConfig.from_dict(bad)


def test_layer_out_of_range_is_a_clear_error(tmp_path):
    teacher, student = _models(tmp_path)
    with pytest.raises(ValueError, match='layer 40 does not exist'):
        _kd(teacher, student, {'feature': {'layers': [4, 40]}})
