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
The data stage: BDD100K / VisDrone / COCO labels -> a YOLO VRU dataset, or YOLO datasets merged.

SOURCE is bdd100k (detection JSON + image folder), visdrone (annotations folder + images
folder) or coco (instances JSON + image folder); yolo merges existing YOLO datasets:
``--train A/data.yaml B/data.yaml --val A/data.yaml`` takes each one's split of that name. Images
are hard-linked (symlinked across file systems, or copied with --copy); labels, data.yaml (no
``path:`` key) and counts.json are written. The pipeline starts from such a dataset (the
recipe's ``data:``), so this stage has no recipe section.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ..data.convert import convert
from ..data.readers import SOURCES
from ..settings import option, REQUIRED, Settings

SPLITS = ('train', 'val', 'test')


@dataclass
class DataSettings(Settings):
    """How a dataset is converted (``vru-train data``; no recipe section)."""

    source: str = option(REQUIRED, 'annotation format to convert, or yolo to merge YOLO '
                         'datasets', choices=SOURCES)
    car: bool = option(True, 'keep the car class (--no-car: only the VRU classes, vru: true in '
                       'config/classes.yaml)')
    copy: bool = option(False, 'copy images instead of linking them')
    drop_empty: bool = option(False, 'skip images without any kept box')

    STAGE = ''


SETTINGS = DataSettings


def run(settings: DataSettings, run_dir: Path, splits: dict[str, Sequence[Path]]):
    """Convert every split (name -> ANNOTATIONS IMAGES, or data.yaml files) into ``run_dir``."""
    return convert(settings.source, Path(run_dir), splits, with_car=settings.car,
                   copy=settings.copy, keep_empty=not settings.drop_empty)


def add_inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--out', type=Path, required=True, help='output dataset folder')
    for split in SPLITS:
        parser.add_argument(f'--{split}', nargs='+', type=Path, metavar='PATH',
                            help='ANNOTATIONS IMAGES, or data.yaml files for yolo')


def main(args: argparse.Namespace, settings: DataSettings, recipe: dict[str, Any]) -> int:
    splits = {s: tuple(getattr(args, s)) for s in SPLITS if getattr(args, s)}
    report = run(settings, args.out, splits)
    print(report.table())
    print(f'data.yaml: {report.out / "data.yaml"}')
    return 0
