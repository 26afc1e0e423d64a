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
Read the messages of an MCAP file front to back, up to where it is damaged.

A recording cut short (power loss, full disk, killed recorder) has no summary section, so
rosbags refuses to open it. The records before the cut are intact, though: this walks them in
file order (MCAP spec: opcode u8, length u64, content; chunks possibly lz4/zstd compressed) and
stops cleanly at the first incomplete record, reporting where.
"""
from __future__ import annotations

from dataclasses import dataclass
import mmap
from pathlib import Path
import struct
import sys
from typing import Iterator

MAGIC = b'\x89MCAP0\r\n'
OP_SCHEMA, OP_CHANNEL, OP_MESSAGE, OP_CHUNK, OP_DATA_END, OP_FOOTER = 0x03, 0x04, 0x05, 0x06, \
    0x0F, 0x02


@dataclass(frozen=True)
class Channel:
    topic: str
    msgtype: str
    msgdef: str
    encoding: str


@dataclass
class SalvageReport:
    """Where reading stopped: ``complete`` False means the file is damaged at ``stopped_at``."""

    complete: bool = True
    stopped_at: int = 0
    reason: str = ''


class _Cut(Exception):
    pass


def _take(buf: memoryview, pos: int, n: int) -> tuple[memoryview, int]:
    if pos + n > len(buf):
        raise _Cut(f'record needs {n} bytes at offset {pos}, file ends at {len(buf)}')
    return buf[pos:pos + n], pos + n


def _string(buf: memoryview, pos: int) -> tuple[str, int]:
    raw, pos = _take(buf, pos, 4)
    (n,) = struct.unpack('<I', raw)
    raw, pos = _take(buf, pos, n)
    try:
        return bytes(raw).decode('utf-8'), pos
    except UnicodeDecodeError:
        raise _Cut(f'invalid UTF-8 string at offset {pos - n}') from None


def _decompress(data: bytes, compression: str, size: int) -> bytes:
    if compression == '':
        return data
    if compression == 'lz4':
        from lz4.frame import decompress
        return decompress(data)
    if compression == 'zstd':
        if sys.version_info >= (3, 14):
            from compression import zstd
        else:
            from backports import zstd
        return zstd.decompress(data)
    raise _Cut(f'unsupported chunk compression {compression!r}')


def iter_mcap_messages(path: str | Path, report: SalvageReport | None = None
                       ) -> Iterator[tuple[Channel, int, bytes]]:
    """(channel, log time ns, raw CDR) of every intact message in file order."""
    report = report if report is not None else SalvageReport()
    with open(path, 'rb') as f:
        if Path(path).stat().st_size < len(MAGIC) or f.read(len(MAGIC)) != MAGIC:
            report.complete, report.reason = False, 'not an MCAP file (bad magic)'
            return
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)  # no copy of a multi-GB file
    buf = memoryview(mm)
    schemas: dict[int, tuple[str, str]] = {}
    channels: dict[int, Channel] = {}

    def walk(view: memoryview, base: int, top: bool) -> Iterator[tuple[Channel, int, bytes]]:
        pos = 8 if top else 0
        while pos < len(view):
            start = pos
            if top:
                report.stopped_at = start
            head, pos = _take(view, pos, 9)
            op, length = head[0], struct.unpack('<Q', head[1:9])[0]
            body, pos = _take(view, pos, length)
            if op == OP_SCHEMA:
                sid = struct.unpack('<H', body[:2])[0]
                name, p = _string(body, 2)
                _enc, p = _string(body, p)
                (n,) = struct.unpack('<I', bytes(_take(body, p, 4)[0]))
                schemas[sid] = (name, bytes(_take(body, p + 4, n)[0]).decode('utf-8', 'replace'))
            elif op == OP_CHANNEL:
                cid, sid = struct.unpack('<HH', body[:4])
                topic, p = _string(body, 4)
                enc, p = _string(body, p)
                name, msgdef = schemas.get(sid, ('', ''))
                channels[cid] = Channel(topic, name, msgdef, enc)
            elif op == OP_MESSAGE:
                cid, _seq, log_time, _pub = struct.unpack('<HIQQ', body[:22])
                if cid in channels:
                    yield channels[cid], log_time, bytes(body[22:])
            elif op == OP_CHUNK:
                _t0, _t1, size, _crc = struct.unpack('<QQQI', body[:28])
                compression, p = _string(body, 28)
                (n,) = struct.unpack('<Q', bytes(_take(body, p, 8)[0]))
                records, _ = _take(body, p + 8, n)
                inner = _decompress(bytes(records), compression, size)
                yield from walk(memoryview(inner), base + start, False)
            elif op in (OP_DATA_END, OP_FOOTER) and top:
                return

    try:
        yield from walk(buf, 0, True)
        report.complete, report.stopped_at = True, len(buf)
    except (_Cut, struct.error, ValueError, RuntimeError, OSError) as exc:
        report.complete, report.reason = False, str(exc)
    except Exception as exc:  # noqa: B902 (lz4 / zstd raise their own error types)
        report.complete, report.reason = False, f'{type(exc).__name__}: {exc}'
    finally:
        buf.release()
        try:
            mm.close()
        except BufferError:  # a caller still holds a view: the GC closes it later
            pass
