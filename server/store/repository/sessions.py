"""Exercise sessions as the live path records them: start, reps, cues, landmark chunks,
video (with consent), the end; and sessions a crash left active."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from exercises.events import CueIssued, Event, RepCompleted
from server.store.landmarks import encode_chunk, window_from_chunks
from server.store.models import (
    Cue,
    ExerciseSession,
    LandmarkChunk,
    Rep,
    Resident,
    SessionStatus,
    SessionVideo,
    utcnow,
)
from server.store.repository._common import added, finite, json_map, rowcount, utc
from server.store.repository.accounts import centre_of_kiosk
from vision.types import PoseWindow


class ConsentError(PermissionError):
    """The resident has not consented to what was asked (e.g. storing video)."""


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
        centre_id = centre_of_kiosk(db, kiosk_id)
    return added(
        db,
        ExerciseSession(
            exercise_id=exercise_id,
            language=language,
            elder_mode=elder_mode,
            resident_id=resident_id,
            kiosk_id=kiosk_id,
            centre_id=centre_id,
            started_at=utc(started_at) or utcnow(),
            live_id=live_id,
            status=SessionStatus.ACTIVE,
        ),
    )


def get_session(db: Session, session_id: int) -> ExerciseSession | None:
    return db.get(ExerciseSession, session_id)


def find_session_by_live_id(db: Session, live_id: str) -> ExerciseSession | None:
    return db.scalar(select(ExerciseSession).where(ExerciseSession.live_id == live_id))


def record_rep(db: Session, session_id: int, event: RepCompleted) -> Rep:
    """Add a completed rep. Commit right after (the recorder does, in its own
    transaction, before the rep reaches the kiosk)."""
    return added(
        db,
        Rep(
            session_id=session_id,
            count=int(event.count),
            score=finite(event.score),
            breakdown=json_map(event.breakdown),
            range_of_motion_deg=json_map(event.range_of_motion_deg),
            duration_ms=int(event.duration_ms),
            cue_ids=[str(c) for c in event.cue_ids],
            side=event.side,
            timestamp_ms=int(event.timestamp_ms),
        ),
    )


def record_cue(db: Session, session_id: int, event: CueIssued) -> Cue:
    return added(
        db,
        Cue(
            session_id=session_id,
            timestamp_ms=int(event.timestamp_ms),
            cue_id=event.cue_id,
            severity=event.severity.name.lower(),
            message=json_map(event.message),
            value=finite(event.value),
        ),
    )


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
    return added(
        db,
        LandmarkChunk(
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
        ),
    )


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
    return added(
        db, SessionVideo(session_id=session_id, data=data, content_type=content_type)
    )


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
    session.ended_at = utc(ended_at) or utcnow()
    if summary is not None:
        session.summary = json_map(summary)
    if stats is not None:
        session.stats = json_map(stats)
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
    return rowcount(result)
