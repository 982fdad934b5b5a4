"""exercises/kernels.py, exercises/pair/kernels.py and exercises/lanes/kernels.py
(DTW) against the twins in tests/naive.py, plus invariants."""

from __future__ import annotations

import math

import numpy as np
import numpy.testing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from exercises import kernels as k
from exercises.alignment import _band_width
from exercises.lanes import kernels as lk
from exercises.pair import kernels as pk
from tests import naive
from tests.factories import angle_walk


def _run_banded(query, reference, scale, band_frac):
    t_len, r_len = len(query), len(reference)
    grid = pk._grid_work(t_len, r_len, query.shape[1])
    per_sum = np.empty(query.shape[1])
    per_steps = np.empty(query.shape[1], np.int64)
    width = _band_width(t_len, r_len, min(band_frac, 1.0))
    total, steps, start = pk._dtw_banded(
        query, reference, scale, width, grid, per_sum, per_steps
    )
    acc = grid[4][1:, 1:]  # past the border row and column
    return total, steps, grid[9][start:], per_sum, per_steps, acc


def _scale(rng, r_len, k_count, per_row):
    if per_row:
        return rng.uniform(5.0, 30.0, (r_len, k_count))
    return np.broadcast_to(rng.uniform(5.0, 30.0, k_count), (r_len, k_count)).copy()


@pytest.mark.parametrize(
    ("t_len", "r_len", "k_count", "band_frac", "per_row_scale", "nan"),
    [
        pytest.param(30, 12, 4, 0.25, False, "none", id="rep-vs-template"),
        pytest.param(12, 30, 4, 0.25, True, "none", id="short-query-row-scale"),
        pytest.param(20, 20, 3, 0.0, False, "none", id="equal-lengths-band-0"),
        pytest.param(17, 9, 2, 0.0, False, "none", id="unequal-band-0"),
        pytest.param(15, 11, 3, 1.0, True, "none", id="full-grid"),
        pytest.param(15, 11, 3, 3.0, False, "none", id="band-over-1-is-full"),
        pytest.param(1, 7, 2, 0.25, False, "none", id="one-query-row"),
        pytest.param(7, 1, 2, 0.25, False, "none", id="one-reference-row"),
        pytest.param(1, 1, 1, 0.25, False, "none", id="one-by-one"),
        pytest.param(25, 14, 4, 0.3, True, "cells", id="nan-cells"),
        pytest.param(25, 14, 4, 0.3, False, "rows", id="nan-query-rows"),
        pytest.param(25, 14, 4, 0.3, False, "column", id="nan-angle-everywhere"),
        pytest.param(18, 10, 3, 0.2, False, "reference", id="nan-in-reference"),
    ],
)
def test_banded_dtw_matches_naive(t_len, r_len, k_count, band_frac, per_row_scale, nan):
    rng = np.random.default_rng(t_len * 100 + r_len)
    query = angle_walk(rng, t_len, k_count)
    reference = angle_walk(rng, r_len, k_count)
    scale = _scale(rng, r_len, k_count, per_row_scale)
    if nan == "cells":
        query[rng.uniform(size=query.shape) < 0.2] = np.nan
    elif nan == "rows":
        query[[2, 3, 10]] = np.nan  # nobody in view for three frames
    elif nan == "column":
        query[:, 1] = np.nan
    elif nan == "reference":
        reference[rng.uniform(size=reference.shape) < 0.2] = np.nan
    got = _run_banded(query, reference, scale, band_frac)
    want = naive.dtw_banded(query, reference, scale, band_frac)
    npt.assert_allclose(got[0], want[0], rtol=1e-6)
    assert got[1] == want[1]
    npt.assert_array_equal(got[2], np.array(want[2], np.int64))
    npt.assert_allclose(got[3], want[3], rtol=1e-6)
    npt.assert_array_equal(got[4], want[4])
    npt.assert_allclose(got[5], want[5], rtol=1e-6)  # inf outside the band on both
    assert np.isfinite(got[5]).sum() >= t_len + r_len - 1


def test_nan_rows_are_skipped_not_charged():
    rng = np.random.default_rng(1)
    query = angle_walk(rng, 20, 3)
    reference = angle_walk(rng, 12, 3)
    scale = np.ones((12, 3))
    holed = query.copy()
    holed[5:8] = np.nan
    total, steps, path, *_ = _run_banded(holed, reference, scale, 1.0)
    on_gap = np.isin(path[:, 0], [5, 6, 7]).sum()
    assert steps == len(path) - on_gap
    assert on_gap >= 3
    full_total, *_ = _run_banded(query, reference, scale, 1.0)
    # Dropping the gap's rows can only lower the cost: their cells were free to route.
    assert total <= full_total + 1e-9


def test_nan_angle_is_ignored_in_that_step():
    reference = np.array([[10.0, 20.0]], np.float32)
    query = np.array([[12.0, np.nan]], np.float32)
    total, steps, _, per_sum, per_steps, _ = _run_banded(
        query, reference, np.array([[2.0, 5.0]]), 0.25
    )
    assert (total, steps) == (1.0, 1)  # |12 - 10| / 2, the NaN angle left out
    npt.assert_array_equal(per_steps, [1, 0])
    npt.assert_allclose(per_sum, [1.0, 0.0])


@pytest.mark.parametrize("band_frac", [0.0, 0.1, 0.25, 1.0], ids=lambda b: f"band-{b}")
def test_one_by_one_costs_match_full_and_naive_batch(band_frac):
    rng = np.random.default_rng(11)
    b_count, t_max, k_count, r_len = 7, 26, 3, 13
    queries = np.full((b_count, t_max, k_count), np.nan, np.float32)
    lengths = rng.integers(1, t_max + 1, b_count).astype(np.int64)
    lengths[0], lengths[1] = 1, t_max
    for b, n in enumerate(lengths):
        queries[b, :n] = angle_walk(rng, int(n), k_count)
    queries[2, 3, 1] = np.nan
    queries[3, : min(2, lengths[3])] = np.nan
    reference = angle_walk(rng, r_len, k_count)
    scale = _scale(rng, r_len, k_count, per_row=True)
    widths = np.array([_band_width(int(n), r_len, band_frac) for n in lengths])
    out = np.empty(b_count)
    lk._dtw_costs_batch(queries, lengths, reference, scale, widths, out)
    want = naive.dtw_costs_batch(queries, lengths, reference, scale, band_frac)
    npt.assert_allclose(out, want, rtol=1e-6, equal_nan=True)
    for b, n in enumerate(lengths):
        total, steps, *_ = _run_banded(
            np.ascontiguousarray(queries[b, :n]), reference, scale, band_frac
        )
        npt.assert_allclose(out[b], total / steps if steps else math.nan, rtol=1e-12)


def test_batch_of_all_nan_query_is_nan():
    queries = np.full((1, 4, 2), np.nan, np.float32)
    out = np.empty(1)
    reference = np.zeros((3, 2), np.float32)
    lk._dtw_costs_batch(
        queries,
        np.array([4], np.int64),
        reference,
        np.ones((3, 2)),
        np.array([_band_width(4, 3, 0.25)]),
        out,
    )
    assert np.isnan(out[0])


def _batch(queries, lengths, reference, scale, band_frac, min_chunk):
    widths = np.array([_band_width(int(n), len(reference), band_frac) for n in lengths])
    out = np.full(len(lengths), -1.0)
    lk._dtw_costs_batch(queries, lengths, reference, scale, widths, out, min_chunk)
    return out


@pytest.mark.parametrize(
    ("b_count", "k_count", "band_frac", "nan"),
    [
        pytest.param(70, 4, 0.25, "none", id="chunk-and-a-rest"),
        pytest.param(lk.CHUNK + lk.MIN_LANES - 1, 4, 0.25, "cells", id="a-padded-rest"),
        pytest.param(20, 3, 1.0, "none", id="full-grid"),
        pytest.param(20, 5, 0.0, "none", id="band-0-five-angles"),
        pytest.param(20, 1, 0.25, "none", id="one-angle"),
        pytest.param(24, 4, 0.25, "cells", id="nan-cells"),
        pytest.param(24, 4, 0.25, "rows", id="nan-query-rows"),
        pytest.param(16, 6, 0.3, "reference", id="nan-in-reference"),
        pytest.param(16, 2, 0.25, "all", id="an-all-nan-query"),
    ],
)
def test_chunk_kernel_matches_one_by_one_and_naive(b_count, k_count, band_frac, nan):
    """`_dtw_cost_chunk` (lanes of queries of different lengths, each in its own band,
    min_chunk=1 puts every query in a chunk; a chunk of fewer than MIN_LANES queries
    is padded with copies of its last one) against the one-by-one kernel and the
    twin, with and without NaN (the NaN-free fast path and the NaN-aware one)."""
    rng = np.random.default_rng(b_count * 10 + k_count)
    t_max, r_len = 19, 11
    lengths = rng.integers(1, t_max + 1, b_count).astype(np.int64)
    lengths[:3] = [1, t_max, 2]
    lengths[3:6] = 7  # equal lengths share a band
    queries = np.full((b_count, t_max, k_count), np.nan, np.float32)
    for b, n in enumerate(lengths):
        queries[b, :n] = angle_walk(rng, int(n), k_count)
    reference = angle_walk(rng, r_len, k_count)
    if nan == "cells":
        queries[rng.uniform(size=queries.shape) < 0.15] = np.nan
    elif nan == "rows":
        queries[1, [2, 3, 9]] = np.nan
        queries[5, 0] = np.nan
    elif nan == "reference":
        reference[rng.uniform(size=reference.shape) < 0.2] = np.nan
    elif nan == "all":
        queries[4] = np.nan
    scale = _scale(rng, r_len, k_count, per_row=True)
    chunked = _batch(queries, lengths, reference, scale, band_frac, 1)
    single = _batch(queries, lengths, reference, scale, band_frac, 10**9)
    want = naive.dtw_costs_batch(queries, lengths, reference, scale, band_frac)
    npt.assert_allclose(chunked, single, rtol=1e-12, equal_nan=True)
    npt.assert_allclose(chunked, want, rtol=1e-6, equal_nan=True)
    assert np.isnan(chunked[4]) == (nan == "all")


@settings(max_examples=25, deadline=None)
@given(
    queries=hnp.arrays(
        np.float32,
        st.tuples(st.integers(1, 12), st.integers(1, 9), st.just(3)),
        elements=st.floats(0.0, 180.0, width=32) | st.just(np.nan),
    ),
    reference=hnp.arrays(
        np.float32,
        st.tuples(st.integers(1, 8), st.just(3)),
        elements=st.floats(0.0, 180.0, width=32),
    ),
    band_frac=st.floats(0.0, 1.2),
    data=st.data(),
)
def test_chunk_kernel_matches_naive_on_any_batch(queries, reference, band_frac, data):
    lengths = np.array(
        data.draw(
            st.lists(
                st.integers(1, queries.shape[1]),
                min_size=len(queries),
                max_size=len(queries),
            )
        ),
        np.int64,
    )
    scale = np.full((len(reference), 3), 11.0)
    chunked = _batch(queries, lengths, reference, scale, band_frac, 1)
    want = naive.dtw_costs_batch(queries, lengths, reference, scale, band_frac)
    npt.assert_allclose(chunked, want, rtol=1e-6, atol=1e-12, equal_nan=True)
    single = _batch(queries, lengths, reference, scale, band_frac, 10**9)
    npt.assert_allclose(chunked, single, rtol=1e-12, atol=1e-15, equal_nan=True)


@pytest.mark.parametrize("k_count", [1, 3, 4, 6], ids=lambda n: f"{n}-angles")
def test_nan_free_fast_paths_equal_the_nan_aware_paths(k_count):
    """Without NaN, the fast cost paths (taken when neither the query row nor the
    reference has NaN) give what the NaN-aware paths give on the same data: the
    NaN-aware ones are forced by telling the lanes the reference has NaN, and the
    one-by-one kernel by its nan_aware flag."""
    rng = np.random.default_rng(k_count)
    lengths = rng.integers(5, 30, 40).astype(np.int64)
    queries = np.stack([angle_walk(rng, 30, k_count) for _ in lengths])
    reference = angle_walk(rng, 13, k_count)
    scale = _scale(rng, 13, k_count, per_row=True)
    prepared = lk._prepare(reference, scale)
    assert prepared[3]  # no NaN in the reference: the fast paths apply
    forced = (*prepared[:3], False, *prepared[4:])
    widths = np.array([_band_width(int(n), 13, 0.25) for n in lengths])
    for chunk in (True, False):
        fast = np.empty(40)
        slow = np.empty(40)
        members = np.argsort(lengths, kind="mergesort")
        if chunk:
            work = _chunk_work(prepared, 13, 40, 30)
            lk._dtw_cost_chunk(queries, lengths, widths, members, prepared, work, fast)
            lk._dtw_cost_chunk(queries, lengths, widths, members, forced, work, slow)
        else:
            for b in range(40):
                fast[b] = _one(queries[b], lengths[b], reference, scale, widths[b], 0)
                slow[b] = _one(queries[b], lengths[b], reference, scale, widths[b], 1)
        npt.assert_allclose(fast, slow, rtol=1e-14)
        want = naive.dtw_costs_batch(queries, lengths, reference, scale, 0.25)
        npt.assert_allclose(fast, want, rtol=1e-6)


@settings(max_examples=40, deadline=None)
@given(lengths=st.lists(st.integers(1, 9), min_size=1, max_size=40))
def test_order_by_length_is_a_stable_sort(lengths):
    lengths = np.array(lengths, np.int64)
    npt.assert_array_equal(
        lk._order_by_length(lengths, 9), np.argsort(lengths, kind="stable")
    )


def _chunk_work(prepared, r_len, c_n, t_max):
    return lk._chunk_work(prepared[0].shape[0], r_len, t_max, c_n)


def _one(query, t_len, reference, scale, width, nan_aware):
    grid = pk._grid_work(t_len, *reference.shape)
    ref_full = pk._grid_reference(reference, scale, *grid[:3])
    total, steps, _, _ = pk._grid_dtw(
        query, t_len, reference, width, grid, ref_full, bool(nan_aware)
    )
    return total / steps


@pytest.mark.parametrize(
    ("t_len", "r_len", "nan"),
    [
        pytest.param(14, 6, False, id="longer-stream"),
        pytest.param(5, 9, False, id="shorter-stream"),
        pytest.param(12, 5, True, id="nan-angles"),
    ],
)
def test_subsequence_step_matches_brute_force_subsequence_dtw(t_len, r_len, nan):
    rng = np.random.default_rng(t_len + 7 * r_len)
    query = angle_walk(rng, t_len, 3)
    reference = angle_walk(rng, r_len, 3)
    if nan:
        query[rng.uniform(size=query.shape) < 0.25] = np.nan
        query[np.isnan(query).all(axis=1), 0] = 90.0  # all-NaN rows are the wrapper's
    scale = _scale(rng, r_len, 3, per_row=True)
    acc_want, steps_want = naive.subsequence_dtw(query, reference, scale)
    acc = np.full(r_len, np.inf)
    steps = np.zeros(r_len, np.int64)
    for t in range(t_len):
        j, cost = k._subsequence_step(query[t : t + 1], reference, scale, acc, steps)
        npt.assert_allclose(acc, acc_want[t], rtol=1e-6)
        npt.assert_array_equal(steps, steps_want[t])
        means = acc_want[t] / steps_want[t]
        assert j == int(np.argmin(means))
        npt.assert_allclose(cost, means.min(), rtol=1e-6)


def test_subsequence_finds_the_reference_inside_a_longer_stream():
    rng = np.random.default_rng(5)
    reference = angle_walk(rng, 15, 2)
    stream = np.concatenate(
        [angle_walk(rng, 30, 2) + 60, reference, angle_walk(rng, 10, 2) - 60]
    )
    acc = np.full(15, np.inf)
    steps = np.zeros(15, np.int64)
    for t in range(45):
        j, cost = k._subsequence_step(
            stream[t : t + 1], reference, np.ones((15, 2)), acc, steps
        )
    assert (j, cost) == (14, 0.0)
    assert acc[14] == 0.0 and steps[14] == 15


def test_identical_sequences_cost_zero_on_the_diagonal():
    rng = np.random.default_rng(2)
    x = angle_walk(rng, 25, 4)
    total, steps, path, per_sum, *_ = _run_banded(x, x.copy(), np.ones((25, 4)), 0.1)
    assert total == 0.0 and steps == 25
    npt.assert_array_equal(path, np.stack([np.arange(25), np.arange(25)], axis=1))
    npt.assert_array_equal(per_sum, 0.0)


def test_time_warped_copy_costs_less_than_a_different_movement():
    t = np.linspace(0, 1, 40)
    ref = np.stack(
        [90 + 60 * np.sin(2 * np.pi * t), 120 - 30 * np.cos(2 * np.pi * t)], 1
    )
    warp = t**1.6  # slow start, fast finish
    warped = np.stack(
        [90 + 60 * np.sin(2 * np.pi * warp), 120 - 30 * np.cos(2 * np.pi * warp)], 1
    )
    other = np.stack([90 + 60 * np.sin(4 * np.pi * t), 120 + 0 * t], 1)
    scale = np.full((40, 2), 10.0)
    reference = ref.astype(np.float32)
    warped_cost = _run_banded(warped.astype(np.float32), reference, scale, 0.25)
    other_cost = _run_banded(other.astype(np.float32), reference, scale, 0.25)
    euclid = np.abs(warped - ref).mean() / 10.0  # the unwarped, lock-step comparison
    assert warped_cost[0] / warped_cost[1] < 0.5 * euclid
    assert warped_cost[0] / warped_cost[1] < 0.25 * other_cost[0] / other_cost[1]


def test_band_zero_on_equal_lengths_stays_within_one_of_the_diagonal():
    rng = np.random.default_rng(9)
    *_, acc = _run_banded(
        angle_walk(rng, 12, 2), angle_walk(rng, 12, 2), np.ones((12, 2)), 0.0
    )
    i, j = np.nonzero(np.isfinite(acc))
    assert np.abs(i - j).max() == 1


def _trajectories(min_len=1, max_len=12, k_count=2):
    return hnp.arrays(
        np.float32,
        st.tuples(st.integers(min_len, max_len), st.just(k_count)),
        elements=st.floats(0.0, 180.0, width=32),
    )


@settings(max_examples=60, deadline=None)
@given(
    query=_trajectories(),
    reference=_trajectories(),
    band_frac=st.floats(0.0, 1.5),
)
def test_cost_is_non_negative_and_path_is_a_valid_warping(query, reference, band_frac):
    total, steps, path, per_sum, _, acc = _run_banded(
        query, reference, np.full((len(reference), 2), 7.0), band_frac
    )
    assert total >= 0.0 and (per_sum >= 0).all()
    assert tuple(path[0]) == (0, 0)
    assert tuple(path[-1]) == (len(query) - 1, len(reference) - 1)
    moves = np.diff(path, axis=0)
    assert (
        (moves == [1, 1]).all(1) | (moves == [1, 0]).all(1) | (moves == [0, 1]).all(1)
    ).all()
    assert np.isfinite(acc[path[:, 0], path[:, 1]]).all()  # the path stays in the band
    assert steps == len(path)


@settings(max_examples=60, deadline=None)
@given(query=_trajectories(), reference=_trajectories(), tol=st.floats(1.0, 40.0))
def test_full_band_cost_is_symmetric_in_query_and_reference(query, reference, tol):
    fwd = _run_banded(query, reference, np.full((len(reference), 2), tol), 1.0)
    bwd = _run_banded(reference, query, np.full((len(query), 2), tol), 1.0)
    npt.assert_allclose(fwd[0], bwd[0], rtol=1e-6, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    query=_trajectories(min_len=2),
    reference=_trajectories(min_len=2),
    narrow=st.floats(0.0, 0.5),
    extra=st.floats(0.0, 0.6),
)
def test_wider_band_never_costs_more(query, reference, narrow, extra):
    scale = np.full((len(reference), 2), 9.0)
    tight = _run_banded(query, reference, scale, narrow)[0]
    wide = _run_banded(query, reference, scale, narrow + extra)[0]
    assert wide <= tight + 1e-9


@settings(max_examples=60, deadline=None)
@given(
    query=_trajectories(),
    reference=_trajectories(),
    band_frac=st.floats(0.0, 1.0),
)
def test_units_do_not_matter_degrees_or_radians(query, reference, band_frac):
    """Costs are in tolerance units: converting angles and tolerances is a no-op."""
    scale = np.full((len(reference), 2), 12.0)
    deg = _run_banded(query, reference, scale, band_frac)
    rad = _run_banded(
        np.radians(query).astype(np.float32),
        np.radians(reference).astype(np.float32),
        np.radians(scale),
        band_frac,
    )
    npt.assert_allclose(rad[0], deg[0], rtol=1e-4, atol=1e-4)


@settings(max_examples=60, deadline=None)
@given(query=_trajectories(), reference=_trajectories(), band_frac=st.floats(0.0, 1.0))
def test_an_unobserved_angle_changes_nothing(query, reference, band_frac):
    def with_nan_column(x):
        return np.ascontiguousarray(
            np.concatenate([x, np.full((len(x), 1), np.nan, np.float32)], axis=1)
        )

    base = _run_banded(query, reference, np.full((len(reference), 2), 5.0), band_frac)
    more = _run_banded(
        with_nan_column(query),
        with_nan_column(reference),
        np.full((len(reference), 3), 5.0),
        band_frac,
    )
    npt.assert_allclose(more[0], base[0], rtol=1e-6)
    assert more[1] == base[1] and more[4][2] == 0
