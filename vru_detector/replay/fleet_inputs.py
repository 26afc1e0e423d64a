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
Which bags a fleet run covers (bags, folders of bags, list files) and what identifies each.

A bag is a rosbag2 folder (metadata.yaml and/or .mcap/.db3 files) or a single .mcap file. Its
identity for resuming is the SHA-256 of its files (names and contents), so a re-recorded or
repaired bag is evaluated again and a renamed one is not.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Sequence

from .bag_task import sha256_file
from ..errors import VruDetectorError
from ..labels import natural_key

STORAGE_SUFFIXES = ('.mcap', '.db3')


def is_bag(path: Path) -> bool:
    """Tell a rosbag2 folder (metadata.yaml or storage files in it) or one .mcap / .db3 file."""
    if path.is_file():
        return path.suffix in STORAGE_SUFFIXES
    return path.is_dir() and ((path / 'metadata.yaml').is_file() or any(
        p.suffix in STORAGE_SUFFIXES for p in path.iterdir() if p.is_file()))


def is_fleet_input(paths: Sequence[Path]) -> bool:
    """More than one path, a list file, or a folder of bags: not the single-bag command."""
    return len(paths) != 1 or not is_bag(paths[0]) and paths[0].exists()


def _bags_in_folder(folder: Path) -> list[Path]:
    bags = sorted((p for p in folder.iterdir() if p.is_dir() and is_bag(p)),
                  key=lambda p: natural_key(p.name))
    if not bags:
        raise VruDetectorError(f'{folder}: neither a bag nor a folder of bags (no sub-folder '
                               'holds a metadata.yaml, .mcap or .db3 file)')
    return bags


def _bags_in_list(list_file: Path) -> list[Path]:
    try:
        lines = list_file.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise VruDetectorError(f'{list_file}: cannot read the list of bags ({exc})') from None
    entries = [line.strip() for line in lines if line.strip() and not line.strip().startswith('#')]
    if not entries:
        raise VruDetectorError(f'{list_file}: an empty list of bags (one bag path per line)')
    return [p if p.is_absolute() else list_file.parent / p for p in map(Path, entries)]


def find_bags(paths: Sequence[Path]) -> list[Path]:
    """
    Expand bags, folders of bags and list files (one path per line, relative to the file).

    A listed path that does not exist is kept: its row then reports the error.
    """
    bags: list[Path] = []
    for path in paths:
        if is_bag(path):
            bags.append(path)
        elif path.is_dir():
            bags.extend(_bags_in_folder(path))
        elif path.is_file():
            bags.extend(_bags_in_list(path))
        else:
            raise VruDetectorError(f'{path}: no such bag, folder of bags or list file')
    seen: set[Path] = set()
    unique = []
    for bag in bags:
        if bag.resolve() not in seen:
            seen.add(bag.resolve())
            unique.append(bag)
    return unique


def bag_names(bags: Sequence[Path]) -> list[str]:
    """Short unique names: each bag's path relative to the bags' common folder."""
    resolved = [b.resolve() for b in bags]
    if len(resolved) == 1:
        return [resolved[0].name]
    common = Path(os.path.commonpath([str(p) for p in resolved]))
    return [str(p.relative_to(common)) for p in resolved]


def bag_sha256(bag: Path) -> str:
    """SHA-256 over a bag's files (relative names and contents); '' when it cannot be read."""
    h = hashlib.sha256()
    try:
        files = sorted(p for p in bag.rglob('*') if p.is_file()) if bag.is_dir() else [bag]
        for f in files:
            h.update(str(f.relative_to(bag) if bag.is_dir() else f.name).encode() + b'\0')
            h.update(bytes.fromhex(sha256_file(f)))
    except OSError:
        return ''
    return h.hexdigest()
