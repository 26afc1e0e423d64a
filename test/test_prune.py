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

"""vru-train prune: split-free C2f, BN-gamma channel pruning, sparsity L1, checkpoints, CLI."""
from __future__ import annotations

import copy
import json
import os
from pathlib import Path
import subprocess
import sys
import textwrap

import numpy as np
from optional import has, optional_import, requires
import pytest

torch = optional_import('torch')
pytestmark = requires('torch', 'torch_pruning', 'ultralytics')
if all(has(m) for m in ('torch', 'torch_pruning', 'ultralytics')):
    from torch import nn
    from training.models import build_yolo
    from training.prune.c2f_split_free import C2fSplitFree, replace_c2f
    from training.prune.channel_pruning import (apply_plan, build_graph, head_output_layers,
                                                plan_pruning, prepare_for_pruning, prune_model,
                                                PruneSettings, zero_planned_channels)
    from training.prune.checkpoint import load_model, save_pruned
    from training.prune.sparsity import add_l1_subgradient, lam_at, sparsity_targets

REPO = Path(__file__).resolve().parents[1]
IMGSZ = 160


def _random_tiny(tmp_path: Path, seed: int = 0) -> nn.Module:
    """Build a tiny YOLOv8 with spread-out BN statistics, so channels differ in importance."""
    torch.manual_seed(seed)
    model = build_yolo('n', workdir=tmp_path).model.eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.0, 1.0)
                m.bias.normal_(0.0, 0.1)
                m.running_mean.normal_(0.0, 0.1)
                m.running_var.uniform_(0.5, 2.0)
    return model


def _raw_head(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (decoded predictions, raw box+class logits) of an eval-mode DetectionModel."""
    with torch.no_grad():
        decoded, raw = model.eval()(x)
    return decoded, torch.cat([raw['boxes'], raw['scores']], 1)


def _bn_channels(model: nn.Module) -> dict[str, int]:
    return {n: m.num_features for n, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)}


def test_split_free_c2f_gives_identical_outputs(tmp_path):
    model = _random_tiny(tmp_path)
    x = torch.rand(2, 3, IMGSZ, IMGSZ)
    before = _raw_head(model, x)
    n = replace_c2f(model)
    after = _raw_head(model, x)
    assert n == 8  # YOLOv8 has 8 C2f blocks
    assert sum(isinstance(m, C2fSplitFree) for m in model.modules()) == 8
    torch.testing.assert_close(after[1], before[1], rtol=0, atol=1e-6)
    torch.testing.assert_close(after[0], before[0], rtol=0, atol=1e-5)


@pytest.mark.parametrize('ratio', [0.3, 0.6])
def test_requested_ratio_is_reached_with_rounding_and_minimum(tmp_path, ratio):
    model = prepare_for_pruning(_random_tiny(tmp_path))
    settings = PruneSettings(ratio=ratio, min_channels=16, round_to=8, imgsz=IMGSZ)
    graph = build_graph(model, IMGSZ)
    plan = plan_pruning(model, settings, graph)
    # Stated tolerance: one round_to step over all prunable channels.
    assert plan.tolerance == pytest.approx(8 / plan.channels_before)
    assert abs(plan.achieved_ratio - ratio) <= plan.tolerance
    for g in plan.groups:
        assert g.kept == g.channels or g.kept % 8 == 0, g
        assert g.kept >= min(16, g.channels), g
    apply_plan(model, plan, graph)
    modules = dict(model.named_modules())
    for g in plan.groups:  # pruning removed exactly the planned number of channels
        assert modules[g.root].out_channels == g.kept, g.root


def _zero_gammas(model: nn.Module, plan) -> nn.Module:
    """Copy of ``model`` with the planned channels' gamma 0 and beta kept (not pruned)."""
    reference = copy.deepcopy(model)
    modules = dict(reference.named_modules())
    with torch.no_grad():
        for g in plan.groups:
            for name, idx in g.bn_channels.items():
                modules[name].weight[idx] = 0.0
    return reference


def _replicate_padding(model: nn.Module) -> nn.Module:
    """Pad convs by replication: a constant map then stays constant up to the border."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d) and max(m.padding) > 0:
            m.padding_mode = 'replicate'
    return model


def test_pruned_model_equals_unpruned_with_pruned_gammas_zero_and_betas_kept(tmp_path):
    model = prepare_for_pruning(_random_tiny(tmp_path, seed=1))
    graph = build_graph(model, IMGSZ)
    plan = plan_pruning(model, PruneSettings(ratio=0.5, imgsz=IMGSZ), graph)
    reference = _zero_gammas(model, plan)  # pruned channels output SiLU(beta), not 0
    unfolded = copy.deepcopy(model)
    channels_before = _bn_channels(model)
    apply_plan(model, plan, graph)
    channels_after = _bn_channels(model)
    # Every BN lost exactly the planned channels, no more and no fewer.
    zeroed = {name: len(idx) for g in plan.groups for name, idx in g.bn_channels.items()}
    for name, n in channels_before.items():
        assert channels_after[name] == n - zeroed.get(name, 0), name
    assert sum(zeroed.values()) > 0
    x = torch.rand(2, 3, IMGSZ, IMGSZ)
    # Zero padding makes a constant channel non-constant at the border (a bias cannot follow),
    # so first the exact check with replicate padding on both models ...
    ref_dec, ref_raw = _raw_head(_replicate_padding(copy.deepcopy(reference)), x)
    out_dec, out_raw = _raw_head(_replicate_padding(copy.deepcopy(model)), x)
    torch.testing.assert_close(out_raw, ref_raw, rtol=0, atol=1e-4)  # measured 5e-7
    torch.testing.assert_close(out_dec, ref_dec, rtol=1e-5, atol=1e-3)
    # ... then the real (zero-padded) models: the border residue is far below dropping it
    _, ref_raw = _raw_head(reference, x)
    _, out_raw = _raw_head(model, x)
    graph = build_graph(unfolded, IMGSZ)
    apply_plan(unfolded, plan_pruning(unfolded, plan.settings, graph), graph, fold=False)
    _, dropped_raw = _raw_head(unfolded, x)
    folded_err = float((out_raw - ref_raw).abs().mean())
    dropped_err = float((dropped_raw - ref_raw).abs().mean())
    assert folded_err < 2e-3 and folded_err < dropped_err / 10  # measured 4.7e-4 vs 1.7e-2
    # and the constants matter: the model with nothing zeroed differs
    _, orig_raw = _raw_head(prepare_for_pruning(_random_tiny(tmp_path, seed=1)), x)
    assert (orig_raw - ref_raw).abs().max() > 1e-2


def test_zero_planned_channels_keeps_betas(tmp_path):
    model = prepare_for_pruning(_random_tiny(tmp_path, seed=1))
    plan = plan_pruning(model, PruneSettings(ratio=0.5, imgsz=IMGSZ))
    betas = {n: m.bias.clone() for n, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)}
    zero_planned_channels(model, plan)
    modules = dict(model.named_modules())
    for g in plan.groups:
        for name, idx in g.bn_channels.items():
            assert not modules[name].weight[idx].any()
            torch.testing.assert_close(modules[name].bias, betas[name])


def test_head_output_convs_are_never_pruned(tmp_path):
    model = _random_tiny(tmp_path)
    head = model.model[-1]
    out_shapes = [m.weight.shape[0] for m in head_output_layers(model)[:-1]]
    prune_model(model, PruneSettings(ratio=0.7, imgsz=IMGSZ))
    assert [m.weight.shape[0] for m in head_output_layers(model)[:-1]] == out_shapes
    assert head.dfl.conv.weight.shape == (1, head.reg_max, 1, 1)


def test_threshold_mode_prunes_by_gamma(tmp_path):
    model = prepare_for_pruning(_random_tiny(tmp_path))
    none = plan_pruning(model, PruneSettings(ratio=None, threshold=0.0, imgsz=IMGSZ))
    assert none.channels_after == none.channels_before
    most = plan_pruning(model, PruneSettings(ratio=None, threshold=10.0, min_channels=8,
                                             imgsz=IMGSZ))
    assert all(g.kept == min(8, g.channels) for g in most.groups)


def test_uniform_allocation_cuts_each_layer_alike_and_its_weakest_channels(tmp_path):
    model = prepare_for_pruning(_random_tiny(tmp_path, seed=3))
    graph = build_graph(model, IMGSZ)
    shares = {}
    for allocation in ('global', 'uniform'):
        plan = plan_pruning(model, PruneSettings(ratio=0.4, imgsz=IMGSZ, allocation=allocation),
                            graph)
        assert abs(plan.achieved_ratio - 0.4) <= plan.tolerance
        shares[allocation] = [len(g.pruned) / g.channels for g in plan.groups if g.channels >= 64]
    # every wide layer loses 40% up to one rounding step; the global ranking spreads far more
    assert all(abs(share - 0.4) <= 8 / 64 for share in shares['uniform'])
    assert np.std(shares['uniform']) < np.std(shares['global']) / 2
    modules = dict(model.named_modules())
    for g in plan.groups:  # within a layer the channels cut are those of lowest |gamma|
        if len(g.bn_channels) == 1 and g.pruned:
            name, idx = next(iter(g.bn_channels.items()))
            gamma = modules[name].weight.detach().abs()
            assert gamma[idx].max() <= gamma[[i for i in range(len(gamma)) if i not in idx]].min()


def test_faded_channels_reach_zero_and_cutting_them_changes_no_output(tmp_path):
    from training.prune.channel_fade import ChannelFade

    model = prepare_for_pruning(_random_tiny(tmp_path, seed=2))
    settings = PruneSettings(ratio=0.4, imgsz=IMGSZ, allocation='uniform')
    fade = ChannelFade.planned(model, settings, end=0.5)
    modules = dict(model.named_modules())
    before = {n: modules[n].weight.detach().clone() for n in fade.targets}
    assert fade.apply(model, 0.25) == pytest.approx(0.5)  # halfway to the end
    for name, (idx, start) in fade.targets.items():
        weight = modules[name].weight.detach()
        assert (weight[idx].abs() <= 0.5 * start + 1e-7).all()
        kept = torch.ones(len(weight), dtype=torch.bool)
        kept[idx] = False
        assert torch.equal(weight[kept], before[name][kept])  # other channels untouched
    assert fade.apply(model, 0.6) == 0.0
    assert all(not modules[n].weight[idx].any() for n, (idx, _) in fade.targets.items())
    assert fade.channels > 0
    # planned again on the faded model, the cut is the faded channels, and it is exact
    graph = build_graph(model, IMGSZ)
    plan = plan_pruning(model, settings, graph)
    assert {n: i for g in plan.groups for n, i in g.bn_channels.items()} == {
        n: idx.tolist() for n, (idx, _) in fade.targets.items()}
    x = torch.rand(2, 3, IMGSZ, IMGSZ)
    faded = _raw_head(_replicate_padding(copy.deepcopy(model)), x)[1]
    apply_plan(model, plan, graph)
    cut = _raw_head(_replicate_padding(copy.deepcopy(model)), x)[1]
    torch.testing.assert_close(cut, faded, rtol=0, atol=1e-4)
    with pytest.raises(ValueError, match='fade end'):
        ChannelFade(end=0.0)


@pytest.mark.parametrize('criterion', ['magnitude', 'lamp'])
def test_importance_criteria_rank_channels_as_torch_pruning_does(tmp_path, criterion):
    import torch_pruning as tp

    from training.prune.channel_pruning import _importance

    model = prepare_for_pruning(_random_tiny(tmp_path, seed=3))
    graph = build_graph(model, IMGSZ)
    settings = PruneSettings(ratio=0.4, imgsz=IMGSZ, allocation='uniform', importance=criterion)
    settings.check()
    plan = plan_pruning(model, settings, graph)
    by_gamma = plan_pruning(model, PruneSettings(ratio=0.4, imgsz=IMGSZ, allocation='uniform'),
                            graph)
    assert [g.pruned for g in plan.groups] != [g.pruned for g in by_gamma.groups]
    modules = dict(model.named_modules())
    reference = _importance(tp, criterion)
    checked = 0
    for g in plan.groups:  # within a layer, the channels cut are the library's least important
        if not g.pruned:
            continue
        root = modules[g.root]
        group = graph.get_pruning_group(root, graph.get_pruner_of_module(root).prune_out_channels,
                                        list(range(g.channels)))
        imp = reference(group).detach()
        kept = [i for i in range(g.channels) if i not in g.pruned]
        assert imp[g.pruned].max() <= imp[kept].min()
        checked += 1
    assert checked >= 10
    pruned = copy.deepcopy(model)
    prune_model(pruned, settings)
    decoded, _ = _raw_head(pruned, torch.zeros(1, 3, IMGSZ, IMGSZ))
    assert decoded.shape == _raw_head(model, torch.zeros(1, 3, IMGSZ, IMGSZ))[0].shape


@pytest.mark.parametrize('settings, match', [
    ({'ratio': 1.5}, 'ratio'),
    ({'ratio': 0.5, 'allocation': 'even'}, 'allocation'),
    ({'ratio': None, 'threshold': 0.1, 'allocation': 'uniform'}, 'uniform'),
    ({'ratio': None, 'threshold': None}, 'ratio'),
    ({'ratio': None, 'threshold': 0.1, 'importance': 'lamp'}, 'bn_scale'),
    ({'ratio': 0.5, 'importance': 'taylor'}, 'importance'),
    ({'ratio': 0.5, 'imgsz': 100}, 'multiple of 32'),
])
def test_bad_prune_settings_are_named(settings, match):
    with pytest.raises(ValueError, match=match):
        PruneSettings(**settings).check()


def test_non_detection_model_is_refused():
    with pytest.raises(TypeError, match='Detect'):
        prepare_for_pruning(nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8)))


def test_l1_subgradient_touches_only_bn_gammas_outside_head_outputs(tmp_path):
    model = _random_tiny(tmp_path).train()
    for p in model.parameters():
        p.requires_grad_(True)
    out = model(torch.rand(1, 3, IMGSZ, IMGSZ))
    (out['boxes'].square().mean() + out['scores'].square().mean()).backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    targets = sparsity_targets(model)
    lam = 0.05
    add_l1_subgradient(targets, lam)
    target_weights = {id(bn.weight) for bn in targets}
    head_params = {id(p) for layer in head_output_layers(model) for p in layer.parameters()}
    assert not target_weights & head_params
    changed = 0
    for name, p in model.named_parameters():
        if p.grad is None:
            continue
        if id(p) in target_weights:
            torch.testing.assert_close(p.grad, grads[name] + lam * torch.sign(p.detach()))
            changed += 1
        else:  # convs, BN betas and the Detect output convs keep their gradients
            assert torch.equal(p.grad, grads[name]), name
    assert changed == len(targets) > 50


def test_sparsity_schedule():
    assert lam_at(PruneSettings(lam=1e-3), 0, 10) == 1e-3
    ramp = PruneSettings(lam=1e-3, schedule='linear')
    lams = [lam_at(ramp, e, 4) for e in range(4)]
    assert lams == pytest.approx([2.5e-4, 5e-4, 7.5e-4, 1e-3])
    with pytest.raises(ValueError, match='schedule'):
        PruneSettings(lam=1e-3, schedule='cosine-ish')
    assert lam_at(PruneSettings(lam=0.0, schedule='fade'), 3, 4) == 0.0


@pytest.fixture(scope='module')
def staged_bdd(bdd_yaml, tmp_path_factory) -> Path:
    from training.datasets import stage_dataset

    return stage_dataset(bdd_yaml, tmp_path_factory.mktemp('bdd'))


_SHORT = {'epochs': 1, 'imgsz': IMGSZ, 'batch': 8, 'fraction': 0.1, 'workers': 0,
          'device': 'cpu', 'plots': False, 'val': False, 'amp': False, 'optimizer': 'SGD',
          'lr0': 0.01, 'warmup_epochs': 0, 'seed': 0, 'deterministic': True, 'verbose': False,
          'exist_ok': True}


@pytest.mark.slow
def test_sparsity_step_is_sgd_with_lambda_on_the_per_image_loss_scale(tmp_path, staged_bdd):
    """One real optimizer step with no loss gradient moves gamma by the L1 step alone."""
    from training.prune.sparsity import SparsityTrainer

    cfg = tmp_path / 'vru-yolov8-n.yaml'
    build_yolo('n', workdir=tmp_path)
    lam, lr = 1e-4, 0.02
    overrides = {**_SHORT, 'model': str(cfg), 'data': str(staged_bdd), 'optimizer': 'auto',
                 'lr0': lr, 'project': str(tmp_path), 'name': 'step'}
    trainer = SparsityTrainer(overrides=overrides, settings=PruneSettings(lam=lam))
    trainer._setup_train()
    trainer.epoch = 0  # as the training loop sets it
    assert type(trainer.optimizer) is torch.optim.SGD  # not the AdamW `auto` picks
    bns = trainer.sparsity_bns()
    before = [bn.weight.detach().clone() for bn in bns]
    trainer.optimizer.zero_grad()
    for p in trainer.model.parameters():
        p.grad = torch.zeros_like(p)
    trainer.optimizer_step()
    group = next(g for g in trainer.optimizer.param_groups if any(
        p is bns[0].weight for p in g['params']))
    assert group['lr'] == pytest.approx(lr) and group['weight_decay'] == 0
    # ultralytics' loss is the per-image loss x batch, summed over `accumulate` batches
    images = trainer.batch_size * trainer.accumulate
    assert trainer.loss_scale() == images and images >= _SHORT['batch']
    # nesterov SGD, first step: buf = g, update = g + momentum * buf
    step = lr * (1 + group['momentum']) * lam * images
    for bn, gamma in zip(bns, before):
        torch.testing.assert_close(bn.weight.detach(), gamma - step * torch.sign(gamma))
    with pytest.raises(ValueError, match='SGD'):
        SparsityTrainer(overrides={**overrides, 'optimizer': 'AdamW'})


@pytest.mark.slow
def test_sparsity_training_shrinks_gammas_and_logs_histograms(tmp_path, staged_bdd):
    from training.prune.gamma_stats import collect_gammas
    from training.prune.sparsity import train_sparse

    cfg = tmp_path / 'vru-yolov8-n.yaml'
    build_yolo('n', workdir=tmp_path)
    means = {}
    for lam in (0.0, 0.5):
        last = train_sparse(cfg, staged_bdd, PruneSettings(lam=lam), project=str(tmp_path),
                            name=f'lam{lam}', **_SHORT)
        means[lam] = float(collect_gammas(sparsity_targets(load_model(last))).mean())
    assert means[0.5] < means[0.0] - 1e-3
    logs = tmp_path / 'lam0.5' / 'sparsity'
    assert (logs / 'gamma_epoch001.png').stat().st_size > 1000
    record = json.loads((logs / 'gamma_stats.jsonl').read_text().splitlines()[0])
    assert record['epoch'] == 1 and record['lambda'] == 0.5 and 0 <= record['near_zero'] <= 1


@pytest.mark.slow
def test_fade_training_ends_with_exactly_the_planned_channels_at_zero(tmp_path, staged_bdd):
    from training.prune.sparsity import train_sparse

    cfg = tmp_path / 'vru-yolov8-n.yaml'
    build_yolo('n', workdir=tmp_path)
    settings = PruneSettings(ratio=0.3, imgsz=IMGSZ, allocation='uniform', lam=0.0,
                             schedule='fade', fade_end=0.5)
    last = train_sparse(cfg, staged_bdd, settings, project=str(tmp_path), name='fade', **_SHORT)
    model = load_model(last)  # the EMA weights, as saved
    plan = plan_pruning(prepare_for_pruning(model), settings)
    modules = dict(model.named_modules())
    planned = [modules[n].weight[i] for g in plan.groups for n, i in g.bn_channels.items()]
    assert sum(len(w) for w in planned) > 0 and not any(w.any() for w in planned)
    zeros = sum(int((bn.weight == 0).sum()) for bn in sparsity_targets(model))
    assert zeros == sum(len(w) for w in planned)  # those and no others


_CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    import onnxruntime as ort
    import torch
    from ultralytics import YOLO
    path, x_path, out_dir = sys.argv[1:4]
    yolo = YOLO(path)
    x = torch.from_numpy(np.load(x_path))
    with torch.no_grad():
        np.save(out_dir + '/torch.npy', yolo.model.float().eval()(x)[0].numpy())
    onnx = yolo.export(format='onnx', imgsz=x.shape[-1], simplify=False, dynamic=False)
    sess = ort.InferenceSession(onnx, providers=['CPUExecutionProvider'])
    np.save(out_dir + '/onnx.npy', sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0])
""")


@pytest.mark.slow
def test_pruned_checkpoint_loads_in_fresh_process_and_exports_onnx(tmp_path, trained_tiny):
    model = load_model(trained_tiny[0])
    plan = prune_model(model, PruneSettings(ratio=0.5, imgsz=IMGSZ))
    path = save_pruned(model, tmp_path / 'pruned.pt', pruning=plan.to_dict())
    x = torch.rand(1, 3, IMGSZ, IMGSZ)
    np.save(tmp_path / 'x.npy', x.numpy())
    expected = _raw_head(model, x)[0].numpy()
    env = {**os.environ, 'PYTHONPATH': str(REPO), 'YOLO_OFFLINE': '1'}
    proc = subprocess.run([sys.executable, '-c', _CHILD, str(path), str(tmp_path / 'x.npy'),
                           str(tmp_path)], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    reloaded = np.load(tmp_path / 'torch.npy')
    onnx_out = np.load(tmp_path / 'onnx.npy')
    np.testing.assert_allclose(reloaded, expected, rtol=0, atol=1e-4)
    # ONNX (Conv+BN fused by the exporter): boxes in pixels, scores in [0, 1]
    np.testing.assert_allclose(onnx_out, expected, rtol=1e-3, atol=1e-3)
    assert sum(p.numel() for p in model.parameters()) < 0.5 * sum(
        p.numel() for p in load_model(trained_tiny[0]).parameters())


@pytest.mark.slow
def test_pruned_checkpoint_validates_and_trains_further(tmp_path, trained_tiny, staged_bdd):
    from ultralytics import YOLO

    from training.prune.trainers import PrunedDetectionTrainer

    model = load_model(trained_tiny[0])
    prune_model(model, PruneSettings(ratio=0.5, imgsz=IMGSZ))
    path = save_pruned(model, tmp_path / 'pruned.pt')
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    metrics = YOLO(str(path)).val(data=str(staged_bdd), imgsz=IMGSZ, batch=8, device='cpu',
                                  workers=0, plots=False, verbose=False,
                                  project=str(tmp_path), name='val')
    assert 0.0 <= metrics.box.map50 <= 1.0
    yolo = YOLO(str(path))
    yolo.train(trainer=PrunedDetectionTrainer, data=str(staged_bdd), project=str(tmp_path),
               name='ft', **{k: v for k, v in _SHORT.items() if k != 'exist_ok'})
    trained = load_model(tmp_path / 'ft' / 'weights' / 'last.pt')
    state = trained.state_dict()
    assert {k: v.shape for k, v in state.items()} == shapes  # still the pruned widths
    changed = [k for k, v in model.state_dict().items()
               if v.is_floating_point() and not torch.allclose(v, state[k].float())]
    assert changed  # and the weights were trained
    with pytest.raises(ValueError, match='pruned model as weights'):
        PrunedDetectionTrainer.__new__(PrunedDetectionTrainer).get_model(cfg='x.yaml')


@pytest.mark.slow
def test_cli_runs_all_stages_and_writes_report(tmp_path, trained_tiny, bdd_yaml):
    from training.cli import main

    out = tmp_path / 'run'
    rc = main(['prune', '--model', str(trained_tiny[0]), '--data', str(bdd_yaml), '--out',
               str(out), '--imgsz', str(IMGSZ), '--batch', '8', '--train', 'workers=0',
               'fraction=0.05', '--sparsity-epochs', '1', '--finetune-epochs', '1',
               '--lam', '1e-2', '--ratio', '0.4', '--latency-runs', '3', '--no-val'])
    assert rc == 0
    report = json.loads((out / 'prune_report.json').read_text())
    names = [m['name'] for m in report['models']]
    assert names == ['input (unpruned)', 'sparsity-trained', 'pruned', 'pruned + fine-tuned']
    costs = {m['name']: m['cost'] for m in report['models']}
    assert costs['pruned']['params'] < costs['input (unpruned)']['params']
    assert costs['pruned']['flops'] == 2 * costs['pruned']['macs']
    assert costs['pruned + fine-tuned']['params'] == costs['pruned']['params']
    assert all(m['latency']['median_ms'] > 0 for m in report['models'])
    assert abs(report['pruning']['achieved_ratio'] - 0.4) <= 8 / report['pruning'][
        'channels_before']
    md = (out / 'prune_report.md').read_text()
    assert f'{IMGSZ}x{IMGSZ}' in md and '| pruned |' in md
    assert list((out / 'sparsity' / 'train' / 'sparsity').glob('gamma_epoch*.png'))
    # KD fine-tune (CWD) from the unpruned model
    assert any(n.startswith('fine-tune (kd)') for n in report['notes']), report['notes']


def test_cli_flags_reach_the_fade_schedule_and_the_allocation(tmp_path):
    from training.cli import stage_parser
    from training.recipe import stage_settings

    parser, module = stage_parser('prune')
    args = parser.parse_args(['--model', 'm.pt', '--out', str(tmp_path), '--lam', '0',
                              '--schedule', 'fade', '--fade-end', '0.5',
                              '--allocation', 'uniform', '--ratio', '0.3', '--round-to', '4'])
    s = stage_settings({}, 'prune', **module.SETTINGS.given_flags(args))
    assert (s.schedule, s.fade_end, s.lam) == ('fade', 0.5, 0.0)
    assert (s.allocation, s.ratio, s.round_to) == ('uniform', 0.3, 4)


@pytest.mark.slow
def test_the_pipeline_prunes_the_kd_student_with_the_recipes_settings(
        tmp_path, trained_tiny, bdd_yaml):
    import yaml

    from training.cli import main

    recipe = yaml.safe_load((REPO / 'training' / 'recipes' / 'smoke_cpu.yaml').read_text())
    recipe['distill']['epochs'] = 1
    recipe['prune'] = {'sparsity_epochs': 1, 'finetune_epochs': 1, 'lam': 1e-2, 'ratio': 0.3,
                       'round_to': 4, 'train': {'fraction': 0.1}}
    path = tmp_path / 'recipe.yaml'
    path.write_text(yaml.safe_dump(recipe))
    out = tmp_path / 'run'
    assert main(['pipeline', str(path), '--data', str(bdd_yaml), '--out', str(out),
                 '--teacher', str(trained_tiny[0]), '--stages', 'distill', 'prune']) == 0
    stage = json.loads((out / 'manifest.json').read_text())['stages']['prune']
    assert stage['metrics']['finetune_method'] == 'kd'
    settings = stage['inputs']['settings']
    # the recipe's own keys, and what prune takes from distill (imgsz, batch, train)
    assert (settings['round_to'], settings['imgsz'], settings['batch']) == (4, 160, 8)
    assert settings['train'] == {**recipe['distill']['train'], 'fraction': 0.1}
    report = json.loads((out / 'prune' / 'prune_report.json').read_text())
    assert report['pruning']['channels_after'] < report['pruning']['channels_before']
    assert (out / 'prune' / 'pruned_kd_student.pt').is_file()


def test_a_kd_fine_tune_without_the_distill_package_says_what_to_install(monkeypatch):
    import sys

    from training.prune import finetune

    monkeypatch.setitem(sys.modules, 'training.distill.trainer', None)  # import fails
    with pytest.raises(ModuleNotFoundError, match=r'pip install -e \./training') as err:
        finetune._distill_trainer()
    assert err.value.name == 'training.distill'
