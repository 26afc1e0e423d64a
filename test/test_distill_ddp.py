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

"""Multi-process KD: gloo DDP on CPU; the trainer rebuilt as ultralytics' DDP script does."""
from __future__ import annotations

import os
import socket

from optional import optional_import, requires
import pytest

torch = optional_import('torch')
pytestmark = requires('torch', 'ultralytics')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _models():
    from ultralytics.cfg import get_cfg
    from ultralytics.nn.tasks import DetectionModel

    from training.models import yolov8_config

    torch.manual_seed(0)
    teacher = DetectionModel(yolov8_config('nano'), verbose=False)
    student = DetectionModel(yolov8_config('tiny'), verbose=False)
    args = get_cfg(overrides={'imgsz': 128})
    for m in (teacher, student):
        m.args = args
    return teacher, student


def _shard(rank: int) -> dict:
    g = torch.Generator().manual_seed(100 + rank)  # every rank sees different images
    return {'img': torch.rand(2, 3, 128, 128, generator=g),
            'batch_idx': torch.tensor([0., 1.]),
            'cls': torch.tensor([[float(rank)], [4.]]),
            'bboxes': torch.tensor([[0.5, 0.5, 0.3, 0.4], [0.3, 0.3, 0.2, 0.2]])}


def _worker(rank: int, world: int, port: int, results) -> None:
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    from training.distill.model import KDDetectionModel

    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world)
    torch.set_num_threads(1)
    teacher, student = _models()
    if rank == 1:  # a different student init on rank 1: DDP must broadcast rank 0's weights
        with torch.no_grad():
            for p in student.parameters():
                p.add_(0.01)
    teacher_before = {k: v.clone() for k, v in teacher.state_dict().items()}
    model = KDDetectionModel(teacher, student).train()
    ddp = DDP(model, find_unused_parameters=True)  # as ultralytics wraps it
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=0.1)
    loss, items = ddp(_shard(rank))
    loss.sum().backward()
    opt.step()
    flat = torch.cat([p.detach().flatten() for p in model.student_model.parameters()])
    adapters = torch.cat([p.detach().flatten() for p in model.terms['feature'].parameters()])
    gathered = [torch.zeros_like(flat) for _ in range(world)]
    dist.all_gather(gathered, flat)
    gathered_ad = [torch.zeros_like(adapters) for _ in range(world)]
    dist.all_gather(gathered_ad, adapters)
    results.put({'rank': rank, 'kd_feature': float(items['kd_feature']),
                 'same_student': all(torch.equal(gathered[0], g) for g in gathered),
                 'same_adapters': all(torch.equal(gathered_ad[0], g) for g in gathered_ad),
                 'teacher_same': all(torch.equal(teacher_before[k], v)
                                     for k, v in model.teacher_model.state_dict().items()),
                 'teacher_eval': not model.teacher_model.training})
    dist.destroy_process_group()


@pytest.mark.slow
def test_two_gloo_ranks_keep_identical_students_after_a_kd_step():
    import torch.distributed as dist
    import torch.multiprocessing as mp

    if not dist.is_gloo_available():
        pytest.skip('torch built without gloo')
    ctx = mp.get_context('spawn')
    results = ctx.Queue()
    mp.start_processes(_worker, args=(2, _free_port(), results), nprocs=2, join=True,
                       start_method='spawn')
    out = sorted((results.get(timeout=60) for _ in range(2)), key=lambda r: r['rank'])
    assert out[0]['kd_feature'] != out[1]['kd_feature']  # the shards (and local losses) differ ...
    for r in out:  # ... yet all-reduced gradients keep every rank's weights identical
        assert r['same_student'] and r['same_adapters'], r
        assert r['teacher_same'] and r['teacher_eval'], r


def test_trainer_is_rebuilt_from_the_generated_ddp_state(bdd_yaml, tmp_path, monkeypatch):
    """Ultralytics' DDP script pickles type(trainer) and rebuilds it from vars(trainer.args)."""
    pytest.importorskip('cloudpickle')
    from ultralytics.utils import DEFAULT_CFG_DICT
    from ultralytics.utils import dist as ul_dist
    from ultralytics.utils.patches import torch_load

    from training.datasets import stage_dataset
    from training.distill.trainer import DistillTrainer

    monkeypatch.setattr(ul_dist, 'USER_CONFIG_DIR', tmp_path)
    data = stage_dataset(bdd_yaml, tmp_path / 'data')
    teacher, student = _models()
    kd = {'score': {'mode': 'kl', 'temperature': 2.0}, 'feature': {'layers': [4, 21]}}
    trainer = DistillTrainer(overrides={'data': str(data), 'imgsz': 128, 'device': 'cpu',
                                        'project': str(tmp_path), 'name': 'kd', 'workers': 0},
                             teacher=teacher, student=student, kd=kd)
    trainer.world_size = 2
    _, script = ul_dist.generate_ddp_command(trainer)  # deletes save_dir, as a real launch does
    assert 'state["trainer"](cfg=cfg, overrides=state["args"]' in open(script).read()
    state = torch_load(str(tmp_path / 'DDP' / (os.path.basename(script)[:-3] + '.pt')),
                       map_location='cpu')
    assert state['trainer'] is DistillTrainer  # pickled by reference: importable module path
    cfg = DEFAULT_CFG_DICT.copy()
    cfg.update(save_dir='')
    rebuilt = state['trainer'](cfg=cfg, overrides=state['args'], _callbacks=state['callbacks'])
    rebuilt.model = state['model']
    assert rebuilt.args.kd == trainer.args.kd
    assert rebuilt.args.kd['score']['mode'] == 'kl'
    assert rebuilt.args.distill_model == trainer.args.distill_model  # teacher saved as a file
    assert os.path.isfile(rebuilt.args.distill_model)
    assert isinstance(rebuilt.model, torch.nn.Module)
    # the rebuilt trainer wraps the same student with the same KD terms
    rebuilt.data = trainer.data
    rebuilt.set_model_attributes()
    assert rebuilt.model.kd_names == ('kd_score', 'kd_box', 'kd_cwd', 'kd_feature')
    assert rebuilt.model.align_layers == [4, 21]
