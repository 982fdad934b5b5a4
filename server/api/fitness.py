"""体测 after the national standard: the scoring tables a centre installs and a
resident's battery scored with one, camera items and staff-entered items alike.

A table is validated before anything is stored (422 `invalid_scoring_table` with the
validator's message naming the key path: a malformed file, a missing age group);
scoring that the table cannot do (no battery for the age, an item not in it, a value
outside its rows or the item's plausible range) is 422 `scoring_failed`, and nothing
is stored then either.

    GET  /api/fitness-tables?centre_id=           the centre's tables and the items
    POST /api/fitness-tables?centre_id=           the TOML text as the body (admins)
    POST /api/residents/{id}/national-battery     {results, table_id?, age_years?,
                                                   taken_at?}
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, Field

from exercises.national_standard import (
    ITEMS,
    ScoringError,
    ScoringTableError,
    Sex,
    score_battery,
)
from server.api._access import centre_for_new_record, listing_centre, resident_for
from server.api._toml import TomlTooDeep, check_toml_nesting
from server.auth import CurrentStaff, Db, api_error, require_role
from server.plans import battery_json
from server.store import repository
from server.store.models import Role, Staff

__all__ = ["MAX_TABLE_BYTES", "router"]

router = APIRouter(tags=["fitness"])

MAX_TABLE_BYTES = 1 << 20
AdminOnly = Annotated[Staff, Depends(require_role(Role.ADMIN))]


class BatteryIn(BaseModel):
    results: dict[str, float] = Field(min_length=1, max_length=32)
    table_id: str | None = Field(default=None, max_length=64)
    age_years: int | None = Field(default=None, ge=0, le=130)
    taken_at: datetime | None = None


def _items() -> list[dict[str, Any]]:
    return [
        {
            "id": item.id,
            "name": dict(item.name),
            "unit": item.unit,
            "unit_label": dict(item.unit_label),
            "source": str(item.source),
            "plausible": list(item.plausible),
        }
        for item in ITEMS.values()
    ]


@router.get("/fitness-tables")
def tables(staff: CurrentStaff, db: Db, centre_id: int | None = None) -> dict[str, Any]:
    centre = listing_centre(staff, centre_id)
    rows = [] if centre is None else repository.list_fitness_tables(db, centre)
    out = []
    for row in rows:
        table = repository.load_scoring_table(row)
        out.append(
            {
                "table_id": row.table_id,
                "name": dict(table.name),
                "standard": table.standard,
                "source": table.source,
                "test_table": table.test_table,
                "installed_at": row.installed_at.isoformat(),
                "batteries": [
                    {"id": b.id, "name": dict(b.name), "ages": list(b.ages)}
                    for b in table.batteries.values()
                ],
            }
        )
    return {"tables": out, "items": _items()}


@router.post("/fitness-tables", status_code=status.HTTP_201_CREATED)
async def install(
    request: Request, staff: AdminOnly, db: Db, centre_id: int | None = None
) -> dict[str, Any]:
    """Install a scoring table (its TOML text as the request body)."""
    centre = centre_for_new_record(db, staff, centre_id)
    body = await request.body()
    if len(body) > MAX_TABLE_BYTES:
        raise api_error(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "invalid_scoring_table",
            f"expected at most {MAX_TABLE_BYTES} bytes, got {len(body)}",
        )
    try:
        text = body.decode("utf-8")
        check_toml_nesting(text)  # before the table's own parser sees it
        row = repository.install_fitness_table(
            db,
            centre_id=centre,
            toml_text=text,
            source="upload",
            installed_by=staff.id,
        )
    except UnicodeDecodeError as exc:
        raise api_error(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "invalid_scoring_table",
            f"expected UTF-8 text, got undecodable bytes ({exc.reason})",
        ) from None
    except (ScoringTableError, TomlTooDeep) as exc:
        raise api_error(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "invalid_scoring_table", str(exc)
        ) from None
    except ValueError as exc:
        raise api_error(
            status.HTTP_409_CONFLICT, "scoring_table_exists", str(exc)
        ) from None
    db.commit()
    return {"table_id": row.table_id, "test_table": row.test_table}


@router.post(
    "/residents/{resident_id}/national-battery", status_code=status.HTTP_201_CREATED
)
def score(
    resident_id: int, body: BatteryIn, staff: CurrentStaff, db: Db
) -> dict[str, Any]:
    """Score a resident's items (camera and staff-entered) with the centre's table
    (the newest, or `table_id`) and store one assessment per item. The age is
    `age_years`, else the test year minus the birth year."""
    resident = resident_for(db, staff, resident_id)
    row = repository.get_fitness_table(db, resident.centre_id, body.table_id)
    if row is None:
        raise api_error(status.HTTP_404_NOT_FOUND, "scoring_table_not_found")
    if body.taken_at is not None and body.taken_at.tzinfo is None:
        raise api_error(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "invalid_request",
            "expected taken_at with a time zone offset, got a naive time",
        )
    taken_at = body.taken_at or repository.utcnow()
    age = body.age_years
    if age is None and resident.birth_year is not None:
        age = taken_at.year - resident.birth_year
    if age is None or resident.sex.value not in ("female", "male"):
        raise api_error(status.HTTP_422_UNPROCESSABLE_CONTENT, "age_and_sex_required")
    table = repository.load_scoring_table(row)
    try:
        result = score_battery(
            table, sex=Sex(resident.sex.value), age_years=age, results=body.results
        )
    except (ScoringError, KeyError) as exc:
        raise api_error(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "scoring_failed", str(exc)
        ) from None
    saved = repository.add_battery_results(
        db, resident_id=resident.id, table=table, score=result, taken_at=taken_at
    )
    db.commit()
    return {**battery_json(result), "assessment_ids": [a.id for a in saved]}
