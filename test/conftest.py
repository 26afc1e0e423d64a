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

"""Shared fixtures: the real images in ../shared/data and small ONNX models built from yaml."""
from __future__ import annotations

import os
from pathlib import Path
import shutil

import numpy as np
import pytest

os.environ.setdefault('YOLO_OFFLINE', '1')
os.environ.setdefault('YOLO_VERBOSE', 'False')

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get('VRU_SHARED_DATA', REPO.parent / 'shared' / 'data'))
ASSET_CACHE = Path(os.environ.get('VRU_TEST_ASSETS', REPO / 'test_assets'))


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f'{path} not found: tests on real images need ../shared/data beside the repo '
                    '(or VRU_SHARED_DATA pointing at it)')
    return path


@pytest.fixture(scope='session')
def shared_data() -> Path:
    """../shared/data (read-only: never write into it)."""
    return _need(SHARED_DATA)


@pytest.fixture(scope='session')
def bdd_yaml(shared_data: Path) -> Path:
    return _need(shared_data / 'bdd100k_vru' / 'data.yaml')


@pytest.fixture(scope='session')
def street_images(shared_data: Path) -> list[Path]:
    """Provide a fixed mix of BDD100K (1280x720) and COCO (various sizes) validation photos."""
    bdd = sorted((shared_data / 'bdd100k_vru' / 'images' / 'val').glob('*.jpg'))[:6]
    coco = sorted((shared_data / 'coco_vru' / 'images' / 'val').glob('*.jpg'))[:6]
    return bdd + coco


def _export_random_tiny(out_dir: Path, imgsz: int = 320, seed: int = 0) -> Path:
    """
    Export a random-init tiny YOLOv8 whose outputs depend on the image.

    Default init shrinks activations layer by layer until every image gives the same output,
    so BatchNorm statistics are first taken from 16 real photos (no weight is trained) and
    the class biases spread so scores land in a useful range.
    """
    import cv2
    import torch

    from training.models import build_yolo
    from vru_detector.preprocess import preprocess

    torch.manual_seed(seed)
    yolo = build_yolo('n', workdir=out_dir)
    photos = sorted((SHARED_DATA / 'coco_vru' / 'images' / 'train').glob('*.jpg'))[:16]
    blob, _ = preprocess([cv2.imread(str(p)) for p in photos], (imgsz, imgsz))
    model = yolo.model
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None  # cumulative average over the batch
    model.train()
    with torch.no_grad():
        model(torch.from_numpy(blob))
        for seq in model.model[-1].cv3:
            seq[-1].bias.uniform_(-4.0, -2.0)
    model.eval()
    exported = Path(yolo.export(format='onnx', imgsz=imgsz, simplify=False, dynamic=False))
    # ultralytics names the file after the yaml but writes it in the working directory
    return Path(shutil.move(exported, out_dir / 'random_tiny.onnx'))


@pytest.fixture(scope='session')
def random_onnx(tmp_path_factory, shared_data) -> Path:
    """Random-init YOLOv8n (5 VRU classes, 320x320), exported by ultralytics."""
    pytest.importorskip('ultralytics')
    return _export_random_tiny(tmp_path_factory.mktemp('random_tiny'))


@pytest.fixture(scope='session')
def trained_tiny(bdd_yaml: Path, tmp_path_factory) -> tuple[Path, Path]:
    """
    (model.pt, model.onnx) of a nano YOLOv8 trained briefly on bdd100k_vru.

    Trained once per machine into the cache; each session gets its own copies, so a test that
    damages a model file on purpose cannot spoil the cache.
    """
    pytest.importorskip('ultralytics')
    from training.tiny import train_tiny

    copies = tmp_path_factory.mktemp('trained_tiny')
    out = []
    for path in train_tiny(bdd_yaml, ASSET_CACHE):
        out.append(copies / path.name)
        shutil.copyfile(path, out[-1])
    return out[0], out[1]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
