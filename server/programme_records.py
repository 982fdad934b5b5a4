"""Programme results in the records: `ProgrammeResultRecorder` stores what a
routine, posture-screen or paced-breathing session measured (its summary,
`server.programmes`) when the session ends, whichever way it ended (a routine stopped
midway keeps its sections so far, a posture screen its views so far), linked to the
session's row and its resident (`repository.add_programme_result`).

The write runs on its own thread after the inner recorder has written the session's
row (`flush`); `flush` and `close` wait for it too.
"""

from __future__ import annotations

import concurrent.futures
import logging

from server.jsonable import to_jsonable
from server.programmes import BreathingSummary, PostureSummary, RoutineSummary
from server.recording import ForwardingRecorder, SessionEnd, SessionRecorder
from server.store import Store
from server.store import repository as repo

__all__ = ["FLUSH_TIMEOUT_S", "ProgrammeResultRecorder"]

log = logging.getLogger(__name__)

FLUSH_TIMEOUT_S = 5.0
"""Longest a result waits for the session's row before it gives up (logged)."""

_SUMMARIES = (RoutineSummary, PostureSummary, BreathingSummary)


class ProgrammeResultRecorder(ForwardingRecorder):
    """A `SessionRecorder` that passes everything to `inner` and stores the summary
    of each programme session in `store` when it ends (see the module docstring)."""

    def __init__(self, inner: SessionRecorder, store: Store) -> None:
        super().__init__(inner)
        self.records = store
        self._pool = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix="programmes"
        )

    def on_close(self, session_id: str, end: SessionEnd) -> None:
        self.inner.on_close(session_id, end)
        if isinstance(end.summary, _SUMMARIES):
            self._pool.submit(self._store, session_id, to_jsonable(end.summary))

    def flush(self, timeout_s: float | None = None) -> None:
        self.inner.flush(timeout_s)
        self._pool.submit(lambda: None).result(timeout=timeout_s)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.inner.close()

    def _store(self, live_id: str, summary: dict[str, object]) -> int | None:
        try:  # the inner recorder's session row first, to link to it
            self.inner.flush(FLUSH_TIMEOUT_S)
        except Exception:
            log.warning("session %s: recorder flush failed", live_id)
        try:
            with self.records.begin() as db:
                row = repo.find_session_by_live_id(db, live_id)
                if row is None:
                    log.warning(
                        "session %s: no session row; programme result not stored",
                        live_id,
                    )
                    return None
                saved = repo.add_programme_result(
                    db,
                    session_id=row.id,
                    resident_id=row.resident_id,
                    summary=summary,
                    taken_at=row.started_at,
                )
                return int(saved.id)
        except Exception:
            log.exception("session %s: programme result not stored", live_id)
            return None
