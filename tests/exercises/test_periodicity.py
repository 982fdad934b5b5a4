"""exercises/periodicity.py: the candidates weighed all at once give each candidate
exactly the numbers it got weighed alone (a refit's choice must not move by a bit)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from exercises import periodicity, signal
from exercises.periodicity import SignalSettings, frame_features
from tests.conftest import shared_data_path
from vision.types import Skeleton

SETTINGS = SignalSettings(
    min_period=6,
    max_period=90,
    num_components=3,
    first_peak_fraction=0.7,
    guide_strength=0.8,
    range_floor=0.3,
    threshold=0.5,
    min_body_range=0.05,
    min_angle_range_deg=10.0,
)


def _strength_alone(x, ok, settings, max_lag):
    """One candidate's (lag, strength), as `choose_signal` computed it one by one (its
    short gaps seen: the candidates are bridged there)."""
    ok = signal.short_gaps_seen(ok, settings.min_period // 4)
    valid = x[ok]
    sd = float(valid.std())
    if not sd > 0:
        return -1, 0.0
    z = np.where(ok, (x - valid.mean()) / sd, 0.0)
    return signal.acf_period(
        signal.autocorrelation(z, max_lag),
        settings.min_period,
        max_lag,
        settings.first_peak_fraction,
    )


def _seen_alone(column, ok, half, least_finite):
    """One channel detrended, as `choose_signal` did it column by column."""
    if np.isfinite(column[ok]).sum() < least_finite:
        return None
    filled = signal.bridge_gaps(np.where(ok, column, np.nan))
    if not np.isfinite(filled).all():
        return None
    return filled - signal.moving_mean(filled, half)


def _random_rows(rng, c, t):
    """(c, t) signals of every kind a refit meets: periodic, noisy, drifting, flat,
    with spikes."""
    lag = rng.uniform(5, 60)
    x = np.sin(2 * np.pi * np.arange(t) / lag)[None] * rng.uniform(0.01, 50, (c, 1))
    x += rng.standard_normal((c, t)) * rng.uniform(0, 1, (c, 1))
    x += np.linspace(0, rng.uniform(-5, 5), t)
    x[rng.random(c) < 0.2] = rng.uniform(-1, 1)  # flat rows
    return x


def _real_windows():
    """Feature windows of real recordings (RepCount poses), as a refit slices them."""
    rows = np.load(shared_data_path("repcount-dev", "poses", "stu10_5.npy"))
    xyz = np.ascontiguousarray(rows[:, :99].reshape(-1, 33, 3), np.float32)
    missing = ~rows.any(axis=1)
    xyz[missing] = np.nan
    vis = np.where(missing[:, None], 0.0, 1.0).astype(np.float32) * np.ones(33)
    features = frame_features(xyz, vis.astype(np.float32), Skeleton.BLAZEPOSE_33)
    for end in range(60, xyz.shape[0], 97):
        start = max(0, end - 600)
        yield (
            features.coords[start:end],
            features.angles[start:end],
            features.valid[start:end],
        )


@pytest.mark.parametrize("seed", range(40))
def test_strengths_match_one_by_one_on_random_signals(seed):
    rng = np.random.default_rng(seed)
    t = int(rng.integers(2, 700))
    xs = _random_rows(rng, int(rng.integers(1, 12)), t)
    ok = rng.random(t) < rng.uniform(0.3, 1.0)
    max_lag = max(1, min(SETTINGS.max_period, t // 2))
    expected = [_strength_alone(x, ok, SETTINGS, max_lag) for x in xs]
    assert periodicity._strengths(xs, ok, SETTINGS, max_lag) == expected


def test_short_gaps_seen():
    ok = np.array([0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0], bool)
    want = np.array([0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0], bool)
    np.testing.assert_array_equal(signal.short_gaps_seen(ok, 2), want)
    np.testing.assert_array_equal(signal.short_gaps_seen(ok, 0), ok)
    rows = signal.short_gaps_seen(np.stack([ok, ~ok]), 1)
    np.testing.assert_array_equal(rows[0], [0, 1, 1, 1, 0, 0, 1, 0, 0, 0, 1, 0])
    np.testing.assert_array_equal(rows[1], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1])


def _short_gaps_seen_alone(ok, longest):
    """`signal.short_gaps_seen` gap by gap, row by row."""
    out = np.array(ok, bool)
    for row in out.reshape(-1, out.shape[-1]):
        seen = np.flatnonzero(row)
        for a, b in itertools.pairwise(seen):
            if 0 < b - a - 1 <= longest:
                row[a + 1 : b] = True
    return out


@pytest.mark.parametrize("seed", range(20))
def test_short_gaps_seen_is_gap_by_gap(seed):
    rng = np.random.default_rng(seed)
    for _ in range(50):
        shape = tuple(rng.integers(1, 40, int(rng.integers(1, 3))))
        ok = rng.random(shape) < rng.uniform(0, 1)
        longest = int(rng.integers(0, 5))
        want = _short_gaps_seen_alone(ok, longest)
        np.testing.assert_array_equal(signal.short_gaps_seen(ok, longest), want)


@pytest.mark.parametrize("seed", range(5))
def test_frames_lost_one_at_a_time_do_not_weaken_a_period(seed):
    """A fifth of the frames lost, each alone (a detector missing one now and then),
    the signal bridged over them as `choose_signal`'s candidates are: the same period
    and about the strength of the whole signal. Over the seen frames only (the lost
    ones as zeros in the autocorrelation) the strength fell by about a fifth."""
    rng = np.random.default_rng(seed)
    t = 600
    x = np.sin(2 * np.pi * np.arange(t) / 40) + rng.normal(0, 0.2, t)
    ok = rng.random(t) > 0.2
    ok[1:] |= ~ok[:-1]  # no two lost in a row
    bridged = signal.bridge_gaps(np.where(ok, x, np.nan))
    (lag, strength), *_ = periodicity._strengths(bridged[None], ok, SETTINGS, 90)
    (whole_lag, whole), *_ = periodicity._strengths(x[None], ok | True, SETTINGS, 90)
    assert abs(lag - whole_lag) <= 1 and lag in range(38, 43)
    assert strength == pytest.approx(whole, abs=0.05)


@pytest.mark.parametrize("seed", range(30))
def test_strengths_with_each_rows_own_frames_match_one_by_one(seed):
    """`_local_period`'s stretches: every row seen over frames of its own ((C, T)
    `ok`), each row's numbers exactly as alone, flat rows included."""
    rng = np.random.default_rng(seed)
    t = int(rng.integers(2, 400))
    xs = _random_rows(rng, int(rng.integers(1, 12)), t)
    ok = rng.random(xs.shape) < rng.uniform(0.3, 1.0, (xs.shape[0], 1))
    ok[:, rng.integers(0, t)] = True  # (a stretch is taken when half is seen)
    max_lag = max(1, min(SETTINGS.max_period, t // 2))
    pairs = zip(xs, ok, strict=True)
    expected = [_strength_alone(x, o, SETTINGS, max_lag) for x, o in pairs]
    assert periodicity._strengths(xs, ok, SETTINGS, max_lag) == expected


def test_strengths_match_one_by_one_on_real_windows():
    rng = np.random.default_rng(0)
    for coords, angles, valid in _real_windows():
        t = coords.shape[0]
        max_lag = min(SETTINGS.max_period, t // 2)
        bridged = np.nan_to_num(signal.bridge_gaps(coords))
        seen = signal.bridge_gaps(np.where(valid[:, None], angles, np.nan))
        candidates = np.concatenate([bridged @ rng.standard_normal((26, 3)), seen], 1)
        xs = np.ascontiguousarray(candidates.T)
        expected = [_strength_alone(x, valid, SETTINGS, max_lag) for x in xs]
        assert periodicity._strengths(xs, valid, SETTINGS, max_lag) == expected


@pytest.mark.parametrize("seed", range(30))
def test_seen_columns_match_one_by_one(seed):
    rng = np.random.default_rng(seed)
    t = int(rng.integers(2, 400))
    columns = _random_rows(rng, int(rng.integers(1, 7)), t).T.copy()
    columns[rng.random(columns.shape) < rng.uniform(0, 0.6)] = np.nan
    columns[:, rng.random(columns.shape[1]) < 0.2] = np.nan  # channels never seen
    ok = rng.random(t) < rng.uniform(0.3, 1.0)
    half, least = int(rng.integers(1, 40)), int(rng.integers(0, 20))  # 0: strength_of
    got = periodicity._seen_columns(columns, ok, half, least)
    for k, column in enumerate(columns.T):
        expected = _seen_alone(column, ok, half, least)
        if expected is None:
            assert got[k] is None
        else:
            assert got[k] is not None
            assert got[k].tobytes() == expected.tobytes()


def test_seen_columns_match_one_by_one_on_real_angles():
    for _, angles, valid in _real_windows():
        half = max(1, min(SETTINGS.max_period, valid.shape[0] // 2) // 2)
        got = periodicity._seen_columns(angles, valid, half, 12)
        for k, column in enumerate(angles.T):
            expected = _seen_alone(column, valid, half, 12)
            assert (got[k] is None) == (expected is None)
            if expected is not None:
                assert got[k].tobytes() == expected.tobytes()


def test_strength_of_a_flat_or_unseen_signal_is_none():
    ok = np.ones(50, bool)
    flat = np.full((2, 50), 3.0)
    assert periodicity._strengths(flat, ok, SETTINGS, 25) == [(-1, 0.0)] * 2
    unseen = np.full((1, 50), math.nan)
    assert periodicity._strengths(unseen, ok, SETTINGS, 25) == [(-1, 0.0)]


@pytest.mark.parametrize("seed", range(20))
def test_bridged_is_bridge_gaps(seed):
    """Bridging only the columns with gaps gives `signal.bridge_gaps` of them all."""
    rng = np.random.default_rng(seed)
    t = int(rng.integers(1, 300))
    columns = _random_rows(rng, 26, t).T.copy()
    columns[rng.random(columns.shape) < rng.uniform(0, 0.5)] = np.nan
    columns[:, rng.random(26) < 0.3] = np.nan  # joints never seen
    columns[:, rng.random(26) < 0.3] = 1.5  # joints seen throughout
    got = periodicity._bridged(columns)
    assert got.tobytes() == signal.bridge_gaps(columns).tobytes()


def test_bridged_real_coords():
    for coords, _, _ in _real_windows():
        got = periodicity._bridged(coords)
        assert got.tobytes() == signal.bridge_gaps(coords).tobytes()
