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


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _warp_replicate(  # type: ignore[no-untyped-def]
    flat, rows, cols, m0, m3, row_x, row_y, scale, offsets, weights, pixels, out,
):  # fmt: skip
    """(H * W * 3,) uint8 BGR, tensor px -> image px (float32 m0, m3; (S,) float32
    row terms) -> out (3, S, S) float32 RGB, round(bilinear) * scale, edges
    replicated (OpenCV's float warp); offsets (2, S) uint64, weights (2, S) float32,
    pixels (12, S) uint8 are row scratch."""
    step = cols * 3
    size = out.shape[2]
    zero = np.float32(0.0)
    one = np.float32(1.0)
    top = np.float32(255.0)
    low = np.float32(-2.0)
    high_x = np.float32(cols + 1)
    high_y = np.float32(rows + 1)
    m0d = np.float64(m0)
    m3d = np.float64(m3)
    for y in range(out.shape[1]):
        mx = np.float64(row_x[y])
        my = np.float64(row_y[y])
        # Pass 1 (vectorized): OpenCV's fma(M0, x, row term) in float32 (exact
        # through float64), the cell and its weights. Replicated columns read
        # column 0 with weight 0 or column W - 1 with weight 1 of the pair
        # (x0, x0 + 1), so a pixel's two columns are always adjacent bytes.
        for x in range(size):
            sx = np.float32(m0d * x + mx)
            sy = np.float32(m3d * x + my)
            fx = np.floor(sx)
            fy = np.floor(sy)
            ix = np.int64(min(max(fx, low), high_x))
            iy = np.int64(min(max(fy, low), high_y))
            a = sx - fx
            if ix < 0:
                a = zero
            if ix > cols - 2:
                a = one
            weights[0, x] = a
            weights[1, x] = sy - fy
            x0 = min(max(ix, 0), cols - 2) * 3
            y0 = min(max(iy, 0), rows - 1) * step
            y1 = min(max(iy + 1, 0), rows - 1) * step
            # Unsigned offsets: indexing skips the negative-index wraparound.
            offsets[0, x] = np.uint64(y0 + x0)
            offsets[1, x] = np.uint64(y1 + x0)
        # Pass 2 (scalar): the 2 x 6 bytes of each pixel's cell, planar.
        for x in range(size):
            for r in range(2):
                o = offsets[r, x]
                for k in range(3):
                    pixels[4 * k + 2 * r, x] = flat[o + np.uint64(k)]
                    pixels[4 * k + 2 * r + 1, x] = flat[o + np.uint64(3 + k)]
        # Pass 3 (vectorized): OpenCV's three fmas (exact through float64), round
        # half to even, BGR -> RGB planes.
        for c in range(3):
            for x in range(size):
                a64 = np.float64(weights[0, x])
                b64 = np.float64(weights[1, x])
                p00 = np.float32(pixels[4 * c, x])
                p01 = np.float32(pixels[4 * c + 1, x])
                p10 = np.float32(pixels[4 * c + 2, x])
                p11 = np.float32(pixels[4 * c + 3, x])
                v0 = np.float32(a64 * (p01 - p00) + p00)
                v1 = np.float32(a64 * (p11 - p10) + p10)
                v = np.float32(b64 * (v1 - v0) + v0)
                out[2 - c, y, x] = min(max(np.rint(v), zero), top) * scale
