"""Records for a signed-in staff member, shared by the routers: loading them (404 when
unknown or another centre's: the two answer alike, so ids cannot be probed), the centre
a new record or a listing covers, and notes about them."""

from __future__ import annotations

from typing import Protocol, TypeVar

from fastapi import status
from sqlalchemy.orm import Session

from server.auth import api_error, can_see_centre, centre_scope
from server.store import repository
from server.store.models import ExerciseSession, Note, Resident, Staff

__all__ = [
    "centre_for_new_record",
    "listing_centre",
    "new_note",
    "resident_for",
    "session_for",
    "visible_to",
]


class _OfACentre(Protocol):
    @property
    def centre_id(self) -> int | None: ...


R = TypeVar("R", bound=_OfACentre)


def visible_to(
    staff: Staff, record: R | None, not_found: str, message: str | None = None
) -> R:
    """`record` when `staff` may see it; 404 `not_found` (with `message`, else the
    code's text) when there is none or it is another centre's (alike, so another
    centre's ids cannot be told from unknown ones)."""
    if record is None or not can_see_centre(staff, record.centre_id):
        raise api_error(status.HTTP_404_NOT_FOUND, not_found, message)
    return record


def resident_for(db: Session, staff: Staff, resident_id: int) -> Resident:
    resident = repository.get_resident(db, resident_id)
    return visible_to(staff, resident, "resident_not_found")


def session_for(db: Session, staff: Staff, session_id: int) -> ExerciseSession:
    session = repository.get_session(db, session_id)
    return visible_to(staff, session, "session_not_found")


def new_note(
    db: Session,
    staff: Staff,
    text: str,
    *,
    resident_id: int | None = None,
    session_id: int | None = None,
) -> Note:
    """A note by `staff` about a resident or a session they may see (check that
    first), committed; 422 `invalid_request` when the repository refuses it."""
    try:
        note = repository.add_note(
            db,
            author_id=staff.id,
            resident_id=resident_id,
            session_id=session_id,
            text=text,
        )
    except ValueError as exc:
        raise api_error(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "invalid_request", str(exc)
        ) from None
    db.commit()
    return note


def centre_for_new_record(db: Session, staff: Staff, requested: int | None) -> int:
    """The centre a new record goes to: the staff member's own; an all-centres admin
    names one (400 `centre_required`, 404 `centre_not_found`)."""
    scope = centre_scope(staff)
    if scope is not None:
        if requested is not None and requested != scope:
            raise api_error(status.HTTP_403_FORBIDDEN, "other_centre")
        return scope
    if requested is None:
        raise api_error(status.HTTP_400_BAD_REQUEST, "centre_required")
    if repository.get_centre(db, requested) is None:
        raise api_error(status.HTTP_404_NOT_FOUND, "centre_not_found")
    return requested


def listing_centre(staff: Staff, requested: int | None) -> int | None:
    """The centre a listing covers: the staff member's own (403 for another); an
    all-centres admin may name one or see all (None)."""
    scope = centre_scope(staff)
    if scope is None:
        return requested
    if requested is not None and requested != scope:
        raise api_error(status.HTTP_403_FORBIDDEN, "other_centre")
    return scope
