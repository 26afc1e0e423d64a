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
`vru-train data SOURCE --out DIR --train ANN IMAGES [--val ANN IMAGES]`: a YOLO VRU dataset.

SOURCE is bdd100k (detection JSON + image folder), visdrone (annotations folder + images
folder) or coco (instances JSON + image folder). SOURCE yolo merges existing YOLO datasets:
``--train A/data.yaml B/data.yaml --val A/data.yaml`` takes each one's split of that name. Images
are hard-linked (symlinked across file systems, or copied with --copy); labels, data.yaml (no
``path:`` key) and counts.json are written.
"""
from __future__ import annotations

import argparse
from collections import Counter
from itertools import chain
import json
from pathlib import Path
from typing import Iterable, Sequence

from .bdd100k import read_bdd100k
from .coco import read_coco
from .common import class_list, ConvertReport, ImageBoxes, write_data_yaml, write_split
from .visdrone import read_visdrone
from .yolo import read_yolo

READERS = {'bdd100k': read_bdd100k, 'visdrone': read_visdrone, 'coco': read_coco,
           'yolo': read_yolo}


def read_split(source: str, split: str, inputs: Sequence[Path], names: tuple[str, ...],
               dropped: Counter) -> Iterable[ImageBoxes]:
    """Items of one split: (annotations, images) for a converter, data.yaml files for yolo."""
    if source == 'yolo':
        return chain.from_iterable(read_yolo(Path(p), split, names, dropped) for p in inputs)
    if len(inputs) != 2:
        raise ValueError(f'{split}: {source} takes ANNOTATIONS IMAGES, got {len(inputs)} paths')
    return READERS[source](Path(inputs[0]), Path(inputs[1]), names, dropped)


def convert(source: str, out: Path, splits: dict[str, Sequence[Path]], with_car: bool = True,
            copy: bool = False, keep_empty: bool = True) -> ConvertReport:
    """
    Convert every split.

    ``splits`` maps split name -> (annotations, images), or -> data.yaml files for ``yolo``.
    """
    if source not in READERS:
        raise ValueError(f'unknown source {source!r}; expected one of {sorted(READERS)}')
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('source', choices=sorted(READERS),
                        help='annotation format to convert, or yolo to merge YOLO datasets')
    parser.add_argument('--out', type=Path, required=True, help='output dataset folder')
    for split in ('train', 'val', 'test'):
        parser.add_argument(f'--{split}', nargs='+', type=Path, metavar='PATH',
                            help='ANNOTATIONS IMAGES, or data.yaml files for yolo')
    parser.add_argument('--no-car', action='store_true', help='keep only the four VRU classes')
    parser.add_argument('--copy', action='store_true', help='copy images instead of linking')
    parser.add_argument('--drop-empty', action='store_true',
                        help='skip images without any kept box')


def run(args: argparse.Namespace) -> int:
    splits = {s: tuple(getattr(args, s)) for s in ('train', 'val', 'test') if getattr(args, s)}
    report = convert(args.source, args.out, splits, with_car=not args.no_car, copy=args.copy,
                     keep_empty=not args.drop_empty)
    print(report.table())
    print(f'data.yaml: {report.out / "data.yaml"}')
    return 0
