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
What a model file says about itself: class names, input size, stride, precision.

Ultralytics writes these as ONNX ``metadata_props`` (values are Python literals as strings);
our export adds ``precision`` and ``calibration_id``. A TensorRT engine carries the same keys in
a JSON sidecar. Everything is checked at load time so a bad model fails at start-up.
"""
from __future__ import annotations

import ast
from dataclasses import asdict, dataclass, field
import json
from pathlib import Path
from typing import Any, Mapping

from .errors import ArtifactMetadataError

REQUIRED_KEYS = ('names', 'imgsz', 'stride')
TASK_NAMES = {'segment': 'segmentation', 'pose': 'pose (keypoint)', 'classify': 'classification',
              'obb': 'oriented-box (OBB)'}
PRECISIONS = ('fp32', 'fp16', 'int8')
FIX_HINT = ('Export the model with `vru-train export --weights W.pt` (or ultralytics '
            '`YOLO(W).export(format="onnx")`), which writes names, imgsz and stride into '
            'the file.')


@dataclass(frozen=True)
class ArtifactInfo:
    """Metadata the runtime needs from a model file."""

    names: tuple[str, ...]
    input_shape: tuple[int, int]  # (h, w)
    stride: int = 32
    precision: str = 'fp32'
    calibration_id: str | None = None
    task: str = 'detect'
    batch: int = 1
    source: str = ''
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.names)

    def to_metadata(self) -> dict[str, str]:
        """Return the string map written into ONNX metadata_props / the engine sidecar."""
        meta = {
            'names': repr(dict(enumerate(self.names))),
            'imgsz': repr(list(self.input_shape)),
            'stride': str(self.stride),
            'precision': self.precision,
            'task': self.task,
            'batch': str(self.batch),
        }
        if self.calibration_id:
            meta['calibration_id'] = self.calibration_id
        return {**self.extra, **meta}

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def _literal(key: str, value: Any, source: str) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError) as exc:
        raise ArtifactMetadataError(
            f'{source}: metadata "{key}" = {value[:80]!r} is not a Python literal. '
            f'{FIX_HINT}') from exc


def parse_names(value: Any, source: str) -> tuple[str, ...]:
    """Class names from ``{0: 'person', ...}`` or ``['person', ...]`` (ids must be 0..n-1)."""
    names = _literal('names', value, source)
    if isinstance(names, Mapping):
        ids = sorted(int(k) for k in names)
        if ids != list(range(len(ids))):
            raise ArtifactMetadataError(
                f'{source}: class ids in "names" are {ids}; expected 0..{len(ids) - 1}')
        names = [names[k] if k in names else names[str(k)] for k in range(len(ids))]
    if (not isinstance(names, (list, tuple)) or not names
            or not all(isinstance(n, str) for n in names)):
        raise ArtifactMetadataError(
            f'{source}: metadata "names" must be a non-empty dict or list of strings, '
            f'got {names!r}')
    return tuple(names)


def parse_imgsz(value: Any, source: str) -> tuple[int, int]:
    """Input (h, w) from ``640``, ``[640, 640]`` or ``(384, 640)``."""
    size = _literal('imgsz', value, source)
    if isinstance(size, int):
        size = (size, size)
    if (not isinstance(size, (list, tuple)) or len(size) != 2
            or not all(isinstance(s, int) and s > 0 for s in size)):
        raise ArtifactMetadataError(
            f'{source}: metadata "imgsz" must be [h, w] integers, got {size!r}')
    return int(size[0]), int(size[1])


def artifact_from_metadata(meta: Mapping[str, Any], source: str) -> ArtifactInfo:
    """Build and validate ArtifactInfo from a metadata map (ONNX props, sidecar, checkpoint)."""
    task = str(meta.get('task', 'detect'))
    if task != 'detect':
        raise ArtifactMetadataError(
            f'{source} is a {TASK_NAMES.get(task, repr(task))} model (ultralytics task '
            f'{task!r}); this package runs detection models (task "detect"). Export a YOLOv8 '
            'detection checkpoint, e.g. one trained by `vru-train`, with `vru-train export`.')
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        raise ArtifactMetadataError(
            f'{source}: model metadata lacks {", ".join(missing)} (found keys: '
            f'{sorted(meta) or "none"}). {FIX_HINT}')
    stride = _literal('stride', meta['stride'], source)
    if isinstance(stride, (list, tuple)):
        stride = max(stride)
    precision = str(meta.get('precision', 'fp32')).lower()
    if precision not in PRECISIONS:
        raise ArtifactMetadataError(
            f'{source}: metadata "precision" is {precision!r}; expected one of {PRECISIONS}')
    batch = _literal('batch', meta.get('batch', 1), source)
    known = set(REQUIRED_KEYS) | {'precision', 'calibration_id', 'task', 'batch'}
    return ArtifactInfo(
        names=parse_names(meta['names'], source),
        input_shape=parse_imgsz(meta['imgsz'], source),
        stride=int(stride),
        precision=precision,
        calibration_id=meta.get('calibration_id') or None,
        task=task,
        batch=int(batch) if isinstance(batch, int) else 1,
        source=source,
        extra={k: str(v) for k, v in meta.items() if k not in known},
    )


def read_sidecar(engine_path: Path) -> dict[str, Any]:
    """Read the JSON sidecar written next to a TensorRT engine (``model.engine.json``)."""
    path = Path(str(engine_path) + '.json')
    if not path.is_file():
        raise ArtifactMetadataError(
            f'{engine_path}: no sidecar {path.name} next to the engine. Build engines with '
            '`vru-train calibrate --engine` or the node (it writes the sidecar).')
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ArtifactMetadataError(f'{path}: not valid JSON ({exc})') from exc
