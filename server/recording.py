"""What the live websockets report about each session, for whoever keeps records.

The kiosk loop (`server/ws.py`) and the group screen (`server/group.py`) call a
`SessionRecorder` when a session opens (or resumes), for every engine event they
send, for every processed frame, and when the session ends, whether the kiosk closed
it or the connection dropped mid-set.

    NullRecorder          keeps nothing (the base every recorder extends)
    CountingRecorder      the default without a database: counts what passed
    ForwardingRecorder    a recorder around another one (metrics, assessment results)
    ShieldedRecorder      what the loops call: a recorder's failure is logged, never
                          raised into a session
    DatabaseRecorder      `server.store.recorder`; `ResumableRecorder` in
                          `server.resume` can go on with a recorded session

Recorder methods run on the event loop: an implementation must not block (hand rows to
a thread or a queue). `on_event` may return a `concurrent.futures.Future`; the loop
awaits it before it sends the event (a rep the kiosk shows is durable).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import enum
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from exercises.events import Event
from server.failures import log_repeated_failure
from vision.types import PoseFrame

if TYPE_CHECKING:
    from server.inference import StreamStats
    from server.store import Store

__all__ = [
    "CloseReason",
    "CountingRecorder",
    "ForwardingRecorder",
    "NullRecorder",
    "RecordWrite",
    "SessionEnd",
    "SessionInfo",
    "SessionRecorder",
    "ShieldedRecorder",
]

log = logging.getLogger(__name__)

RecordWrite: TypeAlias = "concurrent.futures.Future[Any] | None"
"""What `on_event` returns: the write's future (awaited before sending), or None."""


class CloseReason(enum.IntEnum):
    CLOSED = 0  # the kiosk sent `close`; a summary was sent
    DISCONNECTED = 1  # the connection dropped mid-session
    SHUTDOWN = 2  # the server stopped


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A session as it opens.

    Attributes:
        session_id: Unique id, also sent to the kiosk in `opened`.
        exercise_id: Built-in exercise id.
        lang: "en" or "zh-CN".
        elder: Elder mode.
        resident: Who exercises, as the kiosk named them (None = anonymous).
        started_at: Wall-clock start, timezone-aware UTC.
        client: Peer address of the kiosk ("host:port"), where known.
        kiosk_id: The kiosk its token identified (`server.auth.verify_kiosk_token`);
            None when kiosks are not authenticated (`Settings.kiosk_auth` off).
    """

    session_id: str
    exercise_id: str
    lang: str
    elder: bool
    resident: str | None
    started_at: datetime
    client: str | None = None
    kiosk_id: int | None = None


@dataclass(frozen=True, slots=True)
class SessionEnd:
    """How a session ended.

    Attributes:
        reason: Why (the kiosk closed it, the connection dropped, the server stopped).
        summary: The engine's summary (None if it could not be made).
        stats: The frame counters of its stream (None: not known).
    """

    reason: CloseReason
    summary: object | None = None
    stats: StreamStats | None = None


class SessionRecorder(Protocol):
    """Receives what a live session reported (see the module docstring)."""

    @property
    def store(self) -> Store | None:
        """The records database it writes to, if any."""

    @property
    def resumable(self) -> bool:
        """Whether `on_resume` goes on with a recorded session (`server.resume`)."""

    def on_open(self, info: SessionInfo) -> None:
        """A new session opened."""

    def on_resume(self, info: SessionInfo) -> None:
        """A recorded session goes on after a reconnect (only when `resumable`)."""

    def on_event(self, session_id: str, event: Event) -> RecordWrite:
        """An engine event, before it is sent; a returned future is awaited first."""

    def on_landmarks(self, session_id: str, frame: PoseFrame) -> None:
        """One processed frame of the session's subject (missing frames too)."""

    def on_close(self, session_id: str, end: SessionEnd) -> None:
        """The session ended (see `SessionEnd`)."""

    def flush(self, timeout_s: float | None = None) -> None:
        """Wait until what was reported so far is written."""

    def close(self) -> None:
        """Server shutdown: write what is queued, then stop."""


class NullRecorder:
    """A `SessionRecorder` that keeps nothing; recorders override what they keep."""

    @property
    def store(self) -> Store | None:
        return None

    @property
    def resumable(self) -> bool:
        return False

    def on_open(self, info: SessionInfo) -> None:
        return None

    def on_resume(self, info: SessionInfo) -> None:
        return None

    def on_event(self, session_id: str, event: Event) -> RecordWrite:
        return None

    def on_landmarks(self, session_id: str, frame: PoseFrame) -> None:
        return None

    def on_close(self, session_id: str, end: SessionEnd) -> None:
        return None

    def flush(self, timeout_s: float | None = None) -> None:
        return None

    def close(self) -> None:
        return None


class ForwardingRecorder(NullRecorder):
    """A recorder around `inner`: every method goes to it; subclasses override the
    ones they add to."""

    def __init__(self, inner: SessionRecorder) -> None:
        self.inner = inner

    @property
    def store(self) -> Store | None:
        return self.inner.store

    @property
    def resumable(self) -> bool:
        return self.inner.resumable

    def on_open(self, info: SessionInfo) -> None:
        self.inner.on_open(info)

    def on_resume(self, info: SessionInfo) -> None:
        self.inner.on_resume(info)

    def on_event(self, session_id: str, event: Event) -> RecordWrite:
        return self.inner.on_event(session_id, event)

    def on_landmarks(self, session_id: str, frame: PoseFrame) -> None:
        self.inner.on_landmarks(session_id, frame)

    def on_close(self, session_id: str, end: SessionEnd) -> None:
        self.inner.on_close(session_id, end)

    def flush(self, timeout_s: float | None = None) -> None:
        self.inner.flush(timeout_s)

    def close(self) -> None:
        self.inner.close()


class ShieldedRecorder(ForwardingRecorder):
    """What the websocket loops call: a failing recorder method is logged and
    answers None; it never ends a session. `close` and `flush` (the server's own
    calls) still raise."""

    def on_open(self, info: SessionInfo) -> None:
        try:
            self.inner.on_open(info)
        except Exception:
            log.exception("session recorder on_open failed")

    def on_resume(self, info: SessionInfo) -> None:
        try:
            self.inner.on_resume(info)
        except Exception:
            log.exception("session recorder on_resume failed")

    def on_event(self, session_id: str, event: Event) -> RecordWrite:
        try:
            return self.inner.on_event(session_id, event)
        except Exception as exc:
            log_repeated_failure(
                log, exc, "session %s: recording an event failed", session_id
            )
            return None

    def on_landmarks(self, session_id: str, frame: PoseFrame) -> None:
        try:
            self.inner.on_landmarks(session_id, frame)
        except Exception as exc:
            log_repeated_failure(
                log, exc, "session %s: recording landmarks failed", session_id
            )

    def on_close(self, session_id: str, end: SessionEnd) -> None:
        try:
            self.inner.on_close(session_id, end)
        except Exception:
            log.exception("session recorder on_close failed")


@dataclass(slots=True)
class CountingRecorder(NullRecorder):
    """The default recorder without a database: stores nothing, counts what passed
    through it."""

    opened: int = 0
    events: Counter[str] = dataclasses.field(default_factory=Counter)
    closed: Counter[str] = dataclasses.field(default_factory=Counter)
    active: set[str] = dataclasses.field(default_factory=set)

    def on_open(self, info: SessionInfo) -> None:
        self.opened += 1
        self.active.add(info.session_id)

    def on_event(self, session_id: str, event: Event) -> RecordWrite:
        self.events[type(event).__name__] += 1
        return None

    def on_close(self, session_id: str, end: SessionEnd) -> None:
        self.closed[end.reason.name] += 1
        self.active.discard(session_id)
