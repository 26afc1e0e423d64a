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
Save a pruned model whole, as an ordinary ultralytics checkpoint that ``YOLO(path)`` loads.

Ultralytics pickles the model object; the pruned widths live in the module itself, and the
split-free C2f class is importable from ``training.prune.c2f_split_free``, so loading needs
only this package on the path. Weights are kept in float32 (ultralytics' own checkpoints
are float16), so a reloaded model reproduces the pruned one exactly.
"""
from __future__ import annotations

from copy import deepcopy
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from torch import nn


def save_pruned(model: nn.Module, path: Path, pruning: dict[str, Any] | None = None,
                train_args: dict[str, Any] | None = None) -> Path:
    """Write ``model`` (a DetectionModel) to ``path`` in ultralytics' checkpoint layout."""
    import ultralytics

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    saved = deepcopy(model).float().eval()
    if hasattr(saved, 'criterion'):
        saved.criterion = None
    args = getattr(saved, 'args', None) or {}
    args = dict(vars(args) if not isinstance(args, dict) else args)
    args.pop('kd', None)
    saved.args = {**args, **(train_args or {})}
    saved.pt_path = str(path)
    for p in saved.parameters():
        p.requires_grad_(False)
    torch.save({'epoch': -1, 'best_fitness': None, 'model': saved, 'ema': None,
                'updates': None, 'optimizer': None, 'train_args': saved.args,
                'pruning': pruning, 'date': datetime.now(timezone.utc).isoformat(),
                'version': ultralytics.__version__}, path)
    return path


def load_model(path: Path) -> nn.Module:
    """Load the float32 DetectionModel of an ultralytics checkpoint (pruned or not)."""
    from ultralytics.nn.tasks import load_checkpoint

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'checkpoint {path} not found')
    model, _ = load_checkpoint(str(path))
    return model.float()
