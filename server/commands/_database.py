"""The records database as the commands meet it: a URL shown without its password,
and problems a user can fix (a folder that cannot be written, a server that does not
answer) as one-line `CommandError`s instead of tracebacks."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from server.cli import CommandError

__all__ = ["database_error", "prepare_database", "shown"]

log = logging.getLogger("server.records")


def shown(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # unparsable: say so rather than echo what may hold a secret
        return "(unparsable URL)"


def database_error(url: str, exc: BaseException) -> CommandError:
    """One line naming the database and the first line of what went wrong."""
    from sqlalchemy.exc import DBAPIError

    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else repr(cause)
    return CommandError(f"database {shown(url)}: {text}")


def _sqlite_path(url: str) -> Path | None:
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:":
        return None
    return Path(parsed.database).expanduser()


def _check_sqlite_writable(url: str, path: Path) -> None:
    """The folder (created if missing) takes new files, as SQLite's WAL needs, and an
    existing database file opens for writing."""

    def failure(where: object, reason: object) -> CommandError:
        if isinstance(reason, OSError):
            reason = reason.strerror or reason
        return CommandError(
            f"cannot write the database {shown(url)}: {where}: {reason}; expected a "
            "writable file in a writable folder (--db URL or MOVECOACH_DB_URL)"
        )

    existing = next(p for p in path.parents if p.exists() or p == p.parent)
    if not existing.is_dir():
        raise failure(existing, "not a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise failure(exc.filename or path.parent, exc) from None
    try:
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as exc:
        raise failure(path.parent, exc) from None
    if path.exists():
        try:
            with path.open("r+b"):
                pass
        except OSError as exc:
            raise failure(path, exc) from None


def prepare_database(url: str) -> str | None:
    """Create or upgrade the schema to head; returns the revision it is at.

    Raises:
        CommandError: the SQLite folder or file cannot be written, the server does not
            answer or refuses, or the URL is no database URL; one line each.
    """
    from alembic.util import CommandError as AlembicError
    from sqlalchemy.exc import SQLAlchemyError

    from server.store import current_revision, upgrade_database

    path = _sqlite_path(url)
    if path is not None:
        _check_sqlite_writable(url, path)
    try:
        before = current_revision(url)
        upgrade_database(url)
        after = current_revision(url)
    except (SQLAlchemyError, AlembicError, OSError, ValueError) as exc:
        raise database_error(url, exc) from None
    if after != before:
        old = before or "(empty)"
        log.info("records: database %s upgraded %s -> %s", shown(url), old, after)
    return after
