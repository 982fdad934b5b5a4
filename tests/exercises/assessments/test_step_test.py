# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""2-minute step test: knee lifts reaching the target, per knee; the right knee scores.

10 fps, standing facing the camera until "go" at 4000 ms; the test covers
4000..124000 ms. A knee raised by rotating the thigh `flex` degrees about the hip rises
(1 - cos flex) thigh lengths, and the target is `TARGET_FRACTION` of a thigh above the
standing knee, so the lifts below are in known zones of the rule: 30 degrees stays
below the re-arm level, 55 degrees passes halfway but misses the target, 90 degrees
reaches it.
"""

from __future__ import annotations

from typing import Any

import pytest

from exercises.assessments import (
    AssessmentCompleted,
    AssessmentCountChanged,
    AssessmentPhaseChanged,
    AssessmentRepRejected,
    AssessmentResult,
    PhaseTiming,
    StepTestSession,
)
from exercises.assessments.protocol import NO_NORMS
from exercises.assessments.step_test import (
    ATTEMPT_FRACTION,
    INFO,
    REARM_FRACTION,
    TARGET_FRACTION,
    TEXTS,
)
from exercises.events import Event
from tests.exercises.assessments.factories import (
    Pose,
    feed_all,
    frames,
    knee_height_fraction,
    knees,
    nothing,
    opening_events,
)

TIMING = PhaseTiming(instructions_ms=1000, ready_hold_ms=500, countdown_ms=3000)
GO_MS = 4000
END_MS = GO_MS + 120_000
TID = "step_test_2min"
LOW, SHORT, HIGH = 30.0, 55.0, 90.0
STAND = knees()


def test_the_lift_angles_are_in_the_intended_zones() -> None:
    def q(flex: float) -> float:
        return knee_height_fraction(flex) / TARGET_FRACTION

    assert q(LOW) < REARM_FRACTION
    assert ATTEMPT_FRACTION < q(SHORT) < 1.0
    assert q(HIGH) > 1.0


def lift(side: str, flex: float, *, height: float = 0.7) -> list[tuple[float, Pose]]:
    """One knee lift, 1.0 s: low, `flex` for 0.3 s (from 0.2 s), low, standing."""

    def k(f: float) -> Pose:
        return knees(**{f"{side}_flex": f}, height=height)

    return [(0.2, k(LOW)), (0.3, k(flex)), (0.2, k(LOW)), (0.3, k(0.0))]


def run(
    after_go: list[tuple[float, Pose]], *, rest: Pose = STAND, **kw: Any
) -> tuple[StepTestSession, list[Event]]:
    session = StepTestSession(timing=TIMING, **kw)
    head = frames([(GO_MS / 1000, STAND), *after_go])
    tail_s = max(0.0, (END_MS - len(head) * 100 + 100) / 1000)
    events = feed_all(
        session, frames([(GO_MS / 1000, STAND), *after_go, (tail_s, rest)])
    )
    return session, events


def running_events(events: list[Event]) -> list[Event]:
    opening = len(opening_events(INFO, countdown_at=1000, go_at=GO_MS))
    return [
        e
        for e in events[opening:]
        if not isinstance(e, AssessmentPhaseChanged | AssessmentCompleted)
    ]


def count(ts: int, n: int, side: str) -> AssessmentCountChanged:
    return AssessmentCountChanged(ts, TID, n, side, ts - GO_MS)


def short(ts: int, side: str) -> AssessmentRepRejected:
    return AssessmentRepRejected(
        ts, TID, "below_target", side, ts - GO_MS, TEXTS["below_target"]
    )


def test_alternating_lifts_exact_events() -> None:
    steps = [*lift("right", HIGH), *lift("left", HIGH)] * 2 + lift("right", HIGH)
    session, events = run(steps)
    result = AssessmentResult(
        test_id=TID,
        value=3.0,
        unit="steps",
        per_side={"left": 2.0, "right": 3.0},
        percentile=None,
        band=None,
        explanation=NO_NORMS,
        flags=(),
        duration_ms=120_000,
        norm=None,
        summary={
            "en": "Time! Your right knee reached the target 3 times.",
            "zh-CN": "时间到！您的右膝3次抬到了目标高度。",
        },
    )
    assert events == [
        *opening_events(INFO, countdown_at=1000, go_at=GO_MS),
        count(4200, 1, "right"),
        count(5200, 1, "left"),
        count(6200, 2, "right"),
        count(7200, 2, "left"),
        count(8200, 3, "right"),
        AssessmentPhaseChanged(END_MS, TID, "result", "running", result.summary),
        AssessmentCompleted(END_MS, result),
    ]
    assert session.result == result


@pytest.mark.parametrize(
    ("after_go", "expected", "per_side"),
    [
        pytest.param(
            lift("right", SHORT) + lift("right", HIGH),
            [short(4500, "right"), count(5200, 1, "right")],
            {"left": 0.0, "right": 1.0},
            id="short-of-the-target-not-counted-with-a-reminder",
        ),
        pytest.param(
            lift("right", LOW) * 3,
            [],
            {"left": 0.0, "right": 0.0},
            id="shuffling-is-nothing",
        ),
        pytest.param(
            [
                (0.3, knees(right_flex=HIGH)),
                (0.3, knees(right_flex=SHORT)),
                (0.3, knees(right_flex=HIGH)),
                (0.3, STAND),
            ],
            [count(4000, 1, "right")],
            {"left": 0.0, "right": 1.0},
            id="a-knee-held-up-counts-once",
        ),
        pytest.param(
            [*lift("right", HIGH), (2.0, nothing), *lift("right", HIGH)],
            [count(4200, 1, "right"), count(7200, 2, "right")],
            {"left": 0.0, "right": 2.0},
            id="out-of-view-for-a-while",
        ),
        pytest.param(
            [*lift("right", HIGH, height=0.85), *lift("left", HIGH, height=0.85)],
            [count(4200, 1, "right"), count(5200, 1, "left")],
            {"left": 1.0, "right": 1.0},
            id="stepping-closer-to-the-camera-changes-nothing",
        ),
        pytest.param(
            [*lift("right", SHORT, height=0.85)],
            [short(4500, "right")],
            {"left": 0.0, "right": 0.0},
            id="closer-to-the-camera-a-short-lift-is-still-short",
        ),
    ],
)
def test_counting_rules(
    after_go: list[tuple[float, Pose]],
    expected: list[Event],
    per_side: dict[str, float],
) -> None:
    session, events = run(after_go)
    assert running_events(events) == expected
    assert session.result is not None
    assert session.result.per_side == per_side
    assert session.result.value == per_side["right"]


@pytest.mark.parametrize(
    ("reach_ms", "counted"),
    [
        pytest.param(END_MS, True, id="target-at-exactly-120s-counts"),
        pytest.param(END_MS + 100, False, id="target-after-120s-does-not"),
    ],
)
def test_the_120_second_boundary(reach_ms: int, counted: bool) -> None:
    """The knee passes halfway before the end: there is no halfway rule here."""
    before = (reach_ms - 200 - GO_MS) / 1000
    session, events = run(
        [
            (before, STAND),
            (0.2, knees(right_flex=SHORT)),
            (0.3, knees(right_flex=HIGH)),
        ],
        rest=knees(right_flex=HIGH),
    )
    assert running_events(events) == ([count(END_MS, 1, "right")] if counted else [])
    assert session.result is not None
    assert session.result.value == (1.0 if counted else 0.0)
    assert session.result.flags == ()


def test_targets_come_from_the_standing_calibration() -> None:
    session, _ = run([])
    # Thigh 0.245 and torso 0.29 of stature: the target is 0.65 thigh above the knee.
    for target in session.targets.values():
        standing_knee = (0.246 + 0.0) / 0.29  # ankle-to-knee, in torso lengths
        assert target == pytest.approx(standing_knee + 0.65 * 0.245 / 0.29, abs=0.03)
