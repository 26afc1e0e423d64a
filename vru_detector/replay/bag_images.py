"""Images out of a rosbag2 without ROS: open, check the topic, decode every frame to BGR.

Decoding is rosbags-image's ``message_to_cvimage`` (all sensor_msgs encodings, JPEG/PNG
CompressedImage), wrapped so that an unknown encoding or a corrupt frame is a
:class:`BagReadError` naming the topic, frame and what to do.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .errors import BagReadError
from .vision_msgs_types import typestore_with_vision_msgs

IMAGE_TYPES = ('sensor_msgs/msg/Image', 'sensor_msgs/msg/CompressedImage')
DETECTION_TYPE = 'vision_msgs/msg/Detection2DArray'
FRAME_KEYS = 'vru_detector.frame_keys'  # metadata.yaml custom_data: JSON list, one key per frame


@dataclass
class BagFrame:
    """One decoded image message.

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
    """An Image whose rows are padded (step > width * bytes per pixel) made dense."""
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
    """The bag's metadata.yaml ``rosbag2_bagfile_information`` (empty dict when unreadable)."""
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
    """An open bag with one image topic; iterate to get :class:`BagFrame` in recorded order.

    >>> with BagImages('drive', '/camera/image_raw') as frames:
    ...     for frame in frames: ...
    """

    def __init__(self, bag: str | Path, topic: str) -> None:
        self.bag = Path(bag)
        self.topic = topic
        self.reader: Any = None

    def __enter__(self) -> BagImages:
        from rosbags.highlevel import AnyReader

        if not self.bag.exists():
            raise BagReadError(f'bag {self.bag} does not exist')
        if self.bag.is_dir() and not (self.bag / 'metadata.yaml').is_file():
            raise BagReadError(f'{self.bag} has no metadata.yaml: not a rosbag2 folder (or one '
                               'whose recording was interrupted; `ros2 bag reindex` repairs it)')
        try:
            self.reader = AnyReader([self.bag], default_typestore=typestore_with_vision_msgs())
            self.reader.open()
        except Exception as exc:  # noqa: B902 (rosbags, sqlite and mcap errors alike)
            raise BagReadError(f'{self.bag}: cannot open the bag ({type(exc).__name__}: '
                               f'{str(exc)[:300]}); is it a complete rosbag2?') from None
        self.topics = {name: info.msgtype for name, info in self.reader.topics.items()}
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
        self.connections = [c for c in self.reader.connections if c.topic == self.topic]
        self.count = sum(c.msgcount for c in self.connections)
        self.keys = frame_keys_of(self.bag) if self.bag.is_dir() else None
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.reader is not None:
            try:
                self.reader.close()
            except Exception:  # noqa: BLE001 (closing a corrupt bag must not hide the real error)
                pass
            self.reader = None

    def messages(self, topic: str) -> Iterator[tuple[int, Any]]:
        """(log time ns, deserialised message) of another topic, e.g. ground truth."""
        conns = [c for c in self.reader.connections if c.topic == topic]
        if not conns:
            raise BagReadError(f'topic {topic!r} is not in {self.bag}; it has: '
                               + ', '.join(sorted(self.topics)))
        for conn, log_ns, raw in self._guarded(conns):
            yield log_ns, self._deserialize(raw, conn.msgtype, topic)

    def _deserialize(self, raw: bytes, msgtype: str, where: str) -> Any:
        try:
            return self.reader.deserialize(raw, msgtype)
        except Exception as exc:  # noqa: BLE001 (corrupt CDR raises assorted errors)
            raise BagReadError(f'{self.bag} {where}: message cannot be deserialised '
                               f'({type(exc).__name__}: {str(exc)[:200]})') from None

    def _guarded(self, conns: list) -> Iterator[tuple[Any, int, bytes]]:
        it = self.reader.messages(connections=conns)
        while True:
            try:
                item = next(it)
            except StopIteration:
                return
            except Exception as exc:  # noqa: BLE001 (truncated mcap / sqlite errors)
                raise BagReadError(f'{self.bag}: reading {self.topic} failed ({type(exc).__name__}'
                                   f': {str(exc)[:200]}); the bag is corrupt or truncated'
                                   ) from None
            yield item

    def __iter__(self) -> Iterator[BagFrame]:
        for index, (conn, log_ns, raw) in enumerate(self._guarded(self.connections)):
            t0 = time.perf_counter()
            where = f'{self.topic} frame {index}'
            msg = self._deserialize(raw, conn.msgtype, where)
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
