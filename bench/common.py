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

"""Shared helpers for benchmarks: models built from yaml (no downloads), images, table printing."""
from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get('VRU_SHARED_DATA', REPO.parent / 'shared' / 'data'))
CACHE = REPO / 'runs' / 'bench'
PRETRAINED = REPO.parent / 'shared' / 'models' / 'yolov8n_coco' / 'yolov8n_coco.pt'
os.environ.setdefault('YOLO_OFFLINE', '1')
os.environ.setdefault('YOLO_VERBOSE', 'False')


def exported_model(scale: str, imgsz: int) -> Path:
    """Export a random-init YOLOv8 of ``scale`` to ONNX at ``imgsz`` (cached in runs/bench)."""
    out = CACHE / f'yolov8{scale}-{imgsz}.onnx'
    if out.is_file():
        return out
    import torch

    from training.models import build_yolo

    torch.manual_seed(0)
    CACHE.mkdir(parents=True, exist_ok=True)
    yolo = build_yolo(scale, workdir=CACHE)
    exported = Path(yolo.export(format='onnx', imgsz=imgsz, simplify=False, dynamic=False))
    exported.rename(out)
    return out


def pretrained_onnx(imgsz: int = 640) -> str:
    """Export the shared YOLOv8n COCO weights to ONNX once (cached in runs/bench)."""
    out = CACHE / f'yolov8n_coco-{imgsz}.onnx'
    if out.is_file():
        return str(out)
    import shutil
    import tempfile

    from ultralytics import YOLO

    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:  # ultralytics writes next to the weights
        weights = shutil.copy(PRETRAINED, tmp)
        shutil.move(YOLO(weights).export(format='onnx', imgsz=imgsz, simplify=False), out)
    return str(out)


def street_images(n: int) -> list[Path]:
    bdd = sorted((SHARED_DATA / 'bdd100k_vru' / 'images' / 'val').glob('*.jpg'))
    coco = sorted((SHARED_DATA / 'coco_vru' / 'images' / 'val').glob('*.jpg'))
    images = [p for pair in zip(bdd, coco) for p in pair][:n]
    if not images:
        raise SystemExit(f'no images under {SHARED_DATA}; set VRU_SHARED_DATA')
    return images


def print_table(headers: list[str], rows: list[list]) -> None:
    """Markdown table (pastes into notes and docs as is)."""
    cells = [[f'{c:.3f}' if isinstance(c, float) else str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    print('| ' + ' | '.join(h.ljust(w) for h, w in zip(headers, widths)) + ' |')
    print('|' + '|'.join('-' * (w + 2) for w in widths) + '|')
    for row in cells:
        print('| ' + ' | '.join(c.ljust(w) for c, w in zip(row, widths)) + ' |')
