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

"""Result pages that scripts keep up to date: one generated block between two markers."""
from __future__ import annotations

from pathlib import Path


def cell(d: dict, signed: bool = False) -> str:
    """Format an interval dict (fractions) as points: ``48.8 [45.1, 52.0]``."""
    f = '{:+.1f}' if signed else '{:.1f}'
    return (f'{f.format(100 * d["estimate"])} [{f.format(100 * d["low"])}, '
            f'{f.format(100 * d["high"])}]')


def replace_block(doc: Path, marker: str, text: str) -> None:
    """Write ``text`` between the two ``marker`` lines of ``doc``; the rest is hand-written."""
    doc.parent.mkdir(parents=True, exist_ok=True)
    old = doc.read_text() if doc.is_file() else f'{marker}\n{marker}\n'
    head, _, rest = old.partition(marker)
    _, _, tail = rest.partition(marker)
    doc.write_text(f'{head}{marker}\n{text}{marker}{tail}')
