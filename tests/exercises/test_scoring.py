"""exercises.scoring: cost -> score, reference cropping, DTW scoring of trajectories."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from exercises.scoring import (
    COST_HALF,
    REFERENCE_SAMPLES,
    cost_to_score,
    crop_reference,
    path_cost,
    phase_span,
    resample_in_time,
    score_static,
    score_trajectory,
)
from exercises.spec import Condition, Phase, Reference

T = tuple(i / 20 for i in range(21))
KNEE = tuple(172 - 46 * (1 - math.cos(2 * math.pi * t)) for t in T)  # 172 -> 80 -> 172
REF = Reference(t=T, channels=("knee",), values=(KNEE,), tolerance=(15.0,))
UP = Phase("up", (Condition("knee", min=160.0),))
DOWN = Phase("down", (Condition("knee", max=110.0),))


def rep(values: np.ndarray, duration_ms: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    t = np.linspace(0, duration_ms, len(values)).astype(np.int64)
    return t, np.asarray(values, np.float32).reshape(len(values), -1)


def ref_curve(n: int = 61, offset: float = 0.0) -> np.ndarray:
    s = np.linspace(0, 1, n)
    return np.interp(s, T, KNEE) + offset


@pytest.mark.parametrize(
    ("cost", "expected"),
    [
        pytest.param(0.0, 100.0, id="perfect"),
        pytest.param(1.0, 85.8, id="one-tolerance"),
        pytest.param(COST_HALF, 50.0, id="half"),
        pytest.param(4.0, 14.2, id="far"),
        pytest.param(-1.0, 100.0, id="negative-clamped"),
    ],
)
def test_cost_to_score(cost: float, expected: float) -> None:
    assert cost_to_score(cost) == pytest.approx(expected, abs=0.1)


def test_cost_to_score_is_monotone_and_nan_safe() -> None:
    costs = np.linspace(0, 10, 101)
    scores = [cost_to_score(float(c)) for c in costs]
    assert all(a > b for a, b in itertools.pairwise(scores))
    assert math.isnan(cost_to_score(math.nan))


def test_phase_span_finds_the_threshold_crossings() -> None:
    span = phase_span(REF, [UP, DOWN, UP])
    assert span is not None
    # knee = 160 where 46 * (1 - cos 2 pi t) = 12: t = acos(1 - 12/46) / 2 pi.
    t0 = math.acos(1 - 12 / 46) / (2 * math.pi)
    assert span[0] == pytest.approx(t0, abs=0.006)
    assert span[1] == pytest.approx(1 - t0, abs=0.006)


def test_phase_span_none_when_phases_cannot_be_judged_or_reached() -> None:
    other = Phase("x", (Condition("hip", max=90.0),))
    assert phase_span(REF, [UP, other, UP]) is None
    deep = Phase("deep", (Condition("knee", max=60.0),))
    assert phase_span(REF, [UP, deep, UP]) is None
    assert phase_span(REF, [UP]) is None


def test_own_reference_scores_full_marks() -> None:
    t, q = rep(ref_curve())
    result = score_trajectory(REF, ("knee",), t, q, crop=False)
    assert result.score == pytest.approx(100.0, abs=0.5)
    assert result.breakdown == {"knee": pytest.approx(100.0, abs=0.5)}


@pytest.mark.parametrize(
    ("offset", "low", "high"),
    [
        pytest.param(7.5, 95.0, 100.0, id="half-band"),
        pytest.param(15.0, 84.0, 88.0, id="at-band-edge"),
        pytest.param(45.0, 0.0, 30.0, id="three-bands-off"),
    ],
)
def test_offset_scores_by_band(offset: float, low: float, high: float) -> None:
    t, q = rep(ref_curve(offset=offset))
    score = score_trajectory(REF, ("knee",), t, q, crop=False).score
    assert low <= score <= high


def test_pace_does_not_matter_but_depth_does() -> None:
    slow_t, slow_q = rep(ref_curve(180), duration_ms=6000)
    fast_t, fast_q = rep(ref_curve(31), duration_ms=1000)
    assert score_trajectory(REF, ("knee",), slow_t, slow_q, crop=False).score >= 99
    assert score_trajectory(REF, ("knee",), fast_t, fast_q, crop=False).score >= 99
    shallow = 172 - (172 - ref_curve()) * 0.5  # half the depth
    t, q = rep(shallow)
    assert score_trajectory(REF, ("knee",), t, q, crop=False).score < 70


def test_crop_to_phase_span_matches_a_threshold_to_threshold_rep() -> None:
    span = phase_span(REF, [UP, DOWN, UP])
    assert span is not None
    s = np.linspace(span[0], span[1], 50)
    t, q = rep(np.interp(s, T, KNEE))
    cropped = score_trajectory(REF, ("knee",), t, q, span=span)
    uncropped = score_trajectory(REF, ("knee",), t, q, crop=False)
    assert cropped.span == span
    assert cropped.score >= 99.0
    assert cropped.score > uncropped.score


def test_crop_reference_matches_observed_ends() -> None:
    rows, span = crop_reference(
        REF, ("knee",), np.array([150.0], np.float32), np.array([150.0], np.float32)
    )
    assert rows.shape == (REFERENCE_SAMPLES, 1)
    assert rows[0, 0] == pytest.approx(150.0, abs=1.0)
    assert rows[-1, 0] == pytest.approx(150.0, abs=1.0)
    assert rows.min() == pytest.approx(80.0, abs=0.5)  # the turning point stays in
    assert 0 < span[0] < 0.5 < span[1] < 1


def test_nan_samples_are_bridged_and_empty_channels_dropped() -> None:
    t, q = rep(ref_curve())
    q[10:15] = np.nan
    two = np.concatenate([q, np.full_like(q, np.nan)], axis=1)
    ref2 = Reference(T, ("knee", "hip"), (KNEE, KNEE), (15.0, 15.0))
    result = score_trajectory(ref2, ("knee", "hip"), t, two, crop=False)
    assert result.score >= 99
    assert set(result.breakdown) == {"knee"}
    empty = score_trajectory(REF, ("knee",), t, np.full_like(q, np.nan), crop=False)
    assert math.isnan(empty.score) and empty.breakdown == {}


def test_resample_in_time_uses_timestamps() -> None:
    t = np.array([0, 100, 1000], np.int64)
    v = np.array([[0.0], [10.0], [100.0]], np.float32)
    out = resample_in_time(t, v, 11)
    assert out[:, 0] == pytest.approx(np.linspace(0, 100, 11), abs=1e-4)


def test_path_cost_counts_every_reference_row() -> None:
    # A query that sits at rest while the reference goes down and back: the DTW's
    # per-step mean is diluted by the many rest steps; the path cost is not.
    query = np.full((40, 1), 172.0, np.float32)
    reference = np.asarray(ref_curve(40), np.float32).reshape(-1, 1)
    path = np.array([(min(i, 39), i) for i in range(40)], np.int64)
    cost, per = path_cost(query, reference, np.array([15.0], np.float32), path)
    assert cost == pytest.approx(
        float(np.abs(reference[:, 0] - 172).mean() / 15), rel=1e-6
    )
    assert per[0] == pytest.approx(cost)


def test_score_static() -> None:
    result = score_static(
        {"a": 180.0, "b": 0.0},
        {"a": 10.0, "b": 5.0},
        {"a": [175.0, 185.0], "b": [math.nan]},
    )
    assert set(result.breakdown) == {"a"}
    assert result.cost == pytest.approx(0.5)
    assert result.score == pytest.approx(cost_to_score(0.5), abs=0.05)
    assert math.isnan(score_static({"a": 1.0}, {"a": 1.0}, {}).score)
