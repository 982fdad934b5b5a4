"""Engines and the `Store` handle: one engine per database URL, short transactions.

SQLite (the default, a file under the user's data directory) runs in WAL mode with
foreign keys on and `synchronous=FULL`, so a committed rep survives a power cut and not
only a crashed process; readers (coach pages) never block the kiosk writer.
PostgreSQL is reached with `postgresql+psycopg://user@host/db` (plain `postgresql://`
URLs are mapped to the psycopg 3 driver).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["Store", "make_engine", "normalize_url", "open_store"]

SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalize_url(url: str | URL) -> URL:
    """The URL SQLAlchemy gets: `postgresql://` → psycopg 3; SQLite paths expanded.

    Raises:
        ValueError: the URL names a backend other than SQLite or PostgreSQL.
    """
    parsed = make_url(url) if isinstance(url, str) else url
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            parsed = parsed.set(database=str(Path(parsed.database).expanduser()))
    else:
        raise ValueError(
            f"expected a sqlite:/// or postgresql+psycopg:// database URL, "
            f"got {parsed.render_as_string(hide_password=True)!r}"
        )
    return parsed


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for `url` with the pragmas and pool settings the store relies on.

    A SQLite file's parent folder is created when missing.
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        connect_args = {
            "check_same_thread": False,
            "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
        }
        engine = create_engine(parsed, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **kwargs)


class Store:
    """The records database: an engine plus a session factory.

    Use `with store.begin() as db:` for a unit of work that commits on success and
    rolls back on error, or `with store.session() as db:` to read.
    """

    def __init__(self, url: str | URL, **engine_kwargs: Any) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url, **engine_kwargs)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self._disposed = False
        event.listen(self.engine, "checkin", self._close_if_disposed)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        with self.sessionmaker() as db:
            yield db

    @contextlib.contextmanager
    def begin(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back on an exception."""
        with self.sessionmaker.begin() as db:
            yield db

    def dispose(self) -> None:
        """Close the pooled connections. A connection in use meanwhile (a write still
        in flight while the server shuts down) is closed when it is returned: the
        engine's `dispose` leaves it open in the discarded pool until the garbage
        collector finds it (psycopg then warns that it was deleted while open)."""
        self._disposed = True
        self.engine.dispose()

    def _close_if_disposed(self, _dbapi_connection: Any, record: Any) -> None:
        if self._disposed:
            record.invalidate()  # closes it; a later checkout reconnects

    def __repr__(self) -> str:
        return f"Store({self.url.render_as_string(hide_password=True)!r})"


def open_store(url: str | URL, *, migrate: bool = True) -> Store:
    """Open the records database, first upgrading its schema to head when `migrate`."""
    if migrate:
        from server.store.migrate import upgrade_database

        upgrade_database(url)
    return Store(url)
