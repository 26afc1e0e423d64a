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
The launch file's ``cyclonedds_config``: the node's CycloneDDS file, and the kernel's cap on it.

Which file the node gets (none, the package's or the user's), and whether the kernel lets
CycloneDDS have the socket receive buffer that file asks for. ROS-free (the launch file calls
it), so it is tested without a ROS installation. A ``SocketReceiveBufferSize min=`` that the
kernel's ``net.core.rmem_max`` does not allow makes CycloneDDS refuse to start, with an error
far from its cause: the launch says so first.
"""
from __future__ import annotations

import os
from typing import Dict, Optional
import xml.etree.ElementTree as ET

TRUE = ('true', '1', 'yes', 'on')
FALSE = ('', 'false', '0', 'no', 'off')
RMEM_MAX = '/proc/sys/net/core/rmem_max'
_UNITS = {'b': 1, 'kb': 1024, 'kib': 1024, 'mb': 1024 ** 2, 'mib': 1024 ** 2,
          'gb': 1024 ** 3, 'gib': 1024 ** 3}


def cyclonedds_file(value: str, package_file: str) -> Optional[str]:
    """Resolve ``cyclonedds_config``: false -> None, true -> ``package_file``, else a path."""
    if value.strip().lower() in FALSE:
        return None
    chosen = package_file if value.strip().lower() in TRUE else value
    path = os.path.abspath(os.path.expanduser(chosen))
    if not os.path.isfile(path):
        raise RuntimeError(
            f'cyclonedds_config:={value}: no such file ({path}). Pass true for the package '
            'file config/cyclonedds.xml, a path to your own CycloneDDS XML, or false.')
    return path


def cyclonedds_environment(value: str, package_file: str) -> Dict[str, str]:
    """Environment for the node's process: CYCLONEDDS_URI of the chosen file, or nothing."""
    path = cyclonedds_file(value, package_file)
    return {'CYCLONEDDS_URI': 'file://' + path} if path else {}


def receive_buffer_min(path: str) -> Optional[int]:
    """Bytes of ``SocketReceiveBufferSize min=`` in a CycloneDDS file; None if unset/default."""
    for element in ET.parse(path).iter():
        if element.tag.rsplit('}', 1)[-1] == 'SocketReceiveBufferSize':
            text = element.get('min', 'default').strip().lower()
            if text == 'default':
                return None
            number = text.rstrip('abcdefghijklmnopqrstuvwxyz')
            unit = text[len(number):] or 'b'
            if unit not in _UNITS or not number:
                raise RuntimeError(f'{path}: SocketReceiveBufferSize min="{text}" is not a size '
                                   'CycloneDDS reads (e.g. 4MB, 4096kB, 4194304B)')
            return int(float(number) * _UNITS[unit])
    return None


def rmem_warning(value: str, package_file: str, rmem_max_path: str = RMEM_MAX) -> str:
    """Warn when the kernel caps sockets below the file's minimum (CycloneDDS then fails)."""
    path = cyclonedds_file(value, package_file)
    wanted = receive_buffer_min(path) if path else None
    if wanted is None:
        return ''
    try:
        with open(rmem_max_path, encoding='ascii') as f:
            rmem_max = int(f.read())
    except (OSError, ValueError):
        return ''  # not Linux, or not readable: nothing to say
    if rmem_max >= wanted:
        return ''
    return (f'{os.path.basename(path)} asks CycloneDDS for a socket receive buffer of at least '
            f'{wanted} bytes but net.core.rmem_max is {rmem_max}: on rmw_cyclonedds_cpp the '
            f'node will fail to start. Run `sudo sysctl -w net.core.rmem_max={wanted}` first '
            '(see config/cyclonedds.xml).')
