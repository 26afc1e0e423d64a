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
Images out of a rosbag2 without ROS: open, check the topic, decode every frame to BGR.

Decoding is rosbags-image's ``message_to_cvimage`` (all sensor_msgs encodings, JPEG/PNG
CompressedImage), wrapped so that an unknown encoding or a corrupt frame is a
:class:`BagReadError` naming the topic, frame and what to do.
"""
from __future__ import annotations

from dataclasses import dataclass
import json
from pathlib import Path
import sys
import time
from typing import Any, Iterator

import numpy as np

from .errors import BagReadError
from ..msgs.msg_types import typestore_with_vision_msgs

IMAGE_TYPES = ('sensor_msgs/msg/Image', 'sensor_msgs/msg/CompressedImage')
DETECTION_TYPE = 'vision_msgs/msg/Detection2DArray'
FRAME_KEYS = 'vru_detector.frame_keys'  # metadata.yaml custom_data: JSON list, one key per frame


@dataclass
class BagFrame:
    """
    One decoded image message.

    index: position on the topic (0-based). key: the frame key vru-make-bag stored (image stem /
    MOT frame number), else the index as a string. stamp_ns: header stamp. log_ns: bag receive
    time (what ``ros2 bag play`` replays at). decode_ms: deserialise + decode time.
    """

    index: int
    key: str
    stamp_ns: int
    log_ns: int
    frame_id: str
    image: np.ndarray
    decode_ms: float


def stamp_to_ns(stamp: Any) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def decode_image(msg: Any, where: str = 'image') -> np.ndarray:
    """Decode ``sensor_msgs/Image`` or ``CompressedImage`` (rosbags or rclpy message) to BGR8."""
    from rosbags.image import message_to_cvimage
    from rosbags.image.image import ImageError

    from ..image import as_bgr8

    compressed = hasattr(msg, 'format')
    if not compressed:
        msg = _unpadded(msg, where)
    try:
        out = message_to_cvimage(msg, 'bgr8' if compressed or msg.encoding not in
                                 ('mono8', 'mono16', '8UC1', '16UC1') else None)
    except ImageError as exc:
        raise BagReadError(
            f'{where}: cannot decode image with encoding {getattr(msg, "encoding", "?")!r} '
            f'({exc}). Supported: rgb8, bgr8, rgba8, bgra8, mono8, mono16, bayer_*, yuv422 and '
            'JPEG/PNG CompressedImage.') from None
    except (AssertionError, ValueError, TypeError) as exc:
        fmt = getattr(msg, 'format', None) or getattr(msg, 'encoding', '?')
        raise BagReadError(f'{where}: image data is corrupt or truncated (format {fmt!r}, '
                           f'{len(msg.data)} bytes): {exc or "decoder returned nothing"}'
                           ) from None
    try:
        return as_bgr8(out)
    except ValueError as exc:
        raise BagReadError(f'{where}: {exc}') from None


def _unpadded(msg: Any, where: str) -> Any:
    """Return an Image whose rows are padded (step > width * bytes per pixel) made dense."""
    from rosbags.image.image import ImageError, to_cvtype

    try:
        depth, _, _, channels = to_cvtype(msg.encoding)
    except ImageError as exc:
        raise BagReadError(f'{where}: unknown image encoding {msg.encoding!r} ({exc}); expected '
                           'a sensor_msgs/image_encodings name such as bgr8, rgb8, mono8'
                           ) from None
    row = msg.width * channels * depth // 8
    data = np.asarray(msg.data, np.uint8)
    if msg.step < row or len(data) < msg.step * msg.height:
        raise BagReadError(f'{where}: image {msg.width}x{msg.height} {msg.encoding} needs '
                           f'{row * msg.height} bytes (step {msg.step}), message has {len(data)}')
    if msg.step == row and len(data) == row * msg.height:
        return msg
    dense = data[:msg.step * msg.height].reshape(msg.height, msg.step)[:, :row].reshape(-1)

    class Dense:  # duck-typed copy: rosbags-image reads only these fields
        encoding, width, height, is_bigendian = msg.encoding, msg.width, msg.height, \
            msg.is_bigendian
        step, data = row, dense
    return Dense()


def read_metadata(bag: Path) -> dict:
    """Return metadata.yaml's ``rosbag2_bagfile_information`` (empty when unreadable)."""
    import yaml

    try:
        data = yaml.safe_load((Path(bag) / 'metadata.yaml').read_text())
        return data.get('rosbag2_bagfile_information', {}) or {}
    except (OSError, yaml.YAMLError, AttributeError, UnicodeDecodeError):
        return {}


def frame_keys_of(bag: Path) -> list[str] | None:
    """Frame keys stored by vru-make-bag in custom_data, if any."""
    custom = read_metadata(bag).get('custom_data') or {}
    try:
        keys = json.loads(custom[FRAME_KEYS])
    except (KeyError, TypeError, ValueError):
        return None
    return [str(k) for k in keys] if isinstance(keys, list) else None


class BagImages:
    """
    An open bag with one image topic; iterate to get :class:`BagFrame` in recorded order.

    >>> with BagImages('drive', '/camera/image_raw') as frames:
    ...     for frame in frames: ...

    An MCAP recording that was cut short (no summary, no metadata.yaml) is read front to back
    up to the damage ("salvage" mode); iteration then ends with a BagReadError saying where.
    """

    def __init__(self, bag: str | Path, topic: str) -> None:
        self.bag = Path(bag)
        if self.bag.suffix in ('.mcap', '.db3') and (self.bag.parent / 'metadata.yaml').is_file():
            self.bag = self.bag.parent  # a storage file of a bag folder: open the folder
        self.topic = topic
        self.reader: Any = None
        self.salvage: Path | None = None
        self.typestore: Any = None

    def __enter__(self) -> BagImages:
        if not self.bag.exists():
            raise BagReadError(f'bag {self.bag} does not exist')
        mcaps = sorted(self.bag.glob('*.mcap')) if self.bag.is_dir() else \
            ([self.bag] if self.bag.suffix == '.mcap' else [])
        has_meta = self.bag.is_dir() and (self.bag / 'metadata.yaml').is_file()
        if self.bag.is_dir() and not has_meta and len(mcaps) != 1:
            raise BagReadError(f'{self.bag} has no metadata.yaml: not a rosbag2 folder (or one '
                               'whose recording was interrupted; `ros2 bag reindex` repairs it)')
        error = None
        if has_meta:
            error = self._open_reader()
        if not has_meta or error:
            if len(mcaps) != 1:
                raise BagReadError(f'{self.bag}: cannot open the bag ({error}); is it a '
                                   'complete rosbag2?')
            self._open_salvage(mcaps[0], error)
        if self.topic not in self.topics:
            self.close()
            raise BagReadError(
                f'topic {self.topic!r} is not in {self.bag}; it has: ' + ', '.join(
                    f'{t} [{m}]' for t, m in sorted(self.topics.items())) +
                '. Pass one of the image topics with --image-topic.')
        if self.topics[self.topic] not in IMAGE_TYPES:
            msgtype = self.topics[self.topic]
            self.close()
            raise BagReadError(f'topic {self.topic!r} carries {msgtype}, expected one of '
                               f'{IMAGE_TYPES}')
        self.keys = frame_keys_of(self.bag) if has_meta else None
        return self

    def _open_reader(self) -> str | None:
        from rosbags.highlevel import AnyReader

        try:
            self.reader = AnyReader([self.bag], default_typestore=typestore_with_vision_msgs())
            self.reader.open()
        except Exception as exc:  # noqa: B902 (rosbags, sqlite and mcap errors alike)
            self.reader = None
            return f'{type(exc).__name__}: {str(exc)[:300]}'
        self.topics = {name: info.msgtype for name, info in self.reader.topics.items()}
        self.counts = {name: info.msgcount for name, info in self.reader.topics.items()}
        self.count = self.counts.get(self.topic, 0)
        return None

    def _open_salvage(self, mcap: Path, error: str | None) -> None:
        from rosbags.typesys import Stores, get_types_from_msg, get_typestore

        from .mcap_salvage import iter_mcap_messages

        self.salvage = mcap
        print(f'warning: {self.bag}: ' + (f'cannot be opened normally ({error}); ' if error
                                          else 'has no metadata.yaml; ') +
              f'reading {mcap.name} front to back up to any damage', file=sys.stderr)
        self.topics, self.counts, defs = {}, {}, {}
        for channel, _, _ in iter_mcap_messages(mcap):
            self.topics[channel.topic] = channel.msgtype
            self.counts[channel.topic] = self.counts.get(channel.topic, 0) + 1
            if channel.msgdef:
                defs[channel.msgtype] = channel.msgdef
        store = get_typestore(Stores.EMPTY)
        try:
            for msgtype, text in defs.items():
                store.register(get_types_from_msg(text, msgtype))
        except Exception:  # noqa: B902 (a damaged schema: fall back to the known types)
            store = typestore_with_vision_msgs()
        self.typestore = store if defs else typestore_with_vision_msgs()
        self.count = self.counts.get(self.topic, 0)

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.reader is not None:
            try:
                self.reader.close()
            except Exception:  # noqa: B902 (closing a corrupt bag must not hide the real error)
                pass
            self.reader = None

    def messages(self, topic: str) -> Iterator[tuple[int, Any]]:
        """(log time ns, deserialised message) of another topic, e.g. ground truth."""
        if topic not in self.topics:
            raise BagReadError(f'topic {topic!r} is not in {self.bag}; it has: '
                               + ', '.join(sorted(self.topics)))
        for msgtype, log_ns, raw in self._raw(topic, complete=False):
            yield log_ns, self._deserialize(raw, msgtype, topic)

    def _deserialize(self, raw: bytes, msgtype: str, where: str) -> Any:
        try:
            if self.salvage is not None:
                return self.typestore.deserialize_cdr(raw, msgtype)
            return self.reader.deserialize(raw, msgtype)
        except Exception as exc:  # noqa: B902 (corrupt CDR raises assorted errors)
            raise BagReadError(f'{self.bag} {where}: message cannot be deserialised '
                               f'({type(exc).__name__}: {str(exc)[:200]})') from None

    def _raw(self, topic: str, complete: bool = True) -> Iterator[tuple[str, int, bytes]]:
        """
        (msgtype, log time, raw) of a topic; bag errors become BagReadError.

        In salvage mode with ``complete``, reaching the damage raises after the last intact
        message (the caller's results so far stay valid).
        """
        if self.salvage is not None:
            from .mcap_salvage import SalvageReport, iter_mcap_messages

            report = SalvageReport()
            n = 0
            for channel, log_ns, raw in iter_mcap_messages(self.salvage, report):
                if channel.topic == topic:
                    n += 1
                    yield channel.msgtype, log_ns, raw
            if complete and not report.complete:
                raise BagReadError(f'{self.salvage} is damaged at byte {report.stopped_at} '
                                   f'({report.reason}); {n} messages of {topic} were read '
                                   'before it')
            return
        conns = [c for c in self.reader.connections if c.topic == topic]
        it = self.reader.messages(connections=conns)
        while True:
            try:
                conn, log_ns, raw = next(it)
            except StopIteration:
                return
            except Exception as exc:  # noqa: B902 (truncated mcap / sqlite errors)
                raise BagReadError(f'{self.bag}: reading {topic} failed ({type(exc).__name__}'
                                   f': {str(exc)[:200]}); the bag is corrupt or truncated'
                                   ) from None
            yield conn.msgtype, log_ns, raw

    def __iter__(self) -> Iterator[BagFrame]:
        for index, (msgtype, log_ns, raw) in enumerate(self._raw(self.topic)):
            t0 = time.perf_counter()
            where = f'{self.topic} frame {index}'
            msg = self._deserialize(raw, msgtype, where)
            image = decode_image(msg, where)
            decode_ms = (time.perf_counter() - t0) * 1e3
            key = self.keys[index] if self.keys and index < len(self.keys) else str(index)
            yield BagFrame(index, key, stamp_to_ns(msg.header.stamp), log_ns,
                           msg.header.frame_id, image, decode_ms)


def list_topics(bag: str | Path) -> dict[str, str]:
    """{topic: message type} of a bag."""
    from rosbags.highlevel import AnyReader

    try:
        with AnyReader([Path(bag)], default_typestore=typestore_with_vision_msgs()) as reader:
            return {name: info.msgtype or '' for name, info in reader.topics.items()}
    except Exception as exc:  # noqa: BLE001
        raise BagReadError(f'{bag}: cannot open the bag ({exc})') from None


def iter_bag_images(bag_path: str | Path, topic: str) -> Iterator[tuple[str, np.ndarray, int]]:
    """(key, BGR image, header stamp ns) of every message on ``topic``: vru-detect's BAG source."""
    with BagImages(bag_path, topic) as frames:
        for frame in frames:
            yield frame.key, frame.image, frame.stamp_ns


def bag_frame_count(bag_path: str | Path, topic: str) -> int:
    """Return the number of messages on ``topic`` (for progress bars; reads only the index)."""
    with BagImages(bag_path, topic) as frames:
        return frames.count
