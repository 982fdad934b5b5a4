"""Numba DTW kernels over joint-angle trajectories: the shared band and tolerance
helpers and the streaming (subsequence) step. Private; call them through
`exercises.alignment`, which validates the arguments and documents the semantics.
One query against one reference over its whole grid is `exercises.pair.kernels`; many
queries against one reference in SIMD lanes, `exercises.lanes.kernels`. (The rep
counter's small eigen decomposition is `vision.kernels._symmetric_eigen`.)

Shared conventions (the twins in tests/naive.py follow them line for line):

- Local cost of query row t against reference row j: the mean, over the angles valid
  (not NaN) in both rows, of |q[t, k] - r[j, k]| / scale[j, k]. When no angle is valid
  the cell is *empty*: it adds 0 and is not counted as a step, so a gap in the query
  (nobody in view) is skipped rather than charged. The DTW kernels multiply by
  precomputed 1 / scale and 1 / count instead of dividing (`_grid_costs`,
  `_dtw_cost_chunk`), so they agree with the twins to rounding, not to the last bit.
  Each kernel has a NaN-free fast path (no NaN in the query, or in its row, and none
  in the reference) that adds the same terms in the same order as its NaN-aware path.
- Accumulation in float64; step pattern (1, 1), (1, 0), (0, 1) with weight 1; on ties
  the predecessor order is diagonal, then vertical (previous query row), then horizontal
  (previous reference row), using strict `<` so the earlier one wins.
- Band: cell (i, j) of a T x R grid is inside iff |i * (R - 1) - j * (T - 1)| <= width,
  where `width` is computed by the wrapper (a float) so that kernel and twin agree
  bit for bit on the band edges.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import config as numba_config
from numba import njit, types

from vision import config

__all__: list[str] = []

# The tolerances the plain entry points (`_dtw_align_plain`, `_dtw_costs_plain`) take:
# None, (K,) or (R, K) float32, C-contiguous.
SCALE_TYPES = (types.none, types.float32[::1], types.float32[:, ::1])


def plain_entry(dispatcher: Any, checks: Callable[..., bool]) -> Any:
    """The dispatcher of a kernel compiled for explicit signatures only, which raises
    TypeError for any other argument types (the wrappers then run their full checks).
    With NUMBA_DISABLE_JIT it is the Python function, so `checks` (a predicate on the
    arguments: whether numba would have matched a signature) stands in for dispatch."""
    if not numba_config.DISABLE_JIT:  # type: ignore[attr-defined]
        return dispatcher

    def entry(*args: Any) -> Any:
        if not checks(*args):
            raise TypeError("no matching signature")
        return dispatcher(*args)

    return entry


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS, inline="always")
def _local_cost(query, t, reference, j, scale):  # type: ignore[no-untyped-def]
    """(mean normalised |diff| over the angles valid in both rows, 1) or (0.0, 0)."""
    total = 0.0
    valid = 0
    for k in range(query.shape[1]):
        d = float(query[t, k]) - float(reference[j, k])
        if not math.isnan(d):
            total += abs(d) / scale[j, k]
            valid += 1
    if valid == 0:
        return 0.0, 0
    return total / valid, 1


@njit(cache=True, nogil=True)
def _band_width(t_len, r_len, band_frac):  # type: ignore[no-untyped-def]
    """Right-hand side of the band test, exactly as `exercises.alignment._band_width`
    computes it (no fastmath: a contracted multiply-add could move a band edge)."""
    return band_frac * float(t_len - 1) * float(r_len - 1) + float(
        max(t_len - 1, r_len - 1)
    )


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _in_band(i, j, t_len, r_len, width):  # type: ignore[no-untyped-def]
    """Whether cell (i, j) lies inside the band."""
    return abs(i * (r_len - 1) - j * (t_len - 1)) <= width


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS, inline="always")
def _band_next(i, lo, hi, t_len, r_len, width):  # type: ignore[no-untyped-def]
    """First and last reference index inside the band on query row i (contiguous),
    from row i - 1's (lo, hi) (for i = 0 pass (0, 0)): the band's edges only move
    right, so a few exact `_in_band` tests per row find them (a float estimate and
    searches around it took a tenth of a short pair's time)."""
    while lo < r_len - 1 and not _in_band(i, lo, t_len, r_len, width):
        lo += 1
    hi = max(hi, lo)
    while hi < r_len - 1 and _in_band(i, hi + 1, t_len, r_len, width):
        hi += 1
    return lo, hi


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _scale_ok(scale):  # type: ignore[no-untyped-def]
    """Whether every tolerance in scale (1 or R, K) is finite and > 0."""
    for j in range(scale.shape[0]):
        for k in range(scale.shape[1]):
            s = scale[j, k]
            if not (s > 0.0 and s < math.inf):
                return False
    return True


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _scale_view(scale, r_len, k_count):  # type: ignore[no-untyped-def]
    """scale (None, (K,) or (R, K)) as (1 or R, K) rows (a view; ones for None), and
    whether its shape is one of those and every tolerance finite and > 0."""
    if scale is None:
        return np.ones((1, k_count), np.float32), True
    rows = np.atleast_2d(scale)
    ok = rows.shape[1] == k_count and (scale.ndim == 1 or rows.shape[0] == r_len)
    return rows, ok and _scale_ok(rows)


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _subsequence_step(sample, reference, scale, acc, steps):  # type: ignore[no-untyped-def]
    """One SPRING step (Sakurai et al. 2007): the new query sample (1, K) updates the
    column acc (R,) / steps (R,) in place (open begin: a match may start at reference
    row 0 at any time; open end: every row is a candidate end). Returns the row with the
    lowest mean per-step cost (-1 if none has a non-empty step) and that cost."""
    r_len = reference.shape[0]
    # Star padding: the cell left of and diagonal to row 0 costs 0 (a fresh start).
    diag_d = 0.0
    diag_n = 0
    best_j = -1
    best_cost = np.inf
    for j in range(r_len):
        c, nonempty = _local_cost(sample, 0, reference, j, scale)
        up_d = acc[j]
        up_n = steps[j]
        b_d = diag_d
        b_n = diag_n
        if up_d < b_d:
            b_d = up_d
            b_n = up_n
        if j > 0 and acc[j - 1] < b_d:
            b_d = acc[j - 1]
            b_n = steps[j - 1]
        acc[j] = b_d + c
        steps[j] = b_n + nonempty
        diag_d = up_d
        diag_n = up_n
        if steps[j] > 0:
            mean = acc[j] / steps[j]
            if mean < best_cost:
                best_cost = mean
                best_j = j
    return best_j, best_cost
