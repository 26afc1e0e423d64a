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
Camera message -> detector input (HxWx3 uint8 BGR) per encoding, against copying the buffer.

    python bench/bench_ros_convert.py [--repeat 50]

Messages are rclpy-like (``data`` is an ``array.array``, as rclpy delivers it). The reference
column is the least any converter must do if it copies: ``np.array(msg.data)`` plus a reshape.
bgr8 should cost next to nothing (a view); colour conversions cost one OpenCV pass.
"""
import argparse
import array
import statistics
import time
from types import SimpleNamespace

from common import print_table, street_images
import cv2
import numpy as np

from vru_detector.msgs.convert import message_to_bgr8, numpy_to_image


def rclpy_like(image: np.ndarray, encoding: str, pad: int = 0, bigendian: bool = False):
    msg = numpy_to_image(image, encoding, None, SimpleNamespace, bigendian=bigendian)
    rows = np.asarray(msg.data, np.uint8).reshape(msg.height, msg.step)
    if pad:
        rows = np.pad(rows, ((0, 0), (0, pad)))
    msg.step = rows.shape[1]
    msg.data = array.array('B', rows.tobytes())
    return msg


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--repeat', type=int, default=50)
    args = parser.parse_args()
    source = cv2.imread(str(street_images(1)[0]))
    rows = []
    for w, h in ((1280, 720), (1920, 1080)):
        bgr = cv2.resize(source, (w, h))
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        yuyv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_YUY2) if hasattr(
            cv2, 'COLOR_BGR2YUV_YUY2') else np.zeros((h, w, 2), np.uint8)
        cases = {
            'bgr8': rclpy_like(bgr, 'bgr8'),
            'bgr8 (row padding 64 B)': rclpy_like(bgr, 'bgr8', pad=64),
            'rgb8': rclpy_like(np.ascontiguousarray(bgr[..., ::-1]), 'rgb8'),
            'mono8': rclpy_like(gray, 'mono8'),
            'mono16 big-endian': rclpy_like(gray.astype(np.uint16) * 257, 'mono16',
                                            bigendian=True),
            'yuv422_yuy2': rclpy_like(yuyv.reshape(h, w, 2), 'yuv422_yuy2'),
            'bayer_rggb8': rclpy_like(gray, 'bayer_rggb8'),
        }
        for name, msg in cases.items():
            ours = timed(lambda: message_to_bgr8(msg), args.repeat)
            copy = timed(lambda: np.array(msg.data, np.uint8).reshape(msg.height, msg.step),
                         args.repeat)
            rows.append([f'{w}x{h}', name, ours, copy, ours / copy])
        ok, jpeg = cv2.imencode('.jpg', bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])
        comp = SimpleNamespace(format='jpeg', data=array.array('B', jpeg.tobytes()))
        ours = timed(lambda: message_to_bgr8(comp), args.repeat)
        copy = timed(lambda: cv2.imdecode(np.array(comp.data, np.uint8), cv2.IMREAD_COLOR),
                     args.repeat)
        rows.append([f'{w}x{h}', 'jpeg (CompressedImage)', ours, copy, ours / copy])
    print_table(['size', 'encoding', 'ours ms', 'reference ms', 'ratio'], rows)
    print('reference: copy of msg.data (raw) / cv2.imdecode of a copy (jpeg); median of '
          f'{args.repeat} runs')


if __name__ == '__main__':
    main()
