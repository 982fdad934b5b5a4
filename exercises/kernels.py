"""Numba DTW kernels over joint-angle trajectories: banded, streaming, and one
reference against many queries in vectorised lanes. Private; call them through
`exercises.alignment`, which validates the arguments and documents the semantics.
(The rep counter's small eigen decomposition is `vision.kernels._symmetric_eigen`.)

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
# Queries per `_dtw_cost_chunk` call, and the fewest worth one (fewer go one by one).
CHUNK = 64
MIN_CHUNK = 8


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
