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
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import math
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.websockets import WebSocket

from server.inference import FrameStream, InferenceResult
from server.recording import CloseReason, SessionInfo
from server.schemas import (
    CloseMessage,
    ErrorCode,
    OpenedMessage,
    OpenMessage,
    PoseMessage,
    ProtocolError,
    SummaryMessage,
    event_message,
    parse_client_message,
    to_wire,
)
from server.socket_base import (
    BUSY_CLOSE_CODE,
    DRAIN_TIMEOUT_S,
    SocketConnection,
    serve_socket,
    stats_message,
)

if TYPE_CHECKING:
    from server.resume import ResumePoint

__all__ = [
    "BUSY_CLOSE_CODE",
    "DRAIN_TIMEOUT_S",
    "kiosk_socket",
    "pose_message",
    "stats_message",
]

log = logging.getLogger(__name__)

RECORD_TIMEOUT_S = 5.0
"""Longest the loop waits for the recorder to make an event durable, then sends it."""


def pose_message(
    result: InferenceResult, engine_ms: float, processing_ms: float
) -> PoseMessage:
    """The overlay message of one processed frame (see `PoseMessage`)."""
    frame = result.frame
    assert frame is not None
    xy: list[tuple[float, float] | None] = []
    for x, y in frame.xyz[:, :2].tolist():
        xy.append(
            (round(x, 4), round(y, 4))
            if math.isfinite(x) and math.isfinite(y)
            else None
        )
    return PoseMessage(
        timestamp_ms=result.timestamp_ms,
        present=not frame.is_missing,
        candidates=result.candidates,
        image_wh=result.image_wh,
        xy=xy,
        visibility=[round(v, 3) for v in frame.visibility.tolist()],
        bones=list(frame.skeleton.bones),
        processing_ms=round(processing_ms, 2),
        inference_ms=round(result.inference_ms, 2),
        engine_ms=round(engine_ms, 3),
    )


@dataclass(slots=True)
class _Active:
    info: SessionInfo
    session: Any  # server.live.LiveSession
    stream: FrameStream
    pump: asyncio.Task[None] | None = None


async def kiosk_socket(websocket: WebSocket) -> None:
    """ASGI websocket endpoint: one connection, any number of sessions in turn."""
    await serve_socket(websocket, _Connection)


class _Connection(SocketConnection):
    active: _Active | None

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

    async def open(self, message: OpenMessage) -> None:
        if self.active is not None:
            raise ProtocolError(
                ErrorCode.ALREADY_OPEN,
                f"expected 'close' before a new 'open', got 'open' while a "
                f"{self.active.info.exercise_id} session runs",
            )
        resume = await self.resume_point(message)
        lang = message.lang or self.settings.default_lang
        elder = self.settings.default_elder if message.elder is None else message.elder
        if resume is not None:  # the session goes on as it was opened
            lang, elder = resume.lang, resume.elder
        plan = await self.rt.plan(message, self.kiosk_id, elder=elder)
        try:
            stream = await self.rt.worker.open_stream()
        except Exception as exc:
            log.exception("could not start a pose backend for a session")
            raise ProtocolError(
                ErrorCode.INFERENCE_FAILED,
                "expected a pose backend for the session, got "
                f"{type(exc).__name__}: {exc}",
            ) from None
        try:
            session = plan.start(stream.skeleton)
        except ValueError as exc:
            stream.close()
            raise ProtocolError(
                ErrorCode.ENGINE_REJECTED,
                f"the {plan.target_id} session cannot start: {exc}",
            ) from None
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
        skeleton = stream.skeleton
        await self.send(
            OpenedMessage(
                session_id=info.session_id,
                exercise=plan.exercise,
                assessment=plan.assessment,
                lang=lang,
                elder=elder,
                options=self.rt.kiosk_options(elder),
                skeleton=skeleton.value,
                joint_names=list(skeleton.joint_names),
                bones=list(skeleton.bones),
                resumed_reps=None if resume is None else resume.rep_count,
            )
        )
        self.rt.recorder_call("on_open" if resume is None else "on_resume", info)
        active.pump = asyncio.create_task(
            self.pump(active), name=f"pump-{info.session_id}"
        )

    async def resume_point(self, message: OpenMessage) -> ResumePoint | None:
        """The recorded exercise session `open` asks to go on with, if it may
        (server/resume.py); None: a new session. Needs a store and a recorder that
        can resume; assessments always start afresh."""
        if (
            message.resume is None
            or message.exercise is None
            or self.rt.store is None
            or not hasattr(self.rt.recorder, "on_resume")
        ):
            return None
        from server.resume import find_resume_point

        try:
            return await asyncio.to_thread(
                find_resume_point,
                self.rt.store,
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
        if reason == CloseReason.CLOSED:
            await self.send(stats)
            await self.send(
                SummaryMessage(
                    session_id=active.info.session_id,
                    exercise=active.info.exercise_id,
                    summary=to_wire(summary) if summary is not None else {},
                    stats=stats,
                )
            )
        self.rt.recorder_call(
            "on_close", active.info.session_id, summary, active.stream.stats, reason
        )

    def describe(self, active: _Active) -> str:
        return f"session {active.info.session_id}"

    async def deliver(self, active: _Active, result: InferenceResult) -> bool:
        if result.error is not None:
            await self.send(result.error.to_message())
            return False
        assert result.frame is not None
        started = time.perf_counter_ns()
        try:
            events = active.session.feed(result.frame, result.image_wh)
        except ValueError as exc:
            await self.send(
                ProtocolError(
                    ErrorCode.ENGINE_REJECTED,
                    f"the exercise session rejected frame {result.timestamp_ms}: {exc}",
                ).to_message()
            )
            return False
        self.rt.recorder_call("on_landmarks", active.info.session_id, result.frame)
        now = time.perf_counter_ns()
        await self.send(
            pose_message(
                result, (now - started) / 1e6, (now - result.received_ns) / 1e6
            )
        )
        await self.emit(active, events)
        return True

    async def emit(self, active: _Active, events: list[Any]) -> None:
        """Record, then send, each engine event."""
        for event in events:
            # Record first, then send: a rep the kiosk shows is already durable.
            done = self.rt.recorder_call("on_event", active.info.session_id, event)
            if isinstance(done, concurrent.futures.Future):
                try:
                    await asyncio.wait_for(asyncio.wrap_future(done), RECORD_TIMEOUT_S)
                except Exception:  # logged by the recorder; the session goes on
                    log.warning("session %s: event unrecorded", active.info.session_id)
            await self.send(event_message(event))
