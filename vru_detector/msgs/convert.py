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
sensor_msgs/Image and CompressedImage <-> numpy, without cv_bridge.

Works on anything with the message fields: rclpy messages (``data`` is an ``array.array``) and
rosbags dataclasses (``data`` is a numpy array) alike, so the node and replay share it and it
is tested without ROS. Raw images become a zero-copy view of the message buffer where the
encoding allows (row padding via strides, native byte order); colour conversion, byte
swapping and decoding copy. Anything malformed raises ``InvalidImageError`` naming the problem,
so the caller can skip the frame and keep running.
"""
from __future__ import annotations

import array
from dataclasses import dataclass
import sys
from typing import Any, Dict, Optional

import cv2
import numpy as np

from ..errors import InvalidImageError


@dataclass(frozen=True)
class Encoding:
    """Memory layout of one sensor_msgs/Image encoding."""

    dtype: str          # numpy kind+size without byte order: 'u1', 'u2'
    channels: int       # values per pixel in the buffer
    to_bgr: Optional[int] = None  # cv2 colour conversion to BGR (None: already BGR / mono)


_BAYER = {  # ROS names the top-left 2x2 block, OpenCV the second row's: RGGB -> BayerBG
    'rggb': cv2.COLOR_BayerBG2BGR, 'bggr': cv2.COLOR_BayerRG2BGR,
    'gbrg': cv2.COLOR_BayerGR2BGR, 'grbg': cv2.COLOR_BayerGB2BGR,
}

ENCODINGS: Dict[str, Encoding] = {
    'bgr8': Encoding('u1', 3), 'rgb8': Encoding('u1', 3, cv2.COLOR_RGB2BGR),
    'bgra8': Encoding('u1', 4, cv2.COLOR_BGRA2BGR),
    'rgba8': Encoding('u1', 4, cv2.COLOR_RGBA2BGR),
    'mono8': Encoding('u1', 1, cv2.COLOR_GRAY2BGR),
    'bgr16': Encoding('u2', 3), 'rgb16': Encoding('u2', 3, cv2.COLOR_RGB2BGR),
    'bgra16': Encoding('u2', 4, cv2.COLOR_BGRA2BGR),
    'rgba16': Encoding('u2', 4, cv2.COLOR_RGBA2BGR),
    'mono16': Encoding('u2', 1, cv2.COLOR_GRAY2BGR),
    '8UC1': Encoding('u1', 1, cv2.COLOR_GRAY2BGR), '8UC3': Encoding('u1', 3),
    '8UC4': Encoding('u1', 4, cv2.COLOR_BGRA2BGR), '16UC1': Encoding('u2', 1, cv2.COLOR_GRAY2BGR),
    # sensor_msgs image_encodings: 'yuv422' is UYVY; 'yuv422_yuy2' (and 'yuyv') is YUYV
    'yuv422': Encoding('u1', 2, cv2.COLOR_YUV2BGR_UYVY),
    'uyvy': Encoding('u1', 2, cv2.COLOR_YUV2BGR_UYVY),
    'yuv422_yuy2': Encoding('u1', 2, cv2.COLOR_YUV2BGR_YUYV),
    'yuyv': Encoding('u1', 2, cv2.COLOR_YUV2BGR_YUYV),
}
for _pattern, _code in _BAYER.items():
    ENCODINGS[f'bayer_{_pattern}8'] = Encoding('u1', 1, _code)
    ENCODINGS[f'bayer_{_pattern}16'] = Encoding('u2', 1, _code)

NATIVE_BIGENDIAN = sys.byteorder == 'big'


def encoding_of(name: str) -> Encoding:
    """Layout of ``name``; an unknown encoding is an InvalidImageError listing the known ones."""
    try:
        return ENCODINGS[name]
    except KeyError:
        raise InvalidImageError(
            f'image encoding {name!r} is not supported; supported: {sorted(ENCODINGS)}. '
            'Publish one of these (e.g. bgr8) or use image_proc to convert.') from None


def _as_bytes(data: Any) -> np.ndarray:
    """View the message buffer as a 1-D uint8 array, sharing memory where the type allows."""
    if isinstance(data, np.ndarray):
        if data.dtype != np.uint8:
            data = np.ascontiguousarray(data).view(np.uint8)
        return data.reshape(-1)
    if isinstance(data, (bytes, bytearray, memoryview, array.array)):
        return np.frombuffer(data, dtype=np.uint8)
    return np.asarray(data, dtype=np.uint8).reshape(-1)  # list of ints (slow path)


def image_to_numpy(msg: Any) -> np.ndarray:
    """
    Pixels of a sensor_msgs/Image in the encoding's own layout (HxW or HxWxC, native order).

    The result is a read-only view of ``msg.data`` (no copy, padded rows skipped by strides)
    unless the data is big-endian 16-bit on a little-endian machine, which is byte-swapped.
    YUV 4:2:2 gives HxWx2, Bayer HxW (the raw mosaic).
    """
    enc = encoding_of(msg.encoding)
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    item = np.dtype(enc.dtype).itemsize
    row_bytes = width * enc.channels * item
    if height <= 0 or width <= 0:
        raise InvalidImageError(f'image is {width}x{height}; expected a positive size')
    if step < row_bytes:
        raise InvalidImageError(
            f'image step {step} is smaller than width*bytes_per_pixel = {width}*'
            f'{enc.channels * item} = {row_bytes} for {msg.encoding}')
    buf = _as_bytes(msg.data)
    needed = step * (height - 1) + row_bytes
    if not needed <= buf.size <= step * height:
        raise InvalidImageError(
            f'image data has {buf.size} bytes; {msg.encoding} {width}x{height} with step {step} '
            f'needs {step * height} (step*height)')
    bigendian = bool(msg.is_bigendian) and item > 1
    dtype = np.dtype(enc.dtype).newbyteorder('>' if bigendian else '<')
    shape = (height, width) if enc.channels == 1 else (height, width, enc.channels)
    strides = (step, item) if enc.channels == 1 else (step, enc.channels * item, item)
    view = np.ndarray(shape, dtype=dtype, buffer=buf, strides=strides)
    view.flags.writeable = False
    if not dtype.isnative or not view.flags.aligned:  # swap bytes / realign: one copy
        return view.astype(dtype.newbyteorder('='))
    return view


def to_bgr8(image: np.ndarray, encoding: str) -> np.ndarray:
    """Convert pixels in ``encoding`` layout to HxWx3 uint8 BGR (16-bit scaled by 1/257)."""
    enc = encoding_of(encoding)
    demosaic = encoding.startswith('bayer_')
    if image.dtype == np.uint16 and not demosaic:  # channel shuffles commute with scaling:
        image = cv2.convertScaleAbs(image, alpha=1 / 257)  # scale first, move fewer bytes
    if enc.to_bgr is not None:
        try:
            image = cv2.cvtColor(image, enc.to_bgr)
        except cv2.error as exc:  # e.g. YUV 4:2:2 with an odd width, Bayer smaller than 2x2
            raise InvalidImageError(
                f'{encoding} image of shape {image.shape[:2]} cannot be converted to BGR '
                f'({str(exc).strip().splitlines()[-1][:120]})') from exc
    if image.dtype == np.uint16:
        image = cv2.convertScaleAbs(image, alpha=1 / 257)
    return image


def image_to_bgr8(msg: Any) -> np.ndarray:
    """Convert a sensor_msgs/Image to the HxWx3 uint8 BGR array the Detector takes."""
    return to_bgr8(image_to_numpy(msg), msg.encoding)


def _is_rclpy_class(msg_class: type) -> bool:
    return hasattr(msg_class, 'get_fields_and_field_types')


def _uint8_field(msg_class: type, raw: bytes) -> Any:
    """Wrap bytes as a uint8[] value for rclpy (array.array) or rosbags (ndarray)."""
    if _is_rclpy_class(msg_class):
        return array.array('B', raw)
    return np.frombuffer(raw, dtype=np.uint8).copy()


def numpy_to_image(image: np.ndarray, encoding: str, header: Any, image_class: type,
                   bigendian: bool = NATIVE_BIGENDIAN) -> Any:
    """
    Build an ``image_class`` (sensor_msgs/Image) holding ``image`` as ``encoding``.

    ``image`` must already be in the encoding's layout (what ``image_to_numpy`` returns);
    rows are packed (step = width * bytes per pixel).
    """
    enc = encoding_of(encoding)
    image = np.asarray(image)
    expected = (enc.channels,) if enc.channels > 1 else ()
    if image.ndim < 2 or image.shape[2:] != expected or image.dtype.str[1:] != enc.dtype:
        want = 'HxW' if enc.channels == 1 else f'HxWx{enc.channels}'
        raise InvalidImageError(
            f'{encoding} needs a {want} {np.dtype(enc.dtype).name} array, got {image.shape} '
            f'{image.dtype}')
    out_dtype = np.dtype(enc.dtype).newbyteorder('>' if bigendian else '<')
    raw = np.ascontiguousarray(image, dtype=out_dtype).tobytes()
    height, width = image.shape[:2]
    return image_class(header=header, height=height, width=width, encoding=encoding,
                       is_bigendian=int(bigendian and out_dtype.itemsize > 1),
                       step=width * enc.channels * out_dtype.itemsize,
                       data=_uint8_field(image_class, raw))


def compressed_format(msg: Any) -> str:
    """Return 'jpeg' or 'png' for a CompressedImage format such as 'bgr8; jpeg compressed bgr8'."""
    fmt = str(msg.format).lower()
    if 'png' in fmt:
        return 'png'
    if 'jpeg' in fmt or 'jpg' in fmt:
        return 'jpeg'
    return fmt


def compressed_to_numpy(msg: Any, flags: int = cv2.IMREAD_UNCHANGED) -> np.ndarray:
    """Decode a sensor_msgs/CompressedImage (JPEG or PNG); 16-bit PNGs stay 16-bit."""
    buf = _as_bytes(msg.data)
    if buf.size == 0:
        raise InvalidImageError(f'compressed image ({msg.format!r}) has no data')
    image = cv2.imdecode(buf, flags)
    if image is None:
        raise InvalidImageError(
            f'compressed image ({msg.format!r}, {buf.size} bytes) could not be decoded; '
            'expected JPEG or PNG data')
    return image


def compressed_to_bgr8(msg: Any) -> np.ndarray:
    """Decode a sensor_msgs/CompressedImage to HxWx3 uint8 BGR for the Detector."""
    image = compressed_to_numpy(msg, cv2.IMREAD_UNCHANGED)
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.dtype == np.uint16:
        image = cv2.convertScaleAbs(image, alpha=1 / 257)
    return image


def numpy_to_compressed(image: np.ndarray, header: Any, compressed_class: type,
                        fmt: str = 'jpeg', quality: int = 90) -> Any:
    """Encode a BGR or mono array as ``compressed_class`` (sensor_msgs/CompressedImage)."""
    if fmt not in ('jpeg', 'png'):
        raise ValueError(f'fmt must be jpeg or png, got {fmt!r}')
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if fmt == 'jpeg' else []
    ok, encoded = cv2.imencode('.jpg' if fmt == 'jpeg' else '.png', image, params)
    if not ok:
        raise InvalidImageError(f'OpenCV could not encode a {image.shape} {image.dtype} as {fmt}')
    return compressed_class(header=header, format=fmt,
                            data=_uint8_field(compressed_class, encoded.tobytes()))


def message_to_bgr8(msg: Any) -> np.ndarray:
    """Image or CompressedImage (told apart by their fields) -> HxWx3 uint8 BGR."""
    if hasattr(msg, 'encoding'):
        return image_to_bgr8(msg)
    if hasattr(msg, 'format'):
        return compressed_to_bgr8(msg)
    raise InvalidImageError(
        f'{type(msg).__name__} is neither sensor_msgs/Image nor CompressedImage')


def skip_reason(msg: Any) -> str:
    """Classify why ``msg`` could not be converted, as a short key for skip counters."""
    if not hasattr(msg, 'encoding'):
        return 'undecodable_compressed'
    if msg.encoding not in ENCODINGS:
        return 'unsupported_encoding'
    return 'malformed_image'
