# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""30-second arm curl: counting rules per arm on synthetic side-view sequences.

10 fps; seated with the arm straight down until "go" at 4000 ms (countdown from
1000 ms); the test covers 4000..34000 ms. A full curl (`CURL`) is flexed 0.2 s after
it starts and back down at 1.0 s.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from exercises.assessments import (
    ArmCurlSession,
    AssessmentCompleted,
    AssessmentCountChanged,
    AssessmentPhaseChanged,
    AssessmentRepRejected,
    AssessmentResult,
    PhaseTiming,
)
from exercises.assessments.arm_curl import INFO, TEXTS, CurlCounter, CurlOutcome
from exercises.assessments.protocol import NO_NORMS
from exercises.events import Event
from tests.exercises.assessments.factories import (
    Pose,
    curl,
    feed_all,
    frames,
    nothing,
    opening_events,
)

TIMING = PhaseTiming(instructions_ms=1000, ready_hold_ms=500, countdown_ms=3000)
GO_MS = 4000
END_MS = GO_MS + 30_000
TID = "arm_curl_30s"
NAN = math.nan


def right(deg: float) -> Pose:
    """The right arm seen from the side; the left (far) arm hidden."""
    return curl(deg, NAN)


def curl_with(side: str) -> list[tuple[float, Pose]]:
    """A full curl of one arm, 1.0 s, the other arm (seen) kept down."""
    return [
        (d, curl(a, 170.0) if side == "right" else curl(170.0, a))
        for d, a in [(0.2, 100.0), (0.3, 40.0), (0.2, 100.0), (0.3, 170.0)]
    ]


DOWN = right(170.0)
CURL = [(0.2, right(100)), (0.3, right(40)), (0.2, right(100)), (0.3, DOWN)]
HALF_CURL = [(0.2, right(120)), (0.3, right(90)), (0.2, right(120)), (0.3, DOWN)]
WIGGLE = [(0.3, right(130)), (0.3, DOWN)]


def run(
    after_go: list[tuple[float, Pose]], *, rest: Pose = DOWN, **kw: Any
) -> tuple[ArmCurlSession, list[Event]]:
    """Arm down until go, `after_go`, then `rest` up to 30 s after go inclusive."""
    session = ArmCurlSession(timing=TIMING, **kw)
    head = frames([(GO_MS / 1000, rest), *after_go])
    tail_s = max(0.0, (END_MS - len(head) * 100 + 100) / 1000)
    events = feed_all(
        session, frames([(GO_MS / 1000, rest), *after_go, (tail_s, rest)])
    )
    return session, events


def running_events(events: list[Event]) -> list[Event]:
    opening = len(opening_events(INFO, countdown_at=1000, go_at=GO_MS))
    return [
        e
        for e in events[opening:]
        if not isinstance(e, AssessmentPhaseChanged | AssessmentCompleted)
    ]


def count(ts: int, n: int, side: str = "right") -> AssessmentCountChanged:
    return AssessmentCountChanged(ts, TID, n, side, ts - GO_MS)


def half(ts: int, side: str = "right") -> AssessmentRepRejected:
    return AssessmentRepRejected(
        ts, TID, "incomplete", side, ts - GO_MS, TEXTS["incomplete"]
    )


def test_three_curls_exact_events() -> None:
    session, events = run(CURL * 3)
    result = AssessmentResult(
        test_id=TID,
        value=3.0,
        unit="curls",
        per_side={"right": 3.0},
        percentile=None,
        band=None,
        explanation=NO_NORMS,
        flags=(),
        duration_ms=30_000,
        norm=None,
        summary={
            "en": "Time! You did 3 full curls with your right arm.",
            "zh-CN": "时间到！您的右臂完成了3次完整的弯举。",
        },
    )
    assert events == [
        *opening_events(INFO, countdown_at=1000, go_at=GO_MS),
        count(4200, 1),
        count(5200, 2),
        count(6200, 3),
        AssessmentPhaseChanged(END_MS, TID, "result", "running", result.summary),
        AssessmentCompleted(END_MS, result),
    ]
    assert session.result == result


@pytest.mark.parametrize(
    ("after_go", "options", "expected", "per_side", "flags"),
    [
        pytest.param(
            HALF_CURL + CURL,
            {},
            [half(4700), count(5200, 1)],
            {"right": 1.0},
            (),
            id="half-curl-rejected-not-counted",
        ),
        pytest.param(
            WIGGLE * 3, {}, [], {"right": 0.0}, (), id="small-bend-is-nothing"
        ),
        pytest.param(
            [
                (0.3, right(40)),
                (0.3, right(120)),
                (0.3, right(40)),
                (0.3, DOWN),
                *CURL,
            ],
            {},
            [count(4000, 1), count(5400, 2)],
            {"right": 2.0},
            (),
            id="curling-again-without-lowering-counts-once",
        ),
        pytest.param(
            [(2.0, nothing), *CURL],
            {},
            [count(6200, 1)],
            {"right": 1.0},
            (),
            id="out-of-view-then-a-curl",
        ),
        pytest.param(
            [
                (1.0, curl(170, 170)),
                *curl_with("right"),
                *curl_with("left"),
                *curl_with("right"),
            ],
            {"arm": "both", "rest": curl(170, 170)},
            [count(5200, 1), count(6200, 1, "left"), count(7200, 2)],
            {"left": 1.0, "right": 2.0},
            ("both_arms",),
            id="both-arms-counted-apart",
        ),
        pytest.param(
            CURL * 2,
            {"arm": "left", "rest": curl(170, 170)},
            [],
            {"left": 0.0},
            (),
            id="the-other-arm-is-not-counted",
        ),
    ],
)
def test_counting_rules(
    after_go: list[tuple[float, Pose]],
    options: dict[str, Any],
    expected: list[Event],
    per_side: dict[str, float],
    flags: tuple[str, ...],
) -> None:
    session, events = run(after_go, **options)
    assert running_events(events) == expected
    assert session.result is not None
    assert session.result.per_side == per_side
    assert session.result.value == max(per_side.values())
    assert session.result.flags == flags


@pytest.mark.parametrize(
    ("angle_at_end", "counted"),
    [
        pytest.param(100.0, True, id="more-than-halfway-up-counts"),
        pytest.param(120.0, False, id="less-than-halfway-up-does-not"),
    ],
)
def test_the_30_second_boundary(angle_at_end: float, counted: bool) -> None:
    session, events = run([(29.8, DOWN), (0.3, right(angle_at_end))])
    expected = [count(END_MS, 1)] if counted else []
    assert running_events(events) == expected
    assert session.result is not None
    assert session.result.value == (1.0 if counted else 0.0)
    assert session.result.flags == (("final_rep_over_halfway",) if counted else ())


@pytest.mark.parametrize(
    ("angles", "outcomes", "count"),
    [
        pytest.param(
            [170, 100, 40, 100, 170],
            [None, None, CurlOutcome.COUNTED, None, None],
            1,
            id="full",
        ),
        pytest.param(
            [170, 100, 170], [None, None, CurlOutcome.INCOMPLETE], 0, id="half"
        ),
        pytest.param([100, 40, 170], [None, None, None], 0, id="never-extended-first"),
        pytest.param(
            [170, NAN, 40, NAN, 170],
            [None, None, CurlOutcome.COUNTED, None, None],
            1,
            id="gaps-change-nothing",
        ),
        pytest.param(
            [150, 60, 151, 61],
            [None, CurlOutcome.COUNTED, None, None],
            1,
            id="threshold-edges",
        ),
    ],
)
def test_curl_counter(
    angles: list[float], outcomes: list[CurlOutcome | None], count: int
) -> None:
    counter = CurlCounter()
    assert [counter.update(a) for a in angles] == outcomes
    assert counter.count == count


def test_unknown_arm_is_rejected() -> None:
    with pytest.raises(ValueError, match="arm must be"):
        ArmCurlSession(arm="top")  # type: ignore[arg-type]
