"""The reference trajectory of a template from a coach's repetitions: the DTW
barycentre (DBA with medians) of the reps, and the NaN-aware statistics it needs
(without numpy's all-NaN warnings). Step 4 and 5 of `exercises.authoring`.

Core module: stdlib and numpy, plus exercises.alignment.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

from exercises.alignment import dtw_align

__all__ = ["BAND_FRAC", "align_buckets", "barycentre", "fill_ends", "nanstd_rows"]

F32 = npt.NDArray[np.float32]

BAND_FRAC: Final[float] = 0.3
"""Sakoe-Chiba band of the alignments, as a fraction of the trajectory length."""


def _nanmedian_rows(stack: F32, fallback: F32) -> F32:
    """Median over axis 0 ignoring NaN; `fallback` where a column has no value."""
    out = fallback.astype(np.float32).copy()
    for k in range(stack.shape[1]):
        col = stack[:, k]
        col = col[~np.isnan(col)]
        if col.size:
            out[k] = np.float32(np.median(col))
    return out


def nanstd_rows(stack: F32) -> F32:
    out = np.zeros(stack.shape[1], np.float32)
    for k in range(stack.shape[1]):
        col = stack[:, k]
        col = col[~np.isnan(col)]
        if col.size > 1:
            out[k] = np.float32(np.std(col))
    return out


def align_buckets(
    reps: Sequence[F32], average: F32, scale: F32
) -> tuple[list[list[F32]], list[float]]:
    """Samples of every rep aligned to each average row, and each rep's DTW cost."""
    buckets: list[list[F32]] = [[] for _ in range(average.shape[0])]
    costs: list[float] = []
    for rep in reps:
        alignment = dtw_align(rep, average, band_frac=BAND_FRAC, scale=scale)
        costs.append(alignment.cost)
        for q, r in alignment.path.tolist():
            buckets[r].append(rep[q])
    return buckets, costs


def barycentre(reps: Sequence[F32], scale: F32, iterations: int) -> F32:
    """DTW barycentre (DBA with medians) of equal-length (R, K) trajectories."""
    if len(reps) == 1:
        return reps[0].copy()
    n = len(reps)
    pair = np.zeros((n, n), np.float64)
    for i in range(n):
        for j in range(i + 1, n):
            cost = dtw_align(reps[i], reps[j], band_frac=BAND_FRAC, scale=scale).cost
            pair[i, j] = pair[j, i] = cost if math.isfinite(cost) else 1e6
    average = reps[int(np.argmin(pair.sum(axis=1)))].copy()
    for _ in range(iterations):
        buckets, _ = align_buckets(reps, average, scale)
        new = np.stack(
            [_nanmedian_rows(np.stack(b), average[r]) for r, b in enumerate(buckets)]
        ).astype(np.float32)
        done = bool(np.allclose(new, average, atol=0.05, equal_nan=True))
        average = np.ascontiguousarray(new)
        if done:
            break
    return average


def fill_ends(values: F32) -> F32:
    """NaN at a channel's ends (not seen at the start or end of every rep) takes the
    nearest seen value, so the reference has a value everywhere."""
    out = values.copy()
    for k in range(out.shape[1]):
        col = out[:, k]
        ok = np.flatnonzero(~np.isnan(col))
        if ok.size == 0:
            continue
        col[: ok[0]] = col[ok[0]]
        col[ok[-1] + 1 :] = col[ok[-1]]
        inside = np.isnan(col)
        if inside.any():
            idx = np.arange(col.size)
            col[inside] = np.interp(idx[inside], idx[~inside], col[~inside])
    return out
