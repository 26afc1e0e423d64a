"""Letterbox and tensor layout, bit-compatible with ultralytics' ``LetterBox`` (auto=False).

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
        return (self.resized_shape[1] / self.orig_shape[1], self.resized_shape[0] / self.orig_shape[0])

    def to_original(self, xyxy: np.ndarray) -> np.ndarray:
        """Map [N,4] boxes from network-input pixels to source pixels, clipped to the image."""
        gx, gy = self.gain_xy
        out = xyxy.astype(np.float32, copy=True)
        out[:, [0, 2]] -= self.pad_left
        out[:, [1, 3]] -= self.pad_top
        out[:, [0, 2]] /= gx
        out[:, [1, 3]] /= gy
        h, w = self.orig_shape
        out[:, [0, 2]] = out[:, [0, 2]].clip(0, w)
        out[:, [1, 3]] = out[:, [1, 3]].clip(0, h)
        return out


def letterbox_params(orig_shape: tuple[int, int], input_shape: tuple[int, int],
                     scaleup: bool = True) -> tuple[tuple[int, int], int, int, int, int]:
    """Resized (h, w) and paddings (top, bottom, left, right), exactly as ultralytics computes them."""
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
    orig_shape = (int(image.shape[0]), int(image.shape[1]))
    (new_h, new_w), top, bottom, left, right = letterbox_params(orig_shape, input_shape, scaleup)
    if (new_h, new_w) != orig_shape:
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    if top or bottom or left or right:
        image = cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_CONSTANT,
                                   value=(PAD_VALUE, PAD_VALUE, PAD_VALUE))
    return image, LetterboxTransform(orig_shape, tuple(input_shape), (new_h, new_w), top, left)


def to_input_tensor(images: list[np.ndarray], dtype: type = np.float32) -> np.ndarray:
    """Stack letterboxed HxWx3 uint8 BGR images into an NCHW RGB tensor scaled to [0, 1]."""
    h, w = images[0].shape[:2]
    blob = np.empty((len(images), 3, h, w), dtype=dtype)
    for i, im in enumerate(images):
        # BGR -> RGB is a reversed channel axis; divide (not multiply) to match torch's `/= 255`.
        np.divide(im.transpose(2, 0, 1)[::-1], 255, out=blob[i], casting='unsafe')
    return blob


def preprocess(images: list[np.ndarray], input_shape: tuple[int, int],
               dtype: type = np.float32) -> tuple[np.ndarray, list[LetterboxTransform]]:
    """Letterbox every image and build the network input; returns the transforms to undo."""
    boxed, transforms = [], []
    for im in images:
        b, t = letterbox(im, input_shape)
        boxed.append(b)
        transforms.append(t)
    return to_input_tensor(boxed, dtype), transforms
