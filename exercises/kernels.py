"""Numba DTW kernels over joint-angle trajectories: banded, streaming, and one
reference against many queries in vectorised lanes. Private; call them through
`exercises.alignment`, which validates the arguments and documents the semantics.
(The rep counter's small eigen decomposition is `vision.kernels._symmetric_eigen`;
the batch of queries in SIMD lanes is `exercises.lanes.kernels`.)

Shared conventions (the twins in tests/naive.py follow them line for line):

- Local cost of query row t against reference row j: the mean, over the angles valid
  (not NaN) in both rows, of |q[t, k] - r[j, k]| / scale[j, k]. When no angle is valid
  the cell is *empty*: it adds 0 and is not counted as a step, so a gap in the query
  (nobody in view) is skipped rather than charged. The DTW kernels multiply by
  precomputed 1 / scale and 1 / count instead of dividing (`_row_costs`,
  `_dtw_cost_chunk`), so they agree with the twins to rounding, not to the last bit.
  Each kernel has a NaN-free fast path (no query angle of the row and no reference
  angle NaN) that adds the same terms in the same order as its NaN-aware path.
- Accumulation in float64; step pattern (1, 1), (1, 0), (0, 1) with weight 1; on ties
  the predecessor order is diagonal, then vertical (previous query row), then horizontal
  (previous reference row), using strict `<` so the earlier one wins.
- Band: cell (i, j) of a T x R grid is inside iff |i * (R - 1) - j * (T - 1)| <= width,
  where `width` is computed by the wrapper (a float) so that kernel and twin agree
  bit for bit on the band edges.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from vision import config

__all__: list[str] = []

# Reference rows per chunk in `_row_costs`: a fixed-length inner loop that LLVM
# unrolls, so the cells' costs are computed side by side (a loop over a few angles
# per cell, with its trip count unknown, was the DTW's largest cost).
LANES = 8


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


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _prepare(reference, scale):  # type: ignore[no-untyped-def]
    """The reference for `_row_costs` and `_dtw_cost_chunk`, from reference (R, K)
    and scale (1 or R, K): (reference (Kp, Rp) float64 and 1 / scale (Kp, Rp), both
    transposed and padded with zeros to Kp = a multiple of 4 angles and Rp = a
    multiple of LANES rows; 1 / n for n in 0..K with 1 / 0 taken as 0; whether no
    reference angle is NaN; R; K)."""
    r_len, k_count = reference.shape
    padded = -(-r_len // LANES) * LANES
    k_padded = -(-k_count // 4) * 4
    ref_t = np.zeros((k_padded, padded), np.float64)
    inv_t = np.zeros((k_padded, padded), np.float64)
    full = True
    per_row = scale.shape[0] > 1
    for j in range(r_len):
        sj = j if per_row else 0
        for k in range(k_count):
            ref_t[k, j] = reference[j, k]
            inv_t[k, j] = 1.0 / scale[sj, k]
            if math.isnan(ref_t[k, j]):
                full = False
    inv_count = np.zeros(k_count + 1, np.float64)
    for n in range(1, k_count + 1):
        inv_count[n] = 1.0 / n
    return ref_t, inv_t, inv_count, full, r_len, k_count


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS, inline="always")
def _row_costs(query, i, lo, hi, prepared, cost, nonempty):  # type: ignore[no-untyped-def]
    """`_local_cost` of query row i against reference rows lo..hi into cost[j] and
    nonempty[j] (and up to the end of hi's chunk of LANES), a chunk at a time: the
    fixed-length inner loops run LANES cells side by side, which a loop over a few
    angles per cell did not. Reciprocals instead of divisions; both branches add the
    angles in the same order, so they agree bit for bit."""
    ref_t, inv_t, inv_count, ref_full, _, k_count = prepared
    full = ref_full
    for k in range(k_count):
        if math.isnan(query[i, k]):
            full = False
    for c0 in range(lo - lo % LANES, hi + 1, LANES):
        for x in range(LANES):
            cost[c0 + x] = 0.0
            nonempty[c0 + x] = 0
        if full:
            for k in range(k_count):
                q = float(query[i, k])
                for x in range(LANES):
                    cost[c0 + x] += abs(q - ref_t[k, c0 + x]) * inv_t[k, c0 + x]
            for x in range(LANES):
                cost[c0 + x] *= inv_count[k_count]
                nonempty[c0 + x] = 1
        else:
            for k in range(k_count):
                q = float(query[i, k])
                for x in range(LANES):
                    d = q - ref_t[k, c0 + x]
                    if not math.isnan(d):
                        cost[c0 + x] += abs(d) * inv_t[k, c0 + x]
                        nonempty[c0 + x] += 1
            for x in range(LANES):
                cost[c0 + x] *= inv_count[nonempty[c0 + x]]
                nonempty[c0 + x] = min(nonempty[c0 + x], 1)


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
def _dtw_banded(  # type: ignore[no-untyped-def]
    query, reference, scale, width, acc, path, per_angle_sum, per_angle_steps
):
    """Full banded DTW: fills acc (T, R) (inf outside the band), writes the optimal path
    into path[:P] from (0, 0) to (T-1, R-1), per-angle sums and step counts along it;
    returns (total cost, non-empty steps on the path, P). scale is (1 or R, K)."""
    t_len = query.shape[0]
    r_len = reference.shape[0]
    n_angles = query.shape[1]
    prepared = _prepare(reference, scale)
    padded = prepared[0].shape[1]
    cost = np.empty(padded, np.float64)
    nonempty = np.empty(padded, np.int64)
    acc[:, :] = np.inf
    lo, hi = 0, 0
    for i in range(t_len):
        lo, hi = _band_next(i, lo, hi, t_len, r_len, width)
        _row_costs(query, i, lo, hi, prepared, cost, nonempty)
        first = lo
        if i == 0:
            left = cost[0]  # (0, 0) has no predecessor
            acc[0, 0] = left
            first = 1
        else:
            left = np.inf  # (i, lo - 1) is outside the band
        for j in range(first, hi + 1):
            best = acc[i - 1, j - 1] if i > 0 and j > 0 else np.inf
            if i > 0 and acc[i - 1, j] < best:
                best = acc[i - 1, j]
            if left < best:
                best = left
            left = best + cost[j]
            acc[i, j] = left
    # Backtrack with the same preference order as the forward pass.
    i = t_len - 1
    j = r_len - 1
    p = 0
    path[p, 0] = i
    path[p, 1] = j
    p += 1
    while i > 0 or j > 0:
        if i == 0:
            j -= 1
        elif j == 0:
            i -= 1
        else:
            bi, bj = i - 1, j - 1
            best = acc[i - 1, j - 1]
            if acc[i - 1, j] < best:
                bi, bj, best = i - 1, j, acc[i - 1, j]
            if acc[i, j - 1] < best:
                bi, bj = i, j - 1
            i, j = bi, bj
        path[p, 0] = i
        path[p, 1] = j
        p += 1
    # Reverse in place so the path runs forward in time.
    for a in range(p // 2):
        b = p - 1 - a
        pi, pj = path[a, 0], path[a, 1]
        path[a, 0], path[a, 1] = path[b, 0], path[b, 1]
        path[b, 0], path[b, 1] = pi, pj
    steps = 0
    per_angle_sum[:] = 0.0
    per_angle_steps[:] = 0
    per_row = scale.shape[0] > 1
    for a in range(p):
        ti, rj = path[a, 0], path[a, 1]
        sj = rj if per_row else 0
        nonempty_step = 0
        for k in range(n_angles):
            d = float(query[ti, k]) - float(reference[rj, k])
            if not math.isnan(d):
                per_angle_sum[k] += abs(d) / scale[sj, k]
                per_angle_steps[k] += 1
                nonempty_step = 1
        steps += nonempty_step
    return acc[t_len - 1, r_len - 1], steps, p


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _dtw_align(query, reference, scale, band_frac):  # type: ignore[no-untyped-def]
    """`exercises.alignment.dtw_align` in one call: (scale ok, total, non-empty steps,
    per-angle mean costs (K,) float32 (NaN where never observed), path (P, 2))."""
    t_len, n_angles = query.shape
    r_len = reference.shape[0]
    if not _scale_ok(scale):
        return False, 0.0, 0, np.empty(0, np.float32), np.empty((0, 2), np.int64)
    acc = np.empty((t_len, r_len), np.float64)
    path = np.empty((t_len + r_len - 1, 2), np.int64)
    per_sum = np.empty(n_angles, np.float64)
    per_steps = np.empty(n_angles, np.int64)
    width = _band_width(t_len, r_len, band_frac)
    total, steps, p = _dtw_banded(
        query, reference, scale, width, acc, path, per_sum, per_steps
    )
    per_angle = np.empty(n_angles, np.float32)
    for k in range(n_angles):
        per_angle[k] = per_sum[k] / per_steps[k] if per_steps[k] > 0 else np.nan
    return True, total, steps, per_angle, path[:p].copy()


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
def _dtw_cost(  # type: ignore[no-untyped-def]
    query, t_len, prepared, width, prev_d, prev_n, cur_d, cur_n, cost, nonempty
):
    """Banded DTW of query[:t_len] with two rolling rows; returns (total, non-empty
    steps along the optimal path). Same costs, recurrence and tie order as
    `_dtw_banded`. The rows have R + 1 slots, slot j + 1 for reference row j; every
    slot the previous row's band did not cover reads as unreachable (inf, 0 steps), so
    the inner loop tests no band edges, and the left neighbour stays in registers."""
    r_len = prev_d.shape[0] - 1
    prev_d[:] = np.inf
    prev_n[:] = 0
    prev_d[0] = 0.0  # the diagonal predecessor of (0, 0): a path starts there
    phi = -1
    lo, hi = 0, 0
    for i in range(t_len):
        lo, hi = _band_next(i, lo, hi, t_len, r_len, width)
        _row_costs(query, i, lo, hi, prepared, cost, nonempty)
        # Bands only move right: of the previous row, columns phi + 1 .. hi are read
        # below without being in its band (its column lo - 1 holds the sentinel
        # written below when it was the current row).
        for slot in range(phi + 2, hi + 2):
            prev_d[slot] = np.inf
            prev_n[slot] = 0
        left_d = np.inf
        left_n = 0
        cur_d[lo] = np.inf  # (i, lo - 1), outside the band, for the next row
        cur_n[lo] = 0
        for j in range(lo, hi + 1):
            # Loads first, then selects: no branches to mispredict.
            diag, up = prev_d[j], prev_d[j + 1]  # (i - 1, j - 1), (i - 1, j)
            n_diag, n_up = prev_n[j], prev_n[j + 1]
            best = up if up < diag else diag
            best_n = n_up if up < diag else n_diag
            best_n = left_n if left_d < best else best_n
            best = left_d if left_d < best else best
            left_d = best + cost[j]
            left_n = best_n + nonempty[j]
            cur_d[j + 1] = left_d
            cur_n[j + 1] = left_n
        prev_d, cur_d = cur_d, prev_d
        prev_n, cur_n = cur_n, prev_n
        phi = hi
    return prev_d[r_len], prev_n[r_len]


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
