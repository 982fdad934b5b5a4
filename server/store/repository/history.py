"""A resident's history: sessions with their rep counts and mean scores, and weekly
progress per exercise (reps, score, range of motion)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.store.models import ExerciseSession, Rep


@dataclass(frozen=True, slots=True)
class SessionOverview:
    """A session with its rep count and mean score (None without scored reps)."""

    session: ExerciseSession
    rep_count: int
    mean_score: float | None


def _overviews(
    db: Session, where: Sequence[Any], limit: int, offset: int
) -> list[SessionOverview]:
    reps = (
        select(
            Rep.session_id.label("sid"),
            func.count(Rep.id).label("n"),
            func.avg(Rep.score).label("mean"),
        )
        .group_by(Rep.session_id)
        .subquery()
    )
    rows = db.execute(
        select(ExerciseSession, reps.c.n, reps.c.mean)
        .outerjoin(reps, reps.c.sid == ExerciseSession.id)
        .where(*where)
        .order_by(ExerciseSession.started_at.desc(), ExerciseSession.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [
        SessionOverview(s, int(n or 0), None if mean is None else float(mean))
        for s, n, mean in rows
    ]


def resident_sessions(
    db: Session, resident_id: int, *, limit: int = 100, offset: int = 0
) -> list[SessionOverview]:
    """A resident's sessions, newest first."""
    return _overviews(db, [ExerciseSession.resident_id == resident_id], limit, offset)


def session_overview(db: Session, session_id: int) -> SessionOverview | None:
    found = _overviews(db, [ExerciseSession.id == session_id], 1, 0)
    return found[0] if found else None


@dataclass(slots=True)
class WeekProgress:
    """One exercise in one ISO week of a resident's history.

    Attributes:
        week: ISO week, "YYYY-Www".
        week_start: Monday of that week (in the time zone asked for).
        exercise_id: The exercise.
        sessions: Sessions started that week.
        reps: Reps recorded in them.
        mean_score: Mean rep score, 0-100 (None without scored reps).
        rom_deg: Mean range of motion per angle over the reps, degrees.
        rom_max_deg: Largest range of motion per angle, degrees.
    """

    week: str
    week_start: date
    exercise_id: str
    sessions: int = 0
    reps: int = 0
    mean_score: float | None = None
    rom_deg: dict[str, float] = field(default_factory=dict)
    rom_max_deg: dict[str, float] = field(default_factory=dict)


def weekly_progress(
    db: Session, resident_id: int, *, exercise_id: str | None = None, tz: str = "UTC"
) -> list[WeekProgress]:
    """Reps, mean score and range of motion per angle, by ISO week and exercise.

    Weeks follow the sessions' start times in the time zone `tz` (IANA name; the
    centre's, so a late-evening session counts in the resident's own week).

    Raises:
        ValueError: unknown time zone.
    """
    try:
        zone = ZoneInfo(tz)
    except (KeyError, ValueError) as exc:
        raise ValueError(f"expected an IANA time zone name, got {tz!r}") from exc
    where = [ExerciseSession.resident_id == resident_id]
    if exercise_id is not None:
        where.append(ExerciseSession.exercise_id == exercise_id)
    sessions = db.execute(
        select(
            ExerciseSession.id, ExerciseSession.exercise_id, ExerciseSession.started_at
        ).where(*where)
    ).all()
    if not sessions:
        return []
    key_of: dict[int, tuple[int, int, str]] = {}
    weeks: dict[tuple[int, int, str], WeekProgress] = {}
    for sid, exercise, started_at in sessions:
        local = started_at.astimezone(zone)
        iso = local.isocalendar()
        key = (iso.year, iso.week, exercise)
        key_of[sid] = key
        if key not in weeks:
            monday = local.date() - timedelta(days=iso.weekday - 1)
            weeks[key] = WeekProgress(f"{iso.year}-W{iso.week:02d}", monday, exercise)
        weeks[key].sessions += 1
    scores: dict[tuple[int, int, str], list[float]] = defaultdict(list)
    roms: dict[tuple[int, int, str], dict[str, list[float]]] = defaultdict(
        lambda: defaultdict(list)
    )
    rows = db.execute(
        select(Rep.session_id, Rep.score, Rep.range_of_motion_deg).where(
            Rep.session_id.in_(list(key_of))
        )
    )
    for sid, score, rom in rows:
        key = key_of[sid]
        weeks[key].reps += 1
        if score is not None:
            scores[key].append(float(score))
        for angle, value in (rom or {}).items():
            if value is not None:
                roms[key][angle].append(float(value))
    for key, week in weeks.items():
        if scores[key]:
            week.mean_score = sum(scores[key]) / len(scores[key])
        for angle, values in sorted(roms[key].items()):
            week.rom_deg[angle] = sum(values) / len(values)
            week.rom_max_deg[angle] = max(values)
    return [weeks[k] for k in sorted(weeks)]
