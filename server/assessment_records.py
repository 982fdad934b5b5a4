"""Fitness assessment results in the records: `AssessmentResultRecorder` stores each
`AssessmentCompleted` of a signed-in resident (`repository.add_assessment`), and
`resident_record` reads the birth year and sex an assessment is normed by.

Both are blocking database work or run it on their own thread; the websocket loop
awaits the write's future before it sends the result (as it does for reps).
"""

from __future__ import annotations

import concurrent.futures
import logging
from typing import Any

from exercises.assessments import AssessmentCompleted, AssessmentResult
from exercises.events import Event
from server.jsonable import to_jsonable
from server.recording import (
    ForwardingRecorder,
    RecordWrite,
    SessionEnd,
    SessionInfo,
    SessionRecorder,
)
from server.store import Store
from server.store import repository as repo

__all__ = ["AssessmentResultRecorder", "resident_record"]

log = logging.getLogger(__name__)

FLUSH_TIMEOUT_S = 5.0
"""Longest a result waits for the session's row (to link to it) before it is stored."""


class AssessmentResultRecorder(ForwardingRecorder):
    """A `SessionRecorder` that passes everything to `inner` and stores each
    `AssessmentCompleted` of a signed-in resident in `store` (on its own thread;
    `on_event` returns the write's future, which the loop awaits before sending)."""

    def __init__(self, inner: SessionRecorder, store: Store) -> None:
        super().__init__(inner)
        self.records = store
        self._open: dict[str, SessionInfo] = {}
        self._pool = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix="assessments"
        )

    def on_open(self, info: SessionInfo) -> None:
        self._open[info.session_id] = info
        self.inner.on_open(info)

    def on_event(self, session_id: str, event: Event) -> RecordWrite:
        inner = self.inner.on_event(session_id, event)
        info = self._open.get(session_id)
        if not isinstance(event, AssessmentCompleted) or info is None:
            return inner
        if not info.resident:
            return inner
        return self._pool.submit(self._store, info, event.result)

    def on_close(self, session_id: str, end: SessionEnd) -> None:
        self._open.pop(session_id, None)
        self.inner.on_close(session_id, end)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.inner.close()

    def _store(self, info: SessionInfo, result: AssessmentResult) -> int | None:
        try:  # the recorder's session row first, to link to it
            self.inner.flush(FLUSH_TIMEOUT_S)
        except Exception:
            log.warning("session %s: recorder flush failed", info.session_id)
        assert info.resident is not None
        try:
            with self.records.begin() as db:
                row = repo.find_session_by_live_id(db, info.session_id)
                resident_id = row.resident_id if row is not None else None
                if resident_id is None:
                    resident = repo.find_kiosk_resident(
                        db, info.kiosk_id, info.resident
                    )
                    resident_id = None if resident is None else resident.id
                if resident_id is None:
                    log.warning(
                        "session %s: no resident %r; assessment not stored",
                        info.session_id,
                        info.resident,
                    )
                    return None
                saved = repo.add_assessment(
                    db,
                    resident_id=resident_id,
                    protocol_id=result.test_id,
                    value=result.value,
                    unit=result.unit,
                    percentile=result.percentile,
                    band=None if result.band is None else str(result.band.value),
                    details=_details(result),
                    session_id=None if row is None else row.id,
                )
                return int(saved.id)
        except Exception:
            log.exception("session %s: assessment not stored", info.session_id)
            return None


def _details(result: AssessmentResult) -> dict[str, Any]:
    wired = to_jsonable(result)
    return {
        k: wired[k]
        for k in ("per_side", "flags", "duration_ms", "explanation", "norm")
        if k in wired
    }


def resident_record(
    store: Store, kiosk_id: int | None, member_code: str
) -> tuple[int | None, str | None] | None:
    """(birth_year, sex) of a resident named at the kiosk, or None when unknown."""
    with store.session() as db:
        resident = repo.find_kiosk_resident(db, kiosk_id, member_code)
        if resident is None:
            return None
        return resident.birth_year, str(resident.sex.value)
