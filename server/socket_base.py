"""What the kiosk socket (`/ws`, `server/ws.py`) and the group screen's socket
(`/ws/group`, `server/group_ws.py`) share: the handshake (kiosk token, admission), one
JSON message sent at a time, the receive loop, size limits, binary camera frames into
the active session's stream, the pump that feeds results to the engine, and the
start, record-then-send and close steps of a session.

A socket module subclasses `SocketConnection[Active, Step]` with its own `on_text` (its
client messages), `feed` (one result through its engine: a `Step`), `publish` (send
what the step made) and `finish` (end the active session for a `CloseReason`), and
serves it with `serve_socket(websocket, TheConnection)`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from pydantic import BaseModel
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from server.failures import log_repeated_failure
from server.members import LookupProblem, ResidentRef, Who, find_resident_ref
from server.recording import CloseReason
from server.schemas import (
    ErrorCode,
    ErrorMessage,
    ProtocolError,
    StatsMessage,
    decode_frame,
)
from vision.types import Skeleton

if TYPE_CHECKING:
    from server.inference import InferenceResult, PoseStream
    from server.runtime import Runtime

__all__ = [
    "BUSY_CLOSE_CODE",
    "DRAIN_TIMEOUT_S",
    "RECORD_TIMEOUT_S",
    "Running",
    "SocketConnection",
    "serve_socket",
    "skeleton_fields",
    "stats_message",
]

log = logging.getLogger(__name__)

BUSY_CLOSE_CODE = 1013  # "try again later"

DRAIN_TIMEOUT_S = 10.0
"""Longest a `close` waits for the session's last frame to come out of inference."""

RECORD_TIMEOUT_S = 5.0
"""Longest the loop waits for the recorder to make an event durable, then sends it."""


def stats_message(stream: PoseStream) -> StatsMessage:
    """The frame counters of a session's stream (see `StatsMessage`)."""
    s = stream.stats
    return StatsMessage(
        received=s.received,
        processed=s.processed,
        dropped=s.dropped,
        rejected=s.rejected,
    )


def skeleton_fields(skeleton: Skeleton) -> dict[str, Any]:
    """The joint layout fields of `opened` and `group_opened`."""
    return {
        "skeleton": skeleton.value,
        "joint_names": list(skeleton.joint_names),
        "bones": list(skeleton.bones),
    }


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a finished write's outcome as seen (the recorder logs its own failures)."""
    if not future.cancelled():
        future.exception()


class Running(Protocol):
    """A session a socket runs: its stream and the task pumping its results."""

    stream: PoseStream
    pump: asyncio.Task[None] | None


ActiveT = TypeVar("ActiveT", bound=Running)
StepT = TypeVar("StepT")
T = TypeVar("T")


async def serve_socket(
    websocket: WebSocket, connection: type[SocketConnection[Any, Any]]
) -> None:
    """Authenticate (kiosk token, when `Settings.kiosk_auth`: a Bearer header or a
    `movecoach.token.` subprotocol, `server.auth.kiosk_token_from`), accept, admit
    (at most `Settings.max_sessions` sockets at once) and serve one connection."""
    runtime: Runtime = websocket.app.state.runtime
    kiosk_id: int | None = None
    if runtime.settings.kiosk_auth:
        from server.auth import kiosk_token_from, verify_kiosk_token

        store = runtime.store
        token = kiosk_token_from(websocket)
        kiosk = (
            None
            if store is None
            else await asyncio.to_thread(verify_kiosk_token, store, token)
        )
        if kiosk is None:  # refused before accept: the handshake fails (HTTP 403)
            await websocket.close(code=1008)
            return
        kiosk_id = kiosk.id
    await websocket.accept(subprotocol=_subprotocol(websocket))
    admission = runtime.admission
    if not admission.admit():
        busy = ErrorMessage(
            code=ErrorCode.BUSY,
            detail=f"expected at most {admission.max_sessions} kiosks at once, "
            "got one more; try again later",
            fatal=True,
        )
        with contextlib.suppress(Exception):
            await websocket.send_text(busy.model_dump_json())
            await websocket.close(code=BUSY_CLOSE_CODE)
        return
    try:
        await connection(websocket, runtime, kiosk_id).serve()
    finally:
        admission.leave()


def _subprotocol(websocket: WebSocket) -> str | None:
    """`movecoach` when the client offered it (the kiosk pages do, with their token
    as a second offer, which is never echoed back), else none."""
    from server.auth import KIOSK_SUBPROTOCOL, offered_subprotocols

    return (
        KIOSK_SUBPROTOCOL
        if KIOSK_SUBPROTOCOL in offered_subprotocols(websocket)
        else None
    )


class SocketConnection(Generic[ActiveT, StepT]):
    """One accepted socket: any number of sessions in turn, at most one active.

    Subclasses set `self.active` while a session runs and implement `on_text`,
    `feed`, `publish`, `describe` and `finish`; `kind` names their sessions in
    error messages ("exercise", "group").
    """

    kind: ClassVar[str] = "exercise"

    def __init__(
        self, websocket: WebSocket, runtime: Runtime, kiosk_id: int | None = None
    ) -> None:
        self.ws = websocket
        self.rt = runtime
        self.settings = runtime.settings
        self.kiosk_id = kiosk_id
        self.active: ActiveT | None = None
        self.gone = False
        self._send_lock = asyncio.Lock()
        client = websocket.client
        self.client = f"{client.host}:{client.port}" if client else None

    # --- what a socket module implements ------------------------------------------

    async def on_text(self, text: str) -> None:
        """Handle one text message (raise `ProtocolError` for an `error` reply)."""
        raise NotImplementedError

    async def finish(self, reason: CloseReason) -> None:
        """End the active session (the socket closed: `DISCONNECTED`/`SHUTDOWN`)."""
        raise NotImplementedError

    def feed(self, active: ActiveT, result: InferenceResult) -> StepT:
        """One processed frame through the session's engine (ValueError: the engine
        rejected it)."""
        raise NotImplementedError

    async def publish(
        self, active: ActiveT, result: InferenceResult, step: StepT, started_ns: int
    ) -> None:
        """Record and send what `feed` made (`started_ns`: before `feed`)."""
        raise NotImplementedError

    def describe(self, active: ActiveT) -> str:
        """The active session, for log lines."""
        raise NotImplementedError

    @property
    def who(self) -> Who:
        """The kiosk and address whose wrong member codes count together."""
        client = self.ws.client
        return Who(self.kiosk_id, client.host if client else None)

    async def member(self, member_code: str) -> ResidentRef | None:
        """The resident a member code names in this kiosk's centre, limited like
        every member lookup (`server.members`); None without a records store.

        Raises:
            ProtocolError: `unknown_resident`; `too_many_attempts` while this kiosk
                and address must wait.
        """
        store = self.rt.records
        if store is None:
            return None
        state = self.ws.app.state
        try:
            found = await asyncio.to_thread(
                find_resident_ref, store, state, self.who, member_code
            )
        except Exception:
            log.exception("a member code could not be looked up")
            found = LookupProblem.UNKNOWN_CODE
        if found is LookupProblem.TOO_MANY:
            raise ProtocolError(
                ErrorCode.TOO_MANY_ATTEMPTS,
                "expected fewer unknown member codes from this kiosk lately, got too "
                "many; try again in a little while",
            )
        if not isinstance(found, ResidentRef):
            raise ProtocolError(
                ErrorCode.UNKNOWN_RESIDENT,
                f"expected a member code of this centre, got {member_code!r}",
            )
        return found

    # --- sessions -----------------------------------------------------------------

    def require_closed(self, what: str) -> None:
        """Raises `already_open` when a session runs (`what`: it, for the message)."""
        if self.active is not None:
            raise ProtocolError(
                ErrorCode.ALREADY_OPEN,
                f"expected 'close' before a new 'open', got 'open' while {what} runs",
            )

    @staticmethod
    async def open_stream(
        opener: Callable[[], Awaitable[PoseStream]], backend: str, session: str
    ) -> PoseStream:
        """A stream for a new session; `inference_failed` when no backend starts
        (`backend`, `session`: what the message names)."""
        try:
            return await opener()
        except Exception as exc:
            log.exception("could not start %s", backend)
            raise ProtocolError(
                ErrorCode.INFERENCE_FAILED,
                f"expected {backend} for {session}, got {type(exc).__name__}: {exc}",
            ) from None

    @staticmethod
    def start_on(stream: PoseStream, start: Callable[[Skeleton], T], session: str) -> T:
        """`start(stream.skeleton)`; `engine_rejected` (and the stream freed) when
        the engine refuses (`session`: what the message names)."""
        try:
            return start(stream.skeleton)
        except ValueError as exc:
            stream.close()
            raise ProtocolError(
                ErrorCode.ENGINE_REJECTED, f"{session} cannot start: {exc}"
            ) from None

    async def close(self) -> None:
        """The client closed the active session: let its last frame through
        inference, then `finish(CLOSED)`."""
        active = self.active
        assert active is not None
        try:
            await asyncio.wait_for(active.stream.drain(), DRAIN_TIMEOUT_S)
        except TimeoutError:
            log.warning(
                "%s: last frame not drained in %.0f s",
                self.describe(active),
                DRAIN_TIMEOUT_S,
            )
        await self.finish(CloseReason.CLOSED)

    async def detach(self) -> ActiveT | None:
        """Take the active session (None if none) off the socket: stop its pump
        and free its stream. `finish` then reports it."""
        active, self.active = self.active, None
        if active is None:
            return None
        if active.pump is not None:
            active.pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await active.pump
        active.stream.close()
        return active

    # --- frames -------------------------------------------------------------------

    async def pump(self, active: ActiveT) -> None:
        """Results of this session's frames -> `deliver` -> socket, in capture order;
        `stats` every `Settings.stats_every` processed frames."""
        stream = active.stream
        every = self.settings.stats_every
        while True:
            result = await stream.next_result()
            ok = False
            try:
                ok = await self.deliver(active, result)
            except Exception as exc:
                log_repeated_failure(
                    log,
                    exc,
                    "%s: delivering frame %d failed",
                    self.describe(active),
                    result.timestamp_ms,
                )
            finally:
                stream.task_done(ok)
            if ok and stream.stats.processed % every == 0:
                await self.send(stats_message(stream))

    async def deliver(self, active: ActiveT, result: InferenceResult) -> bool:
        """Feed one inference result to the session and send what it made; False
        when the frame produced nothing (an error was sent instead)."""
        if result.error is not None:
            await self.send(result.error.to_message())
            return False
        started = time.perf_counter_ns()
        try:
            step = self.feed(active, result)
        except ValueError as exc:
            await self.send(
                ProtocolError(
                    ErrorCode.ENGINE_REJECTED,
                    f"the {self.kind} session rejected frame "
                    f"{result.timestamp_ms}: {exc}",
                ).to_message()
            )
            return False
        await self.publish(active, result, step, started)
        return True

    async def durable(
        self,
        writes: Iterable[concurrent.futures.Future[Any] | None],
        active: ActiveT,
    ) -> None:
        """Wait (at most `RECORD_TIMEOUT_S`) until the recorder's writes are done:
        record first, then send, so a rep the page shows is durable. A failure is
        the recorder's to log; the session goes on.

        Neither the timeout nor this task's cancellation (the kiosk went away)
        cancels a write: `asyncio.wait`, not `wait_for(gather(...))`, which cancelled
        writes still queued for the recorder's thread and left a cancelled gather
        whose exception nobody retrieved (logged at ERROR by asyncio)."""
        pending = [asyncio.wrap_future(w) for w in writes if w is not None]
        if not pending:
            return
        for future in pending:
            future.add_done_callback(_retrieve)  # a late failure is not logged twice
        done, late = await asyncio.wait(pending, timeout=RECORD_TIMEOUT_S)
        if late or any(f.cancelled() or f.exception() is not None for f in done):
            log.warning("%s: events unrecorded", self.describe(active))

    # --- the socket ---------------------------------------------------------------

    async def send(self, message: BaseModel) -> bool:
        """Send one JSON message; False (and no exception) once the client is gone."""
        if self.gone:
            return False
        text = message.model_dump_json()
        try:
            async with self._send_lock:
                await self.ws.send_text(text)
        except (WebSocketDisconnect, RuntimeError, OSError):
            self.gone = True
            return False
        return True

    async def serve(self) -> None:
        """Receive until the client goes; bad input is answered, never fatal."""
        try:
            while not self.gone:
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                try:
                    if message.get("text") is not None:
                        text = message["text"]
                        if len(text) * 4 > self.settings.max_message_bytes:
                            # Cheap bound first: only long texts are encoded.
                            size = len(text.encode("utf-8", "surrogatepass"))
                            self.check_size(size, "text message")
                        await self.on_text(text)
                    elif message.get("bytes") is not None:
                        self.on_frame(message["bytes"])
                except ProtocolError as exc:
                    await self.send(exc.to_message())
        except WebSocketDisconnect:
            pass
        finally:
            self.gone = True
            if self.active is not None:
                reason = (
                    CloseReason.SHUTDOWN
                    if self.rt.stopping
                    else CloseReason.DISCONNECTED
                )
                await self.finish(reason)
            if self.ws.application_state != WebSocketState.DISCONNECTED:
                with contextlib.suppress(Exception):
                    await self.ws.close()

    def check_size(self, size: int, what: str) -> None:
        limit = self.settings.max_message_bytes
        if size > limit:
            raise ProtocolError(
                ErrorCode.TOO_LARGE,
                f"expected a {what} of at most {limit} bytes, got {size} bytes",
            )

    def on_frame(self, data: bytes) -> None:
        """A binary camera frame: into the active session's stream (latest wins)."""
        active = self.active
        try:
            self.check_size(len(data), "frame")
            if active is None:
                raise ProtocolError(
                    ErrorCode.NOT_OPEN,
                    "expected an 'open' message before frames, got a frame",
                    valid=["open"],
                )
            timestamp_ms, jpeg = decode_frame(data, self.settings.max_frame_pixels)
        except ProtocolError:
            if active is not None:
                active.stream.stats.received += 1
                active.stream.stats.rejected += 1
            raise
        active.stream.submit(timestamp_ms, jpeg, time.perf_counter_ns())
