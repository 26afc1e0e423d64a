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

"""Image / CompressedImage <-> numpy against the real message classes of rosbags' typestore."""
import array
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from rosbags.typesys import get_typestore, Stores

from vru_detector.errors import InvalidImageError
from vru_detector.msgs.convert import (compressed_to_bgr8, compressed_to_numpy, ENCODINGS,
                                       image_to_bgr8, image_to_numpy, message_to_bgr8,
                                       numpy_to_compressed, numpy_to_image, skip_reason)

TS = get_typestore(Stores.ROS2_HUMBLE)
Image = TS.types['sensor_msgs/msg/Image']
CompressedImage = TS.types['sensor_msgs/msg/CompressedImage']
Header = TS.types['std_msgs/msg/Header']
Time = TS.types['builtin_interfaces/msg/Time']


def header(frame_id: str = 'camera') -> Header:
    return Header(stamp=Time(sec=12, nanosec=345), frame_id=frame_id)


def random_pixels(encoding: str, rng: np.random.Generator, h: int = 7, w: int = 10):
    enc = ENCODINGS[encoding]
    shape = (h, w) if enc.channels == 1 else (h, w, enc.channels)
    high = 256 if enc.dtype == 'u1' else 65536
    return rng.integers(0, high, shape).astype(enc.dtype)


def raw_message(pixels: np.ndarray, encoding: str, pad: int = 0, bigendian: bool = False):
    """Build an Image by hand (independent of numpy_to_image): rows padded with 0xAB bytes."""
    dtype = pixels.dtype.newbyteorder('>' if bigendian else '<')
    rows = np.ascontiguousarray(pixels, dtype=dtype).reshape(pixels.shape[0], -1).view(np.uint8)
    padded = np.full((rows.shape[0], rows.shape[1] + pad), 0xAB, np.uint8)
    padded[:, :rows.shape[1]] = rows
    return Image(header=header(), height=pixels.shape[0], width=pixels.shape[1],
                 encoding=encoding, is_bigendian=int(bigendian), step=padded.shape[1],
                 data=padded.reshape(-1))


# -- raw images: exact round trips -----------------------------------------------------------
@pytest.mark.parametrize('encoding', sorted(ENCODINGS))
def test_every_encoding_round_trips_pixel_exactly(encoding, rng):
    pixels = random_pixels(encoding, rng)
    msg = numpy_to_image(pixels, encoding, header(), Image)
    assert isinstance(msg, Image)
    assert (msg.height, msg.width, msg.encoding) == (7, 10, encoding)
    assert msg.step * msg.height == msg.data.size
    back = image_to_numpy(msg)
    assert back.dtype == pixels.dtype and back.shape == pixels.shape
    np.testing.assert_array_equal(back, pixels)


@pytest.mark.parametrize('encoding', sorted(ENCODINGS))
def test_every_encoding_survives_cdr_serialization(encoding, rng):
    pixels = random_pixels(encoding, rng)
    raw = TS.serialize_cdr(numpy_to_image(pixels, encoding, header(), Image), Image.__msgtype__)
    msg = TS.deserialize_cdr(raw, Image.__msgtype__)
    np.testing.assert_array_equal(image_to_numpy(msg), pixels)
    assert image_to_bgr8(msg).shape == (7, 10, 3)


@pytest.mark.parametrize('encoding', ['bgr8', 'rgb8', 'mono8', 'mono16', 'rgba8', 'yuv422',
                                      'bayer_rggb8', 'bayer_grbg16'])
@pytest.mark.parametrize('pad', [1, 3, 16])
def test_row_padding_is_skipped(encoding, pad, rng):
    pixels = random_pixels(encoding, rng)
    msg = raw_message(pixels, encoding, pad=pad)
    np.testing.assert_array_equal(image_to_numpy(msg), pixels)


def test_bgr8_is_a_zero_copy_view_even_with_padding(rng):
    pixels = random_pixels('bgr8', rng)
    for pad in (0, 5):
        msg = raw_message(pixels, 'bgr8', pad=pad)
        view = image_to_bgr8(msg)
        assert np.shares_memory(view, msg.data)
        np.testing.assert_array_equal(view, pixels)
        assert not view.flags.writeable  # never scribble on a received message


def test_rclpy_style_array_data_is_viewed_without_copy(rng):
    """Rclpy messages hold uint8[] as array.array('B'); any object with the fields works."""
    pixels = random_pixels('mono8', rng)
    data = array.array('B', pixels.tobytes())
    msg = SimpleNamespace(height=7, width=10, encoding='mono8', is_bigendian=0, step=10,
                          data=data, header=header())
    view = image_to_numpy(msg)
    np.testing.assert_array_equal(view, pixels)
    data[0] = (int(pixels[0, 0]) + 1) % 256  # the view follows the buffer: no copy was made
    assert view[0, 0] == data[0]


def test_bytes_and_list_data_are_accepted(rng):
    pixels = random_pixels('rgb8', rng)
    for data in (pixels.tobytes(), list(pixels.tobytes())):
        msg = SimpleNamespace(height=7, width=10, encoding='rgb8', is_bigendian=0, step=30,
                              data=data)
        np.testing.assert_array_equal(image_to_numpy(msg), pixels)


# -- endianness ------------------------------------------------------------------------------
@pytest.mark.parametrize('encoding', ['mono16', 'bgr16', 'rgba16', '16UC1', 'bayer_bggr16'])
@pytest.mark.parametrize('pad', [0, 4])
def test_big_endian_16_bit_is_read_by_value(encoding, pad, rng):
    pixels = random_pixels(encoding, rng)
    msg = raw_message(pixels, encoding, pad=pad, bigendian=True)
    back = image_to_numpy(msg)
    assert back.dtype.isnative
    np.testing.assert_array_equal(back, pixels)


def test_numpy_to_image_writes_big_endian_on_request(rng):
    pixels = random_pixels('mono16', rng)
    msg = numpy_to_image(pixels, 'mono16', header(), Image, bigendian=True)
    assert msg.is_bigendian == 1
    assert int(msg.data[0]) * 256 + int(msg.data[1]) == pixels[0, 0]  # most significant first
    np.testing.assert_array_equal(image_to_numpy(msg), pixels)


def test_is_bigendian_is_irrelevant_for_8_bit(rng):
    pixels = random_pixels('bgr8', rng)
    msg = raw_message(pixels, 'bgr8')
    msg.is_bigendian = 1
    np.testing.assert_array_equal(image_to_numpy(msg), pixels)


# -- conversion to the detector's bgr8 -------------------------------------------------------
def test_colour_orders_and_alpha(rng):
    bgr = random_pixels('bgr8', rng)
    rgb, gray = bgr[..., ::-1], bgr[..., 1]
    alpha = rng.integers(0, 256, bgr.shape[:2] + (1,)).astype(np.uint8)
    cases = {'rgb8': rgb, 'bgra8': np.concatenate([bgr, alpha], 2),
             'rgba8': np.concatenate([rgb, alpha], 2), '8UC3': bgr}
    for encoding, pixels in cases.items():
        out = image_to_bgr8(numpy_to_image(pixels, encoding, header(), Image))
        np.testing.assert_array_equal(out, bgr, err_msg=encoding)
    mono = image_to_bgr8(numpy_to_image(np.ascontiguousarray(gray), 'mono8', header(), Image))
    np.testing.assert_array_equal(mono, np.repeat(gray[..., None], 3, 2))


def test_16_bit_is_scaled_to_8_bit(rng):
    pixels = random_pixels('mono16', rng)
    out = image_to_bgr8(numpy_to_image(pixels, 'mono16', header(), Image))
    expected = np.round(pixels / 257.0).astype(np.uint8)
    assert np.abs(out[..., 0].astype(int) - expected).max() <= 1
    np.testing.assert_array_equal(out[..., 0], out[..., 2])
    rgb16 = random_pixels('rgb16', rng)
    out = image_to_bgr8(numpy_to_image(rgb16, 'rgb16', header(), Image))
    assert np.abs(out.astype(int) - np.round(rgb16[..., ::-1] / 257.0)).max() <= 1


def bt601_yuv(bgr):
    b, g, r = (float(c) for c in bgr)
    y = 0.299 * r + 0.587 * g + 0.114 * b
    return y, (b - y) * 0.564 + 128, (r - y) * 0.713 + 128


@pytest.mark.parametrize('encoding,order', [('yuv422', 'UYVY'), ('uyvy', 'UYVY'),
                                            ('yuv422_yuy2', 'YUYV'), ('yuyv', 'YUYV')])
def test_yuv422_layouts_match_opencv_and_true_colours(encoding, order, rng):
    code = cv2.COLOR_YUV2BGR_UYVY if order == 'UYVY' else cv2.COLOR_YUV2BGR_YUYV
    packed = random_pixels(encoding, rng, h=6, w=8)
    np.testing.assert_array_equal(
        image_to_bgr8(numpy_to_image(packed, encoding, header(), Image)),
        cv2.cvtColor(packed, code))
    # a flat orange image packed by hand decodes to orange: catches a UYVY/YUYV mix-up
    orange = (0, 128, 255)
    y, u, v = (int(round(c)) for c in bt601_yuv(orange))
    pair = [u, y, v, y] if order == 'UYVY' else [y, u, y, v]
    packed = np.tile(np.array(pair, np.uint8).reshape(1, 2, 2), (6, 4, 1))
    out = image_to_bgr8(numpy_to_image(packed, encoding, header(), Image))
    assert np.abs(out.astype(int) - orange).max() <= 3


BAYER_SITES = {  # which colour sits at (row % 2, col % 2) for each ROS pattern
    'rggb': ('r', 'g', 'g', 'b'), 'bggr': ('b', 'g', 'g', 'r'),
    'gbrg': ('g', 'b', 'r', 'g'), 'grbg': ('g', 'r', 'b', 'g'),
}
OPENCV_BAYER = {'rggb': cv2.COLOR_BayerBG2BGR, 'bggr': cv2.COLOR_BayerRG2BGR,
                'gbrg': cv2.COLOR_BayerGR2BGR, 'grbg': cv2.COLOR_BayerGB2BGR}


def mosaic(bgr: np.ndarray, pattern: str) -> np.ndarray:
    """Sample a BGR image through a Bayer colour filter array named as ROS names it."""
    index = {'b': 0, 'g': 1, 'r': 2}
    out = np.empty(bgr.shape[:2], bgr.dtype)
    for k, colour in enumerate(BAYER_SITES[pattern]):
        dy, dx = divmod(k, 2)
        out[dy::2, dx::2] = bgr[dy::2, dx::2, index[colour]]
    return out


@pytest.mark.parametrize('pattern', sorted(BAYER_SITES))
@pytest.mark.parametrize('bits', [8, 16])
def test_bayer_patterns_demosaic_to_true_colours(pattern, bits):
    colour = np.array([40, 120, 220])  # B, G, R: all different so any swap shows
    scale = 1 if bits == 8 else 257
    flat = np.tile((colour * scale).astype(f'u{bits // 8}'), (12, 16, 1))
    raw = mosaic(flat, pattern)
    encoding = f'bayer_{pattern}{bits}'
    out = image_to_bgr8(numpy_to_image(raw, encoding, header(), Image))
    inner = out[2:-2, 2:-2].reshape(-1, 3).astype(int)
    assert np.abs(inner - colour).max() <= 2, (encoding, inner[0])
    expected = cv2.cvtColor(raw, OPENCV_BAYER[pattern])
    if bits == 16:
        expected = cv2.convertScaleAbs(expected, alpha=1 / 257)
    np.testing.assert_array_equal(out, expected)


# -- compressed ------------------------------------------------------------------------------
def test_jpeg_decodes_like_opencv_and_close_to_the_source(street_images):
    source = cv2.imread(str(street_images[0]))
    msg = numpy_to_compressed(source, header(), CompressedImage, 'jpeg', quality=95)
    assert isinstance(msg, CompressedImage) and msg.format == 'jpeg'
    raw = TS.serialize_cdr(msg, CompressedImage.__msgtype__)
    msg = TS.deserialize_cdr(raw, CompressedImage.__msgtype__)
    out = compressed_to_bgr8(msg)
    np.testing.assert_array_equal(out, cv2.imdecode(msg.data, cv2.IMREAD_COLOR))
    assert cv2.PSNR(out, source) > 30
    assert message_to_bgr8(msg).shape == source.shape


def test_png_is_lossless_for_colour_and_16_bit(rng):
    bgr = random_pixels('bgr8', rng, 20, 30)
    msg = numpy_to_compressed(bgr, header(), CompressedImage, 'png')
    np.testing.assert_array_equal(compressed_to_bgr8(msg), bgr)
    depth = random_pixels('mono16', rng, 20, 30)
    msg = numpy_to_compressed(depth, header(), CompressedImage, 'png')
    msg.format = 'mono16; png compressed'
    np.testing.assert_array_equal(compressed_to_numpy(msg), depth)
    assert compressed_to_bgr8(msg).dtype == np.uint8


def test_image_transport_format_strings_are_understood(rng):
    bgr = random_pixels('bgr8', rng, 16, 16)
    msg = numpy_to_compressed(bgr, header(), CompressedImage, 'png')
    msg.format = 'bgr8; png compressed bgr8'
    np.testing.assert_array_equal(message_to_bgr8(msg), bgr)


# -- malformed input is refused with a reason ------------------------------------------------
def malformed_cases(rng):
    pixels = random_pixels('bgr8', rng)
    good = numpy_to_image(pixels, 'bgr8', header(), Image)

    def variant(**fields):
        return Image(**{**{f: getattr(good, f) for f in
                           ('header', 'height', 'width', 'encoding', 'is_bigendian', 'step',
                            'data')}, **fields})
    return {
        'step smaller than a row': (variant(step=29), 'step'),
        'data too short': (variant(data=good.data[:-1]), 'bytes'),
        'data too long': (variant(data=np.concatenate([good.data, good.data])), 'bytes'),
        'height larger than data': (variant(height=8), 'bytes'),
        'unknown encoding': (variant(encoding='32FC1'), 'not supported'),
        'empty image': (variant(height=0, data=good.data[:0]), 'positive'),
    }


def test_malformed_images_raise_invalid_image_error(rng):
    for name, (msg, words) in malformed_cases(rng).items():
        with pytest.raises(InvalidImageError, match=words):
            image_to_bgr8(msg)
    assert skip_reason(malformed_cases(rng)['unknown encoding'][0]) == 'unsupported_encoding'
    assert skip_reason(malformed_cases(rng)['data too short'][0]) == 'malformed_image'


def test_undecodable_compressed_raises_invalid_image_error():
    garbage = CompressedImage(header=header(), format='jpeg',
                              data=np.frombuffer(b'\xff\xd8not a jpeg at all', np.uint8))
    with pytest.raises(InvalidImageError, match='could not be decoded'):
        compressed_to_bgr8(garbage)
    empty = CompressedImage(header=header(), format='jpeg', data=np.zeros(0, np.uint8))
    with pytest.raises(InvalidImageError, match='no data'):
        message_to_bgr8(empty)
    assert skip_reason(garbage) == 'undecodable_compressed'


def test_numpy_to_image_refuses_a_layout_that_does_not_fit(rng):
    with pytest.raises(InvalidImageError, match='HxWx3'):
        numpy_to_image(random_pixels('mono8', rng), 'bgr8', header(), Image)
    with pytest.raises(InvalidImageError, match='uint16'):
        numpy_to_image(random_pixels('mono8', rng), 'mono16', header(), Image)
