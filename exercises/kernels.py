"""Numba DTW kernels over joint-angle trajectories, and the small symmetric eigen
decomposition the rep counter's principal movements need (`_symmetric_eigen`, Jacobi
rotations: a 26 x 26 LAPACK call through a multi-threaded BLAS took 40-70 ms on a
busy 2-core machine, 0.05 ms single-threaded). Private; call the DTW kernels through
`exercises.alignment`, which validates the arguments and documents the semantics.

Shared conventions (the twins in tests/naive.py follow them line for line):

- Local cost of query row t against reference row j: the mean, over the angles valid
  (not NaN) in both rows, of |q[t, k] - r[j, k]| / scale[j, k]. When no angle is valid
  the cell is *empty*: it adds 0 and is not counted as a step, so a gap in the query
  (nobody in view) is skipped rather than charged. The DTW kernels multiply by
  precomputed 1 / scale and 1 / count instead of dividing (`_cell_cost`), so they agree
  with the twins to rounding, not to the last bit.
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
    """The reference for `_cell_cost`: (reference as float64 (R, K), 1 / scale (R, K),
    1 / n for n in 0..K with 1 / 0 taken as 0, whether no reference angle is NaN)."""
    r_len, k_count = reference.shape
    ref64 = np.empty((r_len, k_count), np.float64)
    inv_scale = np.empty((r_len, k_count), np.float64)
    full = True
    for j in range(r_len):
        for k in range(k_count):
            ref64[j, k] = reference[j, k]
            inv_scale[j, k] = 1.0 / scale[j, k]
            if math.isnan(ref64[j, k]):
                full = False
    inv_count = np.zeros(k_count + 1, np.float64)
    for n in range(1, k_count + 1):
        inv_count[n] = 1.0 / n
    return ref64, inv_scale, inv_count, full


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS, inline="always")
def _load_row(query, i, qrow, ref_full):  # type: ignore[no-untyped-def]
    """Copy query row i into qrow (K,) float64; whether it and the reference are free
    of NaN (then `_cell_cost` skips the NaN bookkeeping)."""
    full = ref_full
    for k in range(qrow.shape[0]):
        qrow[k] = query[i, k]
        if math.isnan(qrow[k]):
            full = False
    return full


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS, inline="always")
def _cell_cost(qrow, row_full, ref64, j, inv_scale, inv_count):  # type: ignore[no-untyped-def]
    """`_local_cost` with reciprocals instead of divisions (the DTW's time went into
    them); both branches add the angles in the same order, so they agree bit for bit."""
    total = 0.0
    if row_full:
        for k in range(qrow.shape[0]):
            total += abs(qrow[k] - ref64[j, k]) * inv_scale[j, k]
        return total * inv_count[qrow.shape[0]], 1
    valid = 0
    for k in range(qrow.shape[0]):
        d = qrow[k] - ref64[j, k]
        if not math.isnan(d):
            total += abs(d) * inv_scale[j, k]
            valid += 1
    return total * inv_count[valid], min(valid, 1)


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _in_band(i, j, t_len, r_len, width):  # type: ignore[no-untyped-def]
    """Whether cell (i, j) lies inside the band."""
    return abs(i * (r_len - 1) - j * (t_len - 1)) <= width


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _band_row(i, t_len, r_len, width):  # type: ignore[no-untyped-def]
    """First and last reference index inside the band on query row i (contiguous)."""
    if t_len == 1:
        return 0, r_len - 1
    centre = i * (r_len - 1)
    lo = max(0, min(r_len - 1, math.ceil((centre - width) / (t_len - 1))))
    hi = max(0, min(r_len - 1, math.floor((centre + width) / (t_len - 1))))
    # The float estimate can be one off at the edges; the exact test decides.
    while lo > 0 and _in_band(i, lo - 1, t_len, r_len, width):
        lo -= 1
    while lo < r_len - 1 and not _in_band(i, lo, t_len, r_len, width):
        lo += 1
    while hi < r_len - 1 and _in_band(i, hi + 1, t_len, r_len, width):
        hi += 1
    while hi > 0 and not _in_band(i, hi, t_len, r_len, width):
        hi -= 1
    return lo, hi


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _dtw_banded(  # type: ignore[no-untyped-def]
    query, reference, scale, width, acc, path, per_angle_sum, per_angle_steps
):
    """Full banded DTW: fills acc (T, R) (inf outside the band), writes the optimal path
    into path[:P] from (0, 0) to (T-1, R-1), per-angle sums and step counts along it;
    returns (total cost, non-empty steps on the path, P)."""
    t_len = query.shape[0]
    r_len = reference.shape[0]
    n_angles = query.shape[1]
    ref64, inv_scale, inv_count, ref_full = _prepare(reference, scale)
    qrow = np.empty(n_angles, np.float64)
    acc[:, :] = np.inf
    for i in range(t_len):
        lo, hi = _band_row(i, t_len, r_len, width)
        row_full = _load_row(query, i, qrow, ref_full)
        for j in range(lo, hi + 1):
            c, _ = _cell_cost(qrow, row_full, ref64, j, inv_scale, inv_count)
            if i == 0 and j == 0:
                acc[i, j] = c
                continue
            best = np.inf
            if i > 0 and j > 0:
                best = acc[i - 1, j - 1]
            if i > 0 and acc[i - 1, j] < best:
                best = acc[i - 1, j]
            if j > 0 and acc[i, j - 1] < best:
                best = acc[i, j - 1]
            acc[i, j] = best + c
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
    for a in range(p):
        ti, rj = path[a, 0], path[a, 1]
        _, nonempty = _local_cost(query, ti, reference, rj, scale)
        steps += nonempty
        for k in range(n_angles):
            d = float(query[ti, k]) - float(reference[rj, k])
            if not math.isnan(d):
                per_angle_sum[k] += abs(d) / scale[rj, k]
                per_angle_steps[k] += 1
    return acc[t_len - 1, r_len - 1], steps, p


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _dtw_cost(  # type: ignore[no-untyped-def]
    query, t_len, prepared, width, prev_d, prev_n, cur_d, cur_n, qrow
):
    """Banded DTW of query[:t_len] with two rolling rows; returns (total, non-empty
    steps along the optimal path). Same costs, recurrence and tie order as
    `_dtw_banded`. The rows have R + 1 slots, slot j + 1 for reference row j; every
    slot the previous row's band did not cover reads as unreachable (inf, 0 steps), so
    the inner loop tests no band edges, and the left neighbour stays in registers."""
    ref64, inv_scale, inv_count, ref_full = prepared
    r_len = ref64.shape[0]
    prev_d[:] = np.inf
    prev_n[:] = 0
    plo, phi = 0, -1
    for i in range(t_len):
        lo, hi = _band_row(i, t_len, r_len, width)
        row_full = _load_row(query, i, qrow, ref_full)
        # Bands only move right: of the previous row, column plo - 1 and columns
        # phi + 1 .. hi are read below without being in its band.
        prev_d[plo] = np.inf
        prev_n[plo] = 0
        for slot in range(phi + 2, hi + 2):
            prev_d[slot] = np.inf
            prev_n[slot] = 0
        left_d = np.inf
        left_n = 0
        for j in range(lo, hi + 1):
            c, nonempty = _cell_cost(qrow, row_full, ref64, j, inv_scale, inv_count)
            if i == 0 and j == 0:
                best = 0.0
                best_n = 0
            else:
                best = prev_d[j]  # diagonal (i - 1, j - 1)
                best_n = prev_n[j]
                if prev_d[j + 1] < best:  # vertical (i - 1, j)
                    best = prev_d[j + 1]
                    best_n = prev_n[j + 1]
                if left_d < best:  # horizontal (i, j - 1)
                    best = left_d
                    best_n = left_n
            left_d = best + c
            left_n = best_n + nonempty
            cur_d[j + 1] = left_d
            cur_n[j + 1] = left_n
        prev_d, cur_d = cur_d, prev_d
        prev_n, cur_n = cur_n, prev_n
        plo, phi = lo, hi
    return prev_d[r_len], prev_n[r_len]


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _dtw_costs_batch(queries, lengths, reference, scale, widths, out):  # type: ignore[no-untyped-def]
    """B NaN-padded queries (B, T, K) with lengths (B,) against one reference: out (B,)
    = mean per-step cost along each optimal path (NaN if every step is empty)."""
    r_len = reference.shape[0]
    prepared = _prepare(reference, scale)
    prev_d = np.empty(r_len + 1, np.float64)
    cur_d = np.empty(r_len + 1, np.float64)
    prev_n = np.empty(r_len + 1, np.int64)
    cur_n = np.empty(r_len + 1, np.int64)
    qrow = np.empty(queries.shape[2], np.float64)
    for b in range(queries.shape[0]):
        total, steps = _dtw_cost(
            queries[b],
            lengths[b],
            prepared,
            widths[b],
            prev_d,
            prev_n,
            cur_d,
            cur_n,
            qrow,
        )
        out[b] = total / steps if steps > 0 else np.nan


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


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _symmetric_eigen(matrix, max_sweeps):  # type: ignore[no-untyped-def]
    """Eigenvalues (N,) and eigenvectors (N, N) as columns of a symmetric float64
    (N, N) matrix by cyclic Jacobi rotations, unsorted; stops once the off-diagonal
    mass is below 1e-22 of the total (or after `max_sweeps` sweeps)."""
    n = matrix.shape[0]
    a = matrix.copy()
    v = np.eye(n)
    total = 0.0
    for p in range(n):
        for q in range(n):
            total += a[p, q] * a[p, q]
    for _ in range(max_sweeps):
        off = 0.0
        for p in range(n):
            for q in range(p + 1, n):
                off += a[p, q] * a[p, q]
        if off <= 1e-22 * total:
            break
        for p in range(n - 1):
            for q in range(p + 1, n):
                apq = a[p, q]
                if apq == 0.0:
                    continue
                theta = (a[q, q] - a[p, p]) / (2.0 * apq)
                t = 1.0 / (abs(theta) + math.sqrt(theta * theta + 1.0))
                if theta < 0.0:
                    t = -t
                c = 1.0 / math.sqrt(t * t + 1.0)
                s = t * c
                for k in range(n):
                    akp, akq = a[k, p], a[k, q]
                    a[k, p] = c * akp - s * akq
                    a[k, q] = s * akp + c * akq
                for k in range(n):
                    apk, aqk = a[p, k], a[q, k]
                    a[p, k] = c * apk - s * aqk
                    a[q, k] = s * apk + c * aqk
                for k in range(n):
                    vkp, vkq = v[k, p], v[k, q]
                    v[k, p] = c * vkp - s * vkq
                    v[k, q] = s * vkp + c * vkq
    values = np.empty(n)
    for p in range(n):
        values[p] = a[p, p]
    return values, v
