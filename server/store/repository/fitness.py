"""National-standard 体测 in the records: the scoring tables a centre installs
(validated before anything is stored) and battery results, one `assessments` row per
item (`protocol_id` = the item id; `details`: the table, points, battery, total and
grade)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from exercises.national_standard import (
    ITEMS,
    BatteryScore,
    ScoringTable,
    scoring_table_from_toml,
)
from server.store.models import Assessment, FitnessTable
from server.store.repository._common import added, utc
from server.store.repository.residents import add_assessment

__all__ = [
    "add_battery_results",
    "get_fitness_table",
    "install_fitness_table",
    "list_fitness_tables",
    "load_scoring_table",
]


def install_fitness_table(
    db: Session,
    *,
    centre_id: int,
    toml_text: str,
    source: str = "upload",
    installed_by: int | None = None,
) -> FitnessTable:
    """Validate a scoring table's text, then store it for the centre.

    Raises:
        ScoringTableError: the table does not validate (nothing is stored).
        ValueError: the centre already has a table with this id.
    """
    table = scoring_table_from_toml(toml_text, source)
    if get_fitness_table(db, centre_id, table.id) is not None:
        raise ValueError(
            f"expected a new table id, got {table.id!r}, already installed here"
        )
    return added(
        db,
        FitnessTable(
            centre_id=centre_id,
            table_id=table.id,
            toml_text=toml_text,
            test_table=table.test_table,
            installed_by=installed_by,
        ),
    )


def list_fitness_tables(db: Session, centre_id: int) -> list[FitnessTable]:
    """The centre's tables, newest first."""
    return list(
        db.scalars(
            select(FitnessTable)
            .where(FitnessTable.centre_id == centre_id)
            .order_by(FitnessTable.installed_at.desc(), FitnessTable.id.desc())
        )
    )


def get_fitness_table(
    db: Session, centre_id: int, table_id: str | None = None
) -> FitnessTable | None:
    """The centre's table with this id, or its newest when `table_id` is None."""
    if table_id is None:
        tables = list_fitness_tables(db, centre_id)
        return tables[0] if tables else None
    return db.scalar(
        select(FitnessTable).where(
            FitnessTable.centre_id == centre_id, FitnessTable.table_id == table_id
        )
    )


def load_scoring_table(row: FitnessTable) -> ScoringTable:
    """The installed table (it validated when installed)."""
    return scoring_table_from_toml(row.toml_text, f"<fitness table {row.table_id}>")


def add_battery_results(
    db: Session,
    *,
    resident_id: int,
    table: ScoringTable,
    score: BatteryScore,
    taken_at: datetime | None = None,
) -> list[Assessment]:
    """One assessment row per scored item of `score`, each carrying the battery's
    total and grade (None while items are missing) and its band from the points
    (`Battery.band`: below pass, pass to good, excellent) for plan suggestions."""
    battery = table.batteries[score.battery_id]
    shared: dict[str, Any] = {
        "standard": "national",
        "table_id": score.table_id,
        "test_table": score.test_table,
        "battery_id": score.battery_id,
        "sex": str(score.sex),
        "age_group": list(score.age_group),
        "total": score.total,
        "grade": None if score.grade is None else str(score.grade),
        "missing": list(score.missing),
        "summary": dict(score.summary),
    }
    return [
        add_assessment(
            db,
            resident_id=resident_id,
            protocol_id=item.item_id,
            value=item.value,
            unit=ITEMS[item.item_id].unit,
            band=str(battery.band(item.points)),
            taken_at=utc(taken_at),
            details={**shared, "points": item.points, "weight": item.weight},
        )
        for item in score.items
    ]
