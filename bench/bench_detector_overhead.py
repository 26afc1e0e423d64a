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
Per-image preprocess + postprocess time: our Detector vs ultralytics' predictor, same ONNX.

    python bench/bench_detector_overhead.py [--images 40] [--scales nano:320 n:640]

Both run the same ONNX file on the same real images, interleaved image by image so machine load
hits both alike; model time is reported beside (it is the same ONNX Runtime session type).
Target: ours <= 0.5x theirs.
"""
from __future__ import annotations

import argparse
import statistics

from common import exported_model, print_table, street_images
import cv2


def run(scale: str, imgsz: int, n_images: int, conf: float) -> list:
    from ultralytics import YOLO

    from vru_detector import Detector

    model = exported_model(scale, imgsz)
    images = [cv2.imread(str(p)) for p in street_images(n_images)]
    ours, theirs = Detector(model, conf=conf), YOLO(str(model), task='detect')
    for im in images[:3]:  # warm-up both
        ours(im)
        theirs.predict(im, conf=conf, verbose=False)
    o_pre, o_post, o_inf, t_pre, t_post, t_inf = [], [], [], [], [], []
    for im in images:
        ours(im)
        o_pre.append(ours.times.preprocess_ms)
        o_post.append(ours.times.postprocess_ms)
        o_inf.append(ours.times.inference_ms)
        speed = theirs.predict(im, conf=conf, verbose=False)[0].speed
        t_pre.append(speed['preprocess'])
        t_post.append(speed['postprocess'])
        t_inf.append(speed['inference'])
    med = statistics.median
    ours_pp, theirs_pp = med(o_pre) + med(o_post), med(t_pre) + med(t_post)
    return [f'yolov8{scale}', imgsz, len(images), med(o_pre), med(o_post), med(t_pre), med(t_post),
            ours_pp / theirs_pp, med(o_inf), med(t_inf)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument('--images', type=int, default=40)
    p.add_argument('--conf', type=float, default=0.25)
    p.add_argument('--scales', nargs='+', default=['nano:320', 'n:640'], help='scale:imgsz')
    args = p.parse_args()
    rows = []
    for spec in args.scales:
        scale, imgsz = spec.split(':')
        rows.append(run(scale, int(imgsz), args.images, args.conf))
    print('Median ms per image (pre/post = preprocess/postprocess; model = inference).')
    print_table(['model', 'imgsz', 'images', 'ours pre', 'ours post', 'ultra pre', 'ultra post',
                 'ours/ultra pre+post', 'ours model', 'ultra model'], rows)
    print('target: ours/ultra pre+post <= 0.5')


if __name__ == '__main__':
    main()
