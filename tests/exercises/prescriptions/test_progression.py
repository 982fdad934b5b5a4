# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""exercises.prescriptions.progression: weeks, the weekly steps, exact doses."""

from __future__ import annotations

from typing import Any

import pytest

from exercises.prescriptions import (
    Change,
    Dose,
    History,
    LevelChange,
    PerformedSet,
    doses_for_week,
    explain_change,
    plan_weeks,
    progression_trace,
    week_start,
)
from tests.exercises.prescriptions.factories import D, history, make_plan, plank, squat


def test_week_start_is_monday() -> None:
    assert week_start(D(2025, 3, 5)) == D(2025, 3, 3)  # Wednesday
    assert week_start(D(2025, 3, 3)) == D(2025, 3, 3)
    assert week_start(D(2025, 3, 9)) == D(2025, 3, 3)  # Sunday


def test_plan_weeks() -> None:
    plan = make_plan()
    assert plan_weeks(plan) == [
        D(2025, 3, 3),
        D(2025, 3, 10),
        D(2025, 3, 17),
        D(2025, 3, 24),
    ]
    assert plan_weeks(plan, until=D(2025, 3, 12)) == [D(2025, 3, 3), D(2025, 3, 10)]


def test_trace_of_the_worked_example() -> None:
    plan = make_plan()
    trace = progression_trace(plan, History(plan, history()), D(2025, 3, 26))
    assert trace[("a", "squat")] == (
        LevelChange(
            D(2025, 3, 3), Dose(2, reps=8), Dose(2, reps=10), Change.PROGRESSED, 83.0
        ),
        LevelChange(
            D(2025, 3, 10), Dose(2, reps=10), Dose(2, reps=10), Change.SCORE_BELOW, 77.0
        ),
        LevelChange(
            D(2025, 3, 17),
            Dose(2, reps=10),
            Dose(2, reps=10),
            Change.HELD_MISSED_WEEK,
            None,
        ),
    )
    assert [(s.change, s.after.hold_s) for s in trace[("a", "plank")]] == [
        (Change.PROGRESSED, 25.0),
        (Change.PROGRESSED, 30.0),
        (Change.STEPPED_BACK, 25.0),
    ]
    assert trace[("b", "sit_to_stand")] == ()  # no rule: the dose stays


def test_doses_for_each_week() -> None:
    plan = make_plan()
    h = History(plan, history())
    expected = {
        D(2025, 3, 5): (8, 20.0),
        D(2025, 3, 12): (10, 25.0),
        D(2025, 3, 19): (10, 30.0),
        D(2025, 3, 26): (10, 25.0),
        # After the plan every plan week has been judged, the last one too (squat mean
        # 91: 10 -> 12; planks done: 25 -> 30): where the resident ended up.
        D(2025, 4, 20): (12, 30.0),
    }
    for day, (reps, hold_s) in expected.items():
        doses = doses_for_week(plan, h, day)
        assert (doses[("a", "squat")].reps, doses[("a", "plank")].hold_s) == (
            reps,
            hold_s,
        )
        assert doses[("b", "sit_to_stand")] == Dose(1, reps=10)


def _rule(**changes: Any) -> Any:
    """Change the squat's progression; a value None removes the key."""

    def mutate(doc: dict[str, Any]) -> None:
        rule = doc["sessions"][0]["exercises"][0]["progression"]
        for key, value in changes.items():
            if value is None:
                rule.pop(key)
            else:
                rule[key] = value

    return mutate


@pytest.mark.parametrize(
    ("rule", "sets", "expected"),
    [
        pytest.param(
            {},
            [squat(D(2025, 3, 6), 8, None)],
            (Change.SCORE_BELOW, 8),
            id="unscored-sets-do-not-qualify",
        ),
        pytest.param(
            {"min_mean_score": None},
            [squat(D(2025, 3, 6), 8, None)],
            (Change.PROGRESSED, 10),
            id="no-score-threshold",
        ),
        pytest.param(
            {},
            [squat(D(2025, 3, 6), 8, 80.0)],
            (Change.PROGRESSED, 10),
            id="threshold-inclusive",
        ),
        pytest.param(
            {},
            [squat(D(2025, 3, 6), 8, 90.0), squat(D(2025, 3, 6), 8, 69.0)],
            (Change.SCORE_BELOW, 8),
            id="mean-of-the-sets",
        ),
        pytest.param(
            {},
            [plank(D(2025, 3, 6), 20)],
            (Change.NOT_PERFORMED, 8),
            id="session-done-without-the-exercise",
        ),
        pytest.param(
            {"maximum": 9},
            [squat(D(2025, 3, 6), 8, 90.0)],
            (Change.PROGRESSED, 9),
            id="capped-at-maximum",
        ),
        pytest.param(
            {"maximum": 8},
            [squat(D(2025, 3, 6), 8, 90.0)],
            (Change.AT_MAXIMUM, 8),
            id="already-at-maximum",
        ),
        pytest.param(
            {"maximum": None},
            [squat(D(2025, 3, 6), 8, 90.0)],
            (Change.PROGRESSED, 10),
            id="no-maximum",
        ),
        pytest.param(
            {"on_missed": "step_back"},
            [],
            (Change.HELD_MISSED_WEEK, 8),
            id="step-back-never-below-start",
        ),
    ],
)
def test_one_week(
    rule: dict[str, Any], sets: list[PerformedSet], expected: tuple[Change, int]
) -> None:
    plan = make_plan(_rule(**rule))
    step = progression_trace(plan, History(plan, sets), D(2025, 3, 10))[("a", "squat")]
    assert len(step) == 1
    assert (step[0].change, step[0].after.reps) == expected


def test_week_without_the_session_scheduled() -> None:
    """A plan starting on Friday: session a (Mon/Thu) has no date in the first week,
    so that week changes nothing even though nothing was done."""
    plan = make_plan(lambda d: d.update(start_date="2025-03-07"))
    step = progression_trace(plan, History(plan, []), D(2025, 3, 12))[("a", "squat")]
    assert [(s.change, s.after.reps) for s in step] == [(Change.NOT_SCHEDULED, 8)]


def test_sets_outside_the_plan_are_ignored() -> None:
    plan = make_plan()
    sets = [
        squat(D(2025, 3, 4), 8, 95.0),  # the day before the start
        PerformedSet(
            D(2025, 3, 6), "a", "lunge", reps=8, score=95.0
        ),  # not in the plan
        PerformedSet(D(2025, 3, 6), "c", "squat", reps=8, score=95.0),  # no session c
    ]
    h = History(plan, sets)
    assert h.week(D(2025, 3, 3)) == []
    step = progression_trace(plan, h, D(2025, 3, 10))[("a", "squat")]
    assert step[0].change is Change.HELD_MISSED_WEEK


def test_performed_set_validation() -> None:
    with pytest.raises(ValueError, match=r"reps must be an integer >= 0, got -1"):
        PerformedSet(D(2025, 3, 6), "a", "squat", reps=-1)
    with pytest.raises(
        ValueError, match=r"score must be within 0-100 or None, got 101"
    ):
        PerformedSet(D(2025, 3, 6), "a", "squat", reps=1, score=101)
    with pytest.raises(
        ValueError, match=r"hold_s must be a finite number >= 0, got nan"
    ):
        PerformedSet(D(2025, 3, 6), "a", "plank", hold_s=float("nan"))


def test_explain_change() -> None:
    plan = make_plan()
    trace = progression_trace(plan, History(plan, history()), D(2025, 3, 26))
    ex = plan.session("a").exercises[0]
    texts = [explain_change(s, ex) for s in trace[("a", "squat")]]
    assert texts == [
        {"en": "reps 8 → 10 (mean score 83)", "zh-CN": "次数 8 → 10（平均得分83）"},
        {
            "en": "reps stays at 10: mean score 77 below 80",
            "zh-CN": "次数保持10：平均得分77低于80",
        },
        {
            "en": "reps stays at 10: no session that week",
            "zh-CN": "次数保持10：该周没有训练",
        },
    ]
    plank_ex = plan.session("a").exercises[1]
    back = trace[("a", "plank")][2]
    assert explain_change(back, plank_ex) == {
        "en": "seconds held 30 → 25: no session that week",
        "zh-CN": "保持秒数 30 → 25：该周没有训练",
    }
