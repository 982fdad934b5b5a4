"""Database fixtures for the storage tests (defined in `helpers`, shared with the
auth, export and API tests)."""

from tests.server.store.helpers import (  # noqa: F401 (fixtures)
    db_url,
    pg_database_url,
    sqlite_template,
    store,
)
