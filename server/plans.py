"""Exercise prescriptions between the records and the pages: the catalogue a centre
may prescribe from, the centre's local date, and the JSON of plans, today's plan,
adherence, plan templates, level suggestions and national-standard scores. The
arithmetic is `exercises.prescriptions`'/`exercises.national_standard`'; the storage
`server.store.repository`'s."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final

from exercises.assessments import Band
from exercises.national_standard import GRADE_LABELS, BatteryScore, Grade
from exercises.prescriptions import (
    Adherence,
    AssessedBand,
    LevelSuggestion,
    PlanTemplate,
    Prescription,
    PrescriptionError,
    TodayPlan,
    catalogue_of,
    explain_change,
    prescription_to_dict,
)
from exercises.prescriptions.model import dose_to_dict, session_to_dict
from exercises.spec import builtin_specs
from server.catalogue import centre_specs
from server.jsonable import to_jsonable
from server.runtime import runtime_of
from server.store import repository
from server.store.models import Assessment, PrescriptionRow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
    from starlette.datastructures import State

__all__ = [
    "TIME_ZONE_STATE_KEY",
    "adherence_json",
    "assessed_results",
    "battery_json",
    "centre_catalogue",
    "local_date",
    "local_today",
    "plan_json",
    "suggestion_json",
    "template_json",
    "today_json",
]

TIME_ZONE_STATE_KEY: Final[str] = "movecoach_time_zone"


def centre_catalogue(db: Session, centre_id: int | None) -> dict[str, str]:
    """What a centre may prescribe: every built-in template and its own, id -> kind."""
    specs = [*builtin_specs().values(), *centre_specs(db, centre_id).values()]
    return catalogue_of(specs)


def local_date(state: State, when: dt.datetime | None = None) -> dt.date:
    """The centres' local date of an aware time (default now), in
    `Settings.time_zone` (UTC when the records API runs without the live app and was
    given none)."""
    runtime = runtime_of(state)
    name = (
        runtime.settings.time_zone
        if runtime is not None
        else getattr(state, TIME_ZONE_STATE_KEY, "UTC")
    )
    zone = zoneinfo.ZoneInfo(name)
    return (dt.datetime.now(zone) if when is None else when.astimezone(zone)).date()


def local_today(state: State) -> dt.date:
    """Today at the centres (`local_date` of now)."""
    return local_date(state)


def plan_json(row: PrescriptionRow, catalogue: dict[str, str]) -> dict[str, Any]:
    """A stored plan for the pages: its document, and `error` (a `PrescriptionError`'s
    text) when it no longer validates against the catalogue."""
    error = None
    document = row.document
    try:
        document = prescription_to_dict(repository.load_plan(row, catalogue))
    except PrescriptionError as exc:
        error = str(exc)
    prescriber = row.prescriber
    return {
        "id": row.id,
        "resident_id": row.resident_id,
        "centre_id": row.centre_id,
        "start_date": row.start_date.isoformat(),
        "end_date": row.end_date.isoformat(),
        "template_id": row.template_id,
        "prescribed_by": None
        if prescriber is None
        else {"id": prescriber.id, "display_name": prescriber.display_name},
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
        "document": document,
        "error": error,
    }


def today_json(today: TodayPlan) -> dict[str, Any]:
    """`plan_for_date`'s answer; each exercise with its dose as in a document and
    the latest progression step explained (en, zh-CN) in `change_text`."""

    def session(s: Any) -> dict[str, Any]:
        return {
            "session_id": s.session_id,
            "name": dict(s.name),
            "done_today": s.done_today,
            "exercises": [
                {
                    "exercise": e.exercise_id,
                    "kind": e.prescribed.kind,
                    **dose_to_dict(e.dose),
                    "rest_s": e.prescribed.rest_s,
                    "pace_s": e.prescribed.pace_s,
                    "target_score": e.prescribed.target_score,
                    "load_kg": e.prescribed.load_kg,
                    "notes": dict(e.prescribed.notes),
                    "change": None
                    if e.last_change is None
                    else str(e.last_change.change),
                    "change_text": None
                    if e.last_change is None
                    else explain_change(e.last_change, e.prescribed),
                }
                for e in s.exercises
            ],
        }

    return {
        "date": today.date.isoformat(),
        "status": str(today.status),
        "week_start": today.week_start.isoformat(),
        "sessions": [session(s) for s in today.sessions],
        "make_up": [session(s) for s in today.make_up],
        "next_session_on": None
        if today.next_session_on is None
        else today.next_session_on.isoformat(),
    }


def adherence_json(report: Adherence) -> dict[str, Any]:
    """`adherence`'s answer as JSON (dates ISO, every count as computed)."""
    wired = to_jsonable(report)
    assert isinstance(wired, dict)
    return wired


def template_json(template: PlanTemplate) -> dict[str, Any]:
    """A plan template for the coach's editor: its texts, sources, status, sessions
    (standard doses) and per exercise the easier/harder doses and the assessments
    that choose them."""
    sessions = []
    for session in template.sessions:
        doc = session_to_dict(session)
        for ex, e in zip(session.exercises, doc["exercises"], strict=True):
            levels = template.levels[(session.id, ex.exercise_id)]
            e["assessed_by"] = list(levels.assessed_by)
            e["easier"] = None if levels.easier is None else dose_to_dict(levels.easier)
            e["harder"] = None if levels.harder is None else dose_to_dict(levels.harder)
        sessions.append(doc)
    return {
        "id": template.id,
        "status": template.status,
        "name": dict(template.name),
        "description": dict(template.description),
        "weeks": template.weeks,
        "elder_mode": template.elder_mode,
        "sources": list(template.sources),
        "source_note": dict(template.source_note),
        "contraindications": [dict(c) for c in template.contraindications],
        "sessions": sessions,
    }


def assessed_results(assessments: Iterable[Assessment]) -> list[AssessedBand]:
    """A resident's assessment rows as the level suggestion reads them (a band that
    is not below/normal/above counts as none)."""
    out = []
    for a in assessments:
        band = Band(a.band) if a.band in {b.value for b in Band} else None
        out.append(AssessedBand(a.protocol_id, a.taken_at.date(), band))
    return out


def suggestion_json(
    suggestions: Iterable[LevelSuggestion], plan: Prescription
) -> dict[str, Any]:
    """The suggested levels (with their reasons) and the plan they make."""
    return {
        "levels": [
            {
                "session_id": s.session_id,
                "exercise": s.exercise_id,
                "level": str(s.level),
                "based_on": None if s.based_on is None else to_jsonable(s.based_on),
                "reason": dict(s.reason),
            }
            for s in suggestions
        ],
        "document": prescription_to_dict(plan),
    }


def battery_json(score: BatteryScore) -> dict[str, Any]:
    """A scored battery, with the grade's label in both languages."""
    wired = to_jsonable(score)
    assert isinstance(wired, dict)
    grade = score.grade
    wired["grade_label"] = None if grade is None else dict(GRADE_LABELS[Grade(grade)])
    return wired
