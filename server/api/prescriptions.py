"""Exercise plan routes for the coach pages: plan templates, plans from a template
with the starting level suggested by the latest assessments, editing and deleting
plans, today's plan and adherence per resident and per centre.

A coach sees and changes only their own centre's plans: another centre's plan is 404
(`prescription_not_found`), as if it did not exist. Invalid documents are 422
`invalid_prescription` with the validator's message (the key path and what was
expected); nothing is stored then.

    GET    /api/plan-templates                 shipped templates (both languages)
    POST   /api/residents/{id}/plan-suggestion {template_id, start_date?}
    GET    /api/residents/{id}/prescriptions · POST (a document)
    GET    /api/prescriptions/{id} · PUT (a document) · DELETE
    GET    /api/prescriptions/{id}/today?date=
    GET    /api/prescriptions/{id}/adherence?as_of=
    GET    /api/adherence?as_of=&centre_id=    the centre's weeks and plans
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from exercises.prescriptions import (
    Prescriber,
    Prescription,
    PrescriptionError,
    builtin_plan_templates,
    centre_weeks,
    plan_for_date,
    prescription_from_dict,
    prescription_from_template,
    suggest_levels,
)
from server.api._access import listing_centre, resident_for, visible_to
from server.auth import CurrentStaff, Db, api_error
from server.exports.records import performed_set_json
from server.jsonable import to_jsonable
from server.plans import (
    adherence_json,
    assessed_results,
    centre_catalogue,
    local_today,
    plan_json,
    suggestion_json,
    template_json,
    today_json,
)
from server.store import repository
from server.store.models import PrescriptionRow, Staff

__all__ = ["prescription_for", "router"]

router = APIRouter(tags=["prescriptions"])

MAX_DOCUMENT_SESSIONS = 14


class DocumentIn(BaseModel):
    document: dict[str, Any]


class SuggestionIn(BaseModel):
    template_id: str = Field(min_length=1, max_length=64)
    start_date: dt.date | None = None
    end_date: dt.date | None = None


def prescription_for(
    db: Session, staff: Staff, prescription_id: int
) -> PrescriptionRow:
    """A plan the staff member may see; 404 `prescription_not_found` for an unknown
    one and for another centre's alike."""
    row = repository.get_prescription(db, prescription_id)
    return visible_to(staff, row, "prescription_not_found")


def _plan(
    db: Session, staff: Staff, centre_id: int, document: dict[str, Any], today: dt.date
) -> Prescription:
    """The document validated against the centre's catalogue; who prescribed it and
    when default to the signed-in staff member and today. 422 when invalid."""
    doc = dict(document)
    doc.setdefault("prescribed_by", {"name": staff.display_name, "role": "coach"})
    doc.setdefault("prescribed_on", today.isoformat())
    sessions = doc.get("sessions")
    if isinstance(sessions, list) and len(sessions) > MAX_DOCUMENT_SESSIONS:
        raise api_error(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "invalid_prescription",
            f"sessions: expected at most {MAX_DOCUMENT_SESSIONS}, got {len(sessions)}",
        )
    try:
        return prescription_from_dict(doc, centre_catalogue(db, centre_id), "plan")
    except PrescriptionError as exc:
        raise api_error(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "invalid_prescription", str(exc)
        ) from None


def _date(value: dt.date | None, request: Request) -> dt.date:
    return value if value is not None else local_today(request.app.state)


@router.get("/plan-templates")
def plan_templates(staff: CurrentStaff, db: Db) -> dict[str, Any]:
    """The shipped plan templates (examples to adapt: see each one's `status`) and
    the catalogue plans may name (exercise id -> kind)."""
    catalogue = centre_catalogue(db, staff.centre_id)
    templates = builtin_plan_templates(catalogue)
    return {
        "templates": [template_json(t) for t in templates.values()],
        "catalogue": catalogue,
    }


@router.post("/residents/{resident_id}/plan-suggestion")
def plan_suggestion(
    resident_id: int, body: SuggestionIn, request: Request, staff: CurrentStaff, db: Db
) -> dict[str, Any]:
    """A plan from a template, each exercise at the level the resident's latest
    assessments suggest (with the reason), for the coach to edit and save."""
    resident = resident_for(db, staff, resident_id)
    catalogue = centre_catalogue(db, resident.centre_id)
    template = builtin_plan_templates(catalogue).get(body.template_id)
    if template is None:
        raise api_error(status.HTTP_404_NOT_FOUND, "plan_template_not_found")
    results = assessed_results(repository.list_assessments(db, resident_id))
    suggestions = suggest_levels(template, results)
    today = local_today(request.app.state)
    try:
        plan = prescription_from_template(
            template,
            catalogue,
            start_date=body.start_date or today,
            end_date=body.end_date,
            prescribed_by=Prescriber(staff.display_name, "coach"),
            prescribed_on=today,
            levels={(s.session_id, s.exercise_id): s.level for s in suggestions},
        )
    except PrescriptionError as exc:
        raise api_error(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "invalid_prescription", str(exc)
        ) from None
    return suggestion_json(suggestions, plan)


@router.get("/residents/{resident_id}/prescriptions")
def resident_prescriptions(
    resident_id: int, staff: CurrentStaff, db: Db
) -> dict[str, Any]:
    resident = resident_for(db, staff, resident_id)
    catalogue = centre_catalogue(db, resident.centre_id)
    rows = repository.list_prescriptions(db, resident_id=resident_id)
    return {"prescriptions": [plan_json(r, catalogue) for r in rows]}


@router.post("/residents/{resident_id}/prescriptions", status_code=201)
def create(
    resident_id: int, body: DocumentIn, request: Request, staff: CurrentStaff, db: Db
) -> dict[str, Any]:
    resident = resident_for(db, staff, resident_id)
    plan = _plan(db, staff, resident.centre_id, body.document, _date(None, request))
    row = repository.create_prescription(
        db,
        centre_id=resident.centre_id,
        resident_id=resident.id,
        plan=plan,
        prescribed_by=staff.id,
    )
    db.commit()
    return plan_json(row, centre_catalogue(db, resident.centre_id))


@router.get("/prescriptions/{prescription_id}")
def read(prescription_id: int, staff: CurrentStaff, db: Db) -> dict[str, Any]:
    row = prescription_for(db, staff, prescription_id)
    return plan_json(row, centre_catalogue(db, row.centre_id))


@router.put("/prescriptions/{prescription_id}")
def replace(
    prescription_id: int,
    body: DocumentIn,
    request: Request,
    staff: CurrentStaff,
    db: Db,
) -> dict[str, Any]:
    row = prescription_for(db, staff, prescription_id)
    plan = _plan(db, staff, row.centre_id, body.document, _date(None, request))
    repository.update_prescription(db, row, plan)
    db.commit()
    return plan_json(row, centre_catalogue(db, row.centre_id))


@router.delete("/prescriptions/{prescription_id}", status_code=204)
def delete(prescription_id: int, staff: CurrentStaff, db: Db) -> None:
    """Delete a plan and the sets recorded under it."""
    prescription_for(db, staff, prescription_id)
    repository.delete_prescription(db, prescription_id)
    db.commit()


def _loaded(db: Session, row: PrescriptionRow) -> Prescription:
    try:
        return repository.load_plan(row, centre_catalogue(db, row.centre_id))
    except PrescriptionError as exc:
        raise api_error(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "invalid_prescription", str(exc)
        ) from None


@router.get("/prescriptions/{prescription_id}/today")
def today(
    prescription_id: int,
    request: Request,
    staff: CurrentStaff,
    db: Db,
    date: dt.date | None = None,
) -> dict[str, Any]:
    """What the plan asks of the resident on a date (default: today at the centre)."""
    row = prescription_for(db, staff, prescription_id)
    plan = _loaded(db, row)
    return today_json(
        plan_for_date(plan, _date(date, request), repository.performed_sets(db, row.id))
    )


@router.get("/prescriptions/{prescription_id}/adherence")
def adherence(
    prescription_id: int,
    request: Request,
    staff: CurrentStaff,
    db: Db,
    as_of: dt.date | None = None,
) -> dict[str, Any]:
    """Sessions, sets, reps and hold time done against prescribed, per plan week,
    with the totals of the complete weeks, the score trend and the missed weeks."""
    row = prescription_for(db, staff, prescription_id)
    plan = _loaded(db, row)
    when = _date(as_of, request)
    report = repository.plan_adherence(
        db, row, centre_catalogue(db, row.centre_id), when
    )
    sets = [
        performed_set_json(s)
        for s in repository.set_rows(db, row.id)
        if s.performed_on <= when
    ]
    return {
        "prescription_id": row.id,
        "resident_id": row.resident_id,
        "title": dict(plan.title),
        "adherence": adherence_json(report),
        "sets": sets,
    }


@router.get("/adherence")
def centre_adherence(
    request: Request,
    staff: CurrentStaff,
    db: Db,
    as_of: dt.date | None = None,
    centre_id: int | None = None,
) -> dict[str, Any]:
    """The centre's plans' adherence added up per week, and each plan's totals (a plan
    that no longer validates is listed with its error, not counted)."""
    centre = listing_centre(staff, centre_id)
    when = _date(as_of, request)
    plans, reports = [], []
    catalogues: dict[int, dict[str, str]] = {}
    for row in repository.list_prescriptions(db, centre_id=centre):
        if row.start_date > when:
            continue
        catalogue = catalogues.setdefault(
            row.centre_id, centre_catalogue(db, row.centre_id)
        )
        entry: dict[str, Any] = {
            "prescription_id": row.id,
            "resident": {
                "id": row.resident.id,
                "display_name": row.resident.display_name,
                "member_code": row.resident.member_code,
            },
            "title": row.document.get("title", {}),
            "start_date": row.start_date.isoformat(),
            "end_date": row.end_date.isoformat(),
        }
        try:
            report = repository.plan_adherence(db, row, catalogue, when)
        except PrescriptionError as exc:
            entry["error"] = str(exc)
        else:
            reports.append(report)
            entry.update(
                totals=to_jsonable(report.totals),
                session_rate=report.session_rate,
                missed_weeks=[m.isoformat() for m in report.missed_weeks],
                score_trend_per_week=report.score_trend_per_week,
                current_week=to_jsonable(report.weeks[-1]) if report.weeks else None,
            )
        plans.append(entry)
    return {
        "as_of": when.isoformat(),
        "centre_id": centre,
        "weeks": to_jsonable(centre_weeks(reports)),
        "plans": plans,
    }
