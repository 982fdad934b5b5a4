"""`DatabaseRecorder`: the live websocket's `SessionRecorder` (`server/recording.py`),
writing sessions, reps, cues and landmark recordings to the records database.

Threading. Recorder methods are called on the event loop and must not stall it, so every
database write runs on one writer thread, in the order it was reported (a session's row
exists before its reps; chunks keep their order). Each write is its own short
transaction.

Durability of reps. A rep the resident saw counted must survive a crash, so a
`RepCompleted` is committed *before* the websocket loop sends it to the kiosk:

* The loop in `server/ws.py` calls `recorder.on_event(...)` and only then
  `send(event_message(event))`. It must keep that order.
* With `wait_for_reps=True` (the default) `on_event` returns only once the rep's
  transaction committed (bounded by `rep_timeout_s`; a SQLite commit with
  `synchronous=FULL` takes a few milliseconds, about once per rep).
* With `wait_for_reps=False`, `on_event` returns a `concurrent.futures.Future` at once;
  the loop then awaits `asyncio.wrap_future(future)` before sending, and the event loop
  never blocks.

Landmarks. `on_landmarks(session_id, frame)` (called by the loop for every processed
frame) buffers frames; every `chunk_ms` of capture time (2 s) they are compressed and
appended as one chunk, and the rest at close. Landmarks are kept only for residents
who consented (the default) and, unless `record_anonymous_landmarks`, not for
anonymous sessions.

Ends. `on_close` marks the session completed (`CloseReason.CLOSED`) or interrupted (the
connection dropped or the server stopped); everything reported before stays. A process
that dies without `on_close` leaves the session `active`; the next startup marks it
interrupted (`repository.interrupt_stale_sessions`).
"""

from __future__ import annotations

import concurrent.futures
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, TypeVar

from sqlalchemy.orm import Session

from exercises.events import CueIssued, Event, RepCompleted
from server.jsonable import to_jsonable
from server.recording import (
    CloseReason,
    NullRecorder,
    RecordWrite,
    SessionEnd,
    SessionInfo,
)
from server.store import repository as repo
from server.store.database import Store
from server.store.landmarks import (
    DEFAULT_CHUNK_FRAMES,
    DEFAULT_CHUNK_MS,
    LandmarkBuffer,
)
from server.store.models import SessionStatus
from vision.types import PoseFrame, PoseWindow

if TYPE_CHECKING:
    pass

__all__ = ["DatabaseRecorder"]

log = logging.getLogger(__name__)

T = TypeVar("T")

_STOP: Final = object()


@dataclass(slots=True)
class _Live:
    """A session as the loop thread tracks it; `db_id`/`keep_landmarks` are set by the
    writer thread's start job, which every later job of the session runs after."""

    live_id: str
    buffer: LandmarkBuffer
    db_id: int | None = None
    keep_landmarks: bool = False
    resident_id: int | None = None
    chunks: int = 0
    pending: list[concurrent.futures.Future[Any]] = field(default_factory=list)


class DatabaseRecorder(NullRecorder):
    """Records live sessions in a `Store` (see the module docstring).

    Args:
        store: The records database (migrated).
        default_centre_id: Centre of sessions whose kiosk is unknown (no `kiosk_id` on
            the session info). When None and the database has exactly one centre,
            that one; otherwise residents cannot be resolved (sessions stay anonymous).
        record_anonymous_landmarks: Keep landmarks of sessions with no resident.
        landmark_dtype: "float16" (default) or "float32" for stored coordinates.
        chunk_ms: Capture time per landmark chunk.
        chunk_frames: Most frames per landmark chunk.
        wait_for_reps: `on_event` blocks until a rep is committed (see above).
        rep_timeout_s: Longest wait for a rep's commit before giving up (logged).
    """

    def __init__(
        self,
        store: Store,
        *,
        default_centre_id: int | None = None,
        record_anonymous_landmarks: bool = False,
        landmark_dtype: str = "float16",
        chunk_ms: int = DEFAULT_CHUNK_MS,
        chunk_frames: int = DEFAULT_CHUNK_FRAMES,
        wait_for_reps: bool = True,
        rep_timeout_s: float = 5.0,
    ) -> None:
        if landmark_dtype not in ("float16", "float32"):
            raise ValueError(
                f"expected landmark_dtype float16 or float32, got {landmark_dtype!r}"
            )
        self._store = store
        self.default_centre_id = default_centre_id
        self.record_anonymous_landmarks = record_anonymous_landmarks
        self.landmark_dtype = landmark_dtype
        self.chunk_ms = chunk_ms
        self.chunk_frames = chunk_frames
        self.wait_for_reps = wait_for_reps
        self.rep_timeout_s = rep_timeout_s
        self._live: dict[str, _Live] = {}
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(
            target=self._run, name="movecoach-recorder", daemon=True
        )
        self._thread.start()

    @property
    def store(self) -> Store:
        return self._store

    # --- writer thread --------------------------------------------------------------

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is _STOP:
                return
            future, work = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                with self.store.begin() as db:
                    result = work(db)
            except BaseException as exc:
                log.exception("recorder: a database write failed")
                future.set_exception(exc)
            else:
                future.set_result(result)

    def _submit(self, work: Callable[[Session], T]) -> concurrent.futures.Future[T]:
        if self._closed:
            raise RuntimeError("expected an open recorder, got one already closed")
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._jobs.put((future, work))
        return future

    # --- SessionRecorder ------------------------------------------------------------

    def on_open(self, info: SessionInfo) -> None:
        """A session opened (`info.kiosk_id`: the verified kiosk, if any)."""
        live = self._track(info.session_id)
        kiosk_id = info.kiosk_id

        def start(db: Session) -> int | None:
            centre_id = self._centre_of(db, kiosk_id)
            resident = None
            if info.resident and centre_id is not None:
                resident = repo.find_resident(db, centre_id, info.resident)
                if resident is None:
                    log.warning(
                        "session %s: no resident %r in centre %s; kept anonymous",
                        info.session_id,
                        info.resident,
                        centre_id,
                    )
            session = repo.start_session(
                db,
                exercise_id=info.exercise_id,
                language=info.lang,
                elder_mode=bool(info.elder),
                resident_id=resident.id if resident is not None else None,
                kiosk_id=kiosk_id,
                centre_id=centre_id,
                started_at=info.started_at,
                live_id=info.session_id,
            )
            live.db_id = session.id
            live.resident_id = resident.id if resident is not None else None
            live.keep_landmarks = (
                resident.consent_landmarks
                if resident is not None
                else self.record_anonymous_landmarks
            )
            return session.id

        self._submit(start)

    def _track(self, session_id: str) -> _Live:
        """Start tracking a session on the loop thread (its row comes later)."""
        live = _Live(
            session_id,
            LandmarkBuffer(chunk_ms=self.chunk_ms, chunk_frames=self.chunk_frames),
        )
        self._live[session_id] = live
        return live

    def _centre_of(self, db: Session, kiosk_id: int | None) -> int | None:
        """The kiosk's centre (the kiosk is seen now), else `default_centre_id`, else
        the database's only centre."""
        repo.touch_kiosk(db, kiosk_id)
        if kiosk_id is None and self.default_centre_id is not None:
            return self.default_centre_id
        return repo.kiosk_centre_id(db, kiosk_id)

    def on_event(self, session_id: str, event: Event) -> RecordWrite:
        """Store reps and cues (other events are not kept). A rep is committed before
        this returns when `wait_for_reps` (see the module docstring)."""
        live = self._live.get(session_id)
        if live is None or not isinstance(event, RepCompleted | CueIssued):
            return None

        def write(db: Session) -> int | None:
            if live.db_id is None:
                return None  # the session row could not be made; logged already
            row = repo.record_event(db, live.db_id, event)
            return row.id if row is not None else None

        future = self._submit(write)
        if isinstance(event, RepCompleted) and self.wait_for_reps:
            try:
                future.result(timeout=self.rep_timeout_s)
            except concurrent.futures.TimeoutError:
                log.error(
                    "session %s: rep %d not committed within %.1f s",
                    session_id,
                    event.count,
                    self.rep_timeout_s,
                )
        return future

    def on_landmarks(self, session_id: str, frame: PoseFrame) -> None:
        """Buffer one processed frame of the session's subject (missing frames too)."""
        live = self._live.get(session_id)
        if live is None:
            return
        if live.buffer.add(frame):
            self._flush_landmarks(live)

    def _flush_landmarks(self, live: _Live) -> None:
        window = live.buffer.take()
        if window is None:
            return

        def append(db: Session, window: PoseWindow = window) -> int | None:
            if live.db_id is None or not live.keep_landmarks:
                return None
            if live.resident_id is not None:  # consent may be withdrawn mid-session
                resident = repo.get_resident(db, live.resident_id)
                if resident is None or not resident.consent_landmarks:
                    live.keep_landmarks = False
                    return None
            chunk = repo.append_landmarks(
                db, live.db_id, window, dtype=self.landmark_dtype
            )
            live.chunks += 1
            return chunk.seq

        self._submit(append)

    def on_close(self, session_id: str, end: SessionEnd) -> None:
        """The session ended: flush landmarks, then mark it completed or interrupted."""
        live = self._live.pop(session_id, None)
        if live is None:
            return
        self._flush_landmarks(live)
        reason_name = end.reason.name.lower()
        completed = end.reason is CloseReason.CLOSED
        summary_json = _as_json(end.summary)
        stats_json = _as_json(end.stats)

        def finish(db: Session) -> None:
            if live.db_id is None:
                return
            repo.finish_session(
                db,
                live.db_id,
                status=SessionStatus.COMPLETED
                if completed
                else SessionStatus.INTERRUPTED,
                reason=reason_name,
                summary=summary_json,
                stats=stats_json,
            )

        self._submit(finish)

    # --- lifecycle ------------------------------------------------------------------

    @property
    def active_sessions(self) -> frozenset[str]:
        return frozenset(self._live)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def writer_alive(self) -> bool:
        """The writer thread runs (False once closed, or if it died)."""
        return self._thread.is_alive()

    def flush(self, timeout_s: float | None = None) -> None:
        """Wait until every write reported so far has run (at once when closed: closing
        already wrote everything)."""
        if self._closed:
            self._thread.join(timeout_s)
            return
        self._submit(lambda db: None).result(timeout=timeout_s)

    def close(self, timeout: float | None = 30.0) -> None:
        """Write what is queued, then stop the writer thread (server shutdown).

        Sessions still open are marked interrupted (reason `shutdown`).
        """
        if self._closed:
            return
        for session_id in list(self._live):
            self.on_close(session_id, SessionEnd(CloseReason.SHUTDOWN))
        self._closed = True
        self._jobs.put(_STOP)
        self._thread.join(timeout)


def _as_json(value: object | None) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        wired = to_jsonable(value)
    except TypeError:
        return {"value": repr(value)}
    return wired if isinstance(wired, dict) else {"value": wired}
