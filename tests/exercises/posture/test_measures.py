"""Posture figures from synthetic standing poses with known tilts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from exercises.posture.measures import (
    FIGURES,
    REPEATABILITY,
    Figure,
    View,
    measure_view,
    to_cm,
)
from tests.exercises.posture.factories import SHOULDER_HALF, standing_frames

RECOVERED_DEG = 1.0  # the bar for a tilt recovered from noisy landmarks
EXACT = 1e-3  # noise-free landmarks: float32 rounding only
ASPECT = 16 / 9


def _window(noise_sd: float = 0.0, n: int = 13, seed: int = 0, **kw: object):
    frames = list(
        standing_frames(0, n * 80, noise_sd=noise_sd, seed=seed, aspect_wh=ASPECT, **kw)
    )
    xyz = np.stack([f.xyz for f in frames])
    stamps = np.array([f.timestamp_ms for f in frames])
    return xyz, stamps


def _expected(**kw: float) -> dict[str, float]:
    s = kw.get("shoulder_tilt_deg", 0.0)
    return {
        "shoulder_height_diff_pct": 100 * 2 * SHOULDER_HALF * math.sin(math.radians(s)),
        "shoulder_tilt_deg": s,
        "pelvic_tilt_deg": kw.get("pelvic_tilt_deg", 0.0),
        "trunk_shift_pct": kw.get("trunk_shift_pct", 0.0),
        "head_tilt_deg": kw.get("head_tilt_deg", 0.0),
    }


CASES = [
    pytest.param("front", {}, id="front-level"),
    pytest.param(
        "front",
        {"shoulder_tilt_deg": 4.0, "pelvic_tilt_deg": -2.5, "head_tilt_deg": 6.0},
        id="front-tilts",
    ),
    pytest.param(
        "front",
        {"shoulder_tilt_deg": -7.0, "trunk_shift_pct": 2.0, "head_tilt_deg": -3.0},
        id="front-right-high-shift-left",
    ),
    pytest.param(
        "back",
        {"shoulder_tilt_deg": 4.0, "pelvic_tilt_deg": -2.5, "trunk_shift_pct": -1.5},
        id="back-tilts",
    ),
    pytest.param(
        "back",
        {"shoulder_tilt_deg": -1.0, "pelvic_tilt_deg": 10.0, "head_tilt_deg": 2.0},
        id="back-pelvis",
    ),
]


@pytest.mark.parametrize(("view", "tilts"), CASES)
def test_noise_free_figures_are_exact(view: str, tilts: dict[str, float]) -> None:
    xyz, stamps = _window(view=view, **tilts)
    m = measure_view(xyz, View(view), aspect_wh=ASPECT, timestamps_ms=stamps)
    expected = _expected(**tilts)
    for name in FIGURES:
        assert m.figures[name].value == pytest.approx(expected[name], abs=EXACT), name
        assert m.window_uncertainty[name] == pytest.approx(0.0, abs=EXACT)
        assert m.figures[name].uncertainty == pytest.approx(
            REPEATABILITY[name], abs=EXACT
        )
    assert m.body_height == pytest.approx(0.8, abs=EXACT)
    assert (m.n_frames, m.start_ms, m.end_ms) == (13, 0, 960)


@pytest.mark.parametrize(("view", "tilts"), CASES)
def test_noisy_tilts_recovered_within_a_degree(
    view: str, tilts: dict[str, float]
) -> None:
    # 0.1 % of the picture's height per coordinate and frame, independent: about
    # what BlazePose's shoulders, hips and ears jitter frame to frame on a person
    # standing still in the shared footage (0.05-0.2 % for a person 0.6 pictures
    # tall; this one is 0.8), over one second at 12.5 fps.
    xyz, stamps = _window(noise_sd=0.001, seed=7, view=view, **tilts)
    m = measure_view(xyz, View(view), aspect_wh=ASPECT, timestamps_ms=stamps)
    expected = _expected(**tilts)
    for name in ("shoulder_tilt_deg", "pelvic_tilt_deg", "head_tilt_deg"):
        error = abs(m.figures[name].value - expected[name])
        assert error < RECOVERED_DEG, name
        assert error < 3 * m.window_uncertainty[name], name


def test_the_wrong_view_flips_every_sign() -> None:
    # Which landmark is the person's left is read from the picture and the view, not
    # from the model's labels: a back measured as a front mirrors every figure.
    tilts = {"shoulder_tilt_deg": 3.0, "pelvic_tilt_deg": -2.0, "trunk_shift_pct": 1.0}
    xyz, _ = _window(view="back", **tilts)
    back = measure_view(xyz, View.BACK, aspect_wh=ASPECT)
    front = measure_view(xyz, View.FRONT, aspect_wh=ASPECT)
    for name in FIGURES:
        assert front.figures[name].value == pytest.approx(
            -back.figures[name].value, abs=EXACT
        )


def test_swapped_labels_do_not_change_the_figures() -> None:
    xyz, _ = _window(shoulder_tilt_deg=3.0, pelvic_tilt_deg=-2.0, head_tilt_deg=4.0)
    swapped = xyz.copy()
    for a, b in ((11, 12), (23, 24), (7, 8), (27, 28)):
        swapped[:, [a, b]] = xyz[:, [b, a]]
    m1 = measure_view(xyz, View.FRONT, aspect_wh=ASPECT)
    m2 = measure_view(swapped, View.FRONT, aspect_wh=ASPECT)
    for name in FIGURES:
        assert m2.figures[name].value == pytest.approx(m1.figures[name].value)


def test_aspect_is_undone_before_measuring() -> None:
    # The same pose normalised to a 4:3 picture gives the same figures when told so,
    # and a distorted tilt when measured as if it were 16:9.
    frames = list(standing_frames(0, 800, aspect_wh=4 / 3, shoulder_tilt_deg=5.0))
    xyz = np.stack([f.xyz for f in frames])
    right = measure_view(xyz, View.FRONT, aspect_wh=4 / 3)
    wrong = measure_view(xyz, View.FRONT, aspect_wh=16 / 9)
    assert right.figures["shoulder_tilt_deg"].value == pytest.approx(5.0, abs=EXACT)
    assert abs(wrong.figures["shoulder_tilt_deg"].value - 5.0) > 1.0


def test_more_noise_gives_a_larger_uncertainty() -> None:
    spreads = []
    for sd in (0.001, 0.003, 0.009):
        xyz, _ = _window(noise_sd=sd, n=40, seed=3, shoulder_tilt_deg=2.0)
        m = measure_view(xyz, View.FRONT, aspect_wh=ASPECT)
        spreads.append(m)
    for name in FIGURES:
        window = [m.window_uncertainty[name] for m in spreads]
        total = [m.figures[name].uncertainty for m in spreads]
        assert window[0] < window[1] < window[2], name
        assert total[0] < total[1] < total[2], name
        assert total[0] > REPEATABILITY[name]


def test_window_uncertainty_matches_theory_for_independent_noise() -> None:
    # Independent noise sd on each coordinate: the shoulder line's angle has the
    # standard error sqrt(2) sd / span / sqrt(n) (radians) for small tilts.
    sd, n = 0.002, 400
    xyz, _ = _window(noise_sd=sd, n=n, seed=11)
    m = measure_view(xyz, View.FRONT, aspect_wh=ASPECT)
    span = 2 * SHOULDER_HALF * 0.8
    theory = math.degrees(math.sqrt(2) * sd / span / math.sqrt(n))
    assert 0.8 < m.window_uncertainty["shoulder_tilt_deg"] / theory < 1.25


def test_correlated_frames_count_as_fewer() -> None:
    # The same noise held for 4 frames at a time is worth a quarter of the frames.
    rng = np.random.default_rng(5)
    xyz, _ = _window(n=200)
    held = np.repeat(rng.normal(0, 0.002, (50, 33, 2)), 4, axis=0)
    independent = rng.normal(0, 0.002, (200, 33, 2))
    a, b = xyz.copy(), xyz.copy()
    a[..., :2] += held.astype(np.float32) * np.array([1 / ASPECT, 1], np.float32)
    b[..., :2] += independent.astype(np.float32) * np.array([1 / ASPECT, 1], np.float32)
    ma = measure_view(a, View.FRONT, aspect_wh=ASPECT)
    mb = measure_view(b, View.FRONT, aspect_wh=ASPECT)
    assert ma.n_effective < 0.5 * mb.n_effective
    ratio = (
        ma.window_uncertainty["shoulder_tilt_deg"]
        / mb.window_uncertainty["shoulder_tilt_deg"]
    )
    assert 1.4 < ratio < 3.0  # sqrt(4) = 2 in theory


@pytest.mark.parametrize(
    ("shape", "expectation"),
    [
        pytest.param((1, 33, 3), "T >= 2", id="one-frame"),
        pytest.param((5, 17, 3), "T >= 2, 33, 3", id="wrong-skeleton"),
    ],
)
def test_bad_shapes_are_refused(shape: tuple[int, ...], expectation: str) -> None:
    with pytest.raises(ValueError, match=expectation):
        measure_view(np.zeros(shape, np.float32), View.FRONT, aspect_wh=1.0)


def test_a_missing_required_joint_is_named() -> None:
    xyz, _ = _window()
    xyz[3, 24] = np.nan  # right hip
    with pytest.raises(ValueError, match="right_hip"):
        measure_view(xyz, View.FRONT, aspect_wh=ASPECT)


@pytest.mark.parametrize(
    ("figure", "stature", "expected"),
    [
        pytest.param(Figure(1.25, 0.1, "%H"), 160.0, Figure(2.0, 0.16, "cm"), id="cm"),
        pytest.param(Figure(1.0, 0.1, "deg"), 160.0, ValueError, id="not-a-distance"),
        pytest.param(Figure(1.0, 0.1, "%H"), 0.0, ValueError, id="no-stature"),
    ],
)
def test_to_cm(figure: Figure, stature: float, expected: object) -> None:
    if expected is ValueError:
        with pytest.raises(ValueError):
            to_cm(figure, stature)
        return
    out = to_cm(figure, stature)
    assert isinstance(expected, Figure)
    assert out.unit == "cm"
    assert out.value == pytest.approx(expected.value)
    assert out.uncertainty == pytest.approx(expected.uncertainty)
