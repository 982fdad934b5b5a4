"""What the exports read and their JSON: a session (reps, cues, notes, its programme
result, landmarks) or everything kept about a resident (the answer to a data-access
request)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from server.exports.programmes import programme_json
from server.jsonable import fields_json, replay_json
from server.store import repository
from server.store.models import (
    Alert,
    Assessment,
    Cue,
    ExerciseSession,
    Note,
    PerformedSetRow,
    Rep,
    Resident,
    utcnow,
)

__all__ = [
    "EXPORT_FORMAT",
    "EXPORT_VERSION",
    "alert_export_json",
    "assessment_json",
    "cue_json",
    "iso",
    "load_resident",
    "load_session",
    "mean",
    "note_json",
    "performed_set_json",
    "rep_json",
    "resident_alerts",
    "resident_json",
    "resident_profile",
    "resident_scope",
    "resident_sessions",
    "session_info",
    "session_json",
    "session_scope",
]

EXPORT_FORMAT: Final[str] = "movecoach.export"
EXPORT_VERSION: Final[int] = 1

_REP_FIELDS: Final = (
    "count",
    "score",
    "breakdown",
    "range_of_motion_deg",
    "duration_ms",
    "cue_ids",
    "side",
    "timestamp_ms",
    "recorded_at",
)
_CUE_FIELDS: Final = ("timestamp_ms", "cue_id", "severity", "message", "value")
_NOTE_FIELDS: Final = ("id", "author_id", "resident_id", "session_id", "text")
_ASSESSMENT_FIELDS: Final = (
    "id",
    "protocol_id",
    "value",
    "unit",
    "percentile",
    "band",
    "details",
    "session_id",
    "taken_at",
)
_ALERT_FIELDS: Final = (
    "id",
    "kind",
    "centre_id",
    "resident_id",
    "live_id",
    "track_id",
    "seat_number",
    "details",
    "raised_at",
    "cleared_at",
    "acknowledged_at",
)
_RESIDENT_FIELDS: Final = (
    "id",
    "centre_id",
    "member_code",
    "display_name",
    "birth_year",
    "sex",
    "conditions",
)
_SESSION_FIELDS: Final = (
    "id",
    "centre_id",
    "resident_id",
    "kiosk_id",
    "exercise_id",
    "language",
    "elder_mode",
    "started_at",
    "ended_at",
    "status",
    "end_reason",
    "summary",
)


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def mean(values: Iterable[float | None]) -> float | None:
    """The mean of the finite values, None without any."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return sum(finite) / len(finite) if finite else None


# --- what an export reads ---------------------------------------------------------


def load_resident(db: Session, resident_id: int) -> Resident:
    """Raises LookupError: no such resident."""
    resident = repository.get_resident(db, resident_id)
    if resident is None:
        raise LookupError(f"no resident {resident_id}")
    return resident


def load_session(db: Session, session_id: int) -> ExerciseSession:
    """Raises LookupError: no such session."""
    session = repository.get_session(db, session_id)
    if session is None:
        raise LookupError(f"no session {session_id}")
    return session


def resident_sessions(db: Session, resident_id: int) -> list[ExerciseSession]:
    """Every session of the resident, oldest first."""
    overviews = repository.resident_sessions(db, resident_id, limit=1_000_000)
    return sorted((o.session for o in overviews), key=lambda s: (s.started_at, s.id))


def session_scope(
    db: Session, session_id: int
) -> tuple[list[ExerciseSession], str | None]:
    """What an export of one session covers: the session and its member code.

    Raises:
        LookupError: no such session.
    """
    session = load_session(db, session_id)
    code = session.resident.member_code if session.resident is not None else None
    return [session], code


def resident_scope(
    db: Session, resident_id: int
) -> tuple[list[ExerciseSession], str | None]:
    """What an export of one resident covers: every session, oldest first, and the
    member code.

    Raises:
        LookupError: no such resident.
    """
    resident = load_resident(db, resident_id)
    return resident_sessions(db, resident_id), resident.member_code


def resident_alerts(db: Session, resident_id: int) -> list[Alert]:
    """The alerts that name the resident, oldest first. Deleting a resident unlinks
    theirs (resident_id NULL), so none of those can come back under a reused id."""
    query = (
        select(Alert)
        .options(
            joinedload(Alert.kiosk),
            joinedload(Alert.acknowledger),
            joinedload(Alert.acknowledger_kiosk),
        )
        .where(Alert.resident_id == resident_id)
        .order_by(Alert.raised_at, Alert.id)
    )
    return list(db.scalars(query).unique())


# --- JSON -------------------------------------------------------------------------


def rep_json(rep: Rep) -> dict[str, Any]:
    return fields_json(rep, _REP_FIELDS)


def cue_json(cue: Cue) -> dict[str, Any]:
    return fields_json(cue, _CUE_FIELDS)


def note_json(note: Note) -> dict[str, Any]:
    out = fields_json(note, _NOTE_FIELDS)
    out["author"] = None if note.author is None else note.author.display_name
    out["created_at"] = iso(note.created_at)
    return out


def assessment_json(assessment: Assessment) -> dict[str, Any]:
    return fields_json(assessment, _ASSESSMENT_FIELDS)


def alert_export_json(alert: Alert) -> dict[str, Any]:
    """A fall alert as kept: where (kiosk, seat), when (raised, cleared,
    acknowledged), who acknowledged it, and its details."""
    kiosk, staff, by_kiosk = alert.kiosk, alert.acknowledger, alert.acknowledger_kiosk
    out = fields_json(alert, _ALERT_FIELDS)
    out["kiosk"] = None if kiosk is None else {"id": kiosk.id, "name": kiosk.name}
    out["acknowledged_by"] = (
        None if staff is None else {"id": staff.id, "display_name": staff.display_name}
    )
    out["acknowledged_by_kiosk"] = (
        None if by_kiosk is None else {"id": by_kiosk.id, "name": by_kiosk.name}
    )
    return out


def performed_set_json(row: PerformedSetRow) -> dict[str, Any]:
    """A set done under an exercise plan."""
    return {
        "performed_on": row.performed_on.isoformat(),
        "session_id": row.session_key,
        "exercise": row.exercise_id,
        "set_index": row.set_index,
        "reps": row.reps,
        "hold_s": row.hold_s,
        "score": row.score,
        "exercise_session_id": row.exercise_session_id,
        "recorded_at": iso(row.recorded_at),
    }


def resident_profile(resident: Resident) -> dict[str, Any]:
    out = fields_json(resident, _RESIDENT_FIELDS)
    out["consent"] = {
        "landmarks": resident.consent_landmarks,
        "video": resident.consent_video,
        "data_sharing": resident.consent_data_sharing,
    }
    out["created_at"] = iso(resident.created_at)
    return out


def session_info(session: ExerciseSession) -> dict[str, Any]:
    """A session's own fields plus rep count and mean score (no reps, cues, notes)."""
    out = fields_json(session, _SESSION_FIELDS)
    out["rep_count"] = len(session.reps)
    out["mean_score"] = mean(r.score for r in session.reps)
    return out


def _session_body(
    db: Session, session: ExerciseSession, landmarks: bool
) -> dict[str, Any]:
    body = session_info(session)
    body["reps"] = [rep_json(r) for r in session.reps]
    body["cues"] = [cue_json(c) for c in session.cues]
    body["notes"] = [
        note_json(n) for n in repository.list_notes(db, session_id=session.id)
    ]
    result = repository.programme_result_of(db, session.id)
    if result is not None:  # a routine, a posture screen or paced breathing
        body["programme"] = programme_json(result)
    if landmarks:
        window = repository.load_landmarks(db, session.id)
        body["landmarks"] = replay_json(window, max_frames=10**9) if window else None
    return body


def _envelope(**content: Any) -> dict[str, Any]:
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": iso(utcnow()),
        **content,
    }


def session_json(
    db: Session, session_id: int, *, landmarks: bool = False
) -> dict[str, Any]:
    """One session with its reps, cues and notes (and landmarks when asked).

    Raises:
        LookupError: no such session.
    """
    session = load_session(db, session_id)
    resident = session.resident
    return _envelope(
        resident=None
        if resident is None
        else {"id": resident.id, "member_code": resident.member_code},
        session=_session_body(db, session, landmarks),
    )


def resident_json(
    db: Session, resident_id: int, *, landmarks: bool = False
) -> dict[str, Any]:
    """Everything kept about a resident: profile, sessions (reps, cues, notes),
    assessments, notes, the fall alerts that name them, exercise plans with the sets
    done under them, and member cards (their hints, never a token): the answer to a
    data-access request.

    Raises:
        LookupError: no such resident.
    """
    resident = load_resident(db, resident_id)
    return _envelope(
        resident=resident_profile(resident),
        sessions=[
            _session_body(db, s, landmarks) for s in resident_sessions(db, resident_id)
        ],
        assessments=[
            assessment_json(a) for a in repository.list_assessments(db, resident_id)
        ],
        notes=[
            note_json(n)
            for n in repository.list_notes(db, resident_id=resident_id)
            if n.session_id is None
        ],
        alerts=[alert_export_json(a) for a in resident_alerts(db, resident_id)],
        prescriptions=[
            {
                "id": p.id,
                "document": p.document,
                "created_at": iso(p.created_at),
                "updated_at": iso(p.updated_at),
                "sets": [performed_set_json(s) for s in repository.set_rows(db, p.id)],
            }
            for p in repository.list_prescriptions(db, resident_id=resident_id)
        ],
        member_cards=[
            {
                "hint": c.hint,
                "created_at": iso(c.created_at),
                "revoked_at": iso(c.revoked_at),
            }
            for c in repository.list_member_tokens(db, resident_id)
        ],
    )
