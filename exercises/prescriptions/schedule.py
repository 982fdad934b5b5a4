"""Today's plan: what the kiosk runs after a resident checks in.

`plan_for_date(plan, date, sets)` gives the sessions scheduled that day with each
exercise's dose for the week (progression applied), whether each was already done
that day, the sessions still owed from earlier in the week (make-up), and the next
scheduled day.

A session is *owed* this week when it was scheduled more often from Monday to the
date than it was done (days with at least one of its sets). A session scheduled
today and not yet done is today's; any further owed occurrence is a make-up.

Core module: stdlib only.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass

from exercises.events import LocalizedText
from exercises.prescriptions.model import (
    Dose,
    PlanSession,
    PrescribedExercise,
    Prescription,
)
from exercises.prescriptions.progression import (
    History,
    LevelChange,
    PerformedSet,
    dose_for_week,
    progression_trace,
    scheduled_dates,
    week_start,
)

__all__ = [
    "ExerciseForToday",
    "PlanStatus",
    "SessionForToday",
    "TodayPlan",
    "plan_for_date",
]


class PlanStatus(enum.StrEnum):
    """Where a date lies against the plan's dates."""

    NOT_STARTED = "not_started"
    ACTIVE = "active"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class ExerciseForToday:
    """One exercise to run, at this week's dose.

    Attributes:
        prescribed: The plan entry (rest, pace, target score, load, notes, rule).
        dose: This week's dose.
        last_change: The latest progression step (None: none yet or no rule); the
            kiosk can say "two more reps than last week".
    """

    prescribed: PrescribedExercise
    dose: Dose
    last_change: LevelChange | None

    @property
    def exercise_id(self) -> str:
        """The template id."""
        return self.prescribed.exercise_id


@dataclass(frozen=True, slots=True)
class SessionForToday:
    """A session to run.

    Attributes:
        session_id: The plan's session id.
        name: Its name.
        done_today: At least one of its sets was done on the date.
        exercises: In order, at this week's doses.
    """

    session_id: str
    name: LocalizedText
    done_today: bool
    exercises: tuple[ExerciseForToday, ...]


@dataclass(frozen=True, slots=True)
class TodayPlan:
    """The plan for one date.

    Attributes:
        date: The date asked about.
        status: Before, within or after the plan's dates.
        week_start: The Monday of the date's week.
        sessions: Sessions scheduled on the date (empty outside the plan).
        make_up: Sessions owed from earlier this week.
        next_session_on: The next scheduled date after `date`, None after the plan.
    """

    date: dt.date
    status: PlanStatus
    week_start: dt.date
    sessions: tuple[SessionForToday, ...]
    make_up: tuple[SessionForToday, ...]
    next_session_on: dt.date | None


def _next_session(plan: Prescription, date: dt.date) -> dt.date | None:
    first = max(date + dt.timedelta(days=1), plan.start_date)
    # Every session runs at least weekly, so a week ahead always finds one.
    dates = [
        d
        for s in plan.sessions
        for d in scheduled_dates(plan, s, first, first + dt.timedelta(days=6))
    ]
    return min(dates, default=None)


def plan_for_date(
    plan: Prescription, date: dt.date, sets: Iterable[PerformedSet]
) -> TodayPlan:
    """What the resident should do on `date`.

    Args:
        plan: The resident's plan.
        date: The local date at the kiosk.
        sets: Everything the resident did under this plan (any order; later days
            are ignored).

    Returns:
        Today's and make-up sessions at this week's doses.
    """
    history = History(plan, (s for s in sets if s.performed_on <= date))
    monday = week_start(date)
    if date < plan.start_date:
        status = PlanStatus.NOT_STARTED
    elif date > plan.end_date:
        status = PlanStatus.ENDED
    else:
        status = PlanStatus.ACTIVE
    next_on = _next_session(plan, date)
    if status is not PlanStatus.ACTIVE:
        return TodayPlan(date, status, monday, (), (), next_on)
    trace = progression_trace(plan, history, date)
    done = history.sessions_done(monday)

    def build(session: PlanSession) -> SessionForToday:
        exercises = []
        for ex in session.exercises:
            steps = trace[(session.id, ex.exercise_id)]
            exercises.append(
                ExerciseForToday(
                    ex, dose_for_week(steps, ex.dose), steps[-1] if steps else None
                )
            )
        return SessionForToday(
            session.id, session.name, (date, session.id) in done, tuple(exercises)
        )

    today, make_up = [], []
    for session in plan.sessions:
        scheduled = len(scheduled_dates(plan, session, monday, date))
        done_count = sum(1 for d, sid in done if sid == session.id)
        owed = scheduled - done_count
        if session.runs_on(date):
            today.append(build(session))
            if (date, session.id) not in done:
                owed -= 1
        if owed > 0:
            make_up.append(build(session))
    return TodayPlan(date, status, monday, tuple(today), tuple(make_up), next_on)
