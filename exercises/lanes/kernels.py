"""Numba DTW of many queries against one reference in SIMD lanes, one lane per query
(`exercises.alignment.dtw_costs_batch`). Private, like `exercises.kernels`, whose
conventions (local cost, empty cells, tie order, band) these kernels follow; fewer
queries than a chunk go one at a time through `exercises.pair.kernels`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types

from exercises.kernels import (
    SCALE_TYPES,
    _band_width,
    _scale_ok,
    _scale_view,
    plain_entry,
)
from exercises.pair.kernels import _grid_costs_all, _grid_costs_each
from vision import config

__all__: list[str] = []

# Queries per `_dtw_cost_chunk` call, and the fewest worth one (fewer go one by one,
# ~2.7 us a 60x21 query: a chunk costs at least MIN_LANES lanes, ~75 us).
CHUNK = 64
MIN_CHUNK = 28
# The fewest lanes `_dtw_cost_chunk` runs: LLVM's vectorised loop over the lanes
# takes 8 vectors of 4 at a time and runs only for 36 lanes or more; with fewer every
# lane ran scalar, 3.5x slower (7.3 us a 60x21 query against 2.0). A smaller chunk
# is padded with copies of its last query (the same cost written again).
MIN_LANES = 36
# Step counts in the lanes are float32 (exact up to 2**24 steps): half the bytes of
# the recurrence's rows to load and store.
ONE32 = np.float32(1.0)
ZERO32 = np.float32(0.0)


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _prepare(reference, scale):  # type: ignore[no-untyped-def]
    """The reference for `_dtw_cost_chunk`, from reference (R, K) and scale (1 or R,
    K): (reference (Kp, R) float64 and 1 / scale (Kp, R), both transposed and padded
    with zeros to Kp = a multiple of 4 angles; 1 / n for n in 0..K with 1 / 0 taken
    as 0; whether no reference angle is NaN; R; K)."""
    r_len, k_count = reference.shape
    k_padded = -(-k_count // 4) * 4
    ref_t = np.zeros((k_padded, r_len), np.float64)
    inv_t = np.zeros((k_padded, r_len), np.float64)
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
def _fast_cost(part, g, q, x, ref_t, inv_t, j):  # type: ignore[no-untyped-def]
    """part + the terms of angles 4g .. 4g + 3 of lane x against reference row j, in
    angle order (padded angles add |0 - 0| * 0 = 0)."""
    k = 4 * g
    part += abs(q[k, x] - ref_t[k, j]) * inv_t[k, j]
    part += abs(q[k + 1, x] - ref_t[k + 1, j]) * inv_t[k + 1, j]
    part += abs(q[k + 2, x] - ref_t[k + 2, j]) * inv_t[k + 2, j]
    part += abs(q[k + 3, x] - ref_t[k + 3, j]) * inv_t[k + 3, j]
    return part


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS, inline="always")
def _nan_cost(part, count, g, k_count, q, x, ref_t, inv_t, j):  # type: ignore[no-untyped-def]
    """`_fast_cost` skipping NaN differences and padded angles; also counts the
    angles added."""
    for m in range(4):
        k = 4 * g + m
        d = q[k, x] - ref_t[k, j]
        ok = k < k_count and not math.isnan(d)
        part += abs(d) * inv_t[k, j] if ok else 0.0
        count += 1 if ok else 0
    return part, count


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS, inline="always")
def _cell(c, j, x, prev_d, prev_n, left_d, left_n, step):  # type: ignore[no-untyped-def]
    """(cost, non-empty steps) of lane x's best path to column j of the current row,
    cell cost c and step 0 or 1; ties: diagonal, vertical, horizontal."""
    diag = prev_d[j, x]
    up = prev_d[j + 1, x]
    left = left_d[x]
    n_diag = prev_n[j, x]
    n_up = prev_n[j + 1, x]
    n_left = left_n[x]
    best = up if up < diag else diag
    best_n = n_up if up < diag else n_diag
    best_n = n_left if left < best else best_n
    best = left if left < best else best
    return best + c, best_n + step


# Rows per block of `_pack`: a block of the packed lanes (16 x Kp x 64 float64, 32 KB
# for 4 angles) stays in the L1 cache while every lane writes into it.
PACK_ROWS = 16


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _pack(queries, lengths, members, q, row_full):  # type: ignore[no-untyped-def]
    """queries[members] into q (T, Kp, C) float64, lanes innermost, PACK_ROWS rows
    of every lane at a time (one query's rows at a time wrote each cache line of q
    once per lane, a 1.6 ns per value; one row of every lane missed the cache once
    per lane in reading); rows past a query's end and padded angles 0.0. Widened to
    float64 (exactly) once here, not in each of the R cells that read the value: as
    float32, a conversion per angle and lane was 4 of the cell loop's ~40
    instructions (issue 21). row_full[t]: no lane's row
    t has NaN (tested per query first, in a loop LLVM vectorises). Returns the
    longest length."""
    c_n = members.shape[0]
    k_count = queries.shape[2]
    t_max = 0
    for x in range(c_n):
        t_max = max(t_max, lengths[members[x]])
    row_full[:t_max] = True
    for x in range(c_n):
        m = members[x]
        flat = queries[m].reshape(-1)
        nan = 0
        for idx in range(lengths[m] * k_count):
            v = flat[idx]
            nan += 1 if v != v else 0
        if nan > 0:
            for t in range(lengths[m]):
                for k in range(k_count):
                    if math.isnan(queries[m, t, k]):
                        row_full[t] = False
    for t0 in range(0, t_max, PACK_ROWS):
        for t in range(t0, min(t0 + PACK_ROWS, t_max)):
            for x in range(c_n):
                m = members[x]
                inside = t < lengths[m]
                row = queries[m, t]
                # The first four angles at constant indices (a loop over the angles
                # per value took 1.4x as long, issue 21), the rest in a loop.
                if k_count > 0:
                    q[t, 0, x] = row[0] if inside else 0.0
                if k_count > 1:
                    q[t, 1, x] = row[1] if inside else 0.0
                if k_count > 2:
                    q[t, 2, x] = row[2] if inside else 0.0
                if k_count > 3:
                    q[t, 3, x] = row[3] if inside else 0.0
                for k in range(4, k_count):
                    q[t, k, x] = row[k] if inside else 0.0
    q[:t_max, k_count:, :c_n] = 0.0
    return t_max


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS, inline="always")
def _all_inside(i, j, fir, tm1, ftm1, w, c_n):  # type: ignore[no-untyped-def]
    """Whether cell (i, j) is inside the band of every lane whose query has row i."""
    outside = 0
    for x in range(c_n):
        outside += 1 if abs(fir - j * ftm1[x]) > w[x] and tm1[x] >= i else 0
    return outside == 0


@njit(cache=True, nogil=True)
def _chunk_work(k_padded, r_len, t_max, c_n):  # type: ignore[no-untyped-def]
    """Work arrays of `_dtw_cost_chunk` for up to c_n lanes."""
    f64, f32 = np.float64, np.float32
    return (
        np.empty((t_max, k_padded, c_n), f64),
        np.empty(t_max, np.bool_),
        np.empty(c_n, f64),
        np.empty(c_n, np.int64),
        np.empty((r_len + 1, c_n), f64),
        np.empty((r_len + 1, c_n), f32),
        np.empty((r_len + 1, c_n), f64),
        np.empty((r_len + 1, c_n), f32),
        np.empty(c_n, np.int64),
        np.empty(c_n, f64),
        np.empty(c_n, f64),
        np.empty(c_n, f64),
        np.empty(c_n, f64),
        np.empty(c_n, f32),
        np.empty(c_n, np.int64),
        np.empty(c_n, f64),
        np.empty(c_n, f64),
        np.empty(c_n, f64),
    )


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _dtw_cost_chunk(queries, lengths, widths, members, prepared, work, out):  # type: ignore[no-untyped-def]
    """The DTW cost of the C queries queries[members] at once (each query's rows
    rolled through two rows of the grid), one lane per query in the innermost loops,
    which LLVM vectorizes (a serial recurrence is a chain of dependent
    compare-select-adds per cell; C lanes run C chains side by side). The
    queries are first packed lanes-innermost (`_pack`). The rows cover the union of
    the lanes' bands (members sorted by length keep it narrow) and run to the longest
    query; a lane masks the cells outside its own band, except in the columns inside
    every running lane's band (and on the full grid), which take an unmasked loop. The
    cost of a cell is computed inside the recurrence's loop, four angles at a time
    (`prepared` padded to a multiple of 4 angles with zeros). Same arithmetic,
    recurrence and tie order per lane as `exercises.pair.kernels`, with the non-empty
    steps of the best path to each cell carried beside its cost; writes
    out[members]."""
    ref_t, inv_t, inv_count, ref_full, r_len, k_count = prepared
    groups = ref_t.shape[0] // 4
    c_n = members.shape[0]
    qb, row_full, part, part_n, prev_d, prev_n, cur_d, cur_n = work[:8]
    tm1, ftm1, inv_tm1, w, left_d, left_n = work[8:14]
    # The band bookkeeping per row runs over the distinct (length, width) pairs of
    # consecutive lanes (sorted by length, a chunk holds a few), not over every
    # lane: min, max and all() over the lanes are the same over these groups.
    g_tm1, g_ftm1, g_inv_tm1, g_w = work[14:]
    t_max = _pack(queries, lengths, members, qb, row_full)
    res_d = np.empty(c_n, np.float64)
    res_n = np.empty(c_n, np.float64)
    any_one = False
    all_grid = True  # every lane's band covers its whole grid
    for x in range(c_n):
        tm1[x] = lengths[members[x]] - 1
        ftm1[x] = tm1[x]
        inv_tm1[x] = 1.0 / max(tm1[x], 1)
        w[x] = widths[members[x]]
        any_one = any_one or tm1[x] == 0
        all_grid = all_grid and w[x] >= ftm1[x] * (r_len - 1)
    n_g = 0
    for x in range(c_n):
        if n_g == 0 or tm1[x] != g_tm1[n_g - 1] or w[x] != g_w[n_g - 1]:
            g_tm1[n_g] = tm1[x]
            g_ftm1[n_g] = ftm1[x]
            g_inv_tm1[n_g] = inv_tm1[x]
            g_w[n_g] = w[x]
            n_g += 1
    for slot in range(r_len + 1):
        for x in range(c_n):
            prev_d[slot, x] = np.inf
            prev_n[slot, x] = ZERO32
    for x in range(c_n):
        prev_d[0, x] = 0.0  # the diagonal predecessor of (0, 0)
    inv_k = inv_count[k_count]
    last = groups - 1
    # The last four angles' terms add to part, which is 0 when they are the only
    # ones (K <= 4): no test of `last` per lane in the cell loops.
    part[:c_n] = 0.0
    plo, phi = 0, -1
    for i in range(t_max):
        q = qb[i]
        full = ref_full and row_full[i]
        fir = float(i * (r_len - 1))
        lo, hi = 0, r_len - 1
        ilo, ihi = 0, r_len - 1
        if not all_grid:
            if not any_one:
                # A superset of the union of the lanes' bands (each lane masks its
                # own); non-decreasing in i, as the rolling rows need.
                lo_f, hi_f = np.inf, -np.inf
                for x in range(n_g):
                    lo_f = min(lo_f, (fir - g_w[x]) * g_inv_tm1[x])
                    hi_f = max(hi_f, (fir + g_w[x]) * g_inv_tm1[x])
                lo = max(plo, min(r_len - 1, max(0, math.floor(lo_f) - 1)))
                hi = max(phi, min(r_len - 1, math.ceil(hi_f) + 1))
            # Columns inside every running lane's band: estimated with a margin for
            # rounding, then widened by exact tests.
            ilo_f, ihi_f = -np.inf, np.inf
            for x in range(n_g):
                if g_tm1[x] >= i and g_tm1[x] > 0:
                    ilo_f = max(ilo_f, (fir - g_w[x]) * g_inv_tm1[x])
                    ihi_f = min(ihi_f, (fir + g_w[x]) * g_inv_tm1[x])
            ilo = max(lo, math.floor(ilo_f) + 2) if ilo_f > -np.inf else lo
            ihi = min(hi, math.ceil(ihi_f) - 2) if ihi_f < np.inf else hi
            while ilo > lo and _all_inside(i, ilo - 1, fir, g_tm1, g_ftm1, g_w, n_g):
                ilo -= 1
            while ihi < hi and _all_inside(i, ihi + 1, fir, g_tm1, g_ftm1, g_w, n_g):
                ihi += 1
        for slot in range(phi + 2, hi + 2):
            for x in range(c_n):
                prev_d[slot, x] = np.inf
                prev_n[slot, x] = ZERO32
        for x in range(c_n):
            left_d[x] = np.inf  # (i, lo - 1) is outside the band
            left_n[x] = ZERO32
            cur_d[lo, x] = np.inf  # and so for the next row
            cur_n[lo, x] = ZERO32
        for j in range(lo, hi + 1):
            if full:
                for g in range(last):  # all but the last four angles (K > 4)
                    for x in range(c_n):
                        base = part[x] if g > 0 else 0.0
                        part[x] = _fast_cost(base, g, q, x, ref_t, inv_t, j)
                if j < ilo or j > ihi:
                    for x in range(c_n):
                        base = part[x]
                        c = _fast_cost(base, last, q, x, ref_t, inv_t, j) * inv_k
                        d, n = _cell(c, j, x, prev_d, prev_n, left_d, left_n, ONE32)
                        inside = abs(fir - j * ftm1[x]) <= w[x]
                        d = d if inside else np.inf
                        n = n if inside else ZERO32
                        left_d[x] = d
                        left_n[x] = n
                        cur_d[j + 1, x] = d
                        cur_n[j + 1, x] = n
                else:
                    for x in range(c_n):
                        base = part[x]
                        c = _fast_cost(base, last, q, x, ref_t, inv_t, j) * inv_k
                        d, n = _cell(c, j, x, prev_d, prev_n, left_d, left_n, ONE32)
                        left_d[x] = d
                        left_n[x] = n
                        cur_d[j + 1, x] = d
                        cur_n[j + 1, x] = n
            else:
                for x in range(c_n):
                    part[x] = 0.0
                    part_n[x] = 0
                for g in range(groups):
                    for x in range(c_n):
                        part[x], part_n[x] = _nan_cost(
                            part[x], part_n[x], g, k_count, q, x, ref_t, inv_t, j
                        )
                for x in range(c_n):
                    c = part[x] * inv_count[part_n[x]]
                    part[x] = 0.0  # as the full rows' cells expect it
                    step = ONE32 if part_n[x] > 0 else ZERO32
                    d, n = _cell(c, j, x, prev_d, prev_n, left_d, left_n, step)
                    inside = abs(fir - j * ftm1[x]) <= w[x]
                    d = d if inside else np.inf
                    n = n if inside else ZERO32
                    left_d[x] = d
                    left_n[x] = n
                    cur_d[j + 1, x] = d
                    cur_n[j + 1, x] = n
        for x in range(c_n):
            hit = tm1[x] == i
            res_d[x] = cur_d[r_len, x] if hit else res_d[x]
            res_n[x] = cur_n[r_len, x] if hit else res_n[x]
        prev_d, cur_d = cur_d, prev_d
        prev_n, cur_n = cur_n, prev_n
        plo, phi = lo, hi
    for x in range(c_n):
        out[members[x]] = res_d[x] / res_n[x] if res_n[x] > 0 else np.nan


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _order_by_length(lengths, t_max):  # type: ignore[no-untyped-def]
    """Indices of lengths (B,) in [1, t_max] sorted by length, stable (a counting
    sort: numba's merge sort takes seconds to compile)."""
    start = np.zeros(t_max + 2, np.int64)
    for b in range(lengths.shape[0]):
        start[lengths[b] + 1] += 1
    for n in range(1, t_max + 2):
        start[n] += start[n - 1]
    order = np.empty(lengths.shape[0], np.int64)
    for b in range(lengths.shape[0]):
        order[start[lengths[b]]] = b
        start[lengths[b]] += 1
    return order


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _dtw_costs_batch(  # type: ignore[no-untyped-def]
    queries, lengths, reference, scale, widths, out, min_chunk=MIN_CHUNK
):
    """B NaN-padded queries (B, T, K) with lengths (B,) against one reference: out (B,)
    = mean per-step cost along each optimal path (NaN if every step is empty). Sorted
    by length, CHUNK queries at a time go through `_dtw_cost_chunk`; a last chunk of
    fewer than min_chunk queries (and a batch of fewer) one by one
    (`exercises.pair.kernels`)."""
    b_count = queries.shape[0]
    if b_count < min_chunk:
        _grid_costs_each(
            queries, lengths, np.arange(b_count), reference, scale, widths, out
        )
        return
    r_len = reference.shape[0]
    prepared = _prepare(reference, scale)
    order = _order_by_length(lengths, queries.shape[1])
    first = 0
    work = _chunk_work(
        prepared[0].shape[0], r_len, queries.shape[1], max(CHUNK, MIN_LANES)
    )
    while b_count - first >= min_chunk:
        stop = min(first + CHUNK, b_count)
        members = order[first:stop]
        if stop - first < MIN_LANES:
            members = np.empty(MIN_LANES, np.int64)
            members[: stop - first] = order[first:stop]
            members[stop - first :] = order[stop - 1]
        _dtw_cost_chunk(queries, lengths, widths, members, prepared, work, out)
        first = stop
    _grid_costs_each(queries, lengths, order[first:], reference, scale, widths, out)


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _dtw_costs(queries, lengths, reference, scale, band_frac):  # type: ignore[no-untyped-def]
    """`exercises.alignment.dtw_costs_batch` in one call: (0 and the costs (B,)
    float32, or -1 if a length is outside [1, T], or -2 if a tolerance is not finite
    and > 0, with an empty array)."""
    b_count, t_max = queries.shape[0], queries.shape[1]
    r_len = reference.shape[0]
    for b in range(b_count):
        if lengths[b] < 1 or lengths[b] > t_max:
            return -1, np.empty(0, np.float32)
    if not _scale_ok(scale):
        return -2, np.empty(0, np.float32)
    widths = np.empty(b_count, np.float64)
    for b in range(b_count):
        widths[b] = _band_width(lengths[b], r_len, band_frac)
    out = np.empty(b_count, np.float32)  # each cost rounded once, from float64
    _dtw_costs_batch(queries, lengths, reference, scale, widths, out)
    return 0, out


def _plain_costs_args(queries, lengths, reference, scale, band_frac):  # type: ignore[no-untyped-def]
    """Whether numba would match one of `_dtw_costs_plain`'s signatures."""
    arrays = (queries, lengths, reference) + (() if scale is None else (scale,))
    dtypes = (np.float32, np.int64, np.float32, np.float32)
    return (
        all(
            type(a) is np.ndarray
            and a.dtype == d
            and a.flags.c_contiguous
            and a.flags.writeable
            for a, d in zip(arrays, dtypes, strict=False)
        )
        and (queries.ndim, lengths.ndim, reference.ndim) == (3, 1, 2)
        and (scale is None or scale.ndim in (1, 2))
    )


@njit(
    [
        types.float32[::1](
            types.float32[:, :, ::1],
            types.int64[::1],
            types.float32[:, ::1],
            s,
            types.float64,
        )
        for s in SCALE_TYPES
    ],
    cache=True,
    nogil=True,
    fastmath=config.FASTMATH_FLAGS,
)
def _dtw_costs_plain_kernel(queries, lengths, reference, scale, band_frac):  # type: ignore[no-untyped-def]
    """`_dtw_costs` for the common argument types (compiled for them only): the costs
    (B,), or an empty array when any value is off (the wrapper's full checks then say
    which). One array back, not a tuple: less to box."""
    b_count, t_max, k_count = queries.shape
    r_len = reference.shape[0]
    rows, ok = _scale_view(scale, r_len, k_count)
    if not (
        ok
        and b_count > 0
        and t_max > 0
        and k_count > 0
        and r_len > 0
        and reference.shape[1] == k_count
        and lengths.shape[0] == b_count
        and 0.0 <= band_frac <= 1.0
    ):
        return np.empty(0, np.float32)
    if b_count < MIN_CHUNK:  # one by one (as `_dtw_costs_batch`), fewer arrays
        out = np.empty(b_count, np.float32)
        ok = _grid_costs_all(queries, lengths, reference, rows, band_frac, out)
        return out if ok else np.empty(0, np.float32)
    return _dtw_costs(queries, lengths, reference, rows, band_frac)[1]


_dtw_costs_plain = plain_entry(_dtw_costs_plain_kernel, _plain_costs_args)
