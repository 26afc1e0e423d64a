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

r"""
KD training-step time against a plain student step, side by side in one run.

    python bench/bench_kd_step.py                       # CPU, tiny student / nano teacher
    python bench/bench_kd_step.py --device cuda --student s --teacher l --imgsz 640 \\
        --batch 16 --amp                                # the GPU target: ratio <= 1.35

A step = forward, loss, backward, optimizer step (what ultralytics' loop does per batch).
"plain" is the student with its detection loss only; "kd" adds the frozen teacher's forward
and all KD terms (response, CWD, adaptive feature alignment); the other rows switch terms off,
and "teacher forward only" times the teacher alone, to show where the time goes.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

os.environ.setdefault('YOLO_OFFLINE', '1')


def _models(student_scale: str, teacher_scale: str, imgsz: int, device: str):
    from ultralytics.cfg import get_cfg
    from ultralytics.nn.tasks import DetectionModel

    from training.models import yolov8_config

    torch.manual_seed(0)
    args = get_cfg(overrides={'imgsz': imgsz})
    teacher = DetectionModel(yolov8_config(teacher_scale), verbose=False).to(device)
    student = DetectionModel(yolov8_config(student_scale), verbose=False).to(device)
    for m in (teacher, student):
        m.args = args
    return teacher, student


def _batch(n: int, imgsz: int, device: str) -> dict:
    g = torch.Generator().manual_seed(0)
    per_image = 6
    boxes = torch.rand(n * per_image, 4, generator=g) * 0.3 + torch.tensor([0.3, 0.3, 0.05, 0.05])
    return {'img': torch.rand(n, 3, imgsz, imgsz, generator=g).to(device),
            'batch_idx': torch.arange(n).repeat_interleave(per_image).float().to(device),
            'cls': torch.randint(0, 5, (n * per_image, 1), generator=g).float().to(device),
            'bboxes': boxes.to(device)}


class _Stepper:
    """One model with its optimizer; ``step()`` runs and times one training step."""

    def __init__(self, model, amp: bool, device: str):
        self.model, self.amp, self.device = model, amp, device
        params = [p for p in model.parameters() if p.requires_grad]
        self.opt = torch.optim.SGD(params, lr=1e-4, momentum=0.9)
        self.scaler = torch.amp.GradScaler(enabled=amp and device.startswith('cuda'))
        self.dtype = torch.float16 if device.startswith('cuda') else torch.bfloat16
        self.times: list[float] = []

    def step(self, batch, record: bool) -> None:
        cuda = self.device.startswith('cuda')
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.autocast(device_type=self.device.split(':')[0], dtype=self.dtype,
                            enabled=self.amp):
            loss, _ = self.model.loss(batch)
        self.scaler.scale(loss.sum()).backward()
        self.scaler.step(self.opt)
        self.scaler.update()
        self.opt.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize()
        if record:
            self.times.append((time.perf_counter() - t0) * 1e3)


class _TeacherForward(_Stepper):
    """Only the frozen teacher's forward pass (no_grad): the fixed cost KD adds per step."""

    def __init__(self, model, amp: bool, device: str):
        self.model, self.amp, self.device = model, amp, device
        self.dtype = torch.float16 if device.startswith('cuda') else torch.bfloat16
        self.times = []

    def step(self, batch, record: bool) -> None:
        cuda = self.device.startswith('cuda')
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.no_grad(), torch.autocast(device_type=self.device.split(':')[0],
                                             dtype=self.dtype, enabled=self.amp):
            self.model(batch['img'])
        if cuda:
            torch.cuda.synchronize()
        if record:
            self.times.append((time.perf_counter() - t0) * 1e3)


def main(argv: list[str] | None = None) -> int:
    from training.distill.model import KDDetectionModel

    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--student', default='tiny', help='student scale (tiny, nano, n, s, ...)')
    ap.add_argument('--teacher', default='nano', help='teacher scale (nano, n, ..., l)')
    ap.add_argument('--imgsz', type=int, default=320)
    ap.add_argument('--batch', type=int, default=4)
    ap.add_argument('--steps', type=int, default=10)
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--amp', action='store_true')
    ap.add_argument('--threads', type=int, default=1,
                    help='CPU threads (1: steadier numbers on a shared machine)')
    ap.add_argument('--json', help='also write the rows to this JSON file')
    args = ap.parse_args(argv)
    if args.device == 'cpu':
        torch.set_num_threads(args.threads)
    batch = _batch(args.batch, args.imgsz, args.device)
    rows = []
    variants = [('plain', None), ('kd (all terms)', {}),
                ('kd response only', {'cwd': {'enabled': False},
                                      'feature': {'enabled': False}}),
                ('kd no feature-align', {'feature': {'enabled': False}})]
    steppers = []
    for name, kd in variants:
        teacher, student = _models(args.student, args.teacher, args.imgsz, args.device)
        model = student if kd is None else KDDetectionModel(teacher, student, kd)
        steppers.append((name, _Stepper(model.train(), args.amp, args.device)))
    teacher, _ = _models(args.student, args.teacher, args.imgsz, args.device)
    teacher.eval().requires_grad_(False)
    steppers.append(('teacher forward only', _TeacherForward(teacher, args.amp, args.device)))
    # Interleaved rounds: every variant sees the same machine load (shared CPUs, GPU clocks).
    for i in range(args.warmup + args.steps):
        for _, stepper in steppers:
            stepper.step(batch, record=i >= args.warmup)
    base = statistics.median(steppers[0][1].times)
    base_min = min(steppers[0][1].times)
    for name, stepper in steppers:
        ms, fastest = statistics.median(stepper.times), min(stepper.times)
        rows.append({'variant': name, 'ms_per_step': round(ms, 2), 'ratio': round(ms / base, 3),
                     'min_ms': round(fastest, 2), 'min_ratio': round(fastest / base_min, 3)})
    print(f'device={args.device} student={args.student} teacher={args.teacher} '
          f'imgsz={args.imgsz} batch={args.batch} amp={args.amp} steps={args.steps}')
    print(f'{"variant":<22}{"median ms":>10}{"vs plain":>10}{"min ms":>10}{"vs plain":>10}')
    for r in rows:
        print(f'{r["variant"]:<22}{r["ms_per_step"]:>10.1f}{r["ratio"]:>10.2f}'
              f'{r["min_ms"]:>10.1f}{r["min_ratio"]:>10.2f}')
    print(f'KD/plain = {rows[1]["ratio"]:.2f} median, {rows[1]["min_ratio"]:.2f} min '
          '(GPU target <= 1.35)')
    if args.json:
        import json

        with open(args.json, 'w') as f:
            json.dump({'args': vars(args), 'rows': rows}, f, indent=2)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
