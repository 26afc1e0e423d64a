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

"""Put a YOLO dataset where ultralytics may write its label caches, without copying images."""
from __future__ import annotations

from pathlib import Path
import shutil

from vru_detector.labels import dataset_split_dir, label_path  # noqa: F401 (callers import here)
import yaml


def _dataset_roots(cfg: dict) -> list[Path]:
    """
    Return the folders holding ``images/`` and ``labels/`` that the splits point into.

    One (``.``) for a plain dataset; one per source for a dataset made by
    :func:`stage_datasets` (``train: [bdd100k_vru/images/train, coco_vru/images/train]``).
    """
    roots = []
    for split in ('train', 'val', 'test'):
        entries = cfg.get(split)
        for entry in entries if isinstance(entries, list) else [entries]:
            if not entry:
                continue
            parts = Path(str(entry)).parts
            root = Path(*parts[:parts.index('images')]) if 'images' in parts[1:] else Path('.')
            if root not in roots:
                roots.append(root)
    return roots or [Path('.')]


def stage_dataset(data_yaml: Path, dest: Path) -> Path:
    """
    Mirror a (possibly read-only) YOLO dataset into ``dest``: images linked, labels copied.

    Returns the new ``data.yaml``. Ultralytics writes ``labels/*.cache`` beside the labels, which
    must not happen inside a shared, read-only data folder. A dataset of several sources (one
    made by :func:`stage_datasets`) is mirrored source by source.
    """
    data_yaml = Path(data_yaml).resolve()
    cfg = yaml.safe_load(data_yaml.read_text())
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for root in _dataset_roots(cfg):
        src, dst = data_yaml.parent / root, dest / root
        # Link files, not the folder: ultralytics resolves the images folder path, and through
        # a folder link it would find (and write caches beside) the source labels again.
        for image in sorted((src / 'images').rglob('*')):
            if image.is_file():
                link = dst / 'images' / image.relative_to(src / 'images')
                if not link.exists():
                    link.parent.mkdir(parents=True, exist_ok=True)
                    link.symlink_to(image.resolve())
        if not (dst / 'labels').exists():
            shutil.copytree(src / 'labels', dst / 'labels',
                            ignore=shutil.ignore_patterns('*.cache'))
    cfg.pop('path', None)
    out = dest / 'data.yaml'
    out.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return out


def stage_datasets(data_yamls: list[Path], dest: Path,
                   repeat: dict[str, int] | None = None) -> Path:
    """
    Stage several YOLO datasets side by side and write one data.yaml training on all of them.

    Validation (and every other split) is the first dataset's. The class lists must be equal;
    datasets with other classes are merged by name with ``vru-train data yolo`` first.
    ``repeat`` ({dataset folder name: k}) lists that dataset's train split k times, so each
    epoch sees its images k times: the way to weight a small in-domain set against the others.
    """
    repeat = dict(repeat or {})
    known = {Path(y).resolve().parent.name for y in data_yamls}
    bad = {k: v for k, v in repeat.items()
           if k not in known or not isinstance(v, int) or isinstance(v, bool) or v < 1}
    if bad:
        raise ValueError(f'data repeat {bad}: give {{dataset folder: whole number >= 1}} for '
                         f'datasets being trained on ({", ".join(sorted(known))})')
    dest = Path(dest)
    first, names = None, None
    splits: dict[str, list[str]] = {}
    for data_yaml in data_yamls:
        data_yaml = Path(data_yaml)
        if not data_yaml.is_file():
            raise FileNotFoundError(f'{data_yaml}: no such data.yaml')
        cfg = yaml.safe_load(data_yaml.read_text()) or {}
        if names is None:
            first, names = cfg, cfg.get('names')
        elif cfg.get('names') != names:
            raise ValueError(f'{data_yaml}: classes {cfg.get("names")} differ from '
                             f'those of {data_yamls[0]} ({names}); merge them by class name with '
                             '`vru-train data yolo` and train on the result')
        sub = dest / data_yaml.resolve().parent.name
        stage_dataset(data_yaml, sub)
        for split in ('train', 'val', 'test'):
            if isinstance(cfg.get(split), str):
                times = repeat.get(sub.name, 1) if split == 'train' else 1
                splits.setdefault(split, []).extend([f'{sub.name}/{cfg[split]}'] * times)
    out = dict(first or {})
    out.pop('path', None)
    out['train'] = splits.get('train', [])
    for split in ('val', 'test'):
        if split in splits:
            out[split] = splits[split][0]
    path = dest / 'data.yaml'
    path.write_text(yaml.safe_dump(out, sort_keys=False))
    return path
