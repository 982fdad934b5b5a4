"""Session resumption: a kiosk whose connection dropped (its network, or the server
process serving it died) reconnects and goes on with the SAME recorded session.

Wire (docs/protocol.md): the kiosk sends `open` with `"resume": "<session_id>"`, the id
its earlier `opened` carried. The server continues that session when

* the records store has it (`exercise_sessions.live_id`), for the same exercise;
* the same kiosk started it (the same verified kiosk id; both None without kiosk auth),
  so a kiosk of one centre can never attach to another centre's session;
* it is not completed, and either it was interrupted at most `RESUME_WINDOW_S` ago, or
  it is still `active` (the process serving it died without a word) and started at
  most `MAX_SESSION_AGE_S` ago.

Then `opened` carries the same `session_id` and `resumed_reps` (reps recorded so far),
and the new engine's reps are numbered after them. Otherwise a fresh session opens (a
new id, `resumed_reps` null): the resident goes on exercising either way.

Nothing is lost that the kiosk was told: a rep is committed before it is sent
(`server.store.recorder`), and resumption counts the committed reps. What does not carry
over is the engine's in-flight state: a rep half done when the connection dropped was
never reported and is not counted; hold timers and frame statistics restart.

Pieces: `find_resume_point` (reads the store), `ResumedSession` (wraps the engine's
session: renumbers reps, merges the summary with what was recorded) and
`ResumableRecorder` (the database recorder that re-attaches to the recorded row instead
of starting a new one: `on_resume`).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession

from exercises.events import Event, RepCompleted
from exercises.session import SessionSummary
from server.recording import SessionEnd, SessionInfo
from server.settings import Lang, as_lang
from server.store import repository as repo
from server.store.database import Store
from server.store.models import Cue, ExerciseSession, SessionStatus
from server.store.recorder import DatabaseRecorder
from vision.types import PoseFrame

if TYPE_CHECKING:
    from server.live import LiveSession

__all__ = [
    "MAX_SESSION_AGE_S",
    "RESUME_WINDOW_S",
    "ResumableRecorder",
    "ResumePoint",
    "ResumedSession",
    "find_resume_point",
    "recorded_rep_counts",
]

log = logging.getLogger(__name__)

RESUME_WINDOW_S: Final[float] = 15 * 60.0
"""An interrupted session can be resumed this long after it ended."""

MAX_SESSION_AGE_S: Final[float] = 6 * 3600.0
"""A session still marked active (its process died) can be resumed this long after it
started; older ones are treated as abandoned."""


@dataclass(frozen=True, slots=True)
class ResumePoint:
    """A recorded session that may go on, and what it had recorded.

    Attributes:
        session_id: The live id the kiosk knows.
        record_id: Its `exercise_sessions.id`.
        exercise_id, lang, elder, kiosk_id, started_at: As when it opened.
        resident: The resident's member code (None = anonymous).
        rep_scores: Recorded reps' scores in order (None where non-finite).
        rep_durations_ms: Recorded reps' durations.
        rep_faults: Recorded reps' fault (cue) ids.
        cues_by_id: Recorded cues, by id.
    """

    session_id: str
    record_id: int
    exercise_id: str
    lang: Lang
    elder: bool
    kiosk_id: int | None
    started_at: datetime
    resident: str | None = None
    rep_scores: tuple[float | None, ...] = ()
    rep_durations_ms: tuple[int, ...] = ()
    rep_faults: tuple[tuple[str, ...], ...] = ()
    cues_by_id: dict[str, int] = field(default_factory=dict)

    @property
    def rep_count(self) -> int:
        return len(self.rep_scores)


def find_resume_point(
    store: Store,
    session_id: str,
    *,
    kiosk_id: int | None,
    exercise_id: str,
    now: datetime | None = None,
    window_s: float = RESUME_WINDOW_S,
    max_age_s: float = MAX_SESSION_AGE_S,
) -> ResumePoint | None:
    """The recorded session `session_id` if this kiosk may go on with it (see the module
    docstring), else None. Blocking (database); call it in a thread.

    Args:
        store: The records database.
        session_id: The id the kiosk asks to resume.
        kiosk_id: The kiosk asking (its verified id; None without kiosk auth).
        exercise_id: The exercise it opens; must be the recorded one.
        now: The current time (tests), timezone-aware.
        window_s: `RESUME_WINDOW_S`.
        max_age_s: `MAX_SESSION_AGE_S`.
    """
    now = now or datetime.now(UTC)
    with store.session() as db:
        row = repo.find_session_by_live_id(db, session_id)
        why = (
            "unknown session"
            if row is None
            else _why_not(row, kiosk_id, exercise_id, now, window_s, max_age_s)
        )
        if why is not None or row is None:
            log.info("session %s not resumed: %s; a new session opens", session_id, why)
            return None
        return _point(db, row)


def _why_not(
    row: ExerciseSession,
    kiosk_id: int | None,
    exercise_id: str,
    now: datetime,
    window_s: float,
    max_age_s: float,
) -> str | None:
    """Why the recorded session may not go on (None: it may)."""
    if row.kiosk_id != kiosk_id:
        return "another kiosk's session"
    if row.exercise_id != exercise_id:
        return f"a {row.exercise_id} session, not {exercise_id}"
    if row.status == SessionStatus.COMPLETED:
        return "completed"
    if row.status == SessionStatus.INTERRUPTED:
        ended = _aware(row.ended_at)
        if ended is None or now - ended > timedelta(seconds=window_s):
            return "interrupted too long ago"
        return None
    started = _aware(row.started_at)
    if started is None or now - started > timedelta(seconds=max_age_s):
        return "abandoned"
    return None


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; the store writes UTC.
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _point(db: DbSession, row: ExerciseSession) -> ResumePoint:
    cues = db.execute(
        select(Cue.cue_id, func.count())
        .where(Cue.session_id == row.id)
        .group_by(Cue.cue_id)
    ).all()
    reps = list(row.reps)
    started = _aware(row.started_at)
    assert started is not None
    return ResumePoint(
        session_id=str(row.live_id),
        record_id=row.id,
        exercise_id=row.exercise_id,
        lang=as_lang(row.language),
        elder=bool(row.elder_mode),
        kiosk_id=row.kiosk_id,
        started_at=started,
        resident=None if row.resident is None else row.resident.member_code,
        rep_scores=tuple(r.score for r in reps),
        rep_durations_ms=tuple(int(r.duration_ms) for r in reps),
        rep_faults=tuple(tuple(str(c) for c in r.cue_ids or ()) for r in reps),
        cues_by_id={str(cue_id): int(n) for cue_id, n in cues},
    )


class ResumedSession:
    """The live session for the resumed part, numbered and summed as one session.

    Wraps what `server.live` starts for an exercise (`inner`). `feed` and `stop`
    renumber `RepCompleted.count` after the recorded reps; `summary()` merges the
    recorded reps and cues with the engine's (durations and hold times cover the
    resumed part only: the records keep no frame times of the lost part).
    """

    def __init__(self, session: LiveSession, point: ResumePoint) -> None:
        self.inner = session
        self.point = point
        self._scores: list[float] = []
        self._durations_ms: list[int] = []

    def feed(self, frame: PoseFrame, image_wh: tuple[int, int]) -> list[Event]:
        """The wrapped session's `feed`, reps renumbered."""
        return [self._renumber(e) for e in self.inner.feed(frame, image_wh)]

    def control(self, action: str) -> list[Event]:
        """The wrapped session's `control`."""
        return [self._renumber(e) for e in self.inner.control(action)]

    def stop(self) -> list[Event]:
        """The wrapped session's `stop` (the kiosk closed it), reps renumbered."""
        return [self._renumber(e) for e in self.inner.stop()]

    def _renumber(self, event: Event) -> Event:
        if not isinstance(event, RepCompleted):
            return event
        self._scores.append(float(event.score))
        self._durations_ms.append(int(event.duration_ms))
        return dataclasses.replace(event, count=event.count + self.point.rep_count)

    def summary(self) -> object | None:
        summary = self.inner.summary()
        if not isinstance(summary, SessionSummary):
            return summary  # not an exercise session's summary: nothing to merge
        point = self.point
        scores = [s for s in point.rep_scores if s is not None and math.isfinite(s)]
        scores += self._scores
        durations = list(point.rep_durations_ms) + self._durations_ms
        cues = Counter(point.cues_by_id) + Counter(summary.cues_by_id)
        faults = Counter(f for rep in point.rep_faults for f in rep)
        faults += Counter(summary.faults_by_id)
        return dataclasses.replace(
            summary,
            reps=summary.reps + point.rep_count,
            mean_score=round(sum(scores) / len(scores), 1) if scores else None,
            best_score=max(scores) if scores else None,
            worst_score=min(scores) if scores else None,
            mean_rep_duration_ms=sum(durations) / len(durations) if durations else None,
            cues_by_id=dict(cues),
            faults_by_id=dict(faults),
        )


class ResumableRecorder(DatabaseRecorder):
    """`DatabaseRecorder` that can go on with a recorded session (`on_resume`).

    Same arguments as `DatabaseRecorder`. A session resumed while this process still
    holds its earlier connection (not yet noticed gone) shares the recording; the
    session is finished by the last connection to close.
    """

    def __init__(self, store: Store, **kwargs: Any) -> None:
        super().__init__(store, **kwargs)
        self._holders: Counter[str] = Counter()

    @property
    def resumable(self) -> bool:
        return True

    def on_open(self, info: SessionInfo) -> None:
        self._holders[info.session_id] = 1
        super().on_open(info)

    def on_resume(self, info: SessionInfo) -> None:
        """Go on recording the session `info.session_id` (reps, cues and landmarks
        append to its row, which is active again)."""
        if info.session_id in self._live:
            self._holders[info.session_id] += 1
            return
        self._holders[info.session_id] = 1
        live = self._track(info.session_id)
        kiosk_id = info.kiosk_id

        def attach(db: DbSession) -> int | None:
            row = repo.find_session_by_live_id(db, info.session_id)
            if row is None:
                log.error("session %s: no record to resume", info.session_id)
                return None
            row.status = SessionStatus.ACTIVE
            row.ended_at = None
            row.end_reason = None
            repo.touch_kiosk(db, kiosk_id)
            live.db_id = row.id
            live.resident_id = row.resident_id
            live.keep_landmarks = (
                row.resident.consent_landmarks
                if row.resident is not None
                else self.record_anonymous_landmarks
            )
            return row.id

        self._submit(attach)

    def on_close(self, session_id: str, end: SessionEnd) -> None:
        left = self._holders[session_id] - 1
        if left > 0:  # an earlier connection of a session resumed here
            self._holders[session_id] = left
            return
        self._holders.pop(session_id, None)
        super().on_close(session_id, end)

    def close(self, timeout: float | None = 30.0) -> None:
        self._holders.clear()
        super().close(timeout)


def recorded_rep_counts(store: Store, session_id: str) -> Sequence[int]:
    """The `count` of every rep recorded for live session `session_id`, in order."""
    with store.session() as db:
        row = repo.find_session_by_live_id(db, session_id)
        return [] if row is None else [int(r.count) for r in row.reps]
