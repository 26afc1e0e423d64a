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

import yaml


def stage_dataset(data_yaml: Path, dest: Path) -> Path:
    """
    Mirror a (possibly read-only) YOLO dataset into ``dest``: images linked, labels copied.

    Returns the new ``data.yaml``. Ultralytics writes ``labels/*.cache`` beside the labels, which
    must not happen inside a shared, read-only data folder.
    """
    data_yaml = Path(data_yaml).resolve()
    src = data_yaml.parent
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    # Link files, not the folder: ultralytics resolves the images folder path, and through a
    # folder link it would find (and write caches beside) the source labels again.
    for image in sorted((src / 'images').rglob('*')):
        if image.is_file():
            link = dest / 'images' / image.relative_to(src / 'images')
            if not link.exists():
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(image.resolve())
    if not (dest / 'labels').exists():
        shutil.copytree(src / 'labels', dest / 'labels', ignore=shutil.ignore_patterns('*.cache'))
    cfg = yaml.safe_load(data_yaml.read_text())
    cfg.pop('path', None)
    out = dest / 'data.yaml'
    out.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return out
