"""The `Store` handle's life cycle (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import text

from server.store import Store


def _closed(dbapi_connection: Any) -> bool:
    """Whether a DB-API connection is closed (psycopg says so; sqlite3 refuses)."""
    closed = getattr(dbapi_connection, "closed", None)
    if closed is not None:
        return bool(closed)
    try:
        dbapi_connection.execute("SELECT 1")
    except sqlite3.ProgrammingError:
        return True
    return False


def test_a_connection_in_use_at_dispose_is_closed_when_returned(db_url: str) -> None:
    """A write in flight while the server shuts down returns its connection after
    `dispose`: it is closed then, not left open in the discarded pool until the
    garbage collector finds it (psycopg's warning then fails whichever test is
    running). The store still answers afterwards, on a fresh connection."""
    store = Store(db_url)
    try:
        connection = store.engine.connect()
        connection.execute(text("SELECT 1"))
        dbapi_connection = connection.connection.dbapi_connection
        store.dispose()
        assert not _closed(dbapi_connection)  # still in use
        connection.close()
        assert _closed(dbapi_connection)
        with store.session() as db:
            assert db.execute(text("SELECT 1")).scalar() == 1
    finally:
        store.dispose()
