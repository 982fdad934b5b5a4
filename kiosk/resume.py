"""A headless kiosk that survives a lost connection: it reconnects and resumes its
session (server/resume.py), so the resident's set goes on with the same count.

`stream_resumable_session` is `kiosk.client.stream_session` plus reconnection: when
the socket closes before the session's `summary` (the server process serving it died,
was redeployed or shut down with 1012, or the network dropped), it connects again
with a growing delay and sends `open` with `"resume": <session_id>`. The server
answers `opened` with the same `session_id` and `resumed_reps` (the reps it had
recorded) and numbers the next reps after them; if it cannot resume (another kiosk's
session, too long ago, no records), it opens a new session and the kiosk goes on with
that one.

Frames are sent only while connected: a frame whose send fails is sent again once the
session is back; one already written into the connection as it died is lost (as a
camera frame during the outage would be). Speaks only the wire protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Final

from kiosk.client import OPEN_TIMEOUT_S, KioskClientError, connect_kiosk
from server.schemas import CloseMessage, OpenMessage, encode_frame

__all__ = ["ResumableReport", "stream_resumable_session"]

RECONNECT_DELAYS_S: Final[tuple[float, ...]] = (0.2, 0.5, 1.0, 2.0, 5.0)
"""Waits between reconnection attempts (the last one repeats)."""

RECONNECT_TIMEOUT_S: Final[float] = 120.0
"""Longest the kiosk keeps trying to get its session back."""


@dataclass(slots=True)
class ResumableReport:
    """What happened over every connection of one session.

    Attributes:
        opened: Every `opened` message, first one first (one per connection).
        events: Engine events, in arrival order, over all connections.
        errors: `error` messages.
        summary: The `summary` (None if the session never ended properly).
        frames_sent: Frames sent over all connections.
        poses: `pose` messages received.
        latency_ms: Per processed frame, send -> its `pose` arrived.
        reconnects: Connections after the first.
        resumed: Per reconnection, whether the server went on with the same session.
    """

    opened: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] | None = None
    frames_sent: int = 0
    poses: int = 0
    latency_ms: list[float] = field(default_factory=list)
    reconnects: int = 0
    resumed: list[bool] = field(default_factory=list)

    @property
    def reps(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == "rep_completed"]

    @property
    def session_id(self) -> str | None:
        return self.opened[-1]["session_id"] if self.opened else None


class _Link:
    """The current connection and the session it carries."""

    def __init__(self) -> None:
        self.ws: Any = None
        self.up = asyncio.Event()
        self.session_id: str | None = None
        self.closing = False
        self.done = asyncio.Event()


async def stream_resumable_session(
    url: str,
    exercise: str,
    frames: AsyncIterator[tuple[int, bytes]],
    *,
    lang: str = "en",
    elder: bool = False,
    resident: str | None = None,
    on_message: Callable[[dict[str, Any]], None] | None = None,
    drain_timeout_s: float = 30.0,
    reconnect_timeout_s: float = RECONNECT_TIMEOUT_S,
    max_size: int | None = 16 << 20,
    token: str | None = None,
) -> ResumableReport:
    """Open a session, send every frame of `frames` (reconnecting and resuming the
    session whenever the connection drops), close it and wait for the summary.

    Args:
        url: Websocket URL (`kiosk.client.ws_url`).
        exercise: Exercise id.
        frames: (timestamp_ms, JPEG bytes), timestamps increasing.
        on_message: Called with every server message, `opened` of each connection too.
        drain_timeout_s: Longest wait for the summary after `close`.
        reconnect_timeout_s: Longest the kiosk tries to get back, per outage.
        token: The kiosk's token (`kiosk.client.subprotocols`), for kiosk auth.

    Raises:
        KioskClientError: the first connection fails or the server refuses the
            session (e.g. `unknown_exercise`), or an outage outlasts
            `reconnect_timeout_s`.
    """
    from websockets.exceptions import ConnectionClosed

    report = ResumableReport()
    link = _Link()
    sent_at: dict[int, float] = {}

    def handle(message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "pose":
            report.poses += 1
            sent = sent_at.pop(message["timestamp_ms"], None)
            if sent is not None:
                report.latency_ms.append((time.perf_counter() - sent) * 1000)
        elif kind == "summary":
            report.summary = message
            link.done.set()
        elif kind == "error":
            report.errors.append(message)
        elif kind not in ("opened", "stats"):
            report.events.append(message)
        if on_message is not None:
            on_message(message)

    async def open_session(first: bool) -> None:
        deadline = time.monotonic() + reconnect_timeout_s
        attempt = 0
        while True:
            try:
                await _open_once(
                    url, exercise, lang, elder, resident, link, report, max_size, token
                )
            except KioskClientError as exc:
                if first:
                    raise  # nothing to get back yet: report it at once
                if time.monotonic() > deadline:
                    raise KioskClientError(
                        "could not get the session back within "
                        f"{reconnect_timeout_s:.0f} s: {exc}"
                    ) from None
                delay = RECONNECT_DELAYS_S[min(attempt, len(RECONNECT_DELAYS_S) - 1)]
                attempt += 1
                await asyncio.sleep(delay)
                continue
            if on_message is not None:
                on_message(report.opened[-1])
            return

    async def receive() -> None:
        while not link.done.is_set():
            ws = link.ws
            try:
                async for raw in ws:
                    if isinstance(raw, str):
                        handle(json.loads(raw))
                    if link.done.is_set():
                        return
            except ConnectionClosed:
                pass
            if link.done.is_set():
                return
            # Dropped before the summary: get the session back.
            link.up.clear()
            report.reconnects += 1
            await open_session(first=False)
            link.up.set()
            if link.closing:  # `close` may have been lost with the connection
                with contextlib.suppress(ConnectionClosed):
                    await link.ws.send(CloseMessage().model_dump_json())

    async def send(data: str | bytes) -> None:
        while True:
            await link.up.wait()
            ws = link.ws
            try:
                await ws.send(data)
                return
            except ConnectionClosed:
                # The receiver notices the same and reconnects; wait for it.
                if link.ws is ws:
                    link.up.clear()
                await asyncio.sleep(0.05)

    await open_session(first=True)
    link.up.set()
    receiver = asyncio.create_task(receive(), name="kiosk-receive")
    try:
        async for ts, jpeg in frames:
            if link.done.is_set():
                break
            sent_at[ts] = time.perf_counter()
            await _race(send(encode_frame(ts, jpeg)), receiver)
            report.frames_sent += 1
        link.closing = True
        await _race(send(CloseMessage().model_dump_json()), receiver)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(link.done.wait(), drain_timeout_s)
    finally:
        link.done.set()
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError, KioskClientError):
            await receiver
        if link.ws is not None:
            with contextlib.suppress(Exception):
                await link.ws.close()
    return report


async def _race(step: Any, receiver: asyncio.Task[None]) -> None:
    """Run `step`; if the receiver fails meanwhile (outage too long), raise that."""
    task = asyncio.ensure_future(step)
    done, _ = await asyncio.wait({task, receiver}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    receiver.result()  # raises the receiver's error
    raise KioskClientError("the connection ended before the session did")


async def _open_once(
    url: str,
    exercise: str,
    lang: str,
    elder: bool,
    resident: str | None,
    link: _Link,
    report: ResumableReport,
    max_size: int | None,
    token: str | None,
) -> None:
    from websockets.exceptions import ConnectionClosed

    ws = await connect_kiosk(url, max_size=max_size, token=token)
    message = OpenMessage(
        exercise=exercise,
        lang=lang,  # type: ignore[arg-type]  # validated here: "en" or "zh-CN"
        elder=elder,
        resident=resident,
    ).model_dump(mode="json", exclude_none=True)
    if link.session_id is not None:
        message["resume"] = link.session_id
    try:
        await ws.send(json.dumps(message))
        opened = json.loads(await asyncio.wait_for(ws.recv(), OPEN_TIMEOUT_S))
        if "resume" in message and opened.get("code") == "bad_message":
            # A server from before resumption: a new session is the best it can do.
            del message["resume"]
            await ws.send(json.dumps(message))
            opened = json.loads(await asyncio.wait_for(ws.recv(), OPEN_TIMEOUT_S))
    except (TimeoutError, ConnectionClosed) as exc:
        with contextlib.suppress(Exception):
            await ws.close()
        raise KioskClientError(f"expected 'opened' from {url}, got {exc!r}") from None
    if opened.get("type") != "opened":
        with contextlib.suppress(Exception):
            await ws.close()
        retry = opened.get("code") == "busy"  # the server is full: try again later
        raise KioskClientError(
            f"the server refused the session: {opened.get('detail', opened)}",
            code=None if retry else opened.get("code"),
        )
    if link.session_id is not None:
        report.resumed.append(opened.get("session_id") == link.session_id)
    link.session_id = opened["session_id"]
    link.ws = ws
    report.opened.append(opened)
