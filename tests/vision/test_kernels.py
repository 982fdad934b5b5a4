"""vision/kernels.py against the slow twins in tests/naive.py, plus kernel
invariants."""

from __future__ import annotations

import numpy as np
import numpy.testing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tests import naive
from vision import kernels as k

J = 33
TRIPLES = np.array([[23, 25, 27], [11, 13, 15], [24, 26, 28], [12, 11, 23]], np.int64)


def _random_xyz(rng: np.random.Generator, t: int) -> np.ndarray:
    return rng.uniform(0.0, 1.0, (t, J, 3)).astype(np.float32)


@pytest.mark.parametrize("use_z", [False, True], ids=["xy", "xyz"])
def test_joint_angles_matches_naive_with_missing_and_hidden_joints(use_z):
    rng = np.random.default_rng(7)
    xyz = _random_xyz(rng, 40)
    vis = rng.uniform(0.0, 1.0, (40, J)).astype(np.float32)
    xyz[3, 25] = np.nan  # a missing knee
    xyz[5] = np.nan  # nobody in view
    vis[5] = 0.0
    xyz[7, 27] = xyz[7, 25]  # zero-length shank
    out = np.empty((40, 4), np.float32)
    k._joint_angles(xyz, vis, TRIPLES, np.float32(0.3), use_z, out)
    expected = naive.joint_angles(xyz, vis, TRIPLES, 0.3, use_z)
    npt.assert_allclose(out, expected, atol=1e-3, equal_nan=True)
    assert np.isnan(out[3, 0]) and np.isnan(out[5]).all() and np.isnan(out[7, 0])
    assert np.isfinite(out).mean() > 0.2  # else the comparison would pass vacuously


@pytest.mark.parametrize(
    ("a", "b", "c", "expected_deg"),
    [
        pytest.param((0, 1), (0, 0), (1, 0), 90.0, id="right-angle"),
        pytest.param((-1, 0), (0, 0), (1, 0), 180.0, id="straight"),
        pytest.param((1, 0), (0, 0), (1, 0), 0.0, id="folded"),
        pytest.param((1, 1), (0, 0), (1, 0), 45.0, id="45"),
    ],
)
def test_joint_angle_known_values(a, b, c, expected_deg):
    xyz = np.full((1, J, 3), 0.0, np.float32)
    xyz[0, 0, :2], xyz[0, 1, :2], xyz[0, 2, :2] = a, b, c
    out = np.empty((1, 1), np.float32)
    k._joint_angles(
        xyz,
        np.ones((1, J), np.float32),
        np.array([[0, 1, 2]], np.int64),
        np.float32(0.5),
        False,
        out,
    )
    npt.assert_allclose(out[0, 0], expected_deg, atol=1e-3)


def test_one_euro_matches_naive_over_a_noisy_sequence_with_gaps():
    rng = np.random.default_rng(3)
    t = 60
    ts = np.cumsum(rng.integers(25, 45, t)).astype(np.int64)
    base = np.sin(np.linspace(0, 6, t))[:, None, None] * 0.2 + 0.5
    samples = (base + rng.normal(0, 0.01, (t, J, 3))).astype(np.float32)
    samples[10:13, 4] = np.nan  # a joint lost for three frames
    samples[30] = np.nan  # nobody for one frame
    x_prev = np.full((J, 3), np.nan, np.float32)
    dx_prev = np.zeros((J, 3), np.float32)
    got = np.empty_like(samples)
    for i in range(t):
        dt = 0.0 if i == 0 else (ts[i] - ts[i - 1]) / 1000.0
        k._one_euro_step(samples[i], dt, 1.0, 10.0, 1.0, x_prev, dx_prev, got[i])
    expected = naive.one_euro(samples, ts, 1.0, 10.0, 1.0)
    npt.assert_allclose(got, expected, atol=2e-5, equal_nan=True)
    assert np.isnan(got[11, 4]).all() and np.isnan(got[30]).all()
    npt.assert_array_equal(got[13, 4], samples[13, 4])  # fresh start after the gap


def test_one_euro_smooths_jitter_but_follows_fast_moves():
    t = 200
    ts = np.arange(t, dtype=np.int64) * 33
    rng = np.random.default_rng(0)
    still = 0.5 + rng.normal(0, 0.005, (t, J, 3)).astype(np.float32)
    x_prev = np.full((J, 3), np.nan, np.float32)
    dx_prev = np.zeros((J, 3), np.float32)
    out = np.empty_like(still)
    for i in range(t):
        k._one_euro_step(
            still[i], 0.0 if i == 0 else 0.033, 1.0, 10.0, 1.0, x_prev, dx_prev, out[i]
        )
    assert out[50:].std() < 0.5 * still[50:].std()
    del ts


def test_smooth_and_angles_equals_the_two_kernels_in_sequence():
    rng = np.random.default_rng(11)
    xyz = _random_xyz(rng, 1)[0]
    vis = np.ones(J, np.float32)
    state_a = np.zeros((2, J, 3), np.float32)
    state_a[0] = np.nan
    state_b = (np.full((J, 3), np.nan, np.float32), np.zeros((J, 3), np.float32))
    angles = np.empty((1, 4), np.float32)
    params = np.zeros(6)
    params[
        [
            k.P_DT_S,
            k.P_MIN_CUTOFF_HZ,
            k.P_BETA,
            k.P_D_CUTOFF_HZ,
            k.P_MIN_VISIBILITY,
            k.P_USE_Z,
        ]
    ] = (0.0, 1.0, 10.0, 1.0, 0.5, 0.0)
    k._smooth_and_angles(xyz, vis, params, state_a, TRIPLES, angles)
    smoothed = state_a[0]
    alone = np.empty_like(xyz)
    k._one_euro_step(xyz, 0.0, 1.0, 10.0, 1.0, *state_b, alone)
    expected = np.empty((1, 4), np.float32)
    k._joint_angles(alone[None], vis[None], TRIPLES, np.float32(0.5), False, expected)
    npt.assert_array_equal(smoothed, alone)
    npt.assert_array_equal(angles, expected)


_coords = hnp.arrays(
    np.float32, (1, 3, 3), elements=st.floats(-10, 10, width=32, allow_nan=False)
)


def _angle(xyz: np.ndarray, use_z: bool = True) -> float:
    out = np.empty((1, 1), np.float32)
    k._joint_angles(
        np.ascontiguousarray(xyz, np.float32),
        np.ones((1, 3), np.float32),
        np.array([[0, 1, 2]], np.int64),
        np.float32(0.5),
        use_z,
        out,
    )
    return float(out[0, 0])


@settings(max_examples=200, deadline=None)
@given(_coords)
def test_angles_stay_in_0_180_or_are_nan_for_degenerate_segments(xyz):
    angle = _angle(xyz)
    assert np.isnan(angle) or 0.0 <= angle <= 180.0


@settings(max_examples=200, deadline=None)
@given(
    _coords,
    hnp.arrays(np.float32, (3,), elements=st.floats(-5, 5, width=32)),
    st.floats(0.1, 10.0),
)
def test_angles_invariant_to_translation_and_uniform_scale(xyz, shift, scale):
    u = xyz[0, 0] - xyz[0, 1]
    v = xyz[0, 2] - xyz[0, 1]
    # Near-degenerate segments make acos ill-conditioned; the invariant is about
    # geometry.
    if min(np.linalg.norm(u), np.linalg.norm(v)) < 0.05:
        return
    before = _angle(xyz)
    after = _angle((xyz + shift) * np.float32(scale))
    npt.assert_allclose(after, before, atol=0.05)


@settings(max_examples=100, deadline=None)
@given(_coords, st.integers(0, 2), st.integers(0, 2))
def test_nan_in_gives_nan_out(xyz, joint, axis):
    xyz = xyz.copy()
    xyz[0, joint, axis] = np.nan
    assert np.isnan(_angle(xyz, use_z=True))


@pytest.mark.parametrize(
    ("n", "rows"),
    [pytest.param(26, 400, id="26-joint-coords"), pytest.param(5, 3, id="rank-3")],
)
def test_symmetric_eigen_matches_lapack(n: int, rows: int) -> None:
    """The rep counter's principal directions: the Jacobi kernel against LAPACK's
    eigh (values equal; vectors equal up to sign where the values are distinct) and
    V diag(w) V^T rebuilding the matrix."""
    rng = np.random.default_rng(n)
    x = rng.normal(size=(rows, n)) * rng.uniform(0.1, 3.0, n)
    scatter = np.ascontiguousarray(x.T @ x)
    values, vectors = k._symmetric_eigen(scatter, 50)
    want_values, want_vectors = naive.symmetric_eigen(scatter)
    order = np.argsort(values)
    npt.assert_allclose(values[order], want_values, atol=1e-9 * want_values.max())
    npt.assert_allclose(vectors @ np.diag(values) @ vectors.T, scatter, atol=1e-9)
    npt.assert_allclose(vectors.T @ vectors, np.eye(n), atol=1e-9)
    distinct = np.diff(want_values) > 1e-6 * want_values.max()
    for i in range(n):
        if (i == 0 or distinct[i - 1]) and (i == n - 1 or distinct[i]):
            dot = abs(float(vectors[:, order[i]] @ want_vectors[:, i]))
            assert dot == pytest.approx(1.0, abs=1e-8)


def _acf_rows(rng: np.random.Generator, c: int, n: int) -> np.ndarray:
    """(c, n) autocorrelations of periodic and noisy signals, with flat rows, rows
    of ties, raw noise and NaN: what a refit's candidates give and worse."""
    from exercises.signal import autocorrelation

    rows = []
    for _ in range(c):
        t = np.arange(4 * n)
        x = np.sin(2 * np.pi * t / rng.uniform(3, n)) + rng.normal(0, 0.5, t.size)
        rows.append(autocorrelation(x - x.mean(), n - 1))
    acf = np.array(rows)
    acf[0] = 0.0  # a flat signal's
    acf[1] = np.round(acf[1], 1)  # ties: plateaus at peaks
    acf[2] = rng.uniform(-1, 1, n)
    acf[3, rng.integers(0, n, 3)] = np.nan
    acf[4, 0] = np.nan
    return np.ascontiguousarray(acf)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("first_fraction", [0.0, 0.7, 1.0, 1.5])
def test_acf_periods_match_acf_period_bit_for_bit(seed, first_fraction):
    """The rep counter's periods: the kernel is `signal.acf_period` row by row, to
    the last bit (a refit's choice compares strengths)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 120))
    acf = _acf_rows(rng, 8, n)
    for min_lag, max_lag in [(0, n - 1), (3, n // 2), (5, n + 10), (n, n - 1)]:
        lags = np.empty(8, np.int64)
        strengths = np.empty(8)
        k._acf_periods(acf, min_lag, max_lag, first_fraction, lags, strengths)
        got = list(zip(lags.tolist(), strengths.tolist(), strict=True))
        assert got == naive.acf_periods(acf, min_lag, max_lag, first_fraction)


@pytest.mark.parametrize("min_fraction", [0.0, 0.5, 1.0])
def test_body_features_match_naive_with_missing_hidden_and_degenerate_frames(
    min_fraction: float,
) -> None:
    """The rep counter's features: the kernel against the whole-array numpy twin, on
    frames with NaN joints, hidden joints, too few joints and every joint on one
    point (radius 0)."""
    from exercises.periodicity import _layout
    from vision.types import Skeleton

    layout = _layout(Skeleton.BLAZEPOSE_33)
    rng = np.random.default_rng(7)
    t = 200
    xyz = rng.uniform(0.1, 0.9, (t, 33, 3)).astype(np.float32)
    vis = rng.uniform(0.6, 1.0, (t, 33)).astype(np.float32)
    nan_rows = rng.random((t, 33)) < 0.1
    xyz[nan_rows, rng.integers(0, 2)] = np.nan
    vis[rng.random((t, 33)) < 0.15] = 0.2
    xyz[5] = 0.5  # every joint on one point: radius 0
    vis[6, layout.joints[:8]] = 0.0  # fewer than half of the body joints seen
    xyz[7, layout.triples[:, 1]] = np.nan  # no angle on either side
    m = layout.joints.shape[0]
    coords = np.empty((t, 2 * m))
    angles = np.empty((t, layout.triples.shape[0] // 2))
    valid = np.empty(t, np.bool_)
    k._body_features(
        xyz, vis, layout.joints, layout.triples, np.float32(0.5),
        min_fraction * m, coords, angles, valid,
    )  # fmt: skip
    want = naive.body_features(
        xyz, vis, layout.joints, layout.triples, np.float32(0.5), min_fraction * m
    )
    npt.assert_array_equal(valid, want[2])
    npt.assert_allclose(coords, want[0], rtol=1e-9, atol=1e-12)
    npt.assert_allclose(angles, want[1], atol=1e-3)  # float32 angles, as the twin
    # of _joint_angles is compared
    assert not valid[5] and np.isnan(coords[5]).all()
    if min_fraction == 0.5:
        assert not valid[6]
    assert np.isnan(angles[7]).all()
    assert valid.sum() > (5 if min_fraction == 1.0 else t // 2)  # real frames too
