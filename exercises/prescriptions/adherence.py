"""Adherence: what a resident did against what the plan prescribed, week by week.

For each plan week up to the week of `as_of` (Monday-to-Sunday weeks, progression.py):

- sessions prescribed: scheduled dates within the plan's dates that week; done:
  distinct (date, session) pairs with at least one set.
- sets / reps / hold seconds prescribed: per scheduled session, each exercise's sets
  (and sets x reps, sets x hold seconds) at that week's dose; done: the sets, reps and
  seconds recorded. A set is *completed* when it reached the week's reps or hold time.
- mean score: mean of the scored sets' scores that week (None if none).
- a week is *complete* once `as_of` is past its Sunday or past the plan's end, and
  *missed* when it is complete, had sessions prescribed and none done.

The totals add up the complete weeks only (the current week is still open).
`session_rate` = sum over complete weeks of min(done, prescribed) / sum of prescribed:
extra sessions in one week do not make up for a missed one. `score_trend_per_week` is
the least-squares slope of the weekly mean scores against the week number (points per
week; None with fewer than two scored weeks).

Core module: stdlib only.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, fields

from exercises.prescriptions.model import Prescription
from exercises.prescriptions.progression import (
    History,
    PerformedSet,
    dose_for_week,
    mean,
    plan_weeks,
    progression_trace,
    scheduled_dates,
    week_start,
)

__all__ = [
    "Adherence",
    "AdherenceTotals",
    "CentreWeek",
    "WeekAdherence",
    "adherence",
    "centre_weeks",
    "least_squares_slope",
]

_SUNDAY = dt.timedelta(days=6)


@dataclass(frozen=True, slots=True)
class AdherenceTotals:
    """Counts for one week, or summed over weeks."""

    sessions_prescribed: int = 0
    sessions_done: int = 0
    sets_prescribed: int = 0
    sets_done: int = 0
    sets_completed: int = 0
    reps_prescribed: int = 0
    reps_done: int = 0
    hold_s_prescribed: float = 0.0
    hold_s_done: float = 0.0

    def __add__(self, other: AdherenceTotals) -> AdherenceTotals:
        return AdherenceTotals(
            *(getattr(self, f.name) + getattr(other, f.name) for f in fields(self))
        )


@dataclass(frozen=True, slots=True)
class WeekAdherence:
    """One plan week.

    Attributes:
        week_start: Its Monday.
        complete: The week is over (or the plan ended).
        missed: Complete, sessions were prescribed, none was done.
        totals: Prescribed and done counts.
        mean_score: Mean score of its scored sets, None if none.
    """

    week_start: dt.date
    complete: bool
    missed: bool
    totals: AdherenceTotals
    mean_score: float | None


@dataclass(frozen=True, slots=True)
class Adherence:
    """A resident's adherence to one plan as of a date.

    Attributes:
        as_of: The date it was computed for.
        weeks: Every plan week up to the week of `as_of`.
        totals: Sums over the complete weeks.
        session_rate: See the module doc; None before a complete week with sessions.
        missed_weeks: Mondays of the missed weeks.
        score_trend_per_week: Slope of the weekly mean scores, points per week.
    """

    as_of: dt.date
    weeks: tuple[WeekAdherence, ...]
    totals: AdherenceTotals
    session_rate: float | None
    missed_weeks: tuple[dt.date, ...]
    score_trend_per_week: float | None


def least_squares_slope(points: Iterable[tuple[float, float]]) -> float | None:
    """Slope of the least-squares line through (x, y) points; None for fewer than
    two distinct x."""
    pts = list(points)
    if len({x for x, _ in pts}) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    sxy = sum((x - mx) * (y - my) for x, y in pts)
    return sxy / sxx


def _week(
    plan: Prescription, history: History, monday: dt.date, as_of: dt.date
) -> WeekAdherence:
    sunday = monday + _SUNDAY
    trace = progression_trace(plan, history, monday)
    sets = history.week(monday)
    done_by_entry: dict[tuple[str, str], list[PerformedSet]] = defaultdict(list)
    for s in sets:
        done_by_entry[s.key].append(s)
    t = AdherenceTotals(sessions_done=len(history.sessions_done(monday)))
    for session in plan.sessions:
        n = len(scheduled_dates(plan, session, monday, sunday))
        t += AdherenceTotals(sessions_prescribed=n)
        for ex in session.exercises:
            key = (session.id, ex.exercise_id)
            dose = dose_for_week(trace[key], ex.dose)
            done = done_by_entry[key]
            if dose.reps is not None:
                t += AdherenceTotals(
                    reps_prescribed=n * dose.sets * dose.reps,
                    reps_done=sum(s.reps for s in done),
                    sets_completed=sum(1 for s in done if s.reps >= dose.reps),
                )
            if dose.hold_s is not None:
                t += AdherenceTotals(
                    hold_s_prescribed=n * dose.sets * dose.hold_s,
                    hold_s_done=sum(s.hold_s for s in done),
                    sets_completed=sum(1 for s in done if s.hold_s >= dose.hold_s),
                )
            t += AdherenceTotals(sets_prescribed=n * dose.sets, sets_done=len(done))
    complete = as_of > sunday or as_of > plan.end_date
    return WeekAdherence(
        week_start=monday,
        complete=complete,
        missed=complete and t.sessions_prescribed > 0 and t.sessions_done == 0,
        totals=t,
        mean_score=mean(s.score for s in sets if s.score is not None),
    )


def adherence(
    plan: Prescription, sets: Iterable[PerformedSet], as_of: dt.date
) -> Adherence:
    """Adherence to `plan` as of the date (sets after it are ignored).

    Args:
        plan: The plan.
        sets: Everything the resident did under it.
        as_of: Today at the centre.
    """
    history = History(plan, (s for s in sets if s.performed_on <= as_of))
    weeks = tuple(_week(plan, history, m, as_of) for m in plan_weeks(plan, as_of))
    totals = AdherenceTotals()
    capped = prescribed = 0
    for w in weeks:
        if w.complete:
            totals += w.totals
            capped += min(w.totals.sessions_done, w.totals.sessions_prescribed)
            prescribed += w.totals.sessions_prescribed
    first = week_start(plan.start_date)
    slope = least_squares_slope(
        ((w.week_start - first).days / 7, w.mean_score)
        for w in weeks
        if w.mean_score is not None
    )
    return Adherence(
        as_of=as_of,
        weeks=weeks,
        totals=totals,
        session_rate=capped / prescribed if prescribed else None,
        missed_weeks=tuple(w.week_start for w in weeks if w.missed),
        score_trend_per_week=slope,
    )


@dataclass(frozen=True, slots=True)
class CentreWeek:
    """One week across a centre's residents.

    Attributes:
        week_start: The Monday.
        residents: Residents with a plan week here.
        residents_missed: Of them, those who missed the week.
        totals: Their counts added up.
    """

    week_start: dt.date
    residents: int
    residents_missed: int
    totals: AdherenceTotals


def centre_weeks(reports: Iterable[Adherence]) -> tuple[CentreWeek, ...]:
    """Residents' adherence added up per week, oldest first (one report per
    resident and plan; a resident with two plans in a week counts twice)."""
    by_week: dict[dt.date, CentreWeek] = {}
    for report in reports:
        for w in report.weeks:
            prev = by_week.get(
                w.week_start, CentreWeek(w.week_start, 0, 0, AdherenceTotals())
            )
            by_week[w.week_start] = CentreWeek(
                w.week_start,
                prev.residents + 1,
                prev.residents_missed + int(w.missed),
                prev.totals + w.totals,
            )
    return tuple(by_week[k] for k in sorted(by_week))
