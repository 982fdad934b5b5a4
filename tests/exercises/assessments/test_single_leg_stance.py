"""Single-leg stance: when the timer starts and stops, with landmark jitter.

10 fps, standing with the hands on the hips until "go" at 4000 ms. `LIFT_LEFT` bends
the left knee so the left ankle is a quarter shin up (stance on the right leg);
`ALMOST_DOWN` leaves it between the touch and lift thresholds.
"""

from __future__ import annotations

from typing import Any

import pytest

from exercises.assessments import (
    AssessmentCompleted,
    AssessmentCueIssued,
    AssessmentPhaseChanged,
    AssessmentResult,
    AssessmentTimerStarted,
    PhaseTiming,
    SingleLegStanceSession,
)
from exercises.assessments.single_leg_stance import (
    INFO,
    LIFT_SHINS,
    TEXTS,
    TOUCH_SHINS,
    measure_stance,
)
from exercises.events import Event
from exercises.metrics import Body
from tests.exercises.assessments.factories import (
    Pose,
    feed_all,
    frames,
    nothing,
    opening_events,
    stance,
)

TIMING = PhaseTiming(instructions_ms=1000, ready_hold_ms=500, countdown_ms=3000)
GO_MS = 4000
TID = "single_leg_stance"
FEET = stance()
LIFT_LEFT = stance(left_knee=140.0)
LIFT_RIGHT = stance(right_knee=140.0)
ALMOST_DOWN = stance(left_knee=150.0)


def test_the_poses_are_in_the_intended_zones() -> None:
    def gap(pose: Pose) -> float:
        m = measure_stance(Body(pose(0)))
        assert m is not None
        return m.foot_gap

    assert gap(FEET) == pytest.approx(0.0, abs=1e-6)
    assert -gap(LIFT_LEFT) > LIFT_SHINS
    assert gap(LIFT_RIGHT) > LIFT_SHINS
    assert TOUCH_SHINS < -gap(ALMOST_DOWN) < LIFT_SHINS


def run(
    after_go: list[tuple[float, Pose]], **kw: Any
) -> tuple[SingleLegStanceSession, list[Event]]:
    session = SingleLegStanceSession(timing=TIMING, **kw)
    events = feed_all(session, frames([(GO_MS / 1000, FEET), *after_go]))
    return session, events


def after_go(events: list[Event]) -> list[Event]:
    return events[
        len(opening_events(INFO, countdown_at=1000, go_at=GO_MS, timer=False)) :
    ]


def timer(ts: int, started: int, limit_ms: int = 60_000) -> AssessmentTimerStarted:
    return AssessmentTimerStarted(ts, TID, started, limit_ms)


def test_ten_seconds_then_touch_down_exact_events() -> None:
    session, events = run([(1.0, FEET), (10.0, LIFT_LEFT), (1.0, FEET)])
    result = AssessmentResult(
        test_id=TID,
        value=10.0,
        unit="s",
        per_side={"right": 10.0},
        percentile=None,
        band=None,
        explanation=TEXTS["no_norms"],
        flags=("touched_down",),
        duration_ms=10_000,
        norm=None,
        summary={
            "en": "You stood on your right leg for 10.0 seconds.",
            "zh-CN": "您用右腿站立了10.0秒。",
        },
    )
    assert events == [
        *opening_events(INFO, countdown_at=1000, go_at=GO_MS, timer=False),
        timer(5200, 5000),  # confirmed after 200 ms, timed from the first frame
        AssessmentPhaseChanged(15_200, TID, "result", "running", result.summary),
        AssessmentCompleted(15_200, result),  # the touch-down began at 15 000
    ]
    assert session.result == result
    assert session.stance_side == "right"


@pytest.mark.parametrize(
    ("segments", "options", "seconds", "per_side", "flags"),
    [
        pytest.param(
            [(1.0, FEET), (3.0, LIFT_LEFT), (0.1, FEET), (3.0, LIFT_LEFT), (1, FEET)],
            {},
            6.1,
            {"right": 6.1},
            ("touched_down",),
            id="one-frame-glitch-to-the-floor-does-not-end-the-trial",
        ),
        pytest.param(
            [(1.0, FEET), (3.0, LIFT_LEFT), (0.2, FEET), (3.0, LIFT_LEFT), (1, FEET)],
            {},
            6.2,
            {"right": 6.2},
            ("touched_down",),
            id="two-frames-are-still-under-the-debounce",
        ),
        pytest.param(
            [(1.0, FEET), (3.0, LIFT_LEFT), (0.3, FEET), (3.0, LIFT_LEFT), (1, FEET)],
            {},
            3.0,
            {"right": 3.0},
            ("touched_down",),
            id="a-touch-lasting-the-debounce-ends-at-its-first-frame",
        ),
        pytest.param(
            [
                (1.0, FEET),
                (3.0, LIFT_LEFT),
                (1.0, ALMOST_DOWN),
                (2.0, LIFT_LEFT),
                (1, FEET),
            ],
            {},
            6.0,
            {"right": 6.0},
            ("touched_down",),
            id="foot-lowered-but-not-down-keeps-going",
        ),
        pytest.param(
            [(1.0, FEET), (4.0, LIFT_RIGHT), (1, FEET)],
            {},
            4.0,
            {"left": 4.0},
            ("touched_down",),
            id="standing-on-the-left-leg",
        ),
        pytest.param(
            [(1.0, FEET), (3.0, LIFT_LEFT), (1.0, stance(left_knee=140, hands="out"))],
            {},
            3.0,
            {"right": 3.0},
            ("hands_off_hips",),
            id="hands-leaving-the-hips-end-the-trial",
        ),
        pytest.param(
            [
                (1.0, FEET),
                (3.0, LIFT_LEFT),
                (0.1, stance(left_knee=140, hands="out")),
                (2.0, LIFT_LEFT),
                (1, FEET),
            ],
            {},
            5.1,
            {"right": 5.1},
            ("touched_down",),
            id="hands-off-for-one-frame-is-jitter",
        ),
        pytest.param(
            [
                (1.0, FEET),
                (3.0, LIFT_LEFT),
                (1.0, stance(left_knee=140, hands="out")),
                (1, FEET),
            ],
            {"require_hands_on_hips": False},
            4.0,
            {"right": 4.0},
            ("touched_down",),
            id="hands-free-when-not-required",
        ),
        pytest.param(
            [(1.0, FEET), (8.0, LIFT_LEFT)],
            {"max_s": 5.0},
            5.0,
            {"right": 5.0},
            ("max_time_reached",),
            id="capped-at-max-time",
        ),
        pytest.param(
            [(1.0, FEET), (4.9, LIFT_LEFT), (1.0, FEET)],
            {"max_s": 5.0},
            4.9,
            {"right": 4.9},
            ("touched_down",),
            id="a-touch-down-just-before-the-cap-still-counts",
        ),
        pytest.param(
            [(16.0, FEET)],
            {},
            0.0,
            {},
            ("foot_not_lifted",),
            id="no-lift-within-15s",
        ),
        pytest.param(
            [(1.0, FEET), (2.0, nothing), (3.0, LIFT_LEFT), (1, FEET)],
            {},
            3.0,
            {"right": 3.0},
            ("touched_down",),
            id="out-of-view-before-the-lift",
        ),
    ],
)
def test_trial_rules(
    segments: list[tuple[float, Pose]],
    options: dict[str, Any],
    seconds: float,
    per_side: dict[str, float],
    flags: tuple[str, ...],
) -> None:
    session, _ = run(segments, **options)
    assert session.result is not None
    assert session.result.value == pytest.approx(seconds)
    assert session.result.per_side == pytest.approx(per_side)
    assert session.result.flags == flags
    assert session.result.percentile is None and session.result.band is None


def test_lifting_without_hands_on_hips_gets_a_reminder_and_no_timer() -> None:
    no_hands = stance(left_knee=140, hands="down")
    session, events = run([(1.0, FEET), (1.0, no_hands), (2.0, LIFT_LEFT), (1, FEET)])
    assert after_go(events)[:2] == [
        AssessmentCueIssued(5000, TID, "hands_on_hips", TEXTS["hands_on_hips"]),
        timer(6200, 6000),
    ]
    assert session.result is not None and session.result.value == 2.0


def test_stop_during_the_trial_reports_the_time_so_far() -> None:
    session, _ = run([(1.0, FEET), (3.0, LIFT_LEFT)])  # last frame at 7900
    events = session.stop(8000)
    assert session.result is not None
    assert events[-1] == AssessmentCompleted(8000, session.result)
    assert session.result.value == 3.0
    assert session.result.flags == ("stopped_early",)


@pytest.mark.parametrize("max_s", [0.0, -1.0, float("nan")])
def test_max_time_must_be_positive(max_s: float) -> None:
    with pytest.raises(ValueError, match="max_s"):
        SingleLegStanceSession(max_s=max_s)
