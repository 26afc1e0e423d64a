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
An ultralytics dataset's ``data.yaml``: its class names and the image folder of each split.

The root of the split folders is the yaml's own folder, or its ``path:`` relative to that
folder (ultralytics' ``check_det_dataset``). Labels sit in ``.../labels/<split>`` beside
``.../images/<split>`` (:func:`swap_part`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import LabelFormatError, LabelNotFoundError


def load_data_yaml(data_yaml: str | Path) -> dict[str, Any]:
    """Read a data.yaml; a missing or unparsable file is a LabelFormatError."""
    import yaml

    data_yaml = Path(data_yaml)
    if not data_yaml.is_file():
        raise LabelNotFoundError(f'{data_yaml}: no such data.yaml; check the path')
    try:
        cfg = yaml.safe_load(data_yaml.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise LabelFormatError(f'{data_yaml}: unreadable data.yaml ({exc})') from None
    if not isinstance(cfg, dict):
        raise LabelFormatError(f'{data_yaml}: not a YOLO data.yaml; expected a mapping with '
                               'names: (a list, or {id: name}) and the split folders')
    return cfg


def yaml_names(cfg: Any) -> list[str] | None:
    """Class names of a parsed data.yaml in id order (None: it has no usable ``names:``)."""
    names = cfg.get('names') if isinstance(cfg, dict) else None
    if isinstance(names, dict):
        try:
            return [str(names[i]) for i in range(len(names))]
        except KeyError:
            return None
    if isinstance(names, list):
        return [str(n) for n in names]
    return None


def data_yaml_names(data_yaml: str | Path) -> list[str]:
    """Class names of a data.yaml in id order."""
    names = yaml_names(load_data_yaml(data_yaml))
    if names is None:
        raise LabelFormatError(f'{data_yaml}: not a YOLO data.yaml (no names: key); expected '
                               'names: as a list, or as {id: name} with ids 0..N-1')
    return names


def split_dirs(data_yaml: str | Path, split: str) -> list[Path]:
    """Every image folder a data.yaml lists for ``split`` (one, or several for a merged set)."""
    data_yaml = Path(data_yaml)
    cfg = load_data_yaml(data_yaml)
    entry = cfg.get(split)
    entries = entry if isinstance(entry, list) else [entry]
    if not entry or not all(isinstance(e, str) and e for e in entries):
        raise LabelFormatError(
            f'{data_yaml}: has no {split}: folder (found {entry!r}); its splits: '
            f'{sorted(k for k in cfg if k in ("train", "val", "test"))}')
    root = data_yaml.parent / str(cfg.get('path') or '')
    folders = [root / e for e in entries]
    for folder in folders:
        if not folder.is_dir():
            raise LabelNotFoundError(f'{data_yaml}: {split} images folder {folder} does not exist')
    return folders


def dataset_split_dir(data_yaml: str | Path, split: str = 'train') -> Path:
    """Return the (first) image folder of ``split`` in a data.yaml."""
    return split_dirs(data_yaml, split)[0]


def swap_part(path: Path, old: str, new: str) -> Path:
    """``path`` with its last ``old`` folder renamed ``new`` (unchanged when it has none)."""
    parts = list(Path(path).parts)
    if old not in parts:
        return Path(path)
    i = len(parts) - 1 - parts[::-1].index(old)
    parts[i] = new
    return Path(*parts)


def label_path(image: Path) -> Path:
    """YOLO convention: ``.../images/<split>/x.jpg`` -> ``.../labels/<split>/x.txt``."""
    return swap_part(image, 'images', 'labels').with_suffix('.txt')


def label_dir(images_dir: Path) -> Path:
    """YOLO convention: the labels of ``.../images/<split>`` are in ``.../labels/<split>``."""
    return swap_part(images_dir, 'images', 'labels')


def default_image_dir(labels_dir: Path) -> Path:
    """Ultralytics' convention: .../labels/<split> holds the labels of .../images/<split>."""
    return swap_part(labels_dir, 'labels', 'images')


def dataset_names(labels_dir: Path) -> list[str] | None:
    """Class names of the YOLO dataset a labels folder belongs to (its data.yaml), if found."""
    import yaml

    for parent in list(Path(labels_dir).resolve().parents)[:3]:
        for cand in sorted(parent.glob('*.yaml')):
            try:
                names = yaml_names(yaml.safe_load(cand.read_text()))
            except (OSError, yaml.YAMLError, UnicodeDecodeError):
                continue
            if names is not None:
                return names
    return None
