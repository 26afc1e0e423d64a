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
One ``--help`` style for every command: raw descriptions, and each flag's default shown.

Defaults that say nothing (None, False, empty) are left out, as is a default the help text
already names; ``double backquoted`` reST markup from docstrings is shown as `single`.
"""
from __future__ import annotations

import argparse
import re


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keep the description's line breaks and append ``(default: X)`` to each flag's help."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ''
        default = action.default
        says_nothing = default is None or default is False or default == argparse.SUPPRESS or (
            isinstance(default, (str, list, tuple)) and not default)
        if (says_nothing or '%(default)' in text or 'default' in text.lower()
                or not (action.option_strings or action.nargs in ('?', '*'))):
            return text
        return f'{text} (default: %(default)s)' if text else '(default: %(default)s)'


def plain(text: str) -> str:
    """Turn docstring markup into plain text: ``code`` -> `code`, escaped backslashes kept."""
    return re.sub(r'``([^`]+)``', r'`\1`', text)


def description(doc: str | None, paragraphs: int = 1) -> str:
    """Return the first ``paragraphs`` paragraphs of a module docstring, as plain text."""
    parts = (doc or '').strip().split('\n\n')
    return plain('\n\n'.join(parts[:paragraphs]))
