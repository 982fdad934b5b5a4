"""Databases and factories for the records tests (storage, auth, exports, API).

`db_url` is parametrized over SQLite (a fresh migrated file per test) and PostgreSQL
(one uniquely named database per test session, migrated once, emptied before each test,
dropped at the end). When PostgreSQL cannot be reached the PostgreSQL cases are skipped
with the reason, except under `CI=true`, where they fail.

Set `MOVECOACH_TEST_PG_URL` to point the tests at another server (any database on it;
the tests create and drop their own).
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from exercises.events import CueIssued, RepCompleted, Severity
from server.store import Store, repository, upgrade_database
from server.store.models import Base
from tests.conftest import IN_CI
from vision.types import PoseFrame, PoseWindow, Skeleton

__all__ = [
    "PG_ADMIN_URL",
    "cue",
    "db_url",
    "fast_hasher",
    "frames",
    "pg_database_url",
    "rep",
    "seed_centre",
    "seed_session",
    "sqlite_template",
    "store",
]

PG_ADMIN_URL = os.environ.get(
    "MOVECOACH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated to head."""
    admin_url = make_url(PG_ADMIN_URL)
    admin = create_engine(
        admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    name = f"movecoach_test_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        reason = (
            f"PostgreSQL not reachable at "
            f"{admin_url.render_as_string(hide_password=True)}: {exc.orig}"
        )
        if IN_CI:
            pytest.fail(f"CI=true and {reason}")
        pytest.skip(reason)
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade_database(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once; each test gets a copy."""
    path = tmp_path_factory.mktemp("records") / "template.db"
    upgrade_database(f"sqlite:///{path}")
    return path


def _empty_postgres(url: str) -> None:
    engine = create_engine(url)
    try:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty database at head, SQLite or PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "records.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_database_url")
    _empty_postgres(url)
    return url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = Store(db_url)
    try:
        yield opened
    finally:
        opened.dispose()


# --- factories --------------------------------------------------------------------


def seed_centre(store: Store, name: str = "Riverside") -> dict[str, Any]:
    """A centre with one resident (consenting to landmarks) and a kiosk; their ids."""
    with store.begin() as db:
        centre = repository.create_centre(db, name)
        resident = repository.create_resident(
            db,
            centre_id=centre.id,
            member_code=f"{name[:2].upper()}-001",
            display_name=f"Lin {name}",
            birth_year=1948,
            sex="female",
            conditions=["knee osteoarthritis"],
        )
        kiosk, token = repository.create_kiosk(
            db, centre_id=centre.id, name=f"{name} hall"
        )
        return {
            "centre_id": centre.id,
            "resident_id": resident.id,
            "member_code": resident.member_code,
            "kiosk_id": kiosk.id,
            "kiosk_token": token,
        }


def seed_session(
    store: Store, ids: dict[str, Any], *, exercise_id: str = "chair_squat"
) -> int:
    """A finished session of the centre's resident at its kiosk: two reps, a cue,
    12 frames of landmarks; its id."""
    with store.begin() as db:
        session = repository.start_session(
            db,
            exercise_id=exercise_id,
            language="zh-CN",
            resident_id=ids["resident_id"],
            kiosk_id=ids["kiosk_id"],
            started_at=at(2026, 3, 2, 9),
        )
        repository.record_rep(db, session.id, rep(1, 70.0))
        repository.record_rep(db, session.id, rep(2, 90.0))
        repository.record_cue(db, session.id, cue(1500))
        repository.append_landmarks(db, session.id, PoseWindow.from_frames(frames(12)))
        repository.finish_session(db, session.id, ended_at=at(2026, 3, 2, 9, 5))
        return session.id


def rep(
    count: int,
    score: float = 80.0,
    *,
    timestamp_ms: int | None = None,
    knee: float = 95.0,
    hip: float = 70.0,
) -> RepCompleted:
    return RepCompleted(
        timestamp_ms=timestamp_ms if timestamp_ms is not None else 1000 * count,
        count=count,
        score=score,
        breakdown={"knee": score + 1.0, "hip": score - 1.0},
        duration_ms=1800 + count,
        range_of_motion_deg={"knee": knee, "hip": hip},
        cue_ids=("knees_cave",) if count % 2 else (),
        side=None,
    )


def cue(timestamp_ms: int, cue_id: str = "knees_cave") -> CueIssued:
    return CueIssued(
        timestamp_ms=timestamp_ms,
        cue_id=cue_id,
        severity=Severity.MAJOR,
        message={"en": "Push your knees out", "zh-CN": "膝盖向外推"},
        value=0.21,
    )


def frames(
    count: int,
    *,
    start_ms: int = 0,
    step_ms: int = 33,
    seed: int = 0,
    missing_every: int = 0,
) -> list[PoseFrame]:
    """`count` random BlazePose frames; every `missing_every`-th is nobody-in-view and
    joint 5 of the others is NaN (a missing joint)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        ts = start_ms + i * step_ms
        if missing_every and i % missing_every == missing_every - 1:
            out.append(PoseFrame.missing(ts))
            continue
        xyz = rng.random((33, 3), dtype=np.float32)
        xyz[5] = np.nan
        visibility = rng.random(33, dtype=np.float32)
        out.append(PoseFrame(xyz, visibility, ts, Skeleton.BLAZEPOSE_33))
    return out


def at(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def fast_hasher(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id with the smallest parameters, so sign-ins in tests take microseconds."""
    from argon2 import PasswordHasher

    from server import auth

    monkeypatch.setattr(
        auth,
        "PASSWORD_HASHER",
        PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
    )
    monkeypatch.setattr(auth, "_dummy_hash", None)
