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
CycloneDDS have the socket receive buffer that file asks for. ROS-free and stdlib-only (the
launch file imports it in the system Python), so it is tested without a ROS installation. A
``SocketReceiveBufferSize min=`` that the kernel's ``net.core.rmem_max`` does not allow makes
CycloneDDS refuse to start ("If the buffer size cannot be increased to the requested minimum
size, an error is reported", CycloneDDS's configuration reference), with an error far from its
cause: the launch says so first.

``auto`` (the default) uses the package file exactly when it helps and cannot hurt: the node
runs on CycloneDDS (``RMW_IMPLEMENTATION=rmw_cyclonedds_cpp``), the user has no
``CYCLONEDDS_URI`` of their own, and the kernel allows the file's minimum. On a Humble machine
that file lifted a raw 720p stream from 2.3 Hz to 9.8 Hz; without a raised ``rmem_max`` it
would stop the node from starting, so then ``auto`` leaves CycloneDDS alone and the launch warns.
"""
from __future__ import annotations

import os
from typing import Dict, Mapping, Optional
import xml.etree.ElementTree as ET

TRUE = ('true', '1', 'yes', 'on')
FALSE = ('', 'false', '0', 'no', 'off')
AUTO = 'auto'
CYCLONEDDS = 'rmw_cyclonedds_cpp'
RMEM_MAX = '/proc/sys/net/core/rmem_max'
_UNITS = {'b': 1, 'kb': 1024, 'kib': 1024, 'mb': 1024 ** 2, 'mib': 1024 ** 2,
          'gb': 1024 ** 3, 'gib': 1024 ** 3}


def cyclonedds_file(value: str, package_file: str, environ: Mapping[str, str] = os.environ,
                    rmem_max_path: str = RMEM_MAX) -> Optional[str]:
    """Resolve ``cyclonedds_config``: false -> None, true -> ``package_file``, auto, a path."""
    if value.strip().lower() in FALSE:
        return None
    if value.strip().lower() == AUTO:
        return package_file if auto_blocker(package_file, environ, rmem_max_path) is None \
            else None
    chosen = package_file if value.strip().lower() in TRUE else value
    path = os.path.abspath(os.path.expanduser(chosen))
    if not os.path.isfile(path):
        raise RuntimeError(
            f'cyclonedds_config:={value}: no such file ({path}). Pass true for the package '
            'file config/cyclonedds.xml, a path to your own CycloneDDS XML, or false.')
    return path


def cyclonedds_environment(value: str, package_file: str,
                           environ: Mapping[str, str] = os.environ,
                           rmem_max_path: str = RMEM_MAX) -> Dict[str, str]:
    """Environment for the node's process: CYCLONEDDS_URI of the chosen file, or nothing."""
    path = cyclonedds_file(value, package_file, environ, rmem_max_path)
    return {'CYCLONEDDS_URI': 'file://' + path} if path else {}


def read_rmem_max(rmem_max_path: str = RMEM_MAX) -> Optional[int]:
    """Read the kernel's cap on socket receive buffers (bytes); None if not Linux/unreadable."""
    try:
        with open(rmem_max_path, encoding='ascii') as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def auto_blocker(package_file: str, environ: Mapping[str, str] = os.environ,
                 rmem_max_path: str = RMEM_MAX) -> Optional[str]:
    """Say why ``auto`` leaves CycloneDDS alone, or None when it uses the package file."""
    if environ.get('RMW_IMPLEMENTATION', '') != CYCLONEDDS:
        return 'the node does not run on CycloneDDS'
    if environ.get('CYCLONEDDS_URI'):
        return 'CYCLONEDDS_URI is already set'
    wanted, rmem_max = receive_buffer_min(package_file), read_rmem_max(rmem_max_path)
    if wanted is not None and rmem_max is not None and rmem_max < wanted:
        return f'net.core.rmem_max is {rmem_max}, below the {wanted} bytes it asks for'
    return None


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


def rmem_warning(value: str, package_file: str, rmem_max_path: str = RMEM_MAX,
                 environ: Mapping[str, str] = os.environ) -> str:
    """Warn when the kernel caps sockets below the file's minimum (CycloneDDS then fails)."""
    if value.strip().lower() == AUTO:
        blocker = auto_blocker(package_file, environ, rmem_max_path)
        if blocker is None or not blocker.startswith('net.core'):
            return ''
        return (f'cyclonedds_config:=auto leaves CycloneDDS at its default socket receive '
                f'buffer: {blocker}. Large raw images (720p bgr8: 2.7 MB) will lose frames in '
                'transport (/diagnostics: input_completeness). Run `sudo sysctl -w '
                f'net.core.rmem_max={receive_buffer_min(package_file)}` and launch again '
                '(see config/cyclonedds.xml).')
    path = cyclonedds_file(value, package_file, environ, rmem_max_path)
    wanted = receive_buffer_min(path) if path else None
    rmem_max = read_rmem_max(rmem_max_path)
    if wanted is None or rmem_max is None or rmem_max >= wanted:
        return ''  # nothing asked, not Linux, or allowed: nothing to say
    return (f'{os.path.basename(path)} asks CycloneDDS for a socket receive buffer of at least '
            f'{wanted} bytes but net.core.rmem_max is {rmem_max}: on rmw_cyclonedds_cpp the '
            f'node will fail to start. Run `sudo sysctl -w net.core.rmem_max={wanted}` first '
            '(see config/cyclonedds.xml).')
