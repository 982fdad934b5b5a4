# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""30-second chair stand: counting rules on synthetic side-view sequences, exact events.

Frames are 10 fps (100 ms apart). Every session starts seated with arms crossed; the
countdown starts at 1000 ms (1 s of instructions, 0.5 s ready hold) and "go" is at
4000 ms, so the test covers 4000..34000 ms. A full stand (`STAND`) reaches standing
0.4 s after it starts and is back seated at 1.5 s.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from exercises.assessments import (
    AssessmentCompleted,
    AssessmentCountChanged,
    AssessmentCueIssued,
    AssessmentPhaseChanged,
    AssessmentRepRejected,
    AssessmentResult,
    ChairStandCounter,
    ChairStandSession,
    PhaseTiming,
    count_chair_stands,
)
from exercises.assessments.chair_stand import (
    INFO,
    TEXTS,
    ChairStandMeasure,
    StandOutcome,
    measure_chair_stand,
)
from exercises.assessments.protocol import NO_NORMS
from exercises.events import Event
from exercises.metrics import Body
from tests.exercises.assessments.factories import (
    Pose,
    chair,
    feed_all,
    frames,
    nothing,
    opening_events,
)
from vision.types import PoseWindow

TIMING = PhaseTiming(instructions_ms=1000, ready_hold_ms=500, countdown_ms=3000)
GO_MS = 4000
END_MS = GO_MS + 30_000
TID = "chair_stand_30s"
SEATED = chair(0.0)


def stand(hands: str = "crossed") -> list[tuple[float, Pose]]:
    """One full stand, 1.5 s: a third up, two thirds up, standing 0.3 s, back down;
    `hands` until back on the chair, then crossed again."""
    return [
        (0.2, chair(0.33, hands=hands)),
        (0.2, chair(0.67, hands=hands)),
        (0.3, chair(1.0, hands=hands)),
        (0.2, chair(0.67, hands=hands)),
        (0.2, chair(0.33, hands=hands)),
        (0.4, SEATED),
    ]


HALF_STAND = [(0.2, chair(0.33)), (0.3, chair(0.67)), (0.2, chair(0.33)), (0.3, SEATED)]
SHIFT = [(0.3, chair(0.2)), (0.3, SEATED)]  # shuffling on the chair, not a stand


def session_frames(after_go: list[tuple[float, Pose]]) -> list[Any]:
    """Seated until go, `after_go`, then seated up to 30 s after go inclusive."""
    head = frames([(GO_MS / 1000.0, SEATED), *after_go])
    tail_s = max(0.0, (END_MS - len(head) * 100 + 100) / 1000.0)
    return frames([(GO_MS / 1000.0, SEATED), *after_go, (tail_s, SEATED)])


def run(
    after_go: list[tuple[float, Pose]], **kw: Any
) -> tuple[ChairStandSession, list[Event]]:
    session = ChairStandSession(timing=TIMING, **kw)
    events = feed_all(session, session_frames(after_go))
    return session, events


def running_events(events: list[Event]) -> list[Event]:
    """Events between "go" and the result."""
    opening = len(opening_events(INFO, countdown_at=1000, go_at=GO_MS))
    return [
        e
        for e in events[opening:]
        if not isinstance(e, AssessmentPhaseChanged | AssessmentCompleted)
    ]


def count(ts: int, n: int) -> AssessmentCountChanged:
    return AssessmentCountChanged(ts, TID, n, None, ts - GO_MS)


def rejected(ts: int, reason: str) -> AssessmentRepRejected:
    return AssessmentRepRejected(ts, TID, reason, None, ts - GO_MS, TEXTS[reason])


def test_three_stands_exact_events() -> None:
    session, events = run(stand() * 3)
    result = AssessmentResult(
        test_id=TID,
        value=3.0,
        unit="stands",
        per_side={},
        percentile=None,
        band=None,
        explanation=NO_NORMS,
        flags=(),
        duration_ms=30_000,
        norm=None,
        summary={
            "en": "Time! You did 3 full stands.",
            "zh-CN": "时间到！您完成了3次完整的坐站。",
        },
    )
    assert events == [
        *opening_events(INFO, countdown_at=1000, go_at=GO_MS),
        count(4400, 1),
        count(5900, 2),
        count(7400, 3),
        AssessmentPhaseChanged(END_MS, TID, "result", "running", result.summary),
        AssessmentCompleted(END_MS, result),
    ]
    assert session.result == result


CUE = AssessmentCueIssued(4200, TID, "arms_crossed", TEXTS["arms_crossed"])


@pytest.mark.parametrize(
    ("after_go", "options", "expected", "value", "flags"),
    [
        pytest.param(
            HALF_STAND + stand(),
            {},
            [rejected(4700, "incomplete"), count(5400, 1)],
            1,
            (),
            id="half-stand-rejected-not-counted",
        ),
        pytest.param(SHIFT * 3, {}, [], 0, (), id="shifting-on-the-chair-is-nothing"),
        pytest.param(
            stand(hands="knees") + stand(),
            {},
            [CUE, rejected(4400, "hands_used"), count(5900, 1)],
            1,
            ("hands_used",),
            id="hands-on-knees-rejected-with-reminder",
        ),
        pytest.param(
            stand(hands="knees") + stand(),
            {"reject_hand_assisted": False},
            [CUE, count(4400, 1), count(5900, 2)],
            2,
            ("hands_used",),
            id="hands-on-knees-counted-and-flagged-when-allowed",
        ),
        pytest.param(
            [
                (0.1, chair(0.33, hands="knees")),
                (0.1, chair(0.33)),
                *stand()[1:],
                *stand(),
            ],
            {},
            [count(4400, 1), count(5900, 2)],
            2,
            (),
            id="hand-brushing-the-knee-for-one-frame-is-not-a-push",
        ),
        pytest.param(
            [
                *stand()[:3],
                (0.3, chair(0.67)),
                (0.3, chair(1.0)),
                (0.3, chair(0.33)),
                (0.3, SEATED),
                *stand(),
            ],
            {},
            [count(4400, 1), count(6300, 2)],
            2,
            (),
            id="standing-again-without-sitting-counts-once",
        ),
        pytest.param(
            [(3.0, nothing), *stand()],
            {},
            [count(7400, 1)],
            1,
            (),
            id="nobody-in-view-for-a-while",
        ),
        pytest.param(
            [*stand(), (10.0, nothing), *stand()],
            {},
            [count(4400, 1), count(15900, 2)],
            2,
            ("tracking_gaps",),
            id="a-third-of-the-test-unseen-is-flagged",
        ),
    ],
)
def test_counting_rules(
    after_go: list[tuple[float, Pose]],
    options: dict[str, Any],
    expected: list[Event],
    value: int,
    flags: tuple[str, ...],
) -> None:
    session, events = run(after_go, **options)
    assert running_events(events) == expected
    assert session.result is not None
    assert session.result.value == value
    assert session.result.flags == flags


def _until_end(poses: list[tuple[int, Pose]]) -> list[tuple[float, Pose]]:
    """Seated from go until the first (ts, pose), then each pose from its ts."""
    out: list[tuple[float, Pose]] = [((poses[0][0] - GO_MS) / 1000.0, SEATED)]
    for (ts, pose), (nxt, _) in itertools.pairwise(poses):
        out.append(((nxt - ts) / 1000.0, pose))
    return out


@pytest.mark.parametrize(
    ("poses", "expected", "flags"),
    [
        pytest.param(
            [
                (END_MS - 400, chair(0.33)),
                (END_MS - 200, chair(0.67)),
                (END_MS, chair(1.0)),
                (END_MS + 100, SEATED),
            ],
            [count(END_MS, 1)],
            (),
            id="standing-reached-at-exactly-30s-counts",
        ),
        pytest.param(
            [(END_MS - 200, chair(0.67)), (END_MS + 100, SEATED)],
            [count(END_MS, 1)],
            ("final_rep_over_halfway",),
            id="more-than-halfway-up-at-30s-counts",
        ),
        pytest.param(
            [(END_MS - 100, chair(0.2)), (END_MS + 100, SEATED)],
            [],
            (),
            id="less-than-halfway-at-30s-does-not-count",
        ),
    ],
)
def test_the_30_second_boundary(
    poses: list[tuple[int, Pose]],
    expected: list[Event],
    flags: tuple[str, ...],
) -> None:
    session, events = run(_until_end(poses))
    assert running_events(events) == expected
    assert session.result is not None
    assert session.result.value == len(expected)
    assert session.result.flags == flags
    assert [type(e) for e in events[-2:]] == [
        AssessmentPhaseChanged,
        AssessmentCompleted,
    ]
    assert events[-1].timestamp_ms == END_MS  # the frame at 30 s closes the test


def test_a_frame_after_30s_is_not_counted_and_closes_the_test() -> None:
    """Frames at 29.95 s (a fifth of the way up) and 30.05 s (standing): the stand
    after the whistle does not count; the late frame closes the test."""
    session = ChairStandSession(timing=TIMING)
    head = frames([(END_MS / 1000 - 0.1, SEATED)])  # ..33900
    late = [chair(0.2)(END_MS - 50), chair(1.0)(END_MS + 50)]
    events = feed_all(session, [*head, *late])
    assert running_events(events) == []
    assert events[-1] == AssessmentCompleted(END_MS + 50, session.result)
    assert session.result is not None and session.result.value == 0
    assert session.feed(chair(0.0)(END_MS + 150)) == []  # after the result: ignored


def test_front_view_counts_from_hip_height() -> None:
    """From the front the knee angle reads ~180 throughout; the hip height still
    separates sitting from standing."""
    front = [
        (d, chair(r, view="front"))
        for d, r in [
            (0.2, 0.33),
            (0.2, 0.67),
            (0.3, 1.0),
            (0.2, 0.67),
            (0.2, 0.33),
            (0.4, 0.0),
        ]
    ]
    session = ChairStandSession(timing=TIMING)
    seated = chair(0.0, view="front")
    fs = frames([(GO_MS / 1000, seated), *front * 4, (30.0, seated)])
    events = feed_all(session, fs)
    counts = [e for e in events if isinstance(e, AssessmentCountChanged)]
    assert [e.count for e in counts] == [1, 2, 3, 4]
    assert session.result is not None and session.result.value == 4


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_landmark_jitter_does_not_add_or_lose_stands(seed: int) -> None:
    """30 fps with 3 px of jitter on a 1000 px image: five stands are five."""
    noisy = [
        (d, chair(r, noise=0.003, seed=seed * 100 + i))
        for i, (d, r) in enumerate(
            [(0.4, 0.0), (0.3, 0.33), (0.3, 0.67), (0.4, 1.0), (0.3, 0.67), (0.3, 0.33)]
        )
    ]
    counter = ChairStandCounter(seat_ratio=1.0)
    outcomes = []
    for f in frames(noisy * 5 + noisy[:1], fps=30.0):
        outcomes += counter.update(measure_chair_stand(Body(f)), f.timestamp_ms)
    assert outcomes == [StandOutcome.COUNTED] * 5
    assert counter.count == 5


def _window(segments: list[tuple[float, Pose]]) -> PoseWindow:
    return PoseWindow.from_frames(frames(segments))


@pytest.mark.parametrize(
    ("segments", "expected"),
    [
        pytest.param(
            [(0.5, chair(1.0)), *([(0.5, SEATED), (0.5, chair(1.0))] * 3)],
            3,
            id="squat-like-from-standing",
        ),
        pytest.param(
            [(0.5, chair(1.0)), *([(0.5, chair(0.4)), (0.5, chair(1.0))] * 3)],
            0,
            id="less-than-halfway-down-is-not-sitting",
        ),
        pytest.param(
            [(0.5, SEATED), *([(0.5, chair(1.0)), (0.5, SEATED)] * 2)],
            2,
            id="starting-seated-the-first-rise-counts",
        ),
    ],
)
def test_uncalibrated_counter(
    segments: list[tuple[float, Pose]], expected: int
) -> None:
    """Without a seat calibration (recorded squats) a return counts as sitting once
    the hips came down more than halfway."""
    result = count_chair_stands(_window(segments))
    assert result.count == expected
    assert len(result.stand_frames) == expected


def test_count_chair_stands_reports_hand_assisted_stands() -> None:
    segments = [(0.5, SEATED), *stand(hands="knees"), *stand()]
    strict = count_chair_stands(_window(segments))
    lenient = count_chair_stands(_window(segments), reject_hand_assisted=False)
    assert (strict.count, strict.hand_assisted) == (1, 1)
    assert (lenient.count, lenient.hand_assisted) == (2, 1)


@pytest.mark.parametrize(
    ("seat", "raises"),
    [
        pytest.param(1.0, False, id="level-thigh"),
        pytest.param(2.5, True, id="seat-above-standing"),
        pytest.param(float("nan"), True, id="nan"),
    ],
)
def test_counter_validates_the_seat(seat: float, raises: bool) -> None:
    if raises:
        with pytest.raises(ValueError, match="seat_ratio"):
            ChairStandCounter(seat_ratio=seat)
    else:
        assert ChairStandCounter(seat_ratio=seat).count == 0


@pytest.mark.parametrize(
    ("pose", "ratio", "knee_deg", "hands"),
    [
        pytest.param(chair(0.0), 1.0, 90.0, False, id="seated-thigh-level"),
        pytest.param(chair(1.0), 2.0, 180.0, False, id="standing"),
        pytest.param(chair(0.0, hands="knees"), 1.0, 90.0, True, id="hands-on-knees"),
        pytest.param(chair(0.0, hands="hanging"), 1.0, 90.0, False, id="arms-hanging"),
    ],
)
def test_measure(pose: Pose, ratio: float, knee_deg: float, hands: bool) -> None:
    m = measure_chair_stand(Body(pose(0)))
    assert isinstance(m, ChairStandMeasure)
    # Thigh 0.245 and shank 0.246 of stature: standing is 1.996 shins, not 2.
    np.testing.assert_allclose(m.leg_ratio, ratio, atol=0.01)
    np.testing.assert_allclose(m.knee_deg, knee_deg, atol=0.5)
    assert m.hands_on_knees is hands


def test_measure_needs_the_legs() -> None:
    assert measure_chair_stand(Body(nothing(0))) is None
