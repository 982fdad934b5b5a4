"""The rhythm read from the arms: exact breaths from synthetic movements."""

from __future__ import annotations

import math

import numpy as np
import pytest

from exercises.breathing.programme import builtin_programmes
from exercises.breathing.rhythm import (
    ArmHeight,
    Breath,
    MoveDetector,
    breaths_from_moves,
    detect_moves,
    summarise,
)
from tests.exercises.breathing.signals import arm_frames, breathing_signal
from tests.factories import make_frame

SAMPLED_S = 0.05
"""Steady (piecewise-linear) movements are read exactly when frames fall on the turns;
a sharp turn between two frames lowers the extreme seen, which moves the slower move's
ends by up to about a frame and a half (50 ms at 30 fps)."""
EASED_FACTOR = (math.acos(1 - 2 * 0.9) - math.acos(1 - 2 * 0.1)) / math.pi / 0.8
"""A half-cosine ramp spends this share of its time between the 10 % and 90 % levels,
scaled as a steady one would be: 0.738."""


def _breaths(times, values, **kw) -> list[Breath]:
    return breaths_from_moves(detect_moves(times, values, **kw))


@pytest.mark.parametrize(
    "pattern",
    [
        pytest.param([(2.0, 0.0, 4.0, 0.0)] * 4, id="pursed-lip-2-4"),
        pytest.param([(3.0, 0.5, 5.0, 1.0)] * 3, id="holds-3-5"),
        pytest.param(
            [(2.0, 0.0, 4.0, 0.5), (1.5, 1.0, 3.0, 0.0), (2.5, 0.2, 2.5, 0.3)],
            id="uneven",
        ),
    ],
)
@pytest.mark.parametrize("dt_s", [0.04, 0.1, 0.0333], ids=["25fps", "10fps", "30fps"])
def test_steady_movements_are_read_exactly(
    pattern: list[tuple[float, float, float, float]], dt_s: float
) -> None:
    times, values = breathing_signal(pattern, dt_s=dt_s)
    breaths = _breaths(times, values)
    assert len(breaths) == len(pattern)
    t = 1.0
    for (rise, hold, fall, rest), b in zip(pattern, breaths, strict=True):
        assert b.start_ms / 1000 == pytest.approx(t, abs=SAMPLED_S)
        assert b.inhale_s == pytest.approx(rise, abs=SAMPLED_S)
        assert b.exhale_s == pytest.approx(fall, abs=SAMPLED_S)
        assert b.top_hold_s == pytest.approx(hold, abs=SAMPLED_S)
        assert b.top_ms / 1000 == pytest.approx(t + rise + hold / 2, abs=SAMPLED_S)
        assert b.swing == pytest.approx(1.0, abs=0.02)
        t += rise + hold + fall + rest
    periods = [sum(p) for p in pattern]
    assert [b.period_s for b in breaths[:-1]] == pytest.approx(
        periods[:-1], abs=SAMPLED_S
    )
    assert breaths[-1].period_s is None


def test_frames_on_the_turns_give_exact_times() -> None:
    times, values = breathing_signal([(2.0, 0.0, 4.0, 0.0)] * 3, dt_s=0.1)
    for b in _breaths(times, values):
        assert (b.inhale_s, b.exhale_s, b.top_hold_s) == pytest.approx(
            (2.0, 4.0, 0.0), abs=1e-9
        )


def test_eased_movements_keep_their_ratio() -> None:
    times, values = breathing_signal([(2.0, 0.0, 4.0, 0.0)] * 3, eased=True)
    breaths = _breaths(times, values)
    assert len(breaths) == 3
    for b in breaths:
        assert b.exhale_s / b.inhale_s == pytest.approx(2.0, rel=0.01)
        assert b.inhale_s == pytest.approx(2.0 * EASED_FACTOR, rel=0.02)
    assert [b.period_s for b in breaths[:2]] == pytest.approx([6.0, 6.0], abs=0.05)


NOISY_PHASE_S = 0.4
NOISY_PERIOD_S = 0.15
"""With 0.02 arm lengths of independent jitter per frame at 12.5 fps (about what
BlazePose's wrists show in the shared clips), 95 % of rises and falls are read within
0.4 s and 95 % of periods within 0.15 s."""


def test_noise_costs_a_few_tenths_of_a_second() -> None:
    phase_errors, period_errors = [], []
    for seed in range(20):
        times, clean = breathing_signal([(2.0, 0.5, 4.0, 0.5)] * 5, dt_s=0.08)
        noisy = clean + np.random.default_rng(seed).normal(0, 0.02, clean.shape)
        breaths = _breaths(times, noisy)
        assert len(breaths) == 5
        phase_errors += [abs(b.inhale_s - 2.0) for b in breaths]
        phase_errors += [abs(b.exhale_s - 4.0) for b in breaths]
        period_errors += [abs(b.period_s - 7.0) for b in breaths[:4]]  # type: ignore[operator]
    assert np.percentile(phase_errors, 95) <= NOISY_PHASE_S
    assert np.percentile(period_errors, 95) <= NOISY_PERIOD_S


def test_small_wiggles_are_not_breaths() -> None:
    times, values = breathing_signal([(1.0, 0.0, 1.0, 0.0)] * 6, low=-1.0, high=-0.8)
    assert detect_moves(times, values) == []


def test_missing_samples_are_skipped() -> None:
    times, values = breathing_signal([(2.0, 0.0, 4.0, 0.0)] * 3)
    gappy = values.copy()
    gappy[::7] = np.nan
    a, b = _breaths(times, values), _breaths(times, gappy)
    assert len(b) == 3
    for x, y in zip(a, b, strict=True):
        assert y.inhale_s == pytest.approx(x.inhale_s, abs=0.15)
        assert y.exhale_s == pytest.approx(x.exhale_s, abs=0.15)


def test_the_last_fall_needs_the_arms_to_settle() -> None:
    times, values = breathing_signal([(2.0, 0.0, 4.0, 0.0)], tail_s=0.0)
    cut = times < 1000 * (1.0 + 2.0 + 3.0)  # stops halfway down
    detector = MoveDetector()
    moves = [
        m
        for t, v in zip(times[cut], values[cut], strict=True)
        if (m := detector.update(t, v)) is not None
    ]
    assert [m.kind for m in moves] == ["rise"]
    assert detector.finish() is None
    assert [m.kind for m in detect_moves(*breathing_signal([(2, 0, 4, 0)]))] == [
        "rise",
        "fall",
    ]


@pytest.mark.parametrize(
    "kw",
    [
        pytest.param({"view": "front", "arm_plane": "frontal"}, id="front-sideways"),
        pytest.param({"view": "side", "arm_plane": "sagittal"}, id="side-forward"),
        pytest.param(
            {"view": "side", "arm_plane": "sagittal", "posture": "seated"}, id="seated"
        ),
    ],
)
@pytest.mark.parametrize("aspect", [1.0, 16 / 9])
def test_arm_height_is_minus_cos_of_the_shoulder_angle(
    kw: dict[str, object], aspect: float
) -> None:
    arm = ArmHeight(aspect_wh=aspect)
    arm.update(make_frame(0, shoulder_deg=0.0, elbow_deg=180.0, aspect=aspect, **kw))
    for k, angle in enumerate((10.0, 45.0, 90.0, 150.0), start=1):
        frame = make_frame(k, shoulder_deg=angle, elbow_deg=180.0, aspect=aspect, **kw)
        assert arm.update(frame) == pytest.approx(
            -math.cos(math.radians(angle)), abs=0.01
        )


def test_arm_height_with_one_arm_or_none() -> None:
    arm = ArmHeight()
    one = make_frame(0, shoulder_deg=90.0, elbow_deg=180.0, hidden=("left_wrist",))
    assert arm.update(one) == pytest.approx(0.0, abs=0.01)
    none = make_frame(1, hidden=("left_wrist", "right_wrist"))
    assert math.isnan(arm.update(none))


def test_arm_frames_carry_the_signal() -> None:
    times, values = breathing_signal([(2.0, 0.0, 4.0, 0.0)] * 2, dt_s=0.1)
    arm = ArmHeight()
    read = [arm.update(f) for f in arm_frames(times, values)]
    assert np.allclose(read, values, atol=0.01)


PURSED = builtin_programmes()["pursed_lip_breathing"]


def _breath(inhale: float, exhale: float, period: float | None) -> Breath:
    return Breath(0.0, 0.0, inhale, exhale, 0.0, period, 1.0)


@pytest.mark.parametrize(
    ("breaths", "tip", "flags"),
    [
        pytest.param(
            [_breath(2, 4, 6.0)] * 9 + [_breath(2, 4, None)],
            "well_done",
            (True, True, True),
            id="on-pace",
        ),
        pytest.param(
            [_breath(1.3, 2.7, 4.0)] * 9 + [_breath(1.3, 2.7, None)],
            "slow_down",
            (False, True, True),
            id="too-fast",
        ),
        pytest.param(
            [_breath(3, 5, 8.0)] * 9 + [_breath(3, 5, None)],
            "keep_up",
            (False, True, True),
            id="too-slow",
        ),
        pytest.param(
            [_breath(3, 3, 6.0)] * 9 + [_breath(3, 3, None)],
            "longer_out",
            (True, False, True),
            id="short-out-breath",
        ),
        pytest.param(
            [_breath(2, 4, p) for p in (4.5, 7.5) * 5],
            "even",
            (True, True, False),
            id="uneven",
        ),
        pytest.param(
            [_breath(2, 4, 6.0), _breath(2, 4, None)],
            "few",
            (True, True, False),
            id="few",
        ),
        pytest.param([], "not_seen", (False, False, False), id="none"),
    ],
)
def test_summary_tips(
    breaths: list[Breath], tip: str, flags: tuple[bool, bool, bool]
) -> None:
    s = summarise(breaths, PURSED)
    assert s.tip == tip
    assert (s.on_pace, s.long_out, s.even) == flags
    assert set(s.message) == {"en", "zh-CN"}


def test_summary_figures() -> None:
    breaths = [_breath(2.0, 3.0, p) for p in (5.0, 6.0, 7.0)] + [_breath(2, 3, None)]
    s = summarise(breaths, PURSED, pace_scale=1.5)
    assert (s.prescribed_inhale_s, s.prescribed_exhale_s) == (3.0, 6.0)
    assert s.period_s == pytest.approx(6.0)
    assert s.period_error_pct == pytest.approx((6.0 - 9.0) / 9.0 * 100)
    assert s.ratio == pytest.approx(1.5)
    assert s.regularity_cv == pytest.approx(1.0 / 6.0)
    assert math.isnan(s.lag_s)
    lagged = summarise(
        [
            Breath(2000.0, 4200.0, 2, 4, 0, 6.0, 1.0),
            Breath(8000.0, 9900.0, 2, 4, 0, None, 1.0),
        ],
        PURSED,
        cue_tops_ms=[4000.0, 10000.0, 16000.0],
    )
    assert lagged.lag_s == pytest.approx(0.05)
