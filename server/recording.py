"""What the live websocket reports about each session, for whoever keeps records.

The websocket loop (`server/ws.py`) calls a `SessionRecorder` when a session opens, for
every engine event it sends, and when the session ends, whether the kiosk closed it or
the connection dropped mid-set. The default `CountingRecorder` keeps nothing but counts.
The records issue implements a database-backed recorder (SQLAlchemy, `Settings.db_url`)
behind this same protocol and passes it to `create_app(settings, recorder=...)`; the
websocket loop does not change.

Recorder methods run on the event loop: an implementation must not block (hand rows to
a thread or a queue). An exception from a recorder is logged and never ends a session.
"""

from __future__ import annotations

import dataclasses
import enum
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from exercises.events import Event
from server.inference import StreamStats

__all__ = ["CloseReason", "CountingRecorder", "SessionInfo", "SessionRecorder"]


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


class SessionRecorder(Protocol):
    """Receives what a live session reported (see the module docstring).

    Optional: `on_landmarks(session_id, frame: PoseFrame)` for every processed frame
    (the loop calls it only when the recorder has it). `on_event` is called before the
    event is sent to the kiosk; a `concurrent.futures.Future` it returns is awaited
    before sending (the database recorder returns one per rep and cue).
    """

    def on_open(self, info: SessionInfo) -> None: ...

    def on_event(self, session_id: str, event: Event) -> object: ...

    def on_close(
        self,
        session_id: str,
        summary: object | None,
        stats: StreamStats,
        reason: CloseReason,
    ) -> None:
        """`summary` is the engine's `SessionSummary` (None if it could not be made)."""


@dataclass(slots=True)
class CountingRecorder:
    """The default recorder: stores nothing, counts what passed through it.

    The database-backed recorder of the records issue replaces it.
    """

    opened: int = 0
    events: Counter[str] = dataclasses.field(default_factory=Counter)
    closed: Counter[str] = dataclasses.field(default_factory=Counter)
    active: set[str] = dataclasses.field(default_factory=set)

    def on_open(self, info: SessionInfo) -> None:
        self.opened += 1
        self.active.add(info.session_id)

    def on_event(self, session_id: str, event: Event) -> None:
        self.events[type(event).__name__] += 1

    def on_close(
        self,
        session_id: str,
        summary: object | None,
        stats: StreamStats,
        reason: CloseReason,
    ) -> None:
        self.closed[reason.name] += 1
        self.active.discard(session_id)
