"""Numba kernel of the landmark stage's output decoding. Private; call it through
`vision.backends.blazepose.landmarks` (`postprocess_landmarks`,
`refine_from_heatmap`)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from vision import config

__all__: list[str] = []


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _sigmoid(x):  # type: ignore[no-untyped-def]
    """Logistic function of one float32 logit."""
    return np.float32(1.0) / (np.float32(1.0) + np.float32(math.exp(-x)))


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _refine_one(hm, x, y, kernel_size, min_confidence):  # type: ignore[no-untyped-def]
    """One landmark (x, y in [0, 1] of the crop) moved to the confidence-weighted
    mean cell of its window in `hm` (Hh, Wh) logits; unchanged when not confident.
    See `refine_from_heatmap` for MediaPipe's bounds, replicated here."""
    hh, wh = hm.shape
    off = (kernel_size - 1) // 2
    col = int(x * wh)  # C++ float -> int truncates toward zero
    row = int(y * hh)
    if not (0 <= col < wh and 0 <= row < hh + off):
        return x, y
    total = np.float32(0.0)
    best = np.float32(0.0)
    sum_c = np.float32(0.0)
    sum_r = np.float32(0.0)
    for r in range(max(row - off, 0), min(row + off + 1, hh)):
        for c in range(max(col - off, 0), min(col + off + 1, wh)):
            conf = _sigmoid(hm[r, c])
            total += conf
            best = max(best, conf)
            sum_c += conf * np.float32(c)
            sum_r += conf * np.float32(r)
    if best >= min_confidence and total > 0:
        return sum_c / np.float32(wh) / total, sum_r / np.float32(hh) / total
    return x, y


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _refine_from_heatmap(xy, heatmap, kernel_size, min_confidence, out):  # type: ignore[no-untyped-def]
    """(N, J, 2) float32, (N, J, Hh, Wh) float32 logits -> out (N, J, 2) float32."""
    for n in range(xy.shape[0]):
        for j in range(xy.shape[1]):
            out[n, j, 0], out[n, j, 1] = _refine_one(
                heatmap[n, j], xy[n, j, 0], xy[n, j, 1], kernel_size, min_confidence
            )


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _decode_landmarks(  # type: ignore[no-untyped-def]
    raw, heatmap, transforms, image_w, image_h, size, refine, kernel_size,
    min_confidence, xyz, visibility,
):  # fmt: skip
    """(N, J, 5) float32 raw landmarks in crop px, (N, J, Hh, Wh) float32 heatmap
    logits, (N, 2, 3) float64 crop px -> image px -> xyz (N, J, 3) float32 normalized
    to the image, visibility (N, J) float32."""
    inv = np.float32(1.0) / np.float32(size)
    for n in range(raw.shape[0]):
        t = transforms[n]
        z_scale = math.hypot(t[0, 0], t[1, 0]) * size / image_w
        for j in range(raw.shape[1]):
            x = raw[n, j, 0] * inv
            y = raw[n, j, 1] * inv
            if refine:
                x, y = _refine_one(heatmap[n, j], x, y, kernel_size, min_confidence)
            px = np.float64(x * np.float32(size))
            py = np.float64(y * np.float32(size))
            xyz[n, j, 0] = (t[0, 0] * px + t[0, 1] * py + t[0, 2]) / image_w
            xyz[n, j, 1] = (t[1, 0] * px + t[1, 1] * py + t[1, 2]) / image_h
            xyz[n, j, 2] = raw[n, j, 2] * inv * z_scale
            visibility[n, j] = _sigmoid(raw[n, j, 3])
