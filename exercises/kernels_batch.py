"""Numba DTW kernels for one reference against many queries: lanes of queries side by
side (`_dtw_cost_chunk`, which LLVM vectorizes) and the batch entry points
(`_dtw_costs_batch`, `_dtw_costs`). The conventions (local cost, empty cells, steps,
ties, band) are those of `exercises.kernels`, whose serial kernels these call for a
few queries and whose twins in tests/naive.py they are tested against. Private; call
them through `exercises.alignment.dtw_costs_batch`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from exercises.kernels import _band_width, _dtw_cost, _prepare, _scale_ok
from vision import config

__all__: list[str] = []

# Queries per `_dtw_cost_chunk` call, and the fewest worth one (fewer go one by one).
CHUNK = 64
MIN_CHUNK = 8


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


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _dtw_cost_chunk(queries, lengths, widths, members, prepared, work, out):  # type: ignore[no-untyped-def]
    """`_dtw_cost` of the C queries queries[members] at once, one lane per query in
    the innermost loops, which LLVM vectorizes (the serial recurrence is a chain of
    dependent compare-select-adds per cell; C lanes run C chains side by side). Each
    lane keeps its own band as a mask; the rows cover the union of the lanes' bands
    (members sorted by length keep it narrow) and run to the longest query. The cost
    of a cell is computed inside the recurrence's loop, four angles at a time
    (`prepared` padded to a multiple of 4 angles with zeros). Same arithmetic,
    recurrence and tie order per lane as `_dtw_cost`; writes out[members]."""
    ref_t, inv_t, inv_count, ref_full, r_len, k_count = prepared
    groups = ref_t.shape[0] // 4
    c_n = members.shape[0]
    q, part, part_n, prev_d, prev_n, cur_d, cur_n, left_d, left_n, tm1, w = work
    res_d = np.empty(c_n, np.float64)
    res_n = np.empty(c_n, np.float64)
    ftm1 = np.empty(c_n, np.float64)
    t_max = 0
    any_one = False
    for x in range(c_n):
        tm1[x] = lengths[members[x]] - 1
        ftm1[x] = tm1[x]
        w[x] = widths[members[x]]
        t_max = max(t_max, tm1[x] + 1)
        any_one = any_one or tm1[x] == 0
    for slot in range(r_len + 1):
        for x in range(c_n):
            prev_d[slot, x] = np.inf
            prev_n[slot, x] = 0.0
    for x in range(c_n):
        prev_d[0, x] = 0.0  # the diagonal predecessor of (0, 0)
    q[k_count:, :c_n] = 0.0
    inv_k = inv_count[k_count]
    plo, phi = 0, -1
    for i in range(t_max):
        full = ref_full
        for k in range(k_count):
            for x in range(c_n):
                q[k, x] = queries[members[x], min(i, tm1[x]), k]
                full = full and not math.isnan(q[k, x])
        ir = i * (r_len - 1)
        fir = float(ir)
        lo, hi = 0, r_len - 1
        if not any_one:
            # A superset of the union of the lanes' bands (each lane masks its own);
            # non-decreasing in i, as the rolling rows need.
            lo_f, hi_f = np.inf, -np.inf
            for x in range(c_n):
                lo_f = min(lo_f, (ir - w[x]) / tm1[x])
                hi_f = max(hi_f, (ir + w[x]) / tm1[x])
            lo = max(plo, min(r_len - 1, max(0, math.floor(lo_f) - 1)))
            hi = max(phi, min(r_len - 1, math.ceil(hi_f) + 1))
        for slot in range(phi + 2, hi + 2):
            for x in range(c_n):
                prev_d[slot, x] = np.inf
                prev_n[slot, x] = 0.0
        for x in range(c_n):
            left_d[x] = np.inf
            left_n[x] = 0.0
            cur_d[lo, x] = np.inf
            cur_n[lo, x] = 0.0
        last = groups - 1
        for j in range(lo, hi + 1):
            if full:
                for g in range(last):  # all but the last four angles (K > 4)
                    for x in range(c_n):
                        base = part[x] if g > 0 else 0.0
                        part[x] = _fast_cost(base, g, q, x, ref_t, inv_t, j)
                for x in range(c_n):
                    base = part[x] if last > 0 else 0.0
                    c = _fast_cost(base, last, q, x, ref_t, inv_t, j) * inv_k
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
                    inside = abs(fir - j * ftm1[x]) <= w[x]
                    d = best + c if inside else np.inf
                    n = best_n + 1.0 if inside else 0.0
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
                    inside = abs(fir - j * ftm1[x]) <= w[x]
                    d = best + c if inside else np.inf
                    n = best_n + min(part_n[x], 1) if inside else 0.0
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
    fewer than min_chunk queries (and a batch of fewer) one by one (`_dtw_cost`)."""
    r_len = reference.shape[0]
    prepared = _prepare(reference, scale)
    ref_t = prepared[0]
    k_padded, padded = ref_t.shape
    b_count = queries.shape[0]
    order = _order_by_length(lengths, queries.shape[1])
    first = 0
    if b_count >= min_chunk:
        work = (
            np.empty((k_padded, CHUNK), np.float64),
            np.empty(CHUNK, np.float64),
            np.empty(CHUNK, np.int64),
            np.empty((r_len + 1, CHUNK), np.float64),
            np.empty((r_len + 1, CHUNK), np.float64),
            np.empty((r_len + 1, CHUNK), np.float64),
            np.empty((r_len + 1, CHUNK), np.float64),
            np.empty(CHUNK, np.float64),
            np.empty(CHUNK, np.float64),
            np.empty(CHUNK, np.int64),
            np.empty(CHUNK, np.float64),
        )
        while b_count - first >= min_chunk:
            stop = min(first + CHUNK, b_count)
            _dtw_cost_chunk(
                queries, lengths, widths, order[first:stop], prepared, work, out
            )
            first = stop
    prev_d = np.empty(r_len + 1, np.float64)
    cur_d = np.empty(r_len + 1, np.float64)
    prev_n = np.empty(r_len + 1, np.int64)
    cur_n = np.empty(r_len + 1, np.int64)
    cost = np.empty(padded, np.float64)
    nonempty = np.empty(padded, np.int64)
    for a in range(first, b_count):
        b = order[a]
        total, steps = _dtw_cost(
            queries[b],
            lengths[b],
            prepared,
            widths[b],
            prev_d,
            prev_n,
            cur_d,
            cur_n,
            cost,
            nonempty,
        )
        out[b] = total / steps if steps > 0 else np.nan


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
    out = np.empty(b_count, np.float64)
    _dtw_costs_batch(queries, lengths, reference, scale, widths, out)
    return 0, out.astype(np.float32)
