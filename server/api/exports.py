"""Export routes: a session or a resident as CSV, JSON or a FHIR R4 Bundle."""

from __future__ import annotations

import json
from typing import Literal

from fastapi import APIRouter, Response

from server import exports
from server.api._access import resident_for, session_for
from server.auth import CurrentStaff, Db

__all__ = ["router"]

router = APIRouter(prefix="/exports", tags=["exports"])

Format = Literal["csv", "json", "fhir"]

_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "fhir": "application/fhir+json",
}
_SUFFIX = {"csv": "csv", "json": "json", "fhir": "fhir.json"}


def _download(content: str | dict[str, object], fmt: Format, name: str) -> Response:
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


@router.get("/sessions/{session_id}")
def session_export(
    session_id: int,
    staff: CurrentStaff,
    db: Db,
    format: Format = "json",
    landmarks: bool = False,
) -> Response:
    session_for(db, staff, session_id)
    if format == "csv":
        content: str | dict[str, object] = exports.session_csv(db, session_id)
    elif format == "fhir":
        content = exports.session_fhir(db, session_id)
    else:
        content = exports.session_json(db, session_id, landmarks=landmarks)
    return _download(content, format, f"movecoach-session-{session_id}")


@router.get("/residents/{resident_id}")
def resident_export(
    resident_id: int,
    staff: CurrentStaff,
    db: Db,
    format: Format = "json",
    landmarks: bool = False,
) -> Response:
    resident_for(db, staff, resident_id)
    if format == "csv":
        content: str | dict[str, object] = exports.resident_csv(db, resident_id)
    elif format == "fhir":
        content = exports.resident_fhir(db, resident_id)
    else:
        content = exports.resident_json(db, resident_id, landmarks=landmarks)
    return _download(content, format, f"movecoach-resident-{resident_id}")
