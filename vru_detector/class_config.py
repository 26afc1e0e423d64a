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
Per-class display colours and default thresholds from config/classes.yaml.

The model file is the authority on class names and their order; this file only styles them.
A class it does not list gets a stable colour from a palette and the global threshold.
"""
from __future__ import annotations

from dataclasses import dataclass
import os
from pathlib import Path
import site
import sys
from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

import yaml

PACKAGE = 'vru_detector'
DEFAULT_CONF = 0.25  # the score threshold of a class without its own: ultralytics', the node's
NO_CLASS_CONFIG = 'none'
CLASS_CONFIG_HELP = ('classes.yaml with per-class colours and score thresholds (e.g. car 0.40), '
                     "as the node's class_config; default: the package's config/classes.yaml, "
                     "so results match the live node; 'none': --conf for every class")
PALETTE = ('#FFE119', '#911EB4', '#42D4F4', '#F032E6', '#BFEF45', '#469990', '#9A6324')


@dataclass(frozen=True)
class ClassStyle:
    """How one class is drawn and its default score threshold (None: the global one)."""

    name: str
    color_bgr: Tuple[int, int, int]
    conf: Optional[float] = None
    vru: bool = False


def hex_to_bgr(text: str) -> Tuple[int, int, int]:
    """'#RRGGBB' -> (B, G, R), the order OpenCV draws in."""
    value = str(text).lstrip('#')
    if len(value) != 6:
        raise ValueError(f"colour {text!r} is not '#RRGGBB'")
    r, g, b = (int(value[i:i + 2], 16) for i in (0, 2, 4))
    return b, g, r


def default_class_config_path() -> Optional[Path]:
    """Find classes.yaml: the ROS package share dir, a pip prefix (or --user), this source tree."""
    candidates = []
    try:
        from ament_index_python.packages import get_package_share_directory
        candidates.append(Path(get_package_share_directory(PACKAGE)) / 'config')
    except Exception:  # not a ROS install, or the package is not installed there
        pass
    candidates.append(Path(sys.prefix) / 'share' / PACKAGE / 'config')
    candidates.append(Path(site.getuserbase()) / 'share' / PACKAGE / 'config')  # pip --user
    candidates.append(Path(__file__).resolve().parents[1] / 'config')
    for folder in candidates:
        if (folder / 'classes.yaml').is_file():
            return folder / 'classes.yaml'
    return None


def load_class_config(path: Union[str, os.PathLike, None] = None) -> Dict[str, ClassStyle]:
    """
    Read classes.yaml (``path``, or the installed default) into name -> ClassStyle.

    Raises ValueError naming the file and the bad entry; a missing default file gives {}.
    """
    if path is None or str(path) == '':
        path = default_class_config_path()
        if path is None:
            return {}
    path = Path(path)
    if not path.is_file():
        raise ValueError(f'class config {path} does not exist')
    data = yaml.safe_load(path.read_text()) or {}
    entries = data.get('classes') if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise ValueError(f"{path}: expected a top-level 'classes:' mapping of name -> settings")
    styles = {}
    for name, cfg in entries.items():
        cfg = cfg or {}
        try:
            conf = cfg.get('conf')
            if conf is not None and not 0.0 <= float(conf) <= 1.0:
                raise ValueError(f'conf {conf} is outside [0, 1]')
            styles[str(name)] = ClassStyle(
                str(name), hex_to_bgr(cfg.get('color', PALETTE[len(styles) % len(PALETTE)])),
                None if conf is None else float(conf), bool(cfg.get('vru', False)))
        except (ValueError, AttributeError, TypeError) as exc:
            raise ValueError(f'{path}: class {name!r}: {exc}') from None
    return styles


def default_thresholds(styles: Dict[str, ClassStyle]) -> Dict[str, float]:
    """Map class name to its conf, for the classes that set one."""
    return {name: s.conf for name, s in styles.items() if s.conf is not None}


def model_thresholds(defaults: Mapping[str, float],
                     names: Optional[Sequence[str]] = None) -> Dict[str, float]:
    """Keep the file's thresholds (``default_thresholds``) of the classes a model has."""
    return {k: v for k, v in defaults.items() if names is None or k in names}


def load_cli_class_config(value: Optional[str]) -> Dict[str, ClassStyle]:
    """Read ``--class-config`` of vru-detect / vru-eval-bag: None: the node's; 'none': {}."""
    if value is not None and value.strip().lower() == NO_CLASS_CONFIG:
        return {}
    return load_class_config(value)


def color_for(name: str, class_id: int, styles: Dict[str, ClassStyle]) -> Tuple[int, int, int]:
    """Return the class's configured colour, else a palette colour fixed by its id."""
    if name in styles:
        return styles[name].color_bgr
    return hex_to_bgr(PALETTE[class_id % len(PALETTE)])
