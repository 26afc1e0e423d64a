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
A small model briefly trained on real street images: a test asset and the demo's starting point.

Cached under a key of its settings so the CPU training happens once per machine.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
from pathlib import Path
import shutil

from .datasets import stage_dataset
from .models import build_yolo

DEFAULTS = {'scale': 'n', 'imgsz': 320, 'epochs': 6, 'batch': 16, 'seed': 0, 'fraction': 1.0}


def train_tiny(data_yaml: Path, cache_dir: Path, **overrides) -> tuple[Path, Path]:
    """Train (or reuse) a small YOLOv8 on ``data_yaml``; returns (best.pt, exported .onnx)."""
    os.environ.setdefault('YOLO_OFFLINE', '1')
    settings = {**DEFAULTS, **overrides, 'data': str(Path(data_yaml).resolve())}
    key = hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    out = Path(cache_dir) / f'tiny-{key}'
    pt, onnx = out / 'model.pt', out / 'model.onnx'
    out.mkdir(parents=True, exist_ok=True)
    with open(out / '.lock', 'w') as lock:  # one trainer per cache entry, across processes
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (pt.is_file() and onnx.is_file()):
            _train(settings, out, pt, onnx)
    return pt, onnx


def _train(settings: dict, out: Path, pt: Path, onnx: Path) -> None:
    work = out / 'work'
    if work.exists():
        shutil.rmtree(work)
    data = stage_dataset(Path(settings['data']), work / 'data')
    yolo = build_yolo(settings['scale'], workdir=work)
    yolo.train(data=str(data), epochs=settings['epochs'], imgsz=settings['imgsz'],
               batch=settings['batch'], seed=settings['seed'], deterministic=True, workers=0,
               device='cpu', project=str(work), name='train', exist_ok=True, plots=False,
               val=False, amp=False, fraction=settings['fraction'], verbose=False)
    best = work / 'train' / 'weights' / 'last.pt'
    exported = Path(build_yolo(str(best)).export(format='onnx', imgsz=settings['imgsz'],
                                                 simplify=False, dynamic=False))
    (out / 'settings.json').write_text(json.dumps(settings, indent=2))
    for src, dst in ((best, pt), (exported, onnx)):  # complete files only, via rename
        shutil.copy2(src, dst.with_suffix('.tmp'))
        os.replace(dst.with_suffix('.tmp'), dst)
