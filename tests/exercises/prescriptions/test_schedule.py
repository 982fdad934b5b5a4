"""exercises.prescriptions.schedule: today's plan, make-up sessions, next session."""

from __future__ import annotations

import datetime as dt

import pytest

from exercises.prescriptions import Change, Dose, PlanStatus, TodayPlan, plan_for_date
from tests.exercises.prescriptions.factories import D, history, make_plan, squat


def _shape(today: TodayPlan) -> tuple[object, ...]:
    """Status, today's and make-up sessions as (id, done, doses), next date."""

    def sessions(xs: tuple[object, ...]) -> list[tuple[object, ...]]:
        return [
            (s.session_id, s.done_today, [(e.exercise_id, e.dose) for e in s.exercises])  # type: ignore[attr-defined]
            for s in xs
        ]

    return (
        today.status,
        sessions(today.sessions),
        sessions(today.make_up),
        today.next_session_on,
    )


A_WEEK4 = [("squat", Dose(2, reps=10)), ("plank", Dose(2, hold_s=25.0))]
B = [("sit_to_stand", Dose(1, reps=10))]


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        pytest.param(
            D(2025, 3, 1),
            (PlanStatus.NOT_STARTED, [], [], D(2025, 3, 6)),
            id="before-the-start",
        ),
        pytest.param(
            D(2025, 3, 5),
            (PlanStatus.ACTIVE, [], [], D(2025, 3, 6)),
            id="start-day-no-session",
        ),
        pytest.param(
            D(2025, 3, 26),
            (PlanStatus.ACTIVE, [], [], D(2025, 3, 27)),
            id="wednesday-nothing-owed",
        ),
        pytest.param(
            D(2025, 3, 27),
            (PlanStatus.ACTIVE, [("a", False, A_WEEK4)], [], D(2025, 3, 29)),
            id="thursday-session-a",
        ),
        pytest.param(
            D(2025, 3, 24),
            (PlanStatus.ACTIVE, [("a", True, A_WEEK4)], [], D(2025, 3, 27)),
            id="monday-already-done",
        ),
        pytest.param(
            D(2025, 3, 13),
            (
                PlanStatus.ACTIVE,
                [
                    (
                        "a",
                        False,
                        [("squat", Dose(2, reps=10)), ("plank", Dose(2, hold_s=25.0))],
                    )
                ],
                [],
                D(2025, 3, 15),
            ),
            id="week2-thursday-monday-was-done",
        ),
        pytest.param(
            D(2025, 3, 20),
            (
                PlanStatus.ACTIVE,
                [
                    (
                        "a",
                        False,
                        [("squat", Dose(2, reps=10)), ("plank", Dose(2, hold_s=30.0))],
                    )
                ],
                [
                    (
                        "a",
                        False,
                        [("squat", Dose(2, reps=10)), ("plank", Dose(2, hold_s=30.0))],
                    )
                ],
                D(2025, 3, 22),
            ),
            id="week3-thursday-monday-owed",
        ),
        pytest.param(
            D(2025, 3, 22),
            (
                PlanStatus.ACTIVE,
                [("b", False, B)],
                [
                    (
                        "a",
                        False,
                        [("squat", Dose(2, reps=10)), ("plank", Dose(2, hold_s=30.0))],
                    )
                ],
                D(2025, 3, 24),
            ),
            id="week3-saturday-a-owed-twice-listed-once",
        ),
        pytest.param(
            D(2025, 3, 30),
            (PlanStatus.ACTIVE, [], [("a", False, A_WEEK4), ("b", False, B)], None),
            id="last-day-thursday-and-saturday-owed",
        ),
        pytest.param(
            D(2025, 3, 31),
            (PlanStatus.ENDED, [], [], None),
            id="after-the-end",
        ),
    ],
)
def test_plan_for_date(day: dt.date, expected: tuple[object, ...]) -> None:
    today = plan_for_date(make_plan(), day, history())
    assert today.date == day
    assert _shape(today) == expected


def test_later_sets_do_not_count() -> None:
    """Asking about a past date ignores what was done after it: Monday's session a,
    made up on Saturday, is still owed on Thursday."""
    plan = make_plan()
    sets = [*history(), squat(D(2025, 3, 22), 10, 90.0)]
    today = plan_for_date(plan, D(2025, 3, 20), sets)
    assert [s.session_id for s in today.make_up] == ["a"]
    # On Saturday one of the two is made up; Thursday's is still owed.
    saturday = plan_for_date(plan, D(2025, 3, 22), sets)
    assert [(s.session_id, s.done_today) for s in saturday.make_up] == [("a", True)]


def test_last_change_for_the_kiosk() -> None:
    today = plan_for_date(make_plan(), D(2025, 3, 13), history())
    squat_today = today.sessions[0].exercises[0]
    assert squat_today.last_change is not None
    assert squat_today.last_change.change is Change.PROGRESSED
    assert squat_today.prescribed.rest_s == 60.0
    assert today.sessions[0].name == {"en": "Strength"}


def test_done_today_is_per_session() -> None:
    plan = make_plan(lambda d: d["sessions"][1].update(days=["mon"]))
    today = plan_for_date(plan, D(2025, 3, 10), [squat(D(2025, 3, 10), 8, 90.0)])
    assert [(s.session_id, s.done_today) for s in today.sessions] == [
        ("a", True),
        ("b", False),
    ]
