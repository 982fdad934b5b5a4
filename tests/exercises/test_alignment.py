"""exercises/alignment.py: validation, semantics, streaming vs offline agreement."""

from __future__ import annotations

import math
from contextlib import nullcontext as does_not_raise

import numpy as np
import numpy.testing as npt
import pytest

from exercises.alignment import (
    Alignment,
    StreamingAligner,
    dtw_align,
    dtw_costs_batch,
    resample,
)
from tests import naive
from tests.factories import angle_walk

REF = np.linspace([170.0, 90.0], [80.0, 60.0], 21, dtype=np.float32)
Q = np.linspace([168.0, 92.0], [82.0, 58.0], 60, dtype=np.float32)


def _rep(n: int, depth: float = 90.0, phase: float = 0.0) -> np.ndarray:
    """A squat-like rep: knee and hip angles go down and back up over n frames."""
    s = np.sin(np.pi * (np.linspace(0.0, 1.0, n) + phase)) ** 2
    return np.stack([170 - depth * s, 160 - 0.8 * depth * s], axis=1).astype(np.float32)


@pytest.mark.parametrize(
    ("kwargs", "expectation"),
    [
        pytest.param({}, does_not_raise(), id="ok"),
        pytest.param(
            {"query": Q.tolist()}, pytest.raises(TypeError, match="numpy"), id="list"
        ),
        pytest.param(
            {"query": Q.astype(np.float64)},
            pytest.raises(
                ValueError,
                match=r"query must be \(T, K\) float32, got \(60, 2\) float64",
            ),
            id="float64",
        ),
        pytest.param(
            {"query": Q[:, 0].copy()},
            pytest.raises(ValueError, match=r"got \(60,\) float32"),
            id="1d",
        ),
        pytest.param(
            {"query": np.asfortranarray(Q)},
            pytest.raises(ValueError, match="C-contiguous"),
            id="fortran",
        ),
        pytest.param(
            {"reference": np.zeros((21, 3), np.float32)},
            pytest.raises(
                ValueError, match=r"reference must be \(R, 2\) float32, got \(21, 3\)"
            ),
            id="angle-count-mismatch",
        ),
        pytest.param(
            {"reference": np.zeros((0, 2), np.float32)},
            pytest.raises(ValueError, match="at least one row"),
            id="empty-reference",
        ),
        pytest.param(
            {"band_frac": -0.1},
            pytest.raises(ValueError, match="band_frac must be >= 0"),
            id="negative-band",
        ),
        pytest.param(
            {"band_frac": math.nan},
            pytest.raises(ValueError, match="band_frac"),
            id="nan-band",
        ),
        pytest.param(
            {"band_frac": "wide"},
            pytest.raises(TypeError, match="band_frac"),
            id="str-band",
        ),
        pytest.param(
            {"scale": np.full(2, 10, np.float32)}, does_not_raise(), id="scale-k"
        ),
        pytest.param(
            {"scale": np.full((21, 2), 10, np.float32)}, does_not_raise(), id="scale-rk"
        ),
        pytest.param(
            {"scale": np.full(3, 10, np.float32)},
            pytest.raises(
                ValueError, match=r"scale must be \(2,\) or \(21, 2\) float32"
            ),
            id="scale-wrong-shape",
        ),
        pytest.param(
            {"scale": np.array([10.0, 0.0], np.float32)},
            pytest.raises(ValueError, match="> 0"),
            id="scale-zero",
        ),
        pytest.param(
            {"scale": [10.0, 10.0]},
            pytest.raises(TypeError, match="scale"),
            id="scale-list",
        ),
    ],
)
def test_dtw_align_validation(kwargs, expectation):
    args = {"query": Q, "reference": REF, **kwargs}
    query, reference = args.pop("query"), args.pop("reference")
    with expectation:
        assert isinstance(dtw_align(query, reference, **args), Alignment)


def test_alignment_fields_and_normalisation():
    scale = np.array([10.0, 5.0], np.float32)
    result = dtw_align(Q, REF, band_frac=0.25, scale=scale)
    assert (
        result.per_angle_cost.dtype == np.float32
        and result.per_angle_cost.shape == (2,)
    )
    assert result.path.dtype == np.int64 and result.path.shape[1] == 2
    npt.assert_allclose(result.cost, result.per_angle_cost.mean(), rtol=1e-5)
    total, steps, path, per_sum, per_steps, _ = naive.dtw_banded(
        Q, REF, np.broadcast_to(scale, REF.shape).astype(np.float64), 0.25
    )
    npt.assert_allclose(result.cost, total / steps, rtol=1e-6)
    npt.assert_allclose(result.per_angle_cost, per_sum / per_steps, rtol=1e-6)
    npt.assert_array_equal(result.path, np.array(path))


def test_tolerance_scale_makes_cost_in_tolerance_units():
    still = np.full((21, 2), [170.0, 90.0], np.float32)  # holding a pose
    query = still[:15] + np.array([4.0, -2.0], np.float32)
    result = dtw_align(query, still, scale=np.array([4.0, 2.0], np.float32))
    # Every path costs the same here: each angle is exactly one tolerance off.
    npt.assert_allclose(result.per_angle_cost, [1.0, 1.0], rtol=1e-5)
    npt.assert_allclose(result.cost, 1.0, rtol=1e-5)


def test_all_nan_query_gives_nan_cost():
    result = dtw_align(np.full((5, 2), np.nan, np.float32), REF)
    assert math.isnan(result.cost) and np.isnan(result.per_angle_cost).all()
    assert tuple(result.path[-1]) == (4, 20)


def test_per_angle_cost_nan_for_an_angle_never_observed():
    query = Q.copy()
    query[:, 1] = np.nan
    result = dtw_align(query, REF)
    assert np.isnan(result.per_angle_cost[1]) and np.isfinite(result.per_angle_cost[0])
    npt.assert_allclose(result.cost, result.per_angle_cost[0], rtol=1e-5)


def test_batch_equals_one_alignment_per_query():
    rng = np.random.default_rng(4)
    lengths = np.array([40, 25, 60, 1, 33], np.int64)
    queries = np.full((5, 60, 2), np.nan, np.float32)
    for b, n in enumerate(lengths):
        queries[b, :n] = _rep(int(n), depth=rng.uniform(40, 100))
    scale = np.array([8.0, 6.0], np.float32)
    got = dtw_costs_batch(queries, lengths, REF, band_frac=0.2, scale=scale)
    assert got.dtype == np.float32 and got.shape == (5,)
    want = [
        dtw_align(
            np.ascontiguousarray(queries[b, :n]), REF, band_frac=0.2, scale=scale
        ).cost
        for b, n in enumerate(lengths)
    ]
    npt.assert_allclose(got, want, rtol=1e-5)


@pytest.mark.parametrize(
    ("queries", "lengths", "match"),
    [
        pytest.param(
            np.zeros((2, 5, 2), np.float64),
            np.array([5, 5]),
            "queries must be",
            id="dtype",
        ),
        pytest.param(
            np.zeros((2, 5), np.float32), np.array([5, 5]), "queries must be", id="2d"
        ),
        pytest.param(
            np.zeros((2, 5, 2), np.float32),
            np.array([5, 5], np.int32),
            r"lengths must be \(2,\) int64",
            id="int32",
        ),
        pytest.param(
            np.zeros((2, 5, 2), np.float32),
            np.array([5, 6]),
            r"lengths must be in \[1, 5\]",
            id="too-long",
        ),
        pytest.param(
            np.zeros((2, 5, 2), np.float32), np.array([0, 5]), r"in \[1, 5\]", id="zero"
        ),
        pytest.param(
            np.zeros((2, 5, 3), np.float32),
            np.array([5, 5]),
            r"reference must be \(R, 3\)",
            id="k",
        ),
    ],
)
def test_batch_validation(queries, lengths, match):
    with pytest.raises(ValueError, match=match):
        dtw_costs_batch(queries, lengths, REF)


def test_better_rep_scores_better():
    template = _rep(30)
    good = _rep(45)  # same movement, slower
    shallow = _rep(45, depth=40.0)  # a half squat
    costs = dtw_costs_batch(
        np.stack([good, shallow]),
        np.array([45, 45], np.int64),
        template,
        scale=np.array([10.0, 10.0], np.float32),
    )
    assert costs[0] < 0.2 and costs[1] > 5 * costs[0]


def test_streaming_matches_offline_subsequence_dtw():
    rng = np.random.default_rng(8)
    reference = _rep(9) + rng.normal(0, 1, (9, 2)).astype(np.float32)
    stream = np.concatenate([_rep(7), _rep(11), _rep(5)]) + rng.normal(
        0, 2, (23, 2)
    ).astype(np.float32)
    stream[4, 1] = np.nan
    scale = np.array([10.0, 7.0], np.float32)
    acc, steps = naive.subsequence_dtw(
        stream, reference, np.broadcast_to(scale, (9, 2))
    )
    aligner = StreamingAligner(reference, scale=scale)
    for t, sample in enumerate(stream):
        position = aligner.push(sample)
        means = acc[t] / steps[t]
        assert position.reference_index == int(np.argmin(means))
        npt.assert_allclose(position.cost, means.min(), rtol=1e-6)
        npt.assert_allclose(position.progress, position.reference_index / 8)


def test_streaming_follows_progress_through_repetitions():
    reference = _rep(20)
    aligner = StreamingAligner(reference, scale=np.array([10.0, 10.0], np.float32))
    progress = [aligner.push(s).progress for s in np.concatenate([_rep(33), _rep(27)])]
    first = np.array(progress[:33])
    # Monotone through the first rep, except the ambiguous standing poses at the ends.
    assert (np.diff(first[3:-3]) >= -0.06).all()
    assert first[16] == pytest.approx(0.5, abs=0.1)
    assert progress[33 + 13] == pytest.approx(
        0.5, abs=0.1
    )  # restarted for the second rep


def test_streaming_skips_missing_samples_and_resets():
    aligner = StreamingAligner(REF)
    first = aligner.push(np.full(2, np.nan, np.float32))
    assert math.isnan(first.cost) and (first.reference_index, first.progress) == (
        0,
        0.0,
    )
    for sample in REF[:11]:
        seen = aligner.push(sample)
    assert seen.reference_index == 10 and seen.cost == 0.0
    assert aligner.push(np.full(2, np.nan, np.float32)) == seen
    aligner.reset()
    assert math.isnan(aligner.push(np.full(2, np.nan, np.float32)).cost)


@pytest.mark.parametrize(
    ("sample", "error"),
    [
        pytest.param(np.zeros(3, np.float32), ValueError, id="k"),
        pytest.param(np.zeros(2, np.float64), ValueError, id="dtype"),
        pytest.param([0.0, 0.0], TypeError, id="list"),
    ],
)
def test_streaming_validation(sample, error):
    with pytest.raises(error, match="sample must be"):
        StreamingAligner(REF).push(sample)


def test_resample_is_linear_and_skips_nan():
    traj = np.array(
        [[0.0, 10.0], [np.nan, 20.0], [20.0, np.nan], [30.0, 40.0]], np.float32
    )
    out = resample(traj, 7)
    assert out.shape == (7, 2) and out.dtype == np.float32
    npt.assert_allclose(out[:, 0], [0, 5, 10, 15, 20, 25, 30])
    npt.assert_allclose(out[:, 1], [10, 15, 20, 25, 30, 35, 40])


def test_resample_nan_outside_the_observed_span_and_all_nan_column():
    traj = np.array([[np.nan, np.nan], [10.0, np.nan], [20.0, np.nan]], np.float32)
    out = resample(traj, 5)
    npt.assert_allclose(out[:, 0], [np.nan, np.nan, 10, 15, 20])
    assert np.isnan(out[:, 1]).all()


@pytest.mark.parametrize(
    ("traj", "n", "error"),
    [
        pytest.param(np.zeros((3, 2), np.float64), 4, ValueError, id="dtype"),
        pytest.param(np.zeros((0, 2), np.float32), 4, ValueError, id="empty"),
        pytest.param(np.zeros((3, 2), np.float32), 0, ValueError, id="n-zero"),
        pytest.param([[0.0]], 4, TypeError, id="list"),
    ],
)
def test_resample_validation(traj, n, error):
    with pytest.raises(error):
        resample(traj, n)


def test_resampled_reps_of_different_speed_match():
    fast, slow = resample(_rep(17), 30), resample(_rep(55), 30)
    npt.assert_allclose(fast, slow, atol=3.0)


@pytest.mark.parametrize(
    ("lengths", "r_len", "k_count", "band_frac", "nan"),
    [
        pytest.param([60], 21, 4, 0.25, "none", id="one-query-band"),
        pytest.param([60], 21, 4, 1.0, "none", id="one-query-full-grid"),
        pytest.param([1], 9, 2, 0.25, "none", id="length-1"),
        pytest.param([13, 1, 40], 17, 3, 0.0, "none", id="unequal-band-0"),
        pytest.param([9, 30], 30, 6, 0.3, "none", id="six-angles-two-groups"),
        pytest.param([50, 22], 12, 4, 0.25, "rows", id="nan-query-rows"),
        pytest.param([35, 18, 7], 15, 4, 0.4, "cells", id="nan-cells"),
        pytest.param([27], 11, 3, 0.25, "reference", id="nan-in-reference"),
        pytest.param([6, 10], 8, 2, 1.0, "all", id="an-all-nan-query"),
    ],
)
def test_small_batch_matches_naive(lengths, r_len, k_count, band_frac, nan):
    """Fewer queries than a chunk of lanes go one by one over the whole grid
    (`exercises.pair.kernels`): against the twin, NaN cases included."""
    rng = np.random.default_rng(len(lengths) * 100 + r_len)
    t_max = max(lengths)
    queries = np.full((len(lengths), t_max, k_count), np.nan, np.float32)
    for b, n in enumerate(lengths):
        queries[b, :n] = angle_walk(rng, n, k_count)
    reference = angle_walk(rng, r_len, k_count)
    if nan == "rows":
        queries[0, [3, 4, 20]] = np.nan
        queries[1, 0] = np.nan
    elif nan == "cells":
        queries[rng.uniform(size=queries.shape) < 0.2] = np.nan
    elif nan == "reference":
        reference[rng.uniform(size=reference.shape) < 0.2] = np.nan
    elif nan == "all":
        queries[1] = np.nan
    scale = rng.uniform(5.0, 30.0, k_count).astype(np.float32)
    got = dtw_costs_batch(
        queries,
        np.array(lengths, np.int64),
        reference,
        band_frac=band_frac,
        scale=scale,
    )
    want = naive.dtw_costs_batch(
        queries,
        lengths,
        reference,
        np.broadcast_to(scale, (r_len, k_count)),
        band_frac,
    )
    npt.assert_allclose(got, want, rtol=1e-5, equal_nan=True)
    assert np.isnan(got).any() == (nan == "all")


class _Array(np.ndarray):
    """A subclass: valid, but not the common case the wrappers test for first."""


@pytest.mark.parametrize(
    "convert",
    [
        pytest.param(lambda a: a.view(_Array), id="ndarray-subclass"),
        pytest.param(lambda a: a, id="plain"),
    ],
)
@pytest.mark.parametrize(
    "band_frac", [0.25, np.float64(0.25), 1, 3.0], ids=["float", "np", "int", "over-1"]
)
def test_common_case_and_full_checks_agree(convert, band_frac):
    """The wrappers' common case (kernels compiled for the plain types only) and
    their full checks lead to the same results (band_frac other than a float in
    [0, 1] takes the full checks; an ndarray subclass either, as numba types it)."""
    query, reference = convert(Q), convert(REF)
    want = dtw_align(Q, REF, band_frac=min(float(band_frac), 1.0))
    got = dtw_align(query, reference, band_frac=band_frac)
    assert got.cost == want.cost
    npt.assert_array_equal(got.path, want.path)
    npt.assert_array_equal(got.per_angle_cost, want.per_angle_cost)
    batch = dtw_costs_batch(
        convert(Q[None].copy()),
        np.array([60], np.int64),
        reference,
        band_frac=band_frac,
    )
    assert batch[0] == np.float32(want.cost)


def test_empty_batch_is_an_error():
    with pytest.raises(ValueError, match="queries must be"):
        dtw_costs_batch(np.zeros((0, 5, 2), np.float32), np.zeros(0, np.int64), REF)


def _read_only(a: np.ndarray) -> np.ndarray:
    a = a.copy()
    a.flags.writeable = False
    return a


@pytest.mark.parametrize(
    ("convert_query", "scale", "band_frac"),
    [
        pytest.param(lambda a: a, None, 0.25, id="plain"),
        pytest.param(_read_only, None, 0.25, id="read-only-query"),
        pytest.param(
            lambda a: a, _read_only(np.full(2, 9, np.float32)), 0.5, id="ro-k"
        ),
        pytest.param(lambda a: a, np.full(2, 9, np.float32), 0.0, id="scale-k-band-0"),
        pytest.param(
            lambda a: a, np.linspace([5, 9], [9, 5], 21, dtype=np.float32), 1.0, id="rk"
        ),
        pytest.param(lambda a: a, np.full(2, 9, np.float32), 1, id="int-band"),
    ],
)
def test_plain_kernels_and_full_checks_agree(convert_query, scale, band_frac):
    """The kernels compiled for the common types only (`_dtw_align_plain`,
    `_dtw_costs_plain`) and the generic ones behind the full checks (read-only arrays,
    a band_frac not a float) give the same results."""
    query = convert_query(Q)
    rows = np.ones((21, 2), np.float32) if scale is None else scale
    total, steps, path, *_ = naive.dtw_banded(
        Q, REF, np.broadcast_to(rows, (21, 2)), band_frac
    )
    got = dtw_align(query, REF, band_frac=band_frac, scale=scale)
    npt.assert_allclose(got.cost, total / steps, rtol=1e-6)
    npt.assert_array_equal(got.path, path)
    batch = dtw_costs_batch(
        convert_query(Q[None].copy()),
        np.array([60], np.int64),
        REF,
        band_frac=band_frac,
        scale=scale,
    )
    npt.assert_allclose(batch[0], total / steps, rtol=1e-6)


@pytest.mark.parametrize(
    ("scale", "band_frac", "expectation"),
    [
        pytest.param(
            np.full((1, 2), 9, np.float32),
            0.25,
            pytest.raises(ValueError, match=r"scale must be \(2,\) or \(21, 2\)"),
            id="scale-1k",
        ),
        pytest.param(
            np.full((21, 3), 9, np.float32),
            0.25,
            pytest.raises(ValueError, match=r"scale must be \(2,\) or \(21, 2\)"),
            id="scale-rk-wrong-k",
        ),
        pytest.param(
            np.array([9, math.inf], np.float32),
            0.25,
            pytest.raises(ValueError, match="finite"),
            id="scale-inf",
        ),
        pytest.param(None, 1.5, does_not_raise(), id="band-over-1"),
        pytest.param(
            None, True, pytest.raises(TypeError, match="band_frac"), id="bool"
        ),
        pytest.param(None, -0.0, does_not_raise(), id="band-minus-0"),
    ],
)
def test_plain_kernels_leave_errors_to_the_full_checks(scale, band_frac, expectation):
    """Values the plain kernels reject (they check in numba what the wrappers check in
    Python) raise the full checks' errors, from both wrappers."""
    with expectation:
        dtw_align(Q, REF, band_frac=band_frac, scale=scale)
    with expectation:
        dtw_costs_batch(
            Q[None].copy(),
            np.array([60], np.int64),
            REF,
            band_frac=band_frac,
            scale=scale,
        )
