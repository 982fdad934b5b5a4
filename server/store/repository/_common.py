"""What the repository's modules share: times, finite numbers, JSON columns, centre
filters, row counts."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, Result, Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from server.jsonable import to_jsonable

S = TypeVar("S", bound=Select[Any])
T = TypeVar("T")


def utc(value: datetime | None) -> datetime | None:
    """An aware datetime in UTC (what the database gives back, so callers see the same).

    Raises:
        ValueError: a naive datetime.
    """
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"expected a timezone-aware datetime, got naive {value!r}")
    return value.astimezone(UTC)


def finite(value: float | None) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def json_map(values: Mapping[str, Any]) -> dict[str, Any]:
    wired = to_jsonable(dict(values))
    assert isinstance(wired, dict)
    return wired


def added(db: Session, record: T) -> T:
    """`record`, added to the session and flushed (its id assigned)."""
    db.add(record)
    db.flush()
    return record


def of_centre(
    query: S,
    column: InstrumentedAttribute[int] | InstrumentedAttribute[int | None],
    centre_id: int | None,
) -> S:
    """`query` limited to one centre's rows (all rows when `centre_id` is None)."""
    return query if centre_id is None else query.where(column == centre_id)


def rowcount(result: Result[Any]) -> int:
    """Rows a DELETE or UPDATE touched (`Session.execute` of one returns a
    `CursorResult`)."""
    return int(cast(CursorResult[Any], result).rowcount or 0)
