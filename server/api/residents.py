"""Resident routes: search, create, read, update (consent), delete on request, history,
weekly progress, notes, assessments and programme results. Coaches see their own
centre's residents."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy.exc import IntegrityError

from server import exports
from server.api._access import (
    centre_for_new_record,
    listing_centre,
    new_note,
    resident_for,
)
from server.auth import CurrentStaff, Db, api_error, require_role
from server.members import MemberCode
from server.store import repository
from server.store.models import Role, Sex, Staff

__all__ = ["router"]

router = APIRouter(prefix="/residents", tags=["residents"])

AdminOnly = Annotated[Staff, Depends(require_role(Role.ADMIN))]
SexName = Literal["female", "male", "other", "unknown"]
ProgrammeKind = Literal["routine", "posture", "breathing"]


DisplayName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
]


class ResidentIn(BaseModel):
    member_code: MemberCode
    display_name: DisplayName
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    sex: SexName = "unknown"
    conditions: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=50
    )
    consent_landmarks: bool = True
    consent_video: bool = False
    consent_data_sharing: bool = False
    centre_id: int | None = None


class ResidentPatch(BaseModel):
    display_name: DisplayName | None = None
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    sex: SexName | None = None
    conditions: list[Annotated[str, Field(max_length=200)]] | None = Field(
        default=None, max_length=50
    )
    consent_landmarks: bool | None = None
    consent_video: bool | None = None
    consent_data_sharing: bool | None = None


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=10_000)


class AssessmentIn(BaseModel):
    protocol_id: str = Field(min_length=1, max_length=64)
    value: float = Field(allow_inf_nan=False)
    unit: str = Field(min_length=1, max_length=32)
    percentile: float | None = Field(default=None, ge=0, le=100)
    band: str | None = Field(default=None, max_length=32)
    taken_at: datetime | None = None
    details: dict[str, Any] = Field(default_factory=dict)


def _overview_json(overview: repository.SessionOverview) -> dict[str, Any]:
    info = exports.session_info(overview.session)
    info["rep_count"] = overview.rep_count
    info["mean_score"] = overview.mean_score
    return info


@router.get("")
def search(
    staff: CurrentStaff,
    db: Db,
    q: Annotated[str | None, Query(max_length=100)] = None,
    centre_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    centre = listing_centre(staff, centre_id)
    found = repository.search_residents(db, centre, q, limit=limit, offset=offset)
    return {"residents": [exports.resident_profile(r) for r in found]}


@router.post("", status_code=status.HTTP_201_CREATED)
def create(body: ResidentIn, staff: CurrentStaff, db: Db) -> dict[str, Any]:
    centre_id = centre_for_new_record(db, staff, body.centre_id)
    if repository.find_resident(db, centre_id, body.member_code) is not None:
        raise api_error(status.HTTP_409_CONFLICT, "member_code_taken")
    fields = body.model_dump(exclude={"centre_id"})
    try:
        resident = repository.create_resident(db, centre_id=centre_id, **fields)
        db.commit()
    except IntegrityError:  # a concurrent create won the race
        db.rollback()
        raise api_error(status.HTTP_409_CONFLICT, "member_code_taken") from None
    return exports.resident_profile(resident)


@router.get("/{resident_id}")
def read(resident_id: int, staff: CurrentStaff, db: Db) -> dict[str, Any]:
    return exports.resident_profile(resident_for(db, staff, resident_id))


@router.patch("/{resident_id}")
def update(
    resident_id: int, body: ResidentPatch, staff: CurrentStaff, db: Db
) -> dict[str, Any]:
    resident = resident_for(db, staff, resident_id)
    changes = body.model_dump(exclude_unset=True)
    for name in (
        "display_name",
        "sex",
        "conditions",
        "consent_landmarks",
        "consent_video",
        "consent_data_sharing",
    ):
        if name in changes and changes[name] is None:
            del changes[name]  # not nullable; an explicit null means "leave it"
    if "sex" in changes:
        changes["sex"] = Sex(changes["sex"])
    repository.update_resident(db, resident, **changes)
    db.commit()
    return exports.resident_profile(resident)


@router.delete("/{resident_id}")
def delete(
    resident_id: int,
    staff: AdminOnly,
    db: Db,
    export: Literal["none", "json"] = "none",
    landmarks: bool = False,
) -> dict[str, Any]:
    """Delete a resident and everything about them (their request). With
    `export=json` the response carries the full JSON export made just before."""
    resident_for(db, staff, resident_id)
    archive = (
        exports.resident_json(db, resident_id, landmarks=landmarks)
        if export == "json"
        else None
    )
    counts = repository.delete_resident(db, resident_id)
    db.commit()
    return {"deleted": counts, "export": archive}


@router.get("/{resident_id}/sessions")
def sessions(
    resident_id: int,
    staff: CurrentStaff,
    db: Db,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    resident_for(db, staff, resident_id)
    overviews = repository.resident_sessions(
        db, resident_id, limit=limit, offset=offset
    )
    return {"sessions": [_overview_json(o) for o in overviews]}


@router.get("/{resident_id}/progress")
def progress(
    resident_id: int,
    staff: CurrentStaff,
    db: Db,
    exercise: str | None = None,
    tz: str = "UTC",
) -> dict[str, Any]:
    resident_for(db, staff, resident_id)
    try:
        weeks = repository.weekly_progress(db, resident_id, exercise_id=exercise, tz=tz)
    except ValueError as exc:
        raise api_error(status.HTTP_400_BAD_REQUEST, "bad_timezone", str(exc)) from None
    return {
        "tz": tz,
        "weeks": [{**asdict(w), "week_start": w.week_start.isoformat()} for w in weeks],
    }


@router.get("/{resident_id}/notes")
def notes(resident_id: int, staff: CurrentStaff, db: Db) -> dict[str, Any]:
    resident_for(db, staff, resident_id)
    found = repository.list_notes(db, resident_id=resident_id)
    return {"notes": [exports.note_json(n) for n in found]}


@router.post("/{resident_id}/notes", status_code=status.HTTP_201_CREATED)
def add_note(
    resident_id: int, body: NoteIn, staff: CurrentStaff, db: Db
) -> dict[str, Any]:
    resident_for(db, staff, resident_id)
    note = new_note(db, staff, body.text, resident_id=resident_id)
    return exports.note_json(note)


@router.get("/{resident_id}/programmes")
def programmes(
    resident_id: int, staff: CurrentStaff, db: Db, kind: ProgrammeKind | None = None
) -> dict[str, Any]:
    """The resident's programme results, oldest first (a posture screen with its
    comparison to the one before)."""
    resident_for(db, staff, resident_id)
    found = repository.list_programme_results(db, resident_id, kind)
    return {"programmes": [exports.session_programme(db, r.session_id) for r in found]}


@router.get("/{resident_id}/assessments")
def assessments(resident_id: int, staff: CurrentStaff, db: Db) -> dict[str, Any]:
    resident_for(db, staff, resident_id)
    found = repository.list_assessments(db, resident_id)
    return {"assessments": [exports.assessment_json(a) for a in found]}


@router.post("/{resident_id}/assessments", status_code=status.HTTP_201_CREATED)
def add_assessment(
    resident_id: int, body: AssessmentIn, staff: CurrentStaff, db: Db
) -> dict[str, Any]:
    resident_for(db, staff, resident_id)
    if body.taken_at is not None and body.taken_at.tzinfo is None:
        raise api_error(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "invalid_request",
            "expected taken_at with a time zone offset, got a naive time",
        )
    assessment = repository.add_assessment(
        db, resident_id=resident_id, **body.model_dump()
    )
    db.commit()
    return exports.assessment_json(assessment)
