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
The optional parts of the install (setup.py ``extras_require``) and the check that one is there.

The robot's install is the runtime alone; evaluation, tracking and the other extras are asked
for by name, so a missing one is a message with the pip command, not an ImportError.
"""
from __future__ import annotations

import importlib.util

from .errors import VruDetectorError

#: extra -> the modules it brings (the names setup.py's extras install)
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    'eval': ('matplotlib', 'scipy', 'trackeval'),
    'tracking': ('trackers',),
    'fleet': ('ray',),
    'openvino': ('openvino',),
}


class MissingExtraError(VruDetectorError, ImportError):
    """A feature needs an optional part of the install that is not there."""


def missing_modules(extra: str) -> list[str]:
    """Return the modules of ``extra`` that cannot be imported here."""
    return [m for m in EXTRA_MODULES[extra] if not _importable(m)]


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a finder that refuses it, or a broken install
        return False


def install_hint(extra: str) -> str:
    """Return the pip command that installs ``extra``."""
    return f'pip install "vru_detector[{extra}]"'


def require(extra: str, feature: str) -> None:
    """Raise MissingExtraError naming ``extra`` when any of its modules is missing."""
    missing = missing_modules(extra)
    if missing:
        raise MissingExtraError(
            f'{feature} needs the "{extra}" extra (missing: {", ".join(missing)}); install it '
            f'with `{install_hint(extra)}` (from a checkout: pip install -e ".[{extra}]")')
