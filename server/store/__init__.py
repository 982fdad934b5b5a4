"""The records database: SQLAlchemy models, Alembic migrations, a repository of small
functions, landmark recordings and the live session recorder.

    store = open_store(settings.db_url)          # migrates to head, then opens
    with store.begin() as db:
        resident = repository.create_resident(db, centre_id=1, member_code="A-17", ...)
    recorder = DatabaseRecorder(store)           # server.recording.SessionRecorder
"""

from server.store import repository
from server.store.database import Store, make_engine, normalize_url, open_store
from server.store.migrate import current_revision, head_revision, upgrade_database
from server.store.recorder import DatabaseRecorder

__all__ = [
    "DatabaseRecorder",
    "Store",
    "current_revision",
    "head_revision",
    "make_engine",
    "normalize_url",
    "open_store",
    "repository",
    "upgrade_database",
]
