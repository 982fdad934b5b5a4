"""exercises.prescriptions.adherence: the worked example, exactly (the same numbers
are walked through in docs/prescriptions.md)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from exercises.prescriptions import (
    AdherenceTotals,
    CentreWeek,
    PerformedSet,
    WeekAdherence,
    adherence,
    centre_weeks,
    least_squares_slope,
)
from tests.exercises.prescriptions.factories import D, history, make_plan

WEEK1 = WeekAdherence(
    week_start=D(2025, 3, 3),
    complete=True,
    missed=False,
    # Thu a (squat 2x8, plank 2x20 s) + Sat b (sit-to-stand 1x10): all done, one
    # plank short (15 of 20 s).
    totals=AdherenceTotals(
        sessions_prescribed=2,
        sessions_done=2,
        sets_prescribed=5,
        sets_done=5,
        sets_completed=4,
        reps_prescribed=26,
        reps_done=26,
        hold_s_prescribed=40.0,
        hold_s_done=35.0,
    ),
    mean_score=(85 + 81 + 70) / 3,
)
WEEK2 = WeekAdherence(
    week_start=D(2025, 3, 10),
    complete=True,
    missed=False,
    # Mon + Thu a at squat 2x10, plank 2x25 s; Sat b. Only Monday was done, one squat
    # set short (9 of 10).
    totals=AdherenceTotals(
        sessions_prescribed=3,
        sessions_done=1,
        sets_prescribed=9,
        sets_done=4,
        sets_completed=3,
        reps_prescribed=2 * 2 * 10 + 10,
        reps_done=19,
        hold_s_prescribed=2 * 2 * 25.0,
        hold_s_done=50.0,
    ),
    mean_score=77.0,
)
WEEK3 = WeekAdherence(
    week_start=D(2025, 3, 17),
    complete=True,
    missed=True,
    # Plank at 30 s this week (progressed after week 2), nothing done.
    totals=AdherenceTotals(
        sessions_prescribed=3,
        sets_prescribed=9,
        reps_prescribed=50,
        hold_s_prescribed=2 * 2 * 30.0,
    ),
    mean_score=None,
)
WEEK4 = WeekAdherence(
    week_start=D(2025, 3, 24),
    complete=False,
    missed=False,
    # As of Wednesday: Monday's a done (plank stepped back to 25 s, one short).
    totals=AdherenceTotals(
        sessions_prescribed=3,
        sessions_done=1,
        sets_prescribed=9,
        sets_done=4,
        sets_completed=3,
        reps_prescribed=50,
        reps_done=20,
        hold_s_prescribed=100.0,
        hold_s_done=45.0,
    ),
    mean_score=91.0,
)


def test_worked_example() -> None:
    report = adherence(make_plan(), history(), as_of=D(2025, 3, 26))
    assert report.weeks == (WEEK1, WEEK2, WEEK3, WEEK4)
    assert report.totals == WEEK1.totals + WEEK2.totals + WEEK3.totals
    assert report.totals == AdherenceTotals(8, 3, 23, 9, 7, 126, 45, 260.0, 85.0)
    assert report.session_rate == 3 / 8  # min(2,2) + min(1,3) + min(0,3) of 8
    assert report.missed_weeks == (D(2025, 3, 17),)
    # Weekly means 236/3, 77, -, 91 at weeks 0, 1, 3: slope 190/42 points a week.
    assert report.score_trend_per_week == pytest.approx(
        float(Fraction(95, 21)), abs=1e-12
    )


def test_before_any_complete_week() -> None:
    report = adherence(make_plan(), history(), as_of=D(2025, 3, 5))
    assert [w.week_start for w in report.weeks] == [D(2025, 3, 3)]
    assert not report.weeks[0].complete
    assert report.totals == AdherenceTotals()
    assert report.session_rate is None
    assert report.score_trend_per_week is None


def test_after_the_plan_every_week_is_complete() -> None:
    report = adherence(make_plan(), history(), as_of=D(2025, 4, 15))
    assert len(report.weeks) == 4
    assert all(w.complete for w in report.weeks)
    # Week 4 finished with Mon a only: 3 prescribed, 1 done, not missed.
    assert report.totals.sessions_prescribed == 11
    assert report.session_rate == 4 / 11
    assert report.missed_weeks == (D(2025, 3, 17),)


def test_extra_sessions_do_not_make_up_a_missed_week() -> None:
    """Session b twice in week 1 (Sat and Sun) is 3 sessions done of 2, but the rate
    counts at most the 2 prescribed."""
    sets = [
        *history()[:5],
        PerformedSet(D(2025, 3, 9), "b", "sit_to_stand", reps=10, score=None),
    ]
    report = adherence(make_plan(), sets, as_of=D(2025, 3, 17))
    assert report.weeks[0].totals.sessions_done == 3
    assert report.session_rate == (2 + 0) / (2 + 3)


def test_least_squares_slope() -> None:
    assert least_squares_slope([]) is None
    assert least_squares_slope([(0.0, 5.0), (0.0, 7.0)]) is None
    assert least_squares_slope([(0.0, 1.0), (2.0, 5.0)]) == 2.0
    assert least_squares_slope([(0.0, 1.0), (1.0, 1.0), (2.0, 4.0)]) == pytest.approx(
        1.5
    )


def test_centre_weeks() -> None:
    plan = make_plan()
    one = adherence(plan, history(), as_of=D(2025, 3, 26))
    other = adherence(plan, [], as_of=D(2025, 3, 12))
    weeks = centre_weeks([one, other])
    assert [w.week_start for w in weeks] == [
        D(2025, 3, 3),
        D(2025, 3, 10),
        D(2025, 3, 17),
        D(2025, 3, 24),
    ]
    assert weeks[0] == CentreWeek(
        D(2025, 3, 3),
        residents=2,
        residents_missed=1,
        totals=WEEK1.totals + other.weeks[0].totals,
    )
    assert (weeks[1].residents, weeks[1].residents_missed) == (2, 0)  # other's is open
    assert (weeks[2].residents, weeks[2].residents_missed) == (1, 1)
