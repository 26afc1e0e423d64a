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
Letterbox and tensor layout, bit-compatible with ultralytics' ``LetterBox`` (auto=False).

Same scale, rounding, padding split and fill value, so a model exported by ultralytics sees the
same pixels here as in ``YOLO.predict`` and the same boxes come out.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PAD_VALUE = 114


@dataclass(frozen=True)
class LetterboxTransform:
    """How an image was resized and padded; ``to_original`` undoes it for boxes."""

    orig_shape: tuple[int, int]   # (h, w) of the source image
    input_shape: tuple[int, int]  # (h, w) of the network input
    resized_shape: tuple[int, int]  # (h, w) of the image before padding
    pad_top: int
    pad_left: int

    @property
    def gain_xy(self) -> tuple[float, float]:
        """Per-axis scale source -> network (rounded sizes make x and y differ slightly)."""
        return (self.resized_shape[1] / self.orig_shape[1],
                self.resized_shape[0] / self.orig_shape[0])

    def to_original(self, xyxy: np.ndarray) -> np.ndarray:
        """Map [N,4] boxes from network-input pixels to source pixels, clipped to the image."""
        gx, gy = self.gain_xy
        h, w = self.orig_shape
        out = xyxy.astype(np.float32, copy=True)
        xs, ys = out[:, 0::2], out[:, 1::2]  # views: x1,x2 and y1,y2
        xs -= self.pad_left
        ys -= self.pad_top
        xs /= gx
        ys /= gy
        np.clip(xs, 0, w, out=xs)
        np.clip(ys, 0, h, out=ys)
        return out


def letterbox_params(orig_shape: tuple[int, int], input_shape: tuple[int, int],
                     scaleup: bool = True) -> tuple[tuple[int, int], int, int, int, int]:
    """Compute resized (h, w) and paddings (top, bottom, left, right) as ultralytics does."""
    h0, w0 = orig_shape
    h1, w1 = input_shape
    r = min(h1 / h0, w1 / w0)
    if not scaleup:
        r = min(r, 1.0)
    new_w, new_h = max(round(w0 * r), 1), max(round(h0 * r), 1)
    dw, dh = (w1 - new_w) / 2, (h1 - new_h) / 2
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    return (new_h, new_w), top, bottom, left, right


def letterbox(image: np.ndarray, input_shape: tuple[int, int],
              scaleup: bool = True) -> tuple[np.ndarray, LetterboxTransform]:
    """Resize keeping aspect ratio and pad with grey 114 to ``input_shape`` (h, w)."""
    canvas = np.empty((*input_shape, 3), dtype=np.uint8)
    return canvas, letterbox_into(image, canvas, scaleup)


def letterbox_into(image: np.ndarray, canvas: np.ndarray,
                   scaleup: bool = True) -> LetterboxTransform:
    """Letterbox ``image`` into a preallocated HxWx3 uint8 ``canvas`` (in place, no copy)."""
    orig_shape = (int(image.shape[0]), int(image.shape[1]))
    input_shape = (int(canvas.shape[0]), int(canvas.shape[1]))
    (new_h, new_w), top, _, left, _ = letterbox_params(orig_shape, input_shape, scaleup)
    canvas[:top] = PAD_VALUE
    canvas[top + new_h:] = PAD_VALUE
    canvas[top:top + new_h, :left] = PAD_VALUE
    canvas[top:top + new_h, left + new_w:] = PAD_VALUE
    inner = canvas[top:top + new_h, left:left + new_w]
    if (new_h, new_w) != orig_shape:
        cv2.resize(image, (new_w, new_h), dst=inner, interpolation=cv2.INTER_LINEAR)
    else:
        inner[...] = image
    return LetterboxTransform(orig_shape, input_shape, (new_h, new_w), top, left)


# uint8 -> [0, 1] as torch computes `x.float() / 255` (correctly rounded float32 division).
_UNIT_LUT = np.arange(256, dtype=np.float32) / np.float32(255)


def to_input_tensor(images: list[np.ndarray], dtype: type = np.float32) -> np.ndarray:
    """Stack letterboxed HxWx3 uint8 BGR images into an NCHW RGB tensor scaled to [0, 1]."""
    h, w = images[0].shape[:2]
    blob = np.empty((len(images), 3, h, w), dtype=np.float32)
    for i, im in enumerate(images):
        planes = cv2.split(im)
        for c in range(3):  # BGR -> RGB: plane 2 first; a table lookup is the fastest exact scale
            cv2.LUT(planes[2 - c], _UNIT_LUT, dst=blob[i, c])
    return blob if dtype == np.float32 else blob.astype(dtype)


def preprocess(images: list[np.ndarray], input_shape: tuple[int, int],
               dtype: type = np.float32) -> tuple[np.ndarray, list[LetterboxTransform]]:
    """
    Letterbox every image and build the network input; return the transforms to undo.

    Same values as ``letterbox`` + ``to_input_tensor`` (tested), but the resized image is
    scaled straight into its place in the tensor and only the borders are filled, so no
    padded uint8 canvas is written and read again.
    """
    blob = np.empty((len(images), 3, *input_shape), dtype=np.float32)
    pad = _UNIT_LUT[PAD_VALUE]
    transforms = []
    for i, im in enumerate(images):
        orig_shape = (int(im.shape[0]), int(im.shape[1]))
        (h, w), top, _, left, _ = letterbox_params(orig_shape, input_shape)
        resized = im if (h, w) == orig_shape else cv2.resize(
            im, (w, h), interpolation=cv2.INTER_LINEAR)
        planes = cv2.split(resized)
        for c in range(3):  # BGR -> RGB: plane 2 first
            out = blob[i, c]
            out[:top] = pad
            out[top + h:] = pad
            out[top:top + h, :left] = pad
            out[top:top + h, left + w:] = pad
            cv2.LUT(planes[2 - c], _UNIT_LUT, dst=out[top:top + h, left:left + w])
        transforms.append(LetterboxTransform(orig_shape, tuple(input_shape), (h, w), top, left))
    return (blob if dtype == np.float32 else blob.astype(dtype)), transforms
