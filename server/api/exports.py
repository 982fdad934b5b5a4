"""Export routes: a session or a resident as CSV, JSON or a FHIR R4 Bundle. CSV has
two tables: `reps` (one row per rep, the default) and `programmes` (programme results,
one row per measure)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Response
from sqlalchemy.orm import Session

from server import exports
from server.api._access import resident_for, session_for
from server.auth import CurrentStaff, Db

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
