"""Today's plan at the kiosk: after a resident checks in (member code or card), the
kiosk asks for their plan of the day and records each set it runs as a set done under
the plan. The set's numbers come from the exercise session the kiosk recorded (its
reps and their scores, or its time held), not from the page.

    POST /api/kiosk/plan        {member_code} -> the resident, their plan, today's
                                sessions at this week's doses, the sets done today
    POST /api/kiosk/plan/sets   {member_code, prescription_id, session_id, exercise,
                                set_index, live_session_id} -> the set, today's sets

Member codes resolve through `server.members.lookup_member` (the kiosk's failure
limit); a plan or session of another resident is 404 like an unknown one.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError

from exercises.prescriptions import PerformedSet, PrescriptionError, plan_for_date
from server.api._errors import page_error
from server.api.kiosk import CurrentKiosk, kiosk_resident
from server.auth import Db
from server.exports.records import performed_set_json
from server.members import MemberCode
from server.plans import centre_catalogue, local_date, today_json
from server.runtime import runtime_of
from server.store import repository
from server.store.models import PrescriptionRow, Resident

__all__ = ["RECORDER_FLUSH_S", "router"]

log = logging.getLogger(__name__)

router = APIRouter(prefix="/kiosk", tags=["kiosk"])

RECORDER_FLUSH_S = 5.0
"""Longest a set waits for the recorder to have written its session."""


class PlanIn(BaseModel):
    member_code: MemberCode


class SetIn(PlanIn):
    prescription_id: int
    session_id: str = Field(min_length=1, max_length=64)
    exercise: str = Field(min_length=1, max_length=64)
    set_index: int = Field(ge=1, le=100)
    live_session_id: str = Field(min_length=1, max_length=64)


def _resident_json(resident: Resident) -> dict[str, Any]:
    return {"member_code": resident.member_code, "display_name": resident.display_name}


def _plan_body(
    request: Request, db: Db, resident: Resident, row: PrescriptionRow | None
) -> dict[str, Any]:
    today = local_date(request.app.state)
    body: dict[str, Any] = {
        "resident": _resident_json(resident),
        "date": today.isoformat(),
        "prescription": None,
        "today": None,
        "sets_today": [],
    }
    if row is None:
        return body
    try:
        plan = repository.load_plan(row, centre_catalogue(db, row.centre_id))
    except PrescriptionError:  # the coach must fix it; the kiosk offers no plan
        return body
    rows = repository.set_rows(db, row.id)
    body["prescription"] = {
        "id": row.id,
        "title": dict(plan.title),
        "elder_mode": plan.elder_mode,
        "contraindications": [dict(c) for c in plan.contraindications],
        "notes": dict(plan.notes),
        "start_date": plan.start_date.isoformat(),
        "end_date": plan.end_date.isoformat(),
    }
    body["today"] = today_json(
        plan_for_date(plan, today, repository.performed_sets(db, row.id))
    )
    body["sets_today"] = [
        performed_set_json(r) for r in rows if r.performed_on == today
    ]
    return body


@router.post("/plan")
def plan(body: PlanIn, request: Request, kiosk: CurrentKiosk, db: Db) -> dict[str, Any]:
    """The checked-in resident's plan for today (`prescription` None without one)."""
    resident = kiosk_resident(request, kiosk, db, body.member_code)
    today = local_date(request.app.state)
    row = repository.current_prescription(db, resident.id, today)
    return _plan_body(request, db, resident, row)


def _refused(message: str) -> Exception:
    return page_error(
        status.HTTP_422_UNPROCESSABLE_CONTENT, "plan_set_refused", message
    )


@router.post("/plan/sets", status_code=status.HTTP_201_CREATED)
def record_set(
    body: SetIn, request: Request, kiosk: CurrentKiosk, db: Db
) -> dict[str, Any]:
    """Record the set the kiosk just ran (its exercise session, by the `opened`
    message's session id) under the resident's plan."""
    runtime = runtime_of(request.app.state)
    if runtime is not None:  # the session's last writes first
        try:
            runtime.recorder.flush(RECORDER_FLUSH_S)
        except Exception:  # then without them; a missing session is refused below
            log.warning("recorder flush failed before recording a set")
    resident = kiosk_resident(request, kiosk, db, body.member_code)
    row = repository.get_prescription(db, body.prescription_id)
    if row is None or row.resident_id != resident.id:
        raise page_error(status.HTTP_404_NOT_FOUND, "no_plan")
    try:
        plan = repository.load_plan(row, centre_catalogue(db, row.centre_id))
        entry = next(
            e
            for e in plan.session(body.session_id).exercises
            if e.exercise_id == body.exercise
        )
    except (PrescriptionError, KeyError, StopIteration):
        raise _refused(
            f"expected an exercise of session {body.session_id!r} of the plan, "
            f"got {body.exercise!r}"
        ) from None
    session = repository.find_session_by_live_id(db, body.live_session_id)
    if session is None or session.resident_id != resident.id:
        raise _refused(f"no recorded session {body.live_session_id!r} of this resident")
    if session.exercise_id != body.exercise:
        raise _refused(
            f"expected a session of {body.exercise!r}, "
            f"got one of {session.exercise_id!r}"
        )
    scores = [r.score for r in session.reps if r.score is not None]
    hold_s, reps = 0.0, len(session.reps)
    summary = session.summary or {}
    if entry.kind == "hold":
        reps = 0
        hold_ms = summary.get("hold_ms")
        hold_s = hold_ms / 1000 if isinstance(hold_ms, int | float) else 0.0
        hold_score = summary.get("hold_score")
        scores = [float(hold_score)] if isinstance(hold_score, int | float) else []
    performed = PerformedSet(
        performed_on=local_date(request.app.state, session.started_at),
        session_id=body.session_id,
        exercise_id=body.exercise,
        reps=reps,
        hold_s=round(max(0.0, hold_s), 1),
        score=min(100.0, max(0.0, sum(scores) / len(scores))) if scores else None,
    )
    try:
        saved = repository.record_set(
            db,
            prescription_id=row.id,
            performed=performed,
            set_index=body.set_index,
            exercise_session_id=session.id,
        )
        db.commit()
    except IntegrityError:
        db.rollback()
        raise page_error(status.HTTP_409_CONFLICT, "set_already_recorded") from None
    today = local_date(request.app.state)
    return {
        "set": performed_set_json(saved),
        "sets_today": [
            performed_set_json(r)
            for r in repository.set_rows(db, row.id)
            if r.performed_on == today
        ],
    }
