"""Numba kernels of the landmark stage: the crop warp and the output decoding.
Private; call them through `vision.backends.blazepose._common.warp_into` and
`vision.backends.blazepose.landmarks` (`postprocess_landmarks`,
`refine_from_heatmap`)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

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


def _fma32_typing(typingctx, a, b, c):  # type: ignore[no-untyped-def]
    """`_fma32`'s signature and code: float32 a * b + c rounded once (`llvm.fma`:
    one instruction on a CPU with FMA, a correctly rounded libm call elsewhere;
    fastmath never splits it)."""
    sig = types.float32(types.float32, types.float32, types.float32)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        f32 = ir.FloatType()
        fma = builder.module.declare_intrinsic(
            "llvm.fma", [f32], ir.FunctionType(f32, [f32, f32, f32])
        )
        return builder.call(fma, args)

    return sig, codegen


_fma32: Any = intrinsic(_fma32_typing)  # Any: mypy cannot see numba's call signature


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _warp_replicate(  # type: ignore[no-untyped-def]
    flat, rows, cols, m0, m3, row_x, row_y, scale, offsets, weights, words, out,
):  # fmt: skip
    """(H * W * 3,) uint8 BGR (H * W * 3 < 2**31), tensor px -> image px (float32
    m0, m3; (S,) float32 row terms) -> out (3, S, S) float32 RGB, round(bilinear) *
    scale, edges replicated (OpenCV's float warp); offsets (2, S) uint32, weights
    (2, S) float32, words (4, S) uint32 are row scratch."""
    step = cols * 3
    size = out.shape[2]
    zero = np.float32(0.0)
    one = np.float32(1.0)
    low = np.float32(-2.0)
    high_x = np.float32(cols + 1)
    high_y = np.float32(rows + 1)
    last_x = np.int32(cols - 2)
    last_y = np.int32(rows - 1)
    step32 = np.int32(step)
    for y in range(out.shape[1]):
        mx = row_x[y]
        my = row_y[y]
        # Pass 1 (8 lanes): OpenCV's fma(M0, x, row term) in float32, the cell and
        # its weights. Replicated columns read column 0 with weight 0 or column
        # W - 1 with weight 1 of the pair (x0, x0 + 1), so a pixel's two columns
        # are always adjacent bytes.
        for x in range(size):
            xf = np.float32(x)
            sx = _fma32(m0, xf, mx)
            sy = _fma32(m3, xf, my)
            fx = np.floor(sx)
            fy = np.floor(sy)
            ix = np.int32(min(max(fx, low), high_x))
            iy = np.int32(min(max(fy, low), high_y))
            a = sx - fx
            if ix < 0:
                a = zero
            if ix > last_x:
                a = one
            weights[0, x] = a
            weights[1, x] = sy - fy
            x0 = min(max(ix, np.int32(0)), last_x) * np.int32(3)
            y0 = min(max(iy, np.int32(0)), last_y) * step32
            y1 = min(max(iy + np.int32(1), np.int32(0)), last_y) * step32
            # Unsigned offsets: indexing skips the negative-index wraparound.
            offsets[0, x] = np.uint32(y0 + x0)
            offsets[1, x] = np.uint32(y1 + x0)
        # Pass 2 (scalar): each row's 6 bytes of the cell as one 4-byte and one
        # 2-byte load (LLVM merges the byte loads), BGRB + GR.
        for x in range(size):
            for r in range(2):
                o = offsets[r, x]
                words[2 * r, x] = (
                    np.uint32(flat[o])
                    | (np.uint32(flat[o + np.uint32(1)]) << np.uint32(8))
                    | (np.uint32(flat[o + np.uint32(2)]) << np.uint32(16))
                    | (np.uint32(flat[o + np.uint32(3)]) << np.uint32(24))
                )
                words[2 * r + 1, x] = np.uint32(flat[o + np.uint32(4)]) | (
                    np.uint32(flat[o + np.uint32(5)]) << np.uint32(8)
                )
        # Pass 3 (8 lanes): OpenCV's three float32 fmas, round half to even, BGR ->
        # RGB planes. The result of each fma lies between its two pixels, so no
        # clamp to [0, 255] is needed.
        for c in range(3):
            left = np.uint32(8 * c)  # channel c of the left column
            right = np.uint32(24 if c == 0 else 8 * c - 8)  # ... of the right one
            word = 0 if c == 0 else 1  # the word holding the right column's byte
            for x in range(size):
                a = weights[0, x]
                b = weights[1, x]
                p00 = np.float32((words[0, x] >> left) & np.uint32(255))
                p01 = np.float32((words[word, x] >> right) & np.uint32(255))
                p10 = np.float32((words[2, x] >> left) & np.uint32(255))
                p11 = np.float32((words[2 + word, x] >> right) & np.uint32(255))
                v0 = _fma32(a, p01 - p00, p00)
                v1 = _fma32(a, p11 - p10, p10)
                out[2 - c, y, x] = np.rint(_fma32(b, v1 - v0, v0)) * scale
