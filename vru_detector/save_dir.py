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
Output folders that never mix two runs: ``runs/detect``, then ``runs/detect2``, ``runs/detect3``.

The same rule as ultralytics' ``increment_path``: an existing folder is reused only when the
user says so (``--exist-ok``); otherwise the next free numbered name is taken.
"""
from __future__ import annotations

from pathlib import Path


def free_path(path: str | Path) -> Path:
    """Return ``path`` if nothing is there, else the first free ``path2``, ``path3``, ..."""
    path = Path(path)
    n = 2
    free = path
    while free.exists():
        free = path.with_name(f'{path.name}{n}')
        n += 1
    return free


def new_run_dir(path: str | Path, exist_ok: bool = False) -> Path:
    """Create and return ``path``, or the first free ``path2``, ``path3``... if it exists."""
    path = Path(path) if exist_ok else free_path(path)
    path.mkdir(parents=True, exist_ok=True)
    return path
