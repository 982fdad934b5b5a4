"""Residents (with deletion on request), notes about them and their sessions, and
their fitness assessment results."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from server.store.models import (
    Alert,
    Assessment,
    Cue,
    ExerciseSession,
    LandmarkChunk,
    MemberToken,
    Note,
    PerformedSetRow,
    PrescriptionRow,
    ProgrammeResult,
    Rep,
    Resident,
    SessionVideo,
    Sex,
    utcnow,
)
from server.store.repository._common import added, finite, json_map, of_centre, utc
from server.store.repository.accounts import kiosk_centre_id

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

    Raises:
        ValueError: a member code or name that is empty once trimmed.
    """
    if not member_code.strip() or not display_name.strip():
        raise ValueError(
            "expected a member code and a name with more than spaces, got "
            f"{member_code!r} and {display_name!r}"
        )
    return added(
        db,
        Resident(
            centre_id=centre_id,
            member_code=member_code.strip(),
            display_name=display_name.strip(),
            birth_year=birth_year,
            sex=Sex(sex),
            conditions=[str(c) for c in conditions],
            consent_landmarks=consent_landmarks,
            consent_video=consent_video,
            consent_data_sharing=consent_data_sharing,
        ),
    )


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
    """The centre's resident with this code (trimmed); None for a blank code."""
    if not member_code.strip():
        return None
    return db.scalar(
        select(Resident).where(
            Resident.centre_id == centre_id, Resident.member_code == member_code.strip()
        )
    )


def find_kiosk_resident(
    db: Session, kiosk_id: int | None, member_code: str
) -> Resident | None:
    """The resident `member_code` names in the kiosk's centre (`kiosk_centre_id`)."""
    centre_id = kiosk_centre_id(db, kiosk_id)
    return None if centre_id is None else find_resident(db, centre_id, member_code)


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
    stmt = of_centre(
        select(Resident).order_by(Resident.display_name, Resident.id),
        Resident.centre_id,
        centre_id,
    )
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

    Sessions (with their reps, cues, landmark chunks, videos and programme results),
    notes, assessments, exercise plans (with the sets done under them) and member
    cards go by the database's ON DELETE CASCADE. Fall alerts stay (a safety record
    of the centre: kiosk, seat, times) but lose the resident (ON DELETE SET NULL) and
    their details, which may name them. Returns how many rows of each kind went, plus
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
        "prescriptions": count(
            PrescriptionRow, PrescriptionRow.resident_id == resident_id
        ),
        "performed_sets": count(
            PerformedSetRow,
            PerformedSetRow.prescription_id.in_(
                select(PrescriptionRow.id).where(
                    PrescriptionRow.resident_id == resident_id
                )
            ),
        ),
        "member_tokens": count(MemberToken, MemberToken.resident_id == resident_id),
        "programme_results": count(
            ProgrammeResult, ProgrammeResult.session_id.in_(sessions)
        ),
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
    return added(
        db,
        Note(
            author_id=author_id,
            text=text.strip(),
            resident_id=resident_id,
            session_id=session_id,
            centre_id=centre_id,
        ),
    )


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
    if finite(value) is None:
        raise ValueError(f"expected a finite assessment value, got {value!r}")
    return added(
        db,
        Assessment(
            resident_id=resident_id,
            protocol_id=protocol_id,
            value=float(value),
            unit=unit,
            percentile=finite(percentile),
            band=band,
            taken_at=utc(taken_at) or utcnow(),
            details=json_map(details or {}),
            session_id=session_id,
        ),
    )


def list_assessments(db: Session, resident_id: int) -> list[Assessment]:
    return list(
        db.scalars(
            select(Assessment)
            .where(Assessment.resident_id == resident_id)
            .order_by(Assessment.taken_at, Assessment.id)
        )
    )
