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
Model configs built from ultralytics' YOLOv8 yaml: any scale, any class list, tiny ones for tests.

No weights are downloaded: a ``.pt`` is used when the user has it, otherwise the model is built
from its yaml with random initialisation.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from vru_detector.labels import class_names
import yaml

CLASS_NAMES = class_names()  # config/classes.yaml, in model class-id order

# Ultralytics' YOLOv8 scales plus 'tiny' and 'nano' for CPU tests: [depth, width, max_channels].
EXTRA_SCALES = {'tiny': [0.33, 0.0625, 256], 'nano': [0.33, 0.125, 512]}


def yolov8_config(scale: str = 's', names: Sequence[str] = CLASS_NAMES) -> dict[str, Any]:
    """Return the YOLOv8 detection config at ``scale`` (n/s/m/l/x, tiny, nano) for ``names``."""
    import ultralytics

    base = Path(ultralytics.__file__).parent / 'cfg' / 'models' / 'v8' / 'yolov8.yaml'
    cfg = yaml.safe_load(base.read_text())
    scales = {**cfg['scales'], **EXTRA_SCALES}
    if scale not in scales:
        raise ValueError(f'unknown YOLOv8 scale {scale!r}; expected one of {sorted(scales)}')
    # Only the chosen scale: ultralytics re-guesses the scale from the file name (n/s/m/l/x)
    # and otherwise falls back to the first entry, which is then always ours.
    cfg['scales'] = {scale: scales[scale]}
    cfg['scale'] = scale
    cfg['nc'] = len(names)
    return cfg


def write_config(path: Path, scale: str = 's', names: Sequence[str] = CLASS_NAMES) -> Path:
    """Write the config to ``path`` (name it so ultralytics guesses no scale from it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(yolov8_config(scale, names), sort_keys=False))
    return path


def build_yolo(model: str | Path, names: Sequence[str] = CLASS_NAMES, scale: str | None = None,
               workdir: Path | None = None, exact_scale: bool = False):
    """Return a ``YOLO`` from a ``.pt`` (as is) or a scale name / ``.yaml`` (random init)."""
    from ultralytics import YOLO

    model = str(model)
    if model.endswith('.pt'):
        if not Path(model).is_file():
            raise FileNotFoundError(
                f'{model}: weights not found (no downloads here). Give a local .pt path, or a '
                'scale such as yolov8s to train from scratch.')
        return YOLO(model)
    if not model.endswith('.yaml'):
        scale = scale or model.removeprefix('yolov8')
        if workdir is None:  # never the current folder: that is often a source checkout
            import tempfile

            workdir = Path(tempfile.mkdtemp(prefix='vru-yolov8-'))
        # a name ultralytics cannot guess a scale from (see yolov8_config)
        model = str(write_config(workdir / f'vru-yolov8-{scale}.yaml', scale, names))
    yolo = YOLO(model, task='detect')
    cfg = yaml.safe_load(Path(model).read_text()) if exact_scale else {}
    if cfg.get('scale') and yolo.model.yaml.get('scale') != cfg['scale']:
        # ultralytics re-guesses the scale from the file name (n/s/m/l/x only), so 'tiny'/'nano'
        # silently become 'n' (3.0M parameters); rebuilt from the dict, the scale is kept.
        from ultralytics.nn.tasks import DetectionModel

        cfg['yaml_file'] = str(model)  # export names its output after it
        rebuilt = DetectionModel(cfg, nc=len(names), verbose=False)
        rebuilt.args, rebuilt.task = yolo.model.args, yolo.model.task  # as YOLO() sets them
        yolo.model = rebuilt
    yolo.model.names = dict(enumerate(names))
    return yolo
