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
Convert annotations to a YOLO VRU dataset (`vru-train data`, whose flags are in stages/data.py).

SOURCE is bdd100k (detection JSON + image folder), visdrone (annotations folder + images
folder) or coco (instances JSON + image folder). SOURCE yolo merges existing YOLO datasets:
``--train A/data.yaml B/data.yaml --val A/data.yaml`` takes each one's split of that name. Images
are hard-linked (symlinked across file systems, or copied with --copy); labels, data.yaml (no
``path:`` key) and counts.json are written.
"""
from __future__ import annotations

from collections import Counter
import json
from pathlib import Path
from typing import Sequence

from .common import class_list, ConvertReport, write_data_yaml, write_split
from .readers import read_split, SOURCES


def convert(source: str, out: Path, splits: dict[str, Sequence[Path]], with_car: bool = True,
            copy: bool = False, keep_empty: bool = True) -> ConvertReport:
    """
    Convert every split.

    ``splits`` maps split name -> (annotations, images), or -> data.yaml files for ``yolo``.
    """
    if source not in SOURCES:
        raise ValueError(f'unknown source {source!r}; expected one of {list(SOURCES)}')
    if not splits:
        raise ValueError('no split to convert: give at least --train ANNOTATIONS IMAGES')
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names = class_list(with_car)
    report = ConvertReport(out=out, names=names)
    for split, inputs in splits.items():
        for path in inputs:
            if not Path(path).exists():
                raise FileNotFoundError(f'{split}: {path} not found')
        dropped: Counter = Counter()
        items = read_split(source, split, inputs, names, dropped)
        report.splits[split] = write_split(out, split, items, names, copy=copy,
                                           keep_empty=keep_empty, dropped=dropped)
    write_data_yaml(out, list(splits), names)
    counts = {s: {'images': r.images, 'images_with_boxes': r.images_with_boxes,
                  'boxes': {n: r.boxes.get(n, 0) for n in names},
                  'dropped': dict(r.dropped)} for s, r in report.splits.items()}
    (out / 'counts.json').write_text(json.dumps({'source': source, 'splits': counts}, indent=2))
    return report
