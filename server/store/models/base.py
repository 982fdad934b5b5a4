"""The declarative base of the records and what every table shares: constraint
names, portable column types (JSON, binary, UTC datetimes) and the enums stored as
checked strings."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Enum,
    LargeBinary,
    MetaData,
    TypeDecorator,
)
from sqlalchemy.dialects.postgresql import BYTEA, JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

__all__ = [
    "BLOB_TYPE",
    "JSON_TYPE",
    "NAMING_CONVENTION",
    "Base",
    "Role",
    "SessionStatus",
    "Sex",
    "UTCDateTime",
    "utcnow",
]

# Explicit constraint names, so migrations (and SQLite batch mode) can address them.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSON_TYPE = JSON().with_variant(JSONB(), "postgresql")
"""Portable JSON column: JSON on SQLite, JSONB on PostgreSQL."""

BLOB_TYPE = LargeBinary().with_variant(BYTEA(), "postgresql")


def utcnow() -> datetime:
    """Wall-clock now, timezone-aware UTC (the only clock the store reads)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    SQLite keeps no zone, so values are normalized to UTC on the way in and marked UTC
    on the way out; naive datetimes are refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"expected a timezone-aware datetime, got naive {value!r}")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Role(enum.StrEnum):
    ADMIN = "admin"
    COACH = "coach"


class Sex(enum.StrEnum):
    """Administrative sex as residents declare it (the FHIR `gender` value set)."""

    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class SessionStatus(enum.StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # VARCHAR + CHECK on both backends: no PostgreSQL enum types to migrate later.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 (SQLAlchemy reads this class attribute)
        datetime: UTCDateTime(),
        date: Date(),
        dict[str, Any]: JSON_TYPE,
        list[Any]: JSON_TYPE,
        bytes: BLOB_TYPE,
    }
