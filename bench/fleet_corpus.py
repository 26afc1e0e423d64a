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
Build a drive-log corpus from ../shared/data with vru-make-bag: 25 bags of images and clips.

Validation images (BDD100K, COCO, street) become bags of ``--frames`` frames at 10 Hz, the
three pedestrian clips bags of ``--clip-frames`` consecutive frames at the clip's rate with
their MOTChallenge identities (so ``--tracking`` works on them). Bags are written under
``--out`` (default runs/fleet/corpus); existing bags are kept.

    python bench/fleet_corpus.py [--out runs/fleet/corpus] [--frames 20] [--clip-frames 100]
"""
from __future__ import annotations

import argparse
from pathlib import Path
import sys

import cv2

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from common import SHARED_DATA  # noqa: E402, I100
from vru_detector.labels import class_names, load_ground_truth  # noqa: E402
from vru_detector.replay.make_bag import (iter_image_folder, iter_video, video_fps,  # noqa: E402
                                          write_bag)

IMAGE_SETS = ('bdd100k_vru', 'coco_vru', 'street_vru')
CLIPS = ('vtest.avi', 'TUD-Stadtmitte.mp4', 'TUD-Campus.mp4')


def chunks(total: int, size: int) -> list[tuple[int, int]]:
    """(start, count) of consecutive pieces; a short last piece joins the one before it."""
    starts = list(range(0, total, size))
    if len(starts) > 1 and total - starts[-1] < size // 2:
        starts.pop()
    return [(s, (starts[i + 1] if i + 1 < len(starts) else total) - s)
            for i, s in enumerate(starts)]


def build(out: Path, frames: int, clip_frames: int) -> list[tuple[str, int]]:
    made = []
    for name in IMAGE_SETS:
        images = SHARED_DATA / name / 'images' / 'val'
        truth = load_ground_truth(SHARED_DATA / name / 'labels' / 'val', class_names(),
                                  image_dir=images)
        count = sum(1 for _ in images.glob('*.jpg')) + sum(1 for _ in images.glob('*.png'))
        for k, (start, n) in enumerate(chunks(count, frames)):
            bag = out / f'{name}_{k:02d}'
            if not bag.exists():
                write_bag(iter_image_folder(images, start, n), bag, 10.0, truth, progress=False)
            made.append((bag.name, n))
    for clip in CLIPS:
        video = SHARED_DATA / 'videos' / clip
        truth = load_ground_truth(video.with_name(f'{video.stem}.gt.txt'), class_names())
        capture = cv2.VideoCapture(str(video))
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        capture.release()
        for k, (start, n) in enumerate(chunks(count, clip_frames)):
            bag = out / f'{video.stem}_{k:02d}'
            if not bag.exists():
                write_bag(iter_video(video, start, n), bag, video_fps(video) or 10.0, truth,
                          progress=False)
            made.append((bag.name, n))
    return made


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.strip().split('\n\n')[0])
    p.add_argument('--out', type=Path, default=REPO / 'runs' / 'fleet' / 'corpus')
    p.add_argument('--frames', type=int, default=20, help='frames per image bag')
    p.add_argument('--clip-frames', type=int, default=100, help='frames per clip bag')
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    made = build(args.out, args.frames, args.clip_frames)
    print(f'{len(made)} bags, {sum(n for _, n in made)} frames in {args.out}')
    for name, n in made:
        print(f'  {name}: {n} frames')
    return 0


if __name__ == '__main__':
    sys.exit(main())
