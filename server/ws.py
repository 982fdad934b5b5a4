"""The kiosk websocket (`/ws`): a thin loop, protocol in `docs/protocol.md`.

receive -> decode (`server.schemas`) -> inference (`server.inference`, one worker,
latest frame wins) -> `session.feed` (the engine decides everything about the exercise)
-> encode -> send. Nothing here knows about exercises: no scoring, no thresholds, no
per-exercise branches.

Per connection two tasks run: this loop reads messages and offers frames to the
session's `FrameStream`; a pump task awaits inference results, feeds the engine and
sends `pose`, the engine's events and periodic `stats`. A client that reads slowly
blocks only its own pump (and so only its own inference); bad input gets an `error`
message and the session goes on.

While no session is open, a `scan` message sends the frames that follow to the
socket's member-card scanner instead (`server/checkin.py`: QR check-in).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from starlette.websockets import WebSocket

from exercises.events import Event
from server.checkin import QrScanner
from server.inference import InferenceResult, PoseStream
from server.jsonable import joint_xy, to_jsonable, visibility_list
from server.live import LiveSession
from server.recording import CloseReason, SessionEnd, SessionInfo
from server.schemas import (
    CloseMessage,
    ControlMessage,
    ErrorCode,
    KioskOptions,
    OpenedMessage,
    OpenMessage,
    PoseMessage,
    ProtocolError,
    ScanMessage,
    SummaryMessage,
    decode_frame,
    event_message,
    parse_client_message,
)
from server.socket_base import (
    BUSY_CLOSE_CODE,
    DRAIN_TIMEOUT_S,
    RECORD_TIMEOUT_S,
    SocketConnection,
    serve_socket,
    skeleton_fields,
    stats_message,
)

if TYPE_CHECKING:
    from server.resume import ResumePoint

__all__ = [
    "BUSY_CLOSE_CODE",
    "DRAIN_TIMEOUT_S",
    "RECORD_TIMEOUT_S",
    "kiosk_socket",
    "pose_message",
    "stats_message",
]

log = logging.getLogger(__name__)


def pose_message(
    result: InferenceResult, engine_ms: float, processing_ms: float
) -> PoseMessage:
    """The overlay message of one processed frame (see `PoseMessage`)."""
    frame = result.frame
    assert frame is not None
    return PoseMessage(
        timestamp_ms=result.timestamp_ms,
        present=not frame.is_missing,
        candidates=result.candidates,
        image_wh=result.image_wh,
        xy=joint_xy(frame.xyz),
        visibility=visibility_list(frame.visibility),
        bones=list(frame.skeleton.bones),
        processing_ms=round(processing_ms, 2),
        inference_ms=round(result.inference_ms, 2),
        engine_ms=round(engine_ms, 3),
    )


@dataclass(slots=True)
class _Active:
    info: SessionInfo
    session: LiveSession
    stream: PoseStream
    pump: asyncio.Task[None] | None = None


async def kiosk_socket(websocket: WebSocket) -> None:
    """ASGI websocket endpoint: one connection, any number of sessions in turn."""
    await serve_socket(websocket, _Connection)


class _Connection(SocketConnection[_Active, list[Event]]):
    kind = "exercise"
    scanner: QrScanner | None = None

    async def on_text(self, text: str) -> None:
        message = parse_client_message(text)
        if isinstance(message, OpenMessage):
            await self.open(message)
        elif isinstance(message, CloseMessage):
            if self.active is None:
                raise ProtocolError(
                    ErrorCode.NOT_OPEN, "expected an open session to close, got none"
                )
            await self.close()
        elif isinstance(message, ScanMessage):
            await self.stop_scan()
            if message.on:
                self.start_scan()
        elif isinstance(message, ControlMessage):
            await self.control(message.action)

    async def control(self, action: str) -> None:
        """Steer the active session (`pause`, `resume`, `skip`); its events are
        recorded and sent like a frame's."""
        active = self.active
        if active is None:
            raise ProtocolError(
                ErrorCode.NOT_OPEN, f"expected an open session to {action}, got none"
            )
        try:
            events = active.session.control(action)
        except ValueError as exc:
            raise ProtocolError(ErrorCode.NOT_SUPPORTED, str(exc)) from None
        await self.emit(active, events)

    # --- QR check-in (server/checkin.py) ------------------------------------------

    def start_scan(self) -> None:
        """Look for member cards in the frames sent while no session is open."""
        self.require_closed("a session")
        store = self.rt.store
        if store is None:
            raise ProtocolError(
                ErrorCode.NO_RECORDS, "expected a records store to check in, got none"
            )
        self.scanner = QrScanner(store, self.ws.app.state, self.who, self.send)

    async def stop_scan(self) -> None:
        scanner, self.scanner = self.scanner, None
        if scanner is not None:
            await scanner.stop()

    def on_frame(self, data: bytes) -> None:
        scanner = self.scanner
        if self.active is None and scanner is not None:
            self.check_size(len(data), "frame")
            scanner.offer(*decode_frame(data, self.settings.max_frame_pixels))
            return
        super().on_frame(data)

    async def serve(self) -> None:
        try:
            await super().serve()
        finally:
            await self.stop_scan()

    # --- sessions -----------------------------------------------------------------

    async def open(self, message: OpenMessage) -> None:
        if self.active is not None:
            self.require_closed(f"a {self.active.info.exercise_id} session")
        await self.stop_scan()
        resume = await self.resume_point(message)
        if message.resident and resume is None:
            # Verified (and limited) before anything starts: a guessed code neither
            # learns the resident's age and sex nor writes a session to their record.
            await self.member(message.resident)
        lang = message.lang or self.settings.default_lang
        elder = self.settings.default_elder if message.elder is None else message.elder
        if resume is not None:  # the session goes on as it was opened
            lang, elder = resume.lang, resume.elder
        plan = await self.rt.catalogue.plan(message, self.kiosk_id, elder=elder)
        stream = await self.open_stream(
            self.rt.worker.open_stream, "a pose backend", "the session"
        )
        session = self.start_on(stream, plan.start, f"the {plan.target_id} session")
        if resume is not None:
            from server.resume import ResumedSession

            session = ResumedSession(session, resume)
        info = SessionInfo(
            session_id=uuid.uuid4().hex if resume is None else resume.session_id,
            exercise_id=plan.target_id,
            lang=lang,
            elder=elder,
            resident=message.resident if resume is None else resume.resident,
            started_at=datetime.now(UTC) if resume is None else resume.started_at,
            client=self.client,
            kiosk_id=self.kiosk_id,
        )
        self.active = active = _Active(info, session, stream)
        await self.send(
            OpenedMessage(
                session_id=info.session_id,
                exercise=plan.exercise,
                assessment=plan.assessment,
                programme=plan.programme,
                lang=lang,
                elder=elder,
                options=KioskOptions.of(self.settings, elder),
                resumed_reps=None if resume is None else resume.rep_count,
                **skeleton_fields(stream.skeleton),
            )
        )
        if resume is None:
            self.rt.recorder.on_open(info)
        else:
            self.rt.recorder.on_resume(info)
        active.pump = asyncio.create_task(
            self.pump(active), name=f"pump-{info.session_id}"
        )

    async def resume_point(self, message: OpenMessage) -> ResumePoint | None:
        """The recorded exercise session `open` asks to go on with, if it may
        (server/resume.py); None: a new session. Needs a store and a recorder that
        can resume; assessments always start afresh."""
        store = self.rt.store
        if (
            message.resume is None
            or message.exercise is None
            or store is None
            or not self.rt.recorder.resumable
        ):
            return None
        from server.resume import find_resume_point

        try:
            return await asyncio.to_thread(
                find_resume_point,
                store,
                message.resume,
                kiosk_id=self.kiosk_id,
                exercise_id=message.exercise,
            )
        except Exception:  # the resident goes on in a new session
            log.exception("session %s: resume lookup failed", message.resume)
            return None

    async def finish(self, reason: CloseReason) -> None:
        """End the active session: stop its pump, free its stream, report it."""
        active = await self.detach()
        if active is None:
            return
        if reason == CloseReason.CLOSED:  # the kiosk ended it: a result so far
            try:
                await self.emit(active, active.session.stop())
            except Exception:
                log.exception("session %s: stop failed", active.info.session_id)
        try:
            summary = active.session.summary()
        except Exception:
            log.exception("session %s: summary failed", active.info.session_id)
            summary = None
        stats = stats_message(active.stream)
        # Reported before the summary is sent: a page that records the set under a
        # plan once it has the summary finds the session's end queued before it.
        self.rt.recorder.on_close(
            active.info.session_id, SessionEnd(reason, summary, active.stream.stats)
        )
        if reason == CloseReason.CLOSED:
            await self.send(stats)
            await self.send(
                SummaryMessage(
                    session_id=active.info.session_id,
                    exercise=active.info.exercise_id,
                    summary=to_jsonable(summary) if summary is not None else {},
                    stats=stats,
                )
            )

    def describe(self, active: _Active) -> str:
        return f"session {active.info.session_id}"

    def feed(self, active: _Active, result: InferenceResult) -> list[Event]:
        assert result.frame is not None
        events = active.session.feed(result.frame, result.image_wh)
        self.rt.recorder.on_landmarks(active.info.session_id, result.frame)
        return events

    async def publish(
        self,
        active: _Active,
        result: InferenceResult,
        step: list[Event],
        started_ns: int,
    ) -> None:
        now = time.perf_counter_ns()
        await self.send(
            pose_message(
                result, (now - started_ns) / 1e6, (now - result.received_ns) / 1e6
            )
        )
        await self.emit(active, step)

    async def emit(self, active: _Active, events: list[Event]) -> None:
        """Record, then send, the engine's events."""
        session_id = active.info.session_id
        await self.durable(
            [self.rt.recorder.on_event(session_id, event) for event in events], active
        )
        for event in events:
            await self.send(event_message(event))
