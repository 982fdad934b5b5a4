"""Exports of exercise plans: a plan with its adherence and the sets done under it
(JSON, CSV one row per plan week), a centre's adherence (JSON, CSV one row per plan
and week), and a plan as an HL7 FHIR R4 `CarePlan` with the exercise sessions done
under it.

FHIR: a collection `Bundle` of the resident's `Patient` (as `fhir.patient_resource`),
one `CarePlan` (intent `plan`; status `active`, or `completed` once its last day has
passed; `period` = the plan's dates; the prescriber as `author` by display; cautions
and notes as `note`) with one `activity.detail` per exercise of each session: `code`
the exercise in the MoveCoach exercise code system, `scheduledTiming` once a day on the
session's days (`dayOfWeek`), `quantity` the starting volume per session (sets x reps
as `{repetitions}`, or sets x hold as UCUM `s`), `description` the dose, rest and
progression in words, `status` from the plan's dates, and `outcomeReference` to the
sessions done as that exercise. Each performed set's exercise session is exported as
the session export does it (`Observation`s), every one with `basedOn` the CarePlan.
The plan's category is a MoveCoach code (`exercise-prescription`): no SNOMED CT or
LOINC code is used for it here.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from typing import Any, Final

from sqlalchemy.orm import Session

from exercises.prescriptions import (
    Adherence,
    PrescribedExercise,
    Prescription,
    WeekAdherence,
)
from server.exports.fhir import (
    EXERCISE_SYSTEM,
    OBSERVATION_SYSTEM,
    _bundle,
    _concept,
    _quantity,
    _ref,
    _session_observations,
    _uuid,
    patient_resource,
)
from server.exports.records import _envelope, load_session, performed_set_json
from server.exports.table import csv_cell
from server.jsonable import to_jsonable
from server.store import repository
from server.store.models import PrescriptionRow

__all__ = [
    "ADHERENCE_COLUMNS",
    "centre_adherence_csv",
    "prescription_csv",
    "prescription_fhir",
    "prescription_json",
]

ADHERENCE_COLUMNS: Final[tuple[str, ...]] = (
    "week_start",
    "complete",
    "missed",
    "sessions_prescribed",
    "sessions_done",
    "sets_prescribed",
    "sets_done",
    "sets_completed",
    "reps_prescribed",
    "reps_done",
    "hold_s_prescribed",
    "hold_s_done",
    "mean_score",
)


def _week_row(w: WeekAdherence) -> list[object]:
    t = w.totals
    score = None if w.mean_score is None else round(w.mean_score, 3)
    return [
        w.week_start.isoformat(),
        w.complete,
        w.missed,
        t.sessions_prescribed,
        t.sessions_done,
        t.sets_prescribed,
        t.sets_done,
        t.sets_completed,
        t.reps_prescribed,
        t.reps_done,
        t.hold_s_prescribed,
        t.hold_s_done,
        score,
    ]


def _csv(header: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(list(header))
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return out.getvalue()


def prescription_json(
    db: Session, row: PrescriptionRow, report: Adherence
) -> dict[str, Any]:
    """The plan, its adherence as of `report.as_of` and every set done under it."""
    resident = row.resident
    return _envelope(
        resident={"id": resident.id, "member_code": resident.member_code},
        prescription={
            "id": row.id,
            "document": row.document,
            "template_id": row.template_id,
            "created_at": row.created_at.isoformat(),
            "updated_at": row.updated_at.isoformat(),
        },
        adherence=to_jsonable(report),
        sets=[performed_set_json(s) for s in repository.set_rows(db, row.id)],
    )


def prescription_csv(report: Adherence) -> str:
    """One row per plan week up to `report.as_of`."""
    return _csv(ADHERENCE_COLUMNS, (_week_row(w) for w in report.weeks))


def centre_adherence_csv(
    reports: Iterable[tuple[PrescriptionRow, Adherence]],
) -> str:
    """One row per plan and week: who, which plan, then the week's counts."""
    header = ("prescription_id", "member_code", "display_name", *ADHERENCE_COLUMNS)
    return _csv(
        header,
        (
            [row.id, row.resident.member_code, row.resident.display_name, *_week_row(w)]
            for row, report in reports
            for w in report.weeks
        ),
    )


# --- FHIR ------------------------------------------------------------------------

_PRESCRIPTION_CATEGORY: Final = _concept(
    OBSERVATION_SYSTEM,
    "exercise-prescription",
    "Exercise prescription",
    "Exercise prescription (运动处方)",
)


def _text(value: dict[str, str]) -> str:
    return value.get("en") or value.get("zh-CN") or ""


def _describe(session_name: str, ex: PrescribedExercise) -> str:
    d = ex.dose
    amount = (
        f"{d.sets} x {d.reps} repetitions"
        if d.reps is not None
        else f"{d.sets} x {d.hold_s:g} s held"
    )
    parts = [f"{session_name}: {amount}", f"rest {ex.rest_s:g} s"]
    if ex.pace_s is not None:
        parts.append(f"{ex.pace_s:g} s per repetition")
    if ex.target_score is not None:
        parts.append(f"target score {ex.target_score:g}")
    if ex.load_kg is not None:
        parts.append(f"{ex.load_kg:g} kg")
    p = ex.progression
    if p is not None:
        rule = f"{p.field} +{p.step:g} a week"
        if p.min_mean_score is not None:
            rule += f" while the mean score >= {p.min_mean_score:g}"
        if p.maximum is not None:
            rule += f", up to {p.maximum:g}"
        parts.append(rule + f"; after a missed week: {p.on_missed.replace('_', ' ')}")
    return "; ".join(parts)


def _volume(ex: PrescribedExercise) -> dict[str, Any]:
    d = ex.dose
    if d.reps is not None:
        return _quantity(d.sets * d.reps, "{repetitions}")
    return _quantity(d.sets * (d.hold_s or 0.0), "s")


def prescription_fhir(
    db: Session, row: PrescriptionRow, plan: Prescription, today: dt.date
) -> dict[str, Any]:
    """The plan as a CarePlan with its performed sessions (see the module doc)."""
    patient = patient_resource(row.resident)
    careplan_id = _uuid("CarePlan", row.id)
    careplan_ref = {"reference": f"urn:uuid:{careplan_id}"}
    ended = today > plan.end_date
    detail_status = (
        "completed"
        if ended
        else ("not-started" if today < plan.start_date else "in-progress")
    )
    sessions: dict[tuple[str, str], list[dict[str, Any]]] = {}
    observations: list[dict[str, Any]] = []
    for s in repository.set_rows(db, row.id):
        if s.exercise_session_id is None:
            continue
        recorded = _session_observations(
            load_session(db, s.exercise_session_id), patient
        )
        for resource in recorded:
            resource["basedOn"] = [careplan_ref]
        observations.extend(recorded)
        sessions.setdefault((s.session_key, s.exercise_id), []).append(recorded[0])
    activities = []
    for session in plan.sessions:
        for ex in session.exercises:
            detail = {
                "code": _concept(EXERCISE_SYSTEM, ex.exercise_id, text=ex.exercise_id),
                "status": detail_status,
                "scheduledTiming": {
                    "repeat": {
                        "frequency": 1,
                        "period": 1,
                        "periodUnit": "d",
                        "dayOfWeek": list(session.days),
                    }
                },
                "quantity": _volume(ex),
                "description": _describe(_text(dict(session.name)), ex),
            }
            activity: dict[str, Any] = {"detail": detail}
            done = sessions.get((session.id, ex.exercise_id), [])
            if done:
                activity["outcomeReference"] = [_ref(o) for o in done]
            activities.append(activity)
    notes = [*plan.contraindications, *([plan.notes] if plan.notes else [])]
    careplan: dict[str, Any] = {
        "resourceType": "CarePlan",
        "id": careplan_id,
        "status": "completed" if ended else "active",
        "intent": "plan",
        "category": [_PRESCRIPTION_CATEGORY],
        "title": _text(dict(plan.title)),
        "subject": _ref(patient),
        "period": {
            "start": plan.start_date.isoformat(),
            "end": plan.end_date.isoformat(),
        },
        "author": {"display": f"{plan.prescribed_by.name} ({plan.prescribed_by.role})"},
        "activity": activities,
    }
    if plan.prescribed_on is not None:
        careplan["created"] = plan.prescribed_on.isoformat()
    if notes:
        careplan["note"] = [
            {"text": " / ".join(v for v in dict(n).values() if v)} for n in notes
        ]
    return _bundle(f"prescription-{row.id}", [patient, careplan, *observations])
