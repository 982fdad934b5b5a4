"""Numba DTW of one query against one reference over its whole banded grid
(`exercises.alignment.dtw_align`, and `dtw_costs_batch` for queries that fill no chunk
of lanes). Private, like `exercises.kernels`, whose conventions (local cost, empty
cells, tie order, band) these kernels follow.

Three passes instead of one row-by-row recurrence that computes each cell's cost on
the way (issue 21: about 6.5 ns a cell):

- `_grid_costs`: the local cost of every cell in the band, one reference row at a
  time against all query rows (long loops that LLVM vectorises; a query row at a time
  is ~21 cells, and loop set-up cost more than the cells), into `costs` (R, T), inf
  outside the band.
- `_grid_fill`: the recurrence into `acc` (T + 1, R + 1) (row and column 0 are the
  border: acc[0, 0] = 0, inf elsewhere, so no cell tests an edge), in blocks of four
  query rows skewed by a column: row r of a block works on column s - r at step s, so
  its up and diagonal neighbours are what row r - 1 made in the last two steps, and
  four chains of min + add are in flight instead of one. Values only: which
  predecessor a cell took (ties) does not change its value.
- `_grid_path`: the optimal path from (T-1, R-1) back to (0, 0), choosing among the
  predecessors as the recurrence orders them (diagonal, vertical, horizontal, strict
  `<`), so it is the path the row-by-row kernels follow; its non-empty steps are the
  cost's step count.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types

from exercises.kernels import (
    SCALE_TYPES,
    _band_next,
    _band_width,
    _scale_ok,
    _scale_view,
    plain_entry,
)
from vision import config

__all__: list[str] = []


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _grid_work(t_max, r_len, k_count):  # type: ignore[no-untyped-def]
    """Work arrays for queries of up to t_max rows against R reference rows and K
    angles: (float64: reference (Kp, R + 1), 1 / scale (Kp, R + 1) (column R
    unused), 1 / n for n in 0..K, costs (R, T), acc (T + 1, R + 1), query (Kp, T),
    angle counts (T,); int64: band edges lo (T,), hi (T,), path (T + R - 1, 2)), Kp =
    K rounded up to a multiple of 4. Rows of five arrays, each as wide as T or R + 1:
    ten views by reshaping one array took 0.26 us a call (a reshape helper call and
    a reference count each), a short pair's whole DTW is ~3 us (issue 21)."""
    k_padded = -(-k_count // 4) * 4
    wide_t = np.empty((r_len + k_padded + 1, t_max), np.float64)
    wide_r = np.empty((t_max + 1 + 2 * k_padded, r_len + 1), np.float64)
    edges = np.empty((2, t_max), np.int64)
    return (
        wide_r[t_max + 1 : t_max + 1 + k_padded],
        wide_r[t_max + 1 + k_padded :],
        np.empty(k_count + 1, np.float64),
        wide_t[:r_len],
        wide_r[: t_max + 1],
        wide_t[r_len : r_len + k_padded],
        wide_t[r_len + k_padded],
        edges[0],
        edges[1],
        np.empty((t_max + r_len - 1, 2), np.int64),
    )


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _grid_reference(reference, scale, ref_t, inv_t, inv_count):  # type: ignore[no-untyped-def]
    """reference (R, K) and 1 / scale (1 or R, K) transposed into the first R columns
    of ref_t, inv_t (Kp, R or more) (padded angles 0: they add |0 - 0| * 0), 1 / n
    into inv_count (K + 1,)
    (1 / 0 taken as 0); returns whether no reference angle is NaN."""
    r_len, k_count = reference.shape
    per_row = scale.shape[0] > 1
    full = True
    for k in range(k_count):
        inv = 1.0 / scale[0, k]  # one division per angle unless per row (R K: 0.1 us)
        for j in range(r_len):
            v = float(reference[j, k])
            ref_t[k, j] = v
            inv_t[k, j] = 1.0 / scale[j, k] if per_row else inv
            full = full and not math.isnan(v)
    ref_t[k_count:, :] = 0.0
    inv_t[k_count:, :] = 0.0
    inv_count[0] = 0.0
    for n in range(1, k_count + 1):
        inv_count[n] = 1.0 / n
    return full


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _grid_band(t_len, r_len, width, lo, hi):  # type: ignore[no-untyped-def]
    """First and last reference row inside the band on each query row, into lo, hi."""
    if width >= float(t_len - 1) * float(r_len - 1):  # the whole grid (band_frac 1)
        lo[:t_len] = 0
        hi[:t_len] = r_len - 1
        return
    a, b = 0, 0
    for i in range(t_len):
        a, b = _band_next(i, a, b, t_len, r_len, width)
        lo[i] = a
        hi[i] = b


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _grid_costs(  # type: ignore[no-untyped-def]
    query, t_len, grid, ref_full, nan_aware
):
    """Local cost of query[:t_len] row i against reference row j into
    costs[j, i] for the cells inside the band (lo, hi), inf outside; returns whether
    every cell is non-empty (no NaN in either). Without NaN the angles go four at a
    time; with NaN (or nan_aware, for tests) each term is added only where valid and
    the count of valid angles picks 1 / n. Both add the same terms in the same order
    (padded angles add 0)."""
    ref_t, inv_t, inv_count, costs, _, q_t, count, lo, hi, _ = grid
    k_padded, r_len = ref_t.shape[0], costs.shape[0]
    k_count = inv_count.shape[0] - 1
    full = ref_full and not nan_aware
    for i in range(t_len):
        for k in range(k_count):
            v = float(query[i, k])
            q_t[k, i] = v
            full = full and not math.isnan(v)
    q_t[k_count:, :t_len] = 0.0
    inv_k = inv_count[k_count]
    first, last = 0, -1  # query rows whose band holds column j
    for j in range(r_len):
        while first < t_len - 1 and hi[first] < j:
            first += 1
        while last < t_len - 1 and lo[last + 1] <= j:
            last += 1
        row = costs[j]
        row[:first] = np.inf
        row[last + 1 : t_len] = np.inf
        out = row[first : last + 1]
        n = out.shape[0]
        if full:
            for g in range(k_padded // 4):
                k = 4 * g
                q0, q1 = q_t[k, first : last + 1], q_t[k + 1, first : last + 1]
                q2, q3 = q_t[k + 2, first : last + 1], q_t[k + 3, first : last + 1]
                r0, r1, r2, r3 = (
                    ref_t[k, j],
                    ref_t[k + 1, j],
                    ref_t[k + 2, j],
                    ref_t[k + 3, j],
                )
                w0, w1, w2, w3 = (
                    inv_t[k, j],
                    inv_t[k + 1, j],
                    inv_t[k + 2, j],
                    inv_t[k + 3, j],
                )
                init = g == 0
                scale = inv_k if g == k_padded // 4 - 1 else 1.0
                for x in range(n):
                    part = 0.0 if init else out[x]
                    part += abs(q0[x] - r0) * w0
                    part += abs(q1[x] - r1) * w1
                    part += abs(q2[x] - r2) * w2
                    part += abs(q3[x] - r3) * w3
                    out[x] = part * scale
        else:
            valid = count[first : last + 1]
            out[:] = 0.0
            valid[:] = 0.0
            for k in range(k_count):
                q = q_t[k, first : last + 1]
                r, w = ref_t[k, j], inv_t[k, j]
                for x in range(n):
                    d = q[x] - r
                    ok = not math.isnan(d)
                    out[x] += abs(d) * w if ok else 0.0
                    valid[x] += 1.0 if ok else 0.0
            for x in range(n):
                out[x] *= inv_count[int(valid[x])]
    return full


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS, inline="always")
def _cell(acc, row, col, up, diag, left, costs):  # type: ignore[no-untyped-def]
    """acc[row, col] = min(up, diag, left) + costs[col - 1, row - 1], returned too.
    Unsigned indices (all are >= 0 here): numba wraps negative signed ones, a compare
    and select per index, which was a third of the recurrence's time."""
    best = up if up < diag else diag
    best = left if left < best else best
    r, c = np.uintp(row), np.uintp(col)
    value = best + costs[c - np.uintp(1), r - np.uintp(1)]
    acc[r, c] = value
    return value


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _fill_rows(costs, acc, start, stop, lo, hi):  # type: ignore[no-untyped-def]
    """Rows start..stop-1 of acc (query rows start-1..stop-2), one at a time, each
    over its own band, inf beside it."""
    for p in range(start, stop):
        a, b = lo[p - 1] + 1, hi[p - 1] + 1
        acc[p, :a] = np.inf  # left of the band (or the border column)
        acc[p, b + 1 : acc.shape[1]] = np.inf
        left = np.inf
        diag = acc[p - 1, a - 1]
        for c in range(a, b + 1):
            up = acc[np.uintp(p - 1), np.uintp(c)]
            left = _cell(acc, p, c, up, diag, left, costs)
            diag = up


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _grid_fill(costs, t_len, r_len, acc, lo, hi):  # type: ignore[no-untyped-def]
    """The DTW recurrence over costs (R, T) into acc (T + 1, R + 1) (module
    docstring): acc[i + 1, j + 1] is the cost of the best path to cell (i, j), inf
    outside the band. A block of four rows covers the union of their bands; cells
    outside a row's own band cost inf there, so they stay inf."""
    acc[0, 0] = 0.0
    acc[0, 1 : r_len + 1] = np.inf
    p = 1
    while p <= t_len:
        rows = min(4, t_len + 1 - p)
        a, b = lo[p - 1] + 1, hi[p + rows - 2] + 1  # the block's columns
        for r in range(rows):
            acc[p + r, :a] = np.inf  # left of the band (or the border column)
            acc[p + r, b + 1 : r_len + 1] = np.inf  # right of it, for the next block
        if rows < 4 or b - a < 3:
            _fill_rows(costs, acc, p, p + rows, lo, hi)
            p += rows
            continue
        # Row r's latest value (its left neighbour next step) and the one before.
        v0 = v1 = v2 = v3 = np.inf
        u0 = u1 = u2 = np.inf
        diag = acc[p - 1, a - 1]
        for s in range(a, a + 3):  # rows start one column apart
            if s - 2 >= a:
                v2, u2 = _cell(acc, p + 2, s - 2, v1, u1, v2, costs), v2
            if s - 1 >= a:
                v1, u1 = _cell(acc, p + 1, s - 1, v0, u0, v1, costs), v1
            up = acc[np.uintp(p - 1), np.uintp(s)]
            v0, u0 = _cell(acc, p, s, up, diag, v0, costs), v0
            diag = up
        for s in range(a + 3, b + 1):
            v3 = _cell(acc, p + 3, s - 3, v2, u2, v3, costs)
            v2, u2 = _cell(acc, p + 2, s - 2, v1, u1, v2, costs), v2
            v1, u1 = _cell(acc, p + 1, s - 1, v0, u0, v1, costs), v1
            up = acc[np.uintp(p - 1), np.uintp(s)]
            v0, u0 = _cell(acc, p, s, up, diag, v0, costs), v0
            diag = up
        for s in range(b + 1, b + 4):  # and end one column apart
            v3 = _cell(acc, p + 3, s - 3, v2, u2, v3, costs)
            if s - 2 <= b:
                v2, u2 = _cell(acc, p + 2, s - 2, v1, u1, v2, costs), v2
            if s - 1 <= b:
                v1, u1 = _cell(acc, p + 1, s - 1, v0, u0, v1, costs), v1
        p += 4


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _grid_path(acc, t_len, r_len, path):  # type: ignore[no-untyped-def]
    """The optimal path through acc (`_grid_fill`) into path[start:], from (0, 0) to
    (T-1, R-1); returns start. Ties as in the recurrence: diagonal, then vertical,
    then horizontal."""
    i, j = t_len, r_len  # acc's indices: cell (i - 1, j - 1)
    a = t_len + r_len - 2
    path[a, 0] = i - 1
    path[a, 1] = j - 1
    while i > 1 or j > 1:
        if i == 1:
            j -= 1
        elif j == 1:
            i -= 1
        else:
            bi, bj = i - 1, j - 1
            best = acc[i - 1, j - 1]
            if acc[i - 1, j] < best:
                bj, best = j, acc[i - 1, j]
            if acc[i, j - 1] < best:
                bi, bj = i, j - 1
            i, j = bi, bj
        a -= 1
        path[a, 0] = i - 1
        path[a, 1] = j - 1
    return a


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _grid_dtw(query, t_len, reference, width, grid, ref_full, nan_aware):  # type: ignore[no-untyped-def]
    """Banded DTW of query[:t_len] against reference with `grid` (`_grid_work`,
    reference prepared by `_grid_reference`): (total cost, non-empty steps along the
    optimal path, start of the path in grid's path, whether no cell is empty)."""
    r_len = reference.shape[0]
    _, _, _, costs, acc, _, _, lo, hi, path = grid
    _grid_band(t_len, r_len, width, lo, hi)
    full = _grid_costs(query, t_len, grid, ref_full, nan_aware)
    _grid_fill(costs, t_len, r_len, acc, lo, hi)
    start = _grid_path(acc, t_len, r_len, path)
    steps = t_len + r_len - 1 - start
    if not full:
        for a in range(start, t_len + r_len - 1):
            i, j = path[a, 0], path[a, 1]
            empty = True
            for k in range(reference.shape[1]):
                if not math.isnan(float(query[i, k]) - float(reference[j, k])):
                    empty = False
            steps -= 1 if empty else 0
    return acc[t_len, r_len], steps, start, full


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _grid_costs_each(queries, lengths, members, reference, scale, widths, out):  # type: ignore[no-untyped-def]
    """out[b] = mean per-step cost of queries[b, :lengths[b]] against reference (NaN
    if every step is empty) for b in members, one query at a time."""
    if members.shape[0] == 0:
        return
    t_max = 1
    for b in members:
        t_max = max(t_max, lengths[b])
    grid = _grid_work(t_max, reference.shape[0], reference.shape[1])
    ref_full = _grid_reference(reference, scale, grid[0], grid[1], grid[2])
    for b in members:
        total, steps, _, _ = _grid_dtw(
            queries[b], lengths[b], reference, widths[b], grid, ref_full, False
        )
        out[b] = total / steps if steps > 0 else np.nan


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _grid_costs_all(queries, lengths, reference, scale, band_frac, out):  # type: ignore[no-untyped-def]
    """`_grid_costs_each` over every query, each band from band_frac on the way (no
    widths or members arrays: a batch of one is a call per pair, issue 21); returns
    False, writing nothing, if a length is outside [1, T]."""
    t_max, r_len = 1, reference.shape[0]
    for b in range(queries.shape[0]):
        if lengths[b] < 1 or lengths[b] > queries.shape[1]:
            return False
        t_max = max(t_max, lengths[b])
    grid = _grid_work(t_max, r_len, reference.shape[1])
    ref_full = _grid_reference(reference, scale, grid[0], grid[1], grid[2])
    for b in range(queries.shape[0]):
        width = _band_width(lengths[b], r_len, band_frac)
        total, steps, _, _ = _grid_dtw(
            queries[b], lengths[b], reference, width, grid, ref_full, False
        )
        out[b] = total / steps if steps > 0 else np.nan
    return True


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS, inline="always")
def _path_term(total, count, d, inv_scale):  # type: ignore[no-untyped-def]
    """(total + |d| / scale, count + 1), or (total, count) where d is NaN."""
    ok = not math.isnan(d)
    return total + (abs(d) * inv_scale if ok else 0.0), count + (1 if ok else 0)


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _dtw_banded(  # type: ignore[no-untyped-def]
    query, reference, scale, width, grid, per_angle_sum, per_angle_steps
):
    """Full banded DTW with `grid` (`_grid_work`): its acc holds every cell's best
    cost (inf outside the band) and its path[start:] the optimal path; per-angle
    sums and step counts along it into per_angle_sum, per_angle_steps. Returns (total
    cost, non-empty steps on the path, start). scale is (1 or R, K)."""
    t_len, n_angles = query.shape
    ref_full = _grid_reference(reference, scale, grid[0], grid[1], grid[2])
    total, steps, start, full = _grid_dtw(
        query, t_len, reference, width, grid, ref_full, False
    )
    ref_t, inv_t, _, _, _, q_t, _, _, _, path = grid
    # One angle at a time along the path, from the transposed float64 copies and
    # 1 / scale, without branches (dividing and a NaN branch per term took 0.6 us of
    # a 60 x 21 pair, issue 21).
    for g in range(ref_t.shape[0] // 4):
        # Four angles at a time in local sums: four chains of adds in flight (sums
        # kept in the arrays went through memory, 2 ns a term).
        k0 = np.uintp(4 * g)
        k1, k2, k3 = k0 + np.uintp(1), k0 + np.uintp(2), k0 + np.uintp(3)
        s0 = s1 = s2 = s3 = 0.0
        n0 = n1 = n2 = n3 = path.shape[0] - start
        if full:  # no NaN: every term counts
            for a in range(start, path.shape[0]):
                ti, rj = np.uintp(path[a, 0]), np.uintp(path[a, 1])
                s0 += abs(q_t[k0, ti] - ref_t[k0, rj]) * inv_t[k0, rj]
                s1 += abs(q_t[k1, ti] - ref_t[k1, rj]) * inv_t[k1, rj]
                s2 += abs(q_t[k2, ti] - ref_t[k2, rj]) * inv_t[k2, rj]
                s3 += abs(q_t[k3, ti] - ref_t[k3, rj]) * inv_t[k3, rj]
        else:
            n0 = n1 = n2 = n3 = 0
            for a in range(start, path.shape[0]):
                ti, rj = np.uintp(path[a, 0]), np.uintp(path[a, 1])
                d0, d1 = q_t[k0, ti] - ref_t[k0, rj], q_t[k1, ti] - ref_t[k1, rj]
                d2, d3 = q_t[k2, ti] - ref_t[k2, rj], q_t[k3, ti] - ref_t[k3, rj]
                s0, n0 = _path_term(s0, n0, d0, inv_t[k0, rj])
                s1, n1 = _path_term(s1, n1, d1, inv_t[k1, rj])
                s2, n2 = _path_term(s2, n2, d2, inv_t[k2, rj])
                s3, n3 = _path_term(s3, n3, d3, inv_t[k3, rj])
        for m, (s_m, n_m) in enumerate(((s0, n0), (s1, n1), (s2, n2), (s3, n3))):
            if 4 * g + m < n_angles:
                per_angle_sum[4 * g + m] = s_m
                per_angle_steps[4 * g + m] = n_m
    return total, steps, start


@njit(cache=True, nogil=True, fastmath=config.FASTMATH_FLAGS)
def _dtw_align(query, reference, scale, band_frac):  # type: ignore[no-untyped-def]
    """`exercises.alignment.dtw_align` in one call: (scale ok, total, non-empty steps,
    per-angle mean costs (K,) float32 (NaN where never observed), path (P, 2))."""
    t_len, n_angles = query.shape
    r_len = reference.shape[0]
    if not _scale_ok(scale):
        return False, 0.0, 0, np.empty(0, np.float32), np.empty((0, 2), np.int64)
    grid = _grid_work(t_len, r_len, n_angles)
    sums = np.empty(n_angles, np.float64)
    counts = np.empty(n_angles, np.int64)
    width = _band_width(t_len, r_len, band_frac)
    total, steps, start = _dtw_banded(
        query, reference, scale, width, grid, sums, counts
    )
    per_angle = np.empty(n_angles, np.float32)
    for k in range(n_angles):
        per_angle[k] = sums[k] / counts[k] if counts[k] > 0 else np.nan
    return True, total, steps, per_angle, grid[9][start:]


_F32_2D = types.float32[:, ::1]
_ALIGN_RESULT = types.Tuple(  # type: ignore[no-untyped-call]
    (types.boolean, types.float64, types.float32[::1], types.int64[:, :])
)


def _plain_align_args(query, reference, scale, band_frac):  # type: ignore[no-untyped-def]
    """Whether numba would match one of `_dtw_align_plain`'s signatures."""
    arrays = (query, reference) if scale is None else (query, reference, scale)
    return all(
        type(a) is np.ndarray
        and a.dtype == np.float32
        and a.flags.c_contiguous
        and a.flags.writeable
        for a in arrays
    ) and (query.ndim, reference.ndim, 2 if scale is None else scale.ndim) in (
        (2, 2, 1),
        (2, 2, 2),
    )


@njit(
    [_ALIGN_RESULT(_F32_2D, _F32_2D, s, types.float64) for s in SCALE_TYPES],
    cache=True,
    nogil=True,
    fastmath=config.FASTMATH_FLAGS,
)
def _dtw_align_plain_kernel(query, reference, scale, band_frac):  # type: ignore[no-untyped-def]
    """`_dtw_align` for the common argument types (compiled for them only), checking
    what the wrapper's full checks would: (ok, False when any value is off; mean cost
    per non-empty step, NaN if none; per-angle costs; path). Four values to box, not
    five, and the mean taken here."""
    t_len, k_count = query.shape
    r_len = reference.shape[0]
    rows, ok = _scale_view(scale, r_len, k_count)
    if not (
        ok
        and t_len > 0
        and r_len > 0
        and k_count > 0
        and reference.shape[1] == k_count
        and 0.0 <= band_frac <= 1.0
    ):
        return False, 0.0, np.empty(0, np.float32), np.empty((0, 2), np.int64)
    ok, total, steps, per_angle, path = _dtw_align(query, reference, rows, band_frac)
    return ok, total / steps if steps > 0 else np.nan, per_angle, path


_dtw_align_plain = plain_entry(_dtw_align_plain_kernel, _plain_align_args)
