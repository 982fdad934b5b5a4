# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""Weeks, performed sets and the progression of a plan's doses.

Weeks run Monday to Sunday (`week_start`), the same weeks for every resident so a
centre's weeks line up. A plan's first week is the one holding its start date (it may
be partial: only the scheduled days on or after the start count), its last the one
holding its end date.

An exercise's dose for a week is its prescribed dose changed by its `Progression`
once per earlier week of the plan, in order (docs/prescriptions.md has the worked
arithmetic). For each earlier week:

1. its session was not scheduled that week: no change (`Change.NOT_SCHEDULED`);
2. no session of the plan at all was done that week (a missed week): "hold" keeps the
   dose (`HELD_MISSED_WEEK`), "step_back" takes one step off, never below the
   prescribed start (`STEPPED_BACK`);
3. the exercise was not done that week: no change (`NOT_PERFORMED`);
4. `min_mean_score` is set and the mean score of its sets that week is below it, or
   none of them was scored: no change (`SCORE_BELOW`);
5. otherwise one step up (`PROGRESSED`), capped at `maximum` (`AT_MAXIMUM` once there).

Core module: stdlib only.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from exercises.events import LocalizedText
from exercises.prescriptions.model import (
    Dose,
    PlanSession,
    PrescribedExercise,
    Prescription,
)

__all__ = [
    "Change",
    "EntryKey",
    "History",
    "LevelChange",
    "PerformedSet",
    "dose_for_week",
    "doses_for_week",
    "explain_change",
    "plan_weeks",
    "progression_trace",
    "scheduled_dates",
    "week_start",
]

WEEK: Final[dt.timedelta] = dt.timedelta(days=7)

EntryKey = tuple[str, str]
"""(session id, exercise id): one exercise of one session of a plan."""


def week_start(date: dt.date) -> dt.date:
    """The Monday of the date's week."""
    return date - dt.timedelta(days=date.weekday())


def plan_weeks(plan: Prescription, until: dt.date | None = None) -> list[dt.date]:
    """The Mondays of the plan's weeks, from its first week to its last (or to the
    week holding `until`, if earlier)."""
    last = plan.end_date if until is None else min(plan.end_date, until)
    weeks = []
    w = week_start(plan.start_date)
    while w <= last:
        weeks.append(w)
        w += WEEK
    return weeks


def scheduled_dates(
    plan: Prescription, session: PlanSession, first: dt.date, last: dt.date
) -> list[dt.date]:
    """Dates in [first, last] (inclusive) within the plan on which `session` runs."""
    day = max(first, plan.start_date)
    end = min(last, plan.end_date)
    out = []
    while day <= end:
        if session.runs_on(day):
            out.append(day)
        day += dt.timedelta(days=1)
    return out


@dataclass(frozen=True, slots=True)
class PerformedSet:
    """One set the resident did (from the records).

    Attributes:
        performed_on: The local date of the set.
        session_id: The plan session it was done as.
        exercise_id: The exercise.
        reps: Repetitions counted (rep and sequence exercises).
        hold_s: Seconds held (hold exercises).
        score: Mean form score of the set (0-100), None when not scored.
    """

    performed_on: dt.date
    session_id: str
    exercise_id: str
    reps: int = 0
    hold_s: float = 0.0
    score: float | None = None

    def __post_init__(self) -> None:
        if (
            isinstance(self.reps, bool)
            or not isinstance(self.reps, int)
            or self.reps < 0
        ):
            raise ValueError(f"reps must be an integer >= 0, got {self.reps!r}")
        if not (math.isfinite(self.hold_s) and self.hold_s >= 0):
            raise ValueError(
                f"hold_s must be a finite number >= 0, got {self.hold_s!r}"
            )
        if self.score is not None and not (
            math.isfinite(self.score) and 0.0 <= self.score <= 100.0
        ):
            raise ValueError(f"score must be within 0-100 or None, got {self.score!r}")

    @property
    def key(self) -> EntryKey:
        """The plan entry it belongs to."""
        return (self.session_id, self.exercise_id)


class History:
    """A plan's performed sets indexed by week (sets outside the plan's dates or
    of sessions and exercises it does not have are left out).

    Args:
        plan: The plan.
        sets: Everything the resident did, in any order.
    """

    def __init__(self, plan: Prescription, sets: Iterable[PerformedSet]) -> None:
        entries = {(s.id, e.exercise_id) for s in plan.sessions for e in s.exercises}
        self._by_week: dict[dt.date, list[PerformedSet]] = defaultdict(list)
        for s in sets:
            if s.key in entries and plan.start_date <= s.performed_on <= plan.end_date:
                self._by_week[week_start(s.performed_on)].append(s)

    def week(self, monday: dt.date) -> list[PerformedSet]:
        """The week's sets, in the order given."""
        return self._by_week.get(monday, [])

    def sessions_done(self, monday: dt.date) -> set[tuple[dt.date, str]]:
        """(date, session id) of every session with at least one set that week."""
        return {(s.performed_on, s.session_id) for s in self.week(monday)}


class Change(enum.StrEnum):
    """What one week did to an exercise's dose."""

    PROGRESSED = "progressed"
    AT_MAXIMUM = "at_maximum"
    SCORE_BELOW = "score_below"
    NOT_PERFORMED = "not_performed"
    HELD_MISSED_WEEK = "held_missed_week"
    STEPPED_BACK = "stepped_back"
    NOT_SCHEDULED = "not_scheduled"


@dataclass(frozen=True, slots=True)
class LevelChange:
    """One week's step of an exercise's progression.

    Attributes:
        week_start: The Monday of the week that was judged.
        before: The dose during that week.
        after: The dose for the next week.
        change: Why (see the module doc).
        mean_score: Mean score of the exercise's sets that week, None if none.
    """

    week_start: dt.date
    before: Dose
    after: Dose
    change: Change
    mean_score: float | None


def mean(values: Iterable[float]) -> float | None:
    """Arithmetic mean; None for no values."""
    xs = list(values)
    return sum(xs) / len(xs) if xs else None


def _judge(
    plan: Prescription,
    session: PlanSession,
    ex: PrescribedExercise,
    monday: dt.date,
    dose: Dose,
    history: History,
) -> LevelChange:
    p = ex.progression
    assert p is not None
    sets = [s for s in history.week(monday) if s.key == (session.id, ex.exercise_id)]
    score = mean(s.score for s in sets if s.score is not None)
    start_value = ex.dose.get(p.field)
    value = dose.get(p.field)
    if not scheduled_dates(plan, session, monday, monday + dt.timedelta(days=6)):
        change, new = Change.NOT_SCHEDULED, value
    elif not history.week(monday):
        if p.on_missed == "step_back" and value > start_value:
            change, new = Change.STEPPED_BACK, max(start_value, value - p.step)
        else:
            change, new = Change.HELD_MISSED_WEEK, value
    elif not sets:
        change, new = Change.NOT_PERFORMED, value
    elif p.min_mean_score is not None and (score is None or score < p.min_mean_score):
        change, new = Change.SCORE_BELOW, value
    elif p.maximum is not None and value >= p.maximum:
        change, new = Change.AT_MAXIMUM, value
    else:
        new = value + p.step if p.maximum is None else min(p.maximum, value + p.step)
        change = Change.PROGRESSED
    return LevelChange(monday, dose, dose.with_value(p.field, new), change, score)


def _entries(plan: Prescription) -> Iterator[tuple[PlanSession, PrescribedExercise]]:
    for s in plan.sessions:
        for e in s.exercises:
            yield s, e


def progression_trace(
    plan: Prescription, history: History, until: dt.date
) -> dict[EntryKey, tuple[LevelChange, ...]]:
    """Every exercise's weekly steps for the plan weeks before the week of `until`.

    Exercises without a progression rule have an empty trace (their dose stays).
    """
    current = week_start(until)
    out: dict[EntryKey, tuple[LevelChange, ...]] = {}
    for session, ex in _entries(plan):
        steps: list[LevelChange] = []
        if ex.progression is not None:
            dose = ex.dose
            for monday in plan_weeks(plan):
                if monday >= current:
                    break
                step = _judge(plan, session, ex, monday, dose, history)
                steps.append(step)
                dose = step.after
        out[(session.id, ex.exercise_id)] = tuple(steps)
    return out


def dose_for_week(trace: tuple[LevelChange, ...], prescribed: Dose) -> Dose:
    """The dose after a trace (the prescribed dose when it is empty)."""
    return trace[-1].after if trace else prescribed


def doses_for_week(
    plan: Prescription, history: History, date: dt.date
) -> dict[EntryKey, Dose]:
    """Each exercise's dose during the week holding `date`."""
    trace = progression_trace(plan, history, date)
    return {
        (s.id, e.exercise_id): dose_for_week(trace[(s.id, e.exercise_id)], e.dose)
        for s, e in _entries(plan)
    }


_FIELD_NAMES: Final[dict[str, LocalizedText]] = {
    "reps": {"en": "reps", "zh-CN": "次数"},
    "sets": {"en": "sets", "zh-CN": "组数"},
    "hold_s": {"en": "seconds held", "zh-CN": "保持秒数"},
}
_CHANGE_TEXTS: Final[dict[Change, LocalizedText]] = {
    Change.PROGRESSED: {
        "en": "{field} {before} → {after}{score}",
        "zh-CN": "{field} {before} → {after}{score}",
    },
    Change.AT_MAXIMUM: {
        "en": "{field} stays at the maximum {after}",
        "zh-CN": "{field}已达上限{after}",
    },
    Change.SCORE_BELOW: {
        "en": "{field} stays at {after}: mean score {mean} below {target}",
        "zh-CN": "{field}保持{after}：平均得分{mean}低于{target}",
    },
    Change.NOT_PERFORMED: {
        "en": "{field} stays at {after}: not done that week",
        "zh-CN": "{field}保持{after}：该周未做此练习",
    },
    Change.HELD_MISSED_WEEK: {
        "en": "{field} stays at {after}: no session that week",
        "zh-CN": "{field}保持{after}：该周没有训练",
    },
    Change.STEPPED_BACK: {
        "en": "{field} {before} → {after}: no session that week",
        "zh-CN": "{field} {before} → {after}：该周没有训练",
    },
    Change.NOT_SCHEDULED: {
        "en": "{field} stays at {after}: not scheduled that week",
        "zh-CN": "{field}保持{after}：该周没有安排",
    },
}


_SCORE_SUFFIX: Final[LocalizedText] = {
    "en": " (mean score {mean})",
    "zh-CN": "（平均得分{mean}）",
}


def _fmt(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:g}" if x == int(x) else f"{x:.1f}"


def explain_change(step: LevelChange, ex: PrescribedExercise) -> LocalizedText:
    """One line for the coach page and the kiosk, en and zh-CN."""
    p = ex.progression
    assert p is not None
    out: LocalizedText = {}
    for lang, template in _CHANGE_TEXTS[step.change].items():
        score = ""
        if step.mean_score is not None:
            score = _SCORE_SUFFIX[lang].format(mean=_fmt(step.mean_score))
        out[lang] = template.format(
            field=_FIELD_NAMES[p.field][lang],
            before=_fmt(step.before.get(p.field)),
            after=_fmt(step.after.get(p.field)),
            mean=_fmt(step.mean_score),
            target=_fmt(p.min_mean_score),
            score=score,
        )
    return out
