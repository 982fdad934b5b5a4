"""Export routes: a session or a resident as CSV, JSON or a FHIR R4 Bundle (CSV has
two tables: `reps`, one row per rep, the default, and `programmes`, programme results
one row per measure); an exercise plan with its adherence (CSV, JSON, FHIR CarePlan);
a centre's adherence (CSV, JSON)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response, status
from sqlalchemy.orm import Session

from exercises.prescriptions import PrescriptionError, adherence
from server import exports
from server.api._access import resident_for, session_for
from server.api.prescriptions import centre_adherence, prescription_for
from server.auth import CurrentStaff, Db, api_error
from server.plans import centre_catalogue, local_today
from server.store import repository

__all__ = ["router"]

router = APIRouter(prefix="/exports", tags=["exports"])

Format = Literal["csv", "json", "fhir"]
Table = Literal["reps", "programmes"]

_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "fhir": "application/fhir+json",
}
_SUFFIX = {"csv": "csv", "json": "json", "fhir": "fhir.json"}


def _download(content: str | dict[str, Any], fmt: Format, name: str) -> Response:
    text = (
        content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    )
    return Response(
        text.encode("utf-8"),
        media_type=_MEDIA[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{name}.{_SUFFIX[fmt]}"'
        },
    )


Exporter = Callable[[Session, int, bool], "str | dict[str, Any]"]
"""(db, record id, with landmarks) -> the export."""

_EXPORTERS: dict[tuple[str, str], Exporter] = {
    ("session", "csv"): lambda db, i, _: exports.session_csv(db, i),
    ("session", "csv/programmes"): lambda db, i, _: exports.session_programmes_csv(
        db, i
    ),
    ("session", "fhir"): lambda db, i, _: exports.session_fhir(db, i),
    ("session", "json"): lambda db, i, lm: exports.session_json(db, i, landmarks=lm),
    ("resident", "csv"): lambda db, i, _: exports.resident_csv(db, i),
    ("resident", "csv/programmes"): lambda db, i, _: exports.resident_programmes_csv(
        db, i
    ),
    ("resident", "fhir"): lambda db, i, _: exports.resident_fhir(db, i),
    ("resident", "json"): lambda db, i, lm: exports.resident_json(db, i, landmarks=lm),
}


@dataclass(frozen=True)
class ExportQuery:
    """The query of an export: its format, whether JSON carries the landmarks, and
    which table a CSV holds."""

    format: Format = "json"
    landmarks: bool = False
    table: Table = "reps"

    @property
    def exporter(self) -> str:
        """The `_EXPORTERS` key's format part."""
        if self.format == "csv" and self.table != "reps":
            return f"csv/{self.table}"
        return self.format


Query = Annotated[ExportQuery, Depends()]


def _export(kind: str, db: Session, record_id: int, query: ExportQuery) -> Response:
    content = _EXPORTERS[kind, query.exporter](db, record_id, query.landmarks)
    suffix = "" if query.table == "reps" else f"-{query.table}"
    return _download(content, query.format, f"movecoach-{kind}-{record_id}{suffix}")


@router.get("/sessions/{session_id}")
def session_export(
    session_id: int, staff: CurrentStaff, db: Db, query: Query
) -> Response:
    session_for(db, staff, session_id)
    return _export("session", db, session_id, query)


@router.get("/residents/{resident_id}")
def resident_export(
    resident_id: int, staff: CurrentStaff, db: Db, query: Query
) -> Response:
    resident_for(db, staff, resident_id)
    return _export("resident", db, resident_id, query)


@router.get("/prescriptions/{prescription_id}")
def prescription_export(
    prescription_id: int,
    request: Request,
    staff: CurrentStaff,
    db: Db,
    format: Format = "json",
    as_of: dt.date | None = None,
) -> Response:
    """A plan with its adherence as of a date (default today at the centre): JSON
    (the plan, its weeks, its sets), CSV (one row per week) or a FHIR CarePlan with
    the sessions done under it."""
    row = prescription_for(db, staff, prescription_id)
    when = as_of or local_today(request.app.state)
    try:
        plan = repository.load_plan(row, centre_catalogue(db, row.centre_id))
    except PrescriptionError as exc:
        raise api_error(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "invalid_prescription", str(exc)
        ) from None
    report = adherence(plan, repository.performed_sets(db, row.id), when)
    content: str | dict[str, Any]
    if format == "csv":
        content = exports.prescription_csv(report)
    elif format == "fhir":
        content = exports.prescription_fhir(db, row, plan, when)
    else:
        content = exports.prescription_json(db, row, report)
    return _download(content, format, f"movecoach-plan-{row.id}")


@router.get("/adherence")
def adherence_export(
    request: Request,
    staff: CurrentStaff,
    db: Db,
    format: Literal["csv", "json"] = "json",
    as_of: dt.date | None = None,
    centre_id: int | None = None,
) -> Response:
    """The centre's adherence: JSON as `GET /api/adherence`, CSV one row per plan
    and week."""
    body = centre_adherence(request, staff, db, as_of=as_of, centre_id=centre_id)
    if format == "json":
        return _download(body, "json", "movecoach-adherence")
    when = dt.date.fromisoformat(body["as_of"])
    reports = []
    for entry in body["plans"]:
        if "error" in entry:
            continue
        row = repository.get_prescription(db, entry["prescription_id"])
        assert row is not None
        reports.append(
            (
                row,
                repository.plan_adherence(
                    db, row, centre_catalogue(db, row.centre_id), when
                ),
            )
        )
    return _download(
        exports.centre_adherence_csv(reports), "csv", "movecoach-adherence"
    )
