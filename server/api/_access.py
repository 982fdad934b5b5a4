"""Loading records for a signed-in staff member: 404 when unknown, 403 when another
centre's (shared by the routers)."""

from __future__ import annotations

from fastapi import status
from sqlalchemy.orm import Session

from server.auth import api_error, centre_scope, require_same_centre
from server.store import repository
from server.store.models import ExerciseSession, Resident, Staff

__all__ = ["centre_for_new_record", "resident_for", "session_for"]


def resident_for(db: Session, staff: Staff, resident_id: int) -> Resident:
    resident = repository.get_resident(db, resident_id)
    if resident is None:
        raise api_error(status.HTTP_404_NOT_FOUND, "resident_not_found")
    require_same_centre(staff, resident.centre_id)
    return resident


def session_for(db: Session, staff: Staff, session_id: int) -> ExerciseSession:
    session = repository.get_session(db, session_id)
    if session is None:
        raise api_error(status.HTTP_404_NOT_FOUND, "session_not_found")
    require_same_centre(staff, session.centre_id)
    return session


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
