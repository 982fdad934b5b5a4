"""The records' repository: small functions over a SQLAlchemy `Session`.

Every function takes the session first and only adds, changes and flushes; the caller
owns the transaction (`with store.begin() as db: ...`). The one exception to "the caller
decides when to commit" is durability of the live path: `DatabaseRecorder`
(`server.store.recorder`) commits each rep in its own transaction before the websocket
loop sends the rep to the kiosk, so a rep the resident saw counted is never lost.

Access control is not done here (see `server.auth`): these functions trust their caller.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session, joinedload

from exercises.events import CueIssued, Event, RepCompleted
from server.schemas import to_wire
from server.store.landmarks import encode_chunk, window_from_chunks
from server.store.models import (
    Alert,
    Assessment,
    Centre,
    Cue,
    CustomTemplate,
    ExerciseSession,
    Kiosk,
    LandmarkChunk,
    LoginSession,
    Note,
    Rep,
    Resident,
    Role,
    SessionStatus,
    SessionVideo,
    Sex,
    Staff,
    utcnow,
)
from vision.types import PoseWindow

__all__ = [
    "ConsentError",
    "SessionOverview",
    "WeekProgress",
    "acknowledge_alert",
    "add_assessment",
    "add_note",
    "append_landmarks",
    "attach_video",
    "clear_alert",
    "create_centre",
    "create_kiosk",
    "create_login",
    "create_resident",
    "create_staff",
    "delete_login",
    "delete_resident",
    "delete_template",
    "find_centre",
    "find_kiosk_by_token",
    "find_login",
    "find_resident",
    "find_session_by_live_id",
    "find_staff",
    "finish_session",
    "get_alert",
    "get_centre",
    "get_kiosk",
    "get_resident",
    "get_session",
    "get_staff",
    "get_template",
    "hash_token",
    "interrupt_stale_sessions",
    "list_alerts",
    "list_assessments",
    "list_centres",
    "list_kiosks",
    "list_notes",
    "list_staff",
    "list_templates",
    "load_landmarks",
    "mark_interrupted",
    "new_token",
    "purge_expired_logins",
    "raise_alert",
    "record_cue",
    "record_event",
    "record_rep",
    "resident_sessions",
    "save_template",
    "search_residents",
    "session_overview",
    "start_session",
    "update_resident",
    "utcnow",
    "weekly_progress",
]


class ConsentError(PermissionError):
    """The resident has not consented to what was asked (e.g. storing video)."""


# --- tokens -----------------------------------------------------------------------


def new_token() -> str:
    """A fresh bearer token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """SHA-256 hex of a bearer token. Tokens are random (256 bits), so a fast hash is
    enough to keep a leaked database from yielding usable tokens, and it allows the
    indexed lookup a slow, salted hash would not."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# --- centres and staff ------------------------------------------------------------


def create_centre(db: Session, name: str) -> Centre:
    centre = Centre(name=name.strip())
    db.add(centre)
    db.flush()
    return centre


def get_centre(db: Session, centre_id: int) -> Centre | None:
    return db.get(Centre, centre_id)


def find_centre(db: Session, name: str) -> Centre | None:
    return db.scalar(select(Centre).where(Centre.name == name.strip()))


def list_centres(db: Session) -> list[Centre]:
    return list(db.scalars(select(Centre).order_by(Centre.name)))


def create_staff(
    db: Session,
    *,
    username: str,
    password_hash: str,
    role: Role | str,
    centre_id: int | None,
    display_name: str | None = None,
) -> Staff:
    """A staff account; hash the password with `server.auth.hash_password` first.

    Raises:
        ValueError: a coach without a centre, or an unknown role.
    """
    role = Role(role)
    if role is Role.COACH and centre_id is None:
        raise ValueError("expected a centre for a coach account, got none")
    staff = Staff(
        username=username.strip(),
        display_name=(display_name or username).strip(),
        role=role,
        centre_id=centre_id,
        password_hash=password_hash,
    )
    db.add(staff)
    db.flush()
    return staff


def get_staff(db: Session, staff_id: int) -> Staff | None:
    return db.get(Staff, staff_id)


def find_staff(db: Session, username: str) -> Staff | None:
    return db.scalar(select(Staff).where(Staff.username == username.strip()))


def list_staff(db: Session, centre_id: int | None = None) -> list[Staff]:
    query = select(Staff).order_by(Staff.username)
    if centre_id is not None:
        query = query.where(Staff.centre_id == centre_id)
    return list(db.scalars(query))


# --- residents --------------------------------------------------------------------


def create_resident(
    db: Session,
    *,
    centre_id: int,
    member_code: str,
    display_name: str,
    birth_year: int | None = None,
    sex: Sex | str = Sex.UNKNOWN,
    conditions: Iterable[str] = (),
    consent_landmarks: bool = True,
    consent_video: bool = False,
    consent_data_sharing: bool = False,
) -> Resident:
    """A resident of a centre; `member_code` is unique within the centre.

    Landmark recording is on by default (landmarks and events only, never video);
    video and data sharing need explicit consent.
    """
    resident = Resident(
        centre_id=centre_id,
        member_code=member_code.strip(),
        display_name=display_name.strip(),
        birth_year=birth_year,
        sex=Sex(sex),
        conditions=[str(c) for c in conditions],
        consent_landmarks=consent_landmarks,
        consent_video=consent_video,
        consent_data_sharing=consent_data_sharing,
    )
    db.add(resident)
    db.flush()
    return resident


_RESIDENT_FIELDS = frozenset(
    {
        "display_name",
        "birth_year",
        "sex",
        "conditions",
        "consent_landmarks",
        "consent_video",
        "consent_data_sharing",
    }
)


def update_resident(db: Session, resident: Resident, **changes: Any) -> Resident:
    """Change some of a resident's fields (not the centre or the member code).

    Withdrawing a recording consent deletes what was kept under it: landmark
    recordings when `consent_landmarks` goes off, videos when `consent_video` does
    (reps, cues and scores stay; they need no recording).

    Raises:
        ValueError: a field that cannot be changed this way.
    """
    unknown = set(changes) - _RESIDENT_FIELDS
    if unknown:
        raise ValueError(
            f"expected fields among {', '.join(sorted(_RESIDENT_FIELDS))}, "
            f"got {', '.join(sorted(unknown))}"
        )
    withdrawn = [
        model
        for name, model in (
            ("consent_landmarks", LandmarkChunk),
            ("consent_video", SessionVideo),
        )
        if getattr(resident, name) and changes.get(name) is False
    ]
    for name, value in changes.items():
        if name == "sex":
            value = Sex(value)
        elif name == "conditions":
            value = [str(c) for c in value]
        setattr(resident, name, value)
    sessions = select(ExerciseSession.id).where(
        ExerciseSession.resident_id == resident.id
    )
    for model in withdrawn:
        db.execute(delete(model).where(model.session_id.in_(sessions)))
    db.flush()
    return resident


def get_resident(db: Session, resident_id: int) -> Resident | None:
    return db.get(Resident, resident_id)


def find_resident(db: Session, centre_id: int, member_code: str) -> Resident | None:
    return db.scalar(
        select(Resident).where(
            Resident.centre_id == centre_id, Resident.member_code == member_code.strip()
        )
    )


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def search_residents(
    db: Session,
    centre_id: int | None,
    query: str | None = None,
    *,
    limit: int = 50,
    offset: int = 0,
) -> list[Resident]:
    """Residents of a centre (every centre when `centre_id` is None) whose name or
    member code contains `query`, case-insensitively; ordered by name."""
    stmt = select(Resident).order_by(Resident.display_name, Resident.id)
    if centre_id is not None:
        stmt = stmt.where(Resident.centre_id == centre_id)
    if query and query.strip():
        pattern = _like_pattern(query.strip())
        stmt = stmt.where(
            or_(
                func.lower(Resident.display_name).like(pattern, escape="\\"),
                func.lower(Resident.member_code).like(pattern, escape="\\"),
            )
        )
    return list(db.scalars(stmt.limit(limit).offset(offset)))


def delete_resident(db: Session, resident_id: int) -> dict[str, int] | None:
    """Delete a resident and everything that references them, on their request.

    Sessions (with their reps, cues, landmark chunks and videos), notes and assessments
    go by the database's ON DELETE CASCADE. Fall alerts stay (a safety record of the
    centre: kiosk, seat, times) but lose the resident (ON DELETE SET NULL) and their
    details, which may name them. Returns how many rows of each kind went, plus
    `alerts_unlinked` (None when there was no such resident).
    """
    resident = db.get(Resident, resident_id)
    if resident is None:
        return None
    sessions = select(ExerciseSession.id).where(
        ExerciseSession.resident_id == resident_id
    )

    def count(model: Any, *where: Any) -> int:
        return int(
            db.scalar(select(func.count()).select_from(model).where(*where)) or 0
        )

    counts = {
        "sessions": count(ExerciseSession, ExerciseSession.resident_id == resident_id),
        "reps": count(Rep, Rep.session_id.in_(sessions)),
        "cues": count(Cue, Cue.session_id.in_(sessions)),
        "landmark_chunks": count(LandmarkChunk, LandmarkChunk.session_id.in_(sessions)),
        "videos": count(SessionVideo, SessionVideo.session_id.in_(sessions)),
        "notes": count(
            Note, or_(Note.resident_id == resident_id, Note.session_id.in_(sessions))
        ),
        "assessments": count(Assessment, Assessment.resident_id == resident_id),
        "alerts_unlinked": count(Alert, Alert.resident_id == resident_id),
    }
    db.execute(
        update(Alert)
        .where(Alert.resident_id == resident_id)
        .values(details={}, resident_id=None)
        .execution_options(synchronize_session=False)
    )
    db.execute(delete(Resident).where(Resident.id == resident_id))
    db.expunge(resident)
    db.flush()
    return counts


# --- alerts -----------------------------------------------------------------------


def raise_alert(
    db: Session,
    *,
    centre_id: int | None,
    kiosk_id: int | None,
    kind: str,
    live_id: str,
    track_id: int | None,
    seat_number: int | None,
    resident_id: int | None,
    details: dict[str, Any],
) -> Alert:
    """An open alert, raised now. The centre defaults to the kiosk's.

    Args:
        kind: What happened: `fall`.
        live_id: The group session's id.
        track_id: The tracker's id of the person, if known.
        seat_number: Their seat on the group screen (1..8), if they have one.
        resident_id: The resident, when the person was checked in.
        details: JSON-able facts for the record (e.g. the engine's `timestamp_ms`).
    """
    if centre_id is None and kiosk_id is not None:
        kiosk = db.get(Kiosk, kiosk_id)
        centre_id = kiosk.centre_id if kiosk is not None else None
    alert = Alert(
        centre_id=centre_id,
        kiosk_id=kiosk_id,
        kind=kind,
        live_id=live_id,
        track_id=None if track_id is None else int(track_id),
        seat_number=None if seat_number is None else int(seat_number),
        resident_id=resident_id,
        details=_json_map(details),
        raised_at=utcnow(),
    )
    db.add(alert)
    db.flush()
    return alert


def get_alert(db: Session, alert_id: int) -> Alert | None:
    return db.get(Alert, alert_id)


def clear_alert(db: Session, alert_id: int) -> Alert | None:
    """Mark that the person got up (`cleared_at`, set once). The alert stays open
    until someone acknowledges it. None when there is no such alert."""
    db.execute(
        update(Alert)
        .where(Alert.id == alert_id, Alert.cleared_at.is_(None))
        .values(cleared_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return db.get(Alert, alert_id, populate_existing=True)


def acknowledge_alert(
    db: Session,
    alert_id: int,
    *,
    staff_id: int | None = None,
    kiosk_id: int | None = None,
) -> Alert | None:
    """Close an alert: someone saw it. Idempotent: the first acknowledgement wins
    (its time, staff member or kiosk), later ones change nothing, even concurrent ones
    (one conditional UPDATE). None when there is no such alert."""
    db.execute(
        update(Alert)
        .where(Alert.id == alert_id, Alert.acknowledged_at.is_(None))
        .values(
            acknowledged_at=utcnow(),
            acknowledged_by=staff_id,
            acknowledged_by_kiosk=kiosk_id,
        )
        .execution_options(synchronize_session=False)
    )
    return db.get(Alert, alert_id, populate_existing=True)


def list_alerts(
    db: Session, centre_id: int | None, *, open_only: bool = True, limit: int = 50
) -> list[Alert]:
    """Alerts newest first, with their kiosk, resident and acknowledger loaded.

    Args:
        centre_id: The centre's alerts; None = every centre's (an all-centres admin).
        open_only: Only those nobody has acknowledged yet (cleared ones included).
        limit: At most this many.
    """
    query = (
        select(Alert)
        .options(
            joinedload(Alert.kiosk),
            joinedload(Alert.resident),
            joinedload(Alert.acknowledger),
            joinedload(Alert.acknowledger_kiosk),
        )
        .order_by(Alert.raised_at.desc(), Alert.id.desc())
        .limit(limit)
    )
    if centre_id is not None:
        query = query.where(Alert.centre_id == centre_id)
    if open_only:
        query = query.where(Alert.acknowledged_at.is_(None))
    return list(db.scalars(query).unique())


# --- kiosks -----------------------------------------------------------------------


def create_kiosk(db: Session, *, centre_id: int, name: str) -> tuple[Kiosk, str]:
    """A kiosk and its bearer token. The token is returned once and stored hashed."""
    token = new_token()
    kiosk = Kiosk(centre_id=centre_id, name=name.strip(), token_hash=hash_token(token))
    db.add(kiosk)
    db.flush()
    return kiosk, token


def get_kiosk(db: Session, kiosk_id: int) -> Kiosk | None:
    return db.get(Kiosk, kiosk_id)


def find_kiosk_by_token(db: Session, token: str) -> Kiosk | None:
    """The active kiosk holding `token`, else None."""
    if not token:
        return None
    return db.scalar(
        select(Kiosk).where(
            Kiosk.token_hash == hash_token(token), Kiosk.active.is_(True)
        )
    )


def list_kiosks(db: Session, centre_id: int | None = None) -> list[Kiosk]:
    query = select(Kiosk).order_by(Kiosk.id)
    if centre_id is not None:
        query = query.where(Kiosk.centre_id == centre_id)
    return list(db.scalars(query))


# --- sessions ---------------------------------------------------------------------


def start_session(
    db: Session,
    *,
    exercise_id: str,
    language: str,
    elder_mode: bool = False,
    resident_id: int | None = None,
    kiosk_id: int | None = None,
    centre_id: int | None = None,
    started_at: datetime | None = None,
    live_id: str | None = None,
) -> ExerciseSession:
    """An `active` session. The centre defaults to the resident's, else the kiosk's."""
    if centre_id is None and resident_id is not None:
        resident = db.get(Resident, resident_id)
        centre_id = resident.centre_id if resident is not None else None
    if centre_id is None and kiosk_id is not None:
        kiosk = db.get(Kiosk, kiosk_id)
        centre_id = kiosk.centre_id if kiosk is not None else None
    session = ExerciseSession(
        exercise_id=exercise_id,
        language=language,
        elder_mode=elder_mode,
        resident_id=resident_id,
        kiosk_id=kiosk_id,
        centre_id=centre_id,
        started_at=_utc(started_at) or utcnow(),
        live_id=live_id,
        status=SessionStatus.ACTIVE,
    )
    db.add(session)
    db.flush()
    return session


def get_session(db: Session, session_id: int) -> ExerciseSession | None:
    return db.get(ExerciseSession, session_id)


def find_session_by_live_id(db: Session, live_id: str) -> ExerciseSession | None:
    return db.scalar(select(ExerciseSession).where(ExerciseSession.live_id == live_id))


def _utc(value: datetime | None) -> datetime | None:
    """An aware datetime in UTC (what the database gives back, so callers see the same).

    Raises:
        ValueError: a naive datetime.
    """
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"expected a timezone-aware datetime, got naive {value!r}")
    return value.astimezone(UTC)


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _json_map(values: Mapping[str, Any]) -> dict[str, Any]:
    wired = to_wire(dict(values))
    assert isinstance(wired, dict)
    return wired


def record_rep(db: Session, session_id: int, event: RepCompleted) -> Rep:
    """Add a completed rep. Commit right after (the recorder does, in its own
    transaction, before the rep reaches the kiosk)."""
    rep = Rep(
        session_id=session_id,
        count=int(event.count),
        score=_finite(event.score),
        breakdown=_json_map(event.breakdown),
        range_of_motion_deg=_json_map(event.range_of_motion_deg),
        duration_ms=int(event.duration_ms),
        cue_ids=[str(c) for c in event.cue_ids],
        side=event.side,
        timestamp_ms=int(event.timestamp_ms),
    )
    db.add(rep)
    db.flush()
    return rep


def record_cue(db: Session, session_id: int, event: CueIssued) -> Cue:
    cue = Cue(
        session_id=session_id,
        timestamp_ms=int(event.timestamp_ms),
        cue_id=event.cue_id,
        severity=event.severity.name.lower(),
        message=_json_map(event.message),
        value=_finite(event.value),
    )
    db.add(cue)
    db.flush()
    return cue


def record_event(db: Session, session_id: int, event: Event) -> Rep | Cue | None:
    """Store the events the records keep (reps and cues); others return None."""
    if isinstance(event, RepCompleted):
        return record_rep(db, session_id, event)
    if isinstance(event, CueIssued):
        return record_cue(db, session_id, event)
    return None


def append_landmarks(
    db: Session, session_id: int, window: PoseWindow, *, dtype: str = "float16"
) -> LandmarkChunk:
    """Append a chunk of frames to the session's landmark recording.

    Args:
        window: The frames, (T, J, 3) float32 in capture order.
        dtype: "float16" (default, half the size) or "float32" (exact).
    """
    last = db.scalar(
        select(func.max(LandmarkChunk.seq)).where(
            LandmarkChunk.session_id == session_id
        )
    )
    chunk = LandmarkChunk(
        session_id=session_id,
        seq=0 if last is None else int(last) + 1,
        skeleton=window.skeleton.value,
        frame_count=len(window),
        start_ms=int(window.timestamp_ms[0]),
        end_ms=int(window.timestamp_ms[-1]),
        data=encode_chunk(
            window.xyz,
            window.visibility,
            window.timestamp_ms,
            dtype,
            aspect_wh=window.aspect_wh,
        ),
    )
    db.add(chunk)
    db.flush()
    return chunk


def load_landmarks(db: Session, session_id: int) -> PoseWindow | None:
    """The session's whole landmark recording as one float32 window (None if none)."""
    rows = db.execute(
        select(LandmarkChunk.skeleton, LandmarkChunk.data)
        .where(LandmarkChunk.session_id == session_id)
        .order_by(LandmarkChunk.seq)
    ).all()
    return window_from_chunks([(s, bytes(d)) for s, d in rows])


def attach_video(
    db: Session, session_id: int, data: bytes, content_type: str = "video/webm"
) -> SessionVideo:
    """Store a session's video. Only for a resident who consented to video.

    Raises:
        ConsentError: anonymous session, or the resident has not consented.
        LookupError: no such session.
    """
    session = db.get(ExerciseSession, session_id)
    if session is None:
        raise LookupError(f"no session {session_id}")
    resident = session.resident
    if resident is None or not resident.consent_video:
        raise ConsentError(
            f"expected video consent for session {session_id}'s resident, got none"
        )
    video = SessionVideo(session_id=session_id, data=data, content_type=content_type)
    db.add(video)
    db.flush()
    return video


def finish_session(
    db: Session,
    session_id: int,
    *,
    status: SessionStatus = SessionStatus.COMPLETED,
    reason: str | None = None,
    summary: Mapping[str, Any] | None = None,
    stats: Mapping[str, Any] | None = None,
    ended_at: datetime | None = None,
) -> ExerciseSession | None:
    """End a session (completed, or interrupted with a reason). None if unknown."""
    session = db.get(ExerciseSession, session_id)
    if session is None:
        return None
    session.status = SessionStatus(status)
    session.end_reason = reason
    session.ended_at = _utc(ended_at) or utcnow()
    if summary is not None:
        session.summary = _json_map(summary)
    if stats is not None:
        session.stats = _json_map(stats)
    db.flush()
    return session


def mark_interrupted(
    db: Session,
    session_id: int,
    reason: str = "disconnected",
    *,
    ended_at: datetime | None = None,
) -> ExerciseSession | None:
    """The session ended abruptly; everything reported so far is kept."""
    return finish_session(
        db,
        session_id,
        status=SessionStatus.INTERRUPTED,
        reason=reason,
        ended_at=ended_at,
    )


def interrupt_stale_sessions(db: Session, *, started_before: datetime) -> int:
    """Mark `active` sessions started before a time interrupted (`server_restart`).

    The server calls it at startup: a session still active then was cut off by a crash.
    With several server processes on one database, pass the oldest live start instead.
    """
    result = db.execute(
        update(ExerciseSession)
        .where(
            ExerciseSession.status == SessionStatus.ACTIVE,
            ExerciseSession.started_at < started_before,
        )
        .values(
            status=SessionStatus.INTERRUPTED,
            end_reason="server_restart",
            ended_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# --- history and progress ---------------------------------------------------------


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


# --- notes ------------------------------------------------------------------------


def add_note(
    db: Session,
    *,
    author_id: int | None,
    text: str,
    resident_id: int | None = None,
    session_id: int | None = None,
) -> Note:
    """A note about a resident, a session or both (the session's resident is implied).

    Raises:
        ValueError: neither a resident nor a session, empty text, or unknown ids.
    """
    if not text.strip():
        raise ValueError("expected note text, got an empty string")
    centre_id: int | None = None
    if session_id is not None:
        session = db.get(ExerciseSession, session_id)
        if session is None:
            raise ValueError(f"expected an existing session, got id {session_id}")
        centre_id = session.centre_id
        resident_id = resident_id if resident_id is not None else session.resident_id
    if resident_id is not None:
        resident = db.get(Resident, resident_id)
        if resident is None:
            raise ValueError(f"expected an existing resident, got id {resident_id}")
        centre_id = resident.centre_id
    if resident_id is None and session_id is None:
        raise ValueError("expected a resident or a session for the note, got neither")
    note = Note(
        author_id=author_id,
        text=text.strip(),
        resident_id=resident_id,
        session_id=session_id,
        centre_id=centre_id,
    )
    db.add(note)
    db.flush()
    return note


def list_notes(
    db: Session, *, resident_id: int | None = None, session_id: int | None = None
) -> list[Note]:
    """Notes about a session, or every note about a resident; oldest first."""
    query = select(Note).order_by(Note.created_at, Note.id)
    if session_id is not None:
        query = query.where(Note.session_id == session_id)
    elif resident_id is not None:
        query = query.where(Note.resident_id == resident_id)
    else:
        raise ValueError("expected a resident or a session, got neither")
    return list(db.scalars(query))


# --- custom templates -------------------------------------------------------------


def save_template(
    db: Session,
    *,
    centre_id: int,
    template_id: str,
    toml_text: str,
    author_id: int | None,
) -> CustomTemplate:
    """Create or replace a centre's template (validate the TOML before calling)."""
    template = db.scalar(
        select(CustomTemplate).where(
            CustomTemplate.centre_id == centre_id,
            CustomTemplate.template_id == template_id,
        )
    )
    now = utcnow()
    if template is None:
        template = CustomTemplate(
            centre_id=centre_id,
            template_id=template_id,
            toml_text=toml_text,
            author_id=author_id,
            created_at=now,
            updated_at=now,
        )
        db.add(template)
    else:
        template.toml_text = toml_text
        template.author_id = author_id
        template.updated_at = now
    db.flush()
    return template


def get_template(
    db: Session, centre_id: int, template_id: str
) -> CustomTemplate | None:
    return db.scalar(
        select(CustomTemplate).where(
            CustomTemplate.centre_id == centre_id,
            CustomTemplate.template_id == template_id,
        )
    )


def list_templates(db: Session, centre_id: int | None) -> list[CustomTemplate]:
    query = select(CustomTemplate).order_by(
        CustomTemplate.centre_id, CustomTemplate.template_id
    )
    if centre_id is not None:
        query = query.where(CustomTemplate.centre_id == centre_id)
    return list(db.scalars(query))


def delete_template(db: Session, centre_id: int, template_id: str) -> bool:
    result = db.execute(
        delete(CustomTemplate).where(
            CustomTemplate.centre_id == centre_id,
            CustomTemplate.template_id == template_id,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


# --- assessments ------------------------------------------------------------------


def add_assessment(
    db: Session,
    *,
    resident_id: int,
    protocol_id: str,
    value: float,
    unit: str,
    percentile: float | None = None,
    band: str | None = None,
    taken_at: datetime | None = None,
    details: Mapping[str, Any] | None = None,
    session_id: int | None = None,
) -> Assessment:
    """One assessment result (e.g. 30 s chair stand: 12 `{repetitions}`, 45th pct).

    Raises:
        ValueError: a non-finite value.
    """
    if _finite(value) is None:
        raise ValueError(f"expected a finite assessment value, got {value!r}")
    assessment = Assessment(
        resident_id=resident_id,
        protocol_id=protocol_id,
        value=float(value),
        unit=unit,
        percentile=_finite(percentile),
        band=band,
        taken_at=_utc(taken_at) or utcnow(),
        details=_json_map(details or {}),
        session_id=session_id,
    )
    db.add(assessment)
    db.flush()
    return assessment


def list_assessments(db: Session, resident_id: int) -> list[Assessment]:
    return list(
        db.scalars(
            select(Assessment)
            .where(Assessment.resident_id == resident_id)
            .order_by(Assessment.taken_at, Assessment.id)
        )
    )


# --- login sessions (used by server.auth) -----------------------------------------


def create_login(
    db: Session, staff_id: int, *, lifetime: timedelta
) -> tuple[LoginSession, str]:
    """A login for a staff member; returns the row and the bearer token (shown once)."""
    token = new_token()
    now = utcnow()
    login = LoginSession(
        token_hash=hash_token(token),
        staff_id=staff_id,
        created_at=now,
        expires_at=now + lifetime,
    )
    db.add(login)
    db.flush()
    return login, token


def find_login(db: Session, token: str, *, now: datetime | None = None) -> Staff | None:
    """The active staff member a bearer token belongs to, if it has not expired."""
    if not token:
        return None
    login = db.get(LoginSession, hash_token(token))
    if login is None or login.expires_at <= (now or utcnow()):
        return None
    staff = db.get(Staff, login.staff_id)
    return staff if staff is not None and staff.active else None


def delete_login(db: Session, token: str) -> bool:
    result = db.execute(
        delete(LoginSession).where(LoginSession.token_hash == hash_token(token))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def purge_expired_logins(db: Session, *, now: datetime | None = None) -> int:
    result = db.execute(
        delete(LoginSession).where(LoginSession.expires_at <= (now or utcnow()))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
