"""Alembic migrations: an empty database reaches head on SQLite and PostgreSQL, the head
schema matches the models, and downgrade/upgrade round-trips."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from server.store import current_revision, head_revision, make_engine, upgrade_database
from server.store.migrate import MIGRATIONS_DIR, alembic_config
from server.store.models import Base
from tests.conftest import IN_CI
from tests.server.store.helpers import PG_ADMIN_URL

EXPECTED_TABLES = {
    "centres",
    "staff",
    "login_sessions",
    "residents",
    "kiosks",
    "exercise_sessions",
    "reps",
    "cues",
    "landmark_chunks",
    "session_videos",
    "notes",
    "custom_templates",
    "assessments",
    "alerts",
    "prescriptions",
    "performed_sets",
    "member_tokens",
    "fitness_tables",
    "programme_results",
    "routine_sections",
    "posture_figures",
    "breaths",
}


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database (no tables, no alembic_version)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    # A database of our own for the round trip; the session's shared one is at head.
    import secrets

    from sqlalchemy.exc import OperationalError

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"movecoach_mig_{secrets.token_hex(4)}"
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        if IN_CI:
            pytest.fail(f"CI=true and PostgreSQL not reachable: {exc.orig}")
        pytest.skip(f"PostgreSQL not reachable: {exc.orig}")
    url = admin.url.set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    request.addfinalizer(drop)
    return url


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_empty_database_upgrades_to_head(empty_url: str) -> None:
    assert current_revision(empty_url) is None
    upgrade_database(empty_url)
    assert current_revision(empty_url) == head_revision()
    assert _tables(empty_url) == EXPECTED_TABLES | {"alembic_version"}


def test_upgrade_is_idempotent(empty_url: str) -> None:
    upgrade_database(empty_url)
    upgrade_database(empty_url)
    assert current_revision(empty_url) == head_revision()


def test_head_schema_matches_models(empty_url: str) -> None:
    upgrade_database(empty_url)
    engine = make_engine(empty_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True}
            )
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_downgrade_to_base_and_back(empty_url: str) -> None:
    upgrade_database(empty_url)
    config = alembic_config(empty_url)
    command.downgrade(config, "base")
    assert _tables(empty_url) <= {"alembic_version"}
    assert current_revision(empty_url) is None
    upgrade_database(empty_url)
    assert _tables(empty_url) == EXPECTED_TABLES | {"alembic_version"}


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'dir' / 'wal.db'}"
    upgrade_database(url)  # creates the missing folders
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert (
                connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2
            )  # FULL
    finally:
        engine.dispose()


def test_migrations_ship_inside_the_package() -> None:
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert MIGRATIONS_DIR.parent.name == "store"
    assert any(MIGRATIONS_DIR.joinpath("versions").glob("*.py"))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param(
            "postgresql://u@h/db", "postgresql+psycopg", id="plain-postgresql"
        ),
        pytest.param("postgresql+psycopg://u@h/db", "postgresql+psycopg", id="psycopg"),
        pytest.param("sqlite:///x.db", "sqlite", id="sqlite"),
    ],
)
def test_normalize_url_picks_the_driver(url: str, expected: str) -> None:
    from server.store import normalize_url

    assert normalize_url(url).drivername == expected


def test_normalize_url_refuses_other_backends() -> None:
    from server.store import normalize_url

    with pytest.raises(ValueError, match="expected a sqlite"):
        normalize_url("mysql://u@h/db")
