"""The group screen's websocket (`/ws/group`): a thin loop, protocol in docs/group.md.

receive -> decode (`server.schemas.parse_group_message`, `decode_frame`) -> the group
inference worker (multi-person pose, latest frame wins; `server.group_worker`)
-> `GroupLive.feed` (tracker, group engine, records; `server/group.py`) -> encode ->
send. Like the kiosk socket (`server/ws.py`): a pump task per session awaits results;
bad input gets an `error` and the session goes on; `stats` every
`Settings.stats_every` processed frames; `close` drains the last frame and sends
`group_summary`; a dropped connection leaves the open records interrupted.

Database work (residents at check-in, fall alerts) runs in threads
(`asyncio.to_thread`); an alert the database could not store still reaches the
screen, with `alert_id` null.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.websockets import WebSocket

from exercises.falls import FallCleared, FallDetected
from server.group import CheckIn, GroupLive, GroupStep
from server.group_records import AlertDesk
from server.group_routine import RoutineGroupLive
from server.inference import InferenceResult, PoseStream
from server.recording import CloseReason
from server.schemas import (
    AcknowledgeAlertMessage,
    AlertAcknowledgedMessage,
    AlertRaisedMessage,
    CheckedInMessage,
    CheckedOutMessage,
    CheckInMessage,
    CheckOutMessage,
    CloseMessage,
    ControlMessage,
    ErrorCode,
    GroupOpenedMessage,
    GroupOpenMessage,
    GroupPoseMessage,
    GroupSummaryMessage,
    KioskOptions,
    ProtocolError,
    SetInstructorMessage,
    event_message,
    parse_group_message,
)
from server.socket_base import (
    SocketConnection,
    serve_socket,
    skeleton_fields,
    stats_message,
)

if TYPE_CHECKING:
    from exercises.routine import RoutineSpec
    from exercises.spec import ExerciseSpec
    from server.schemas import ProgrammeInfo
    from server.store import Store
    from vision.types import Skeleton

__all__ = ["ALERT_TIMEOUT_S", "group_socket"]

log = logging.getLogger(__name__)

ALERT_TIMEOUT_S = 5.0
"""Longest the loop waits for an alert's database write before it sends the alert
with `alert_id` null (the write may still finish; it is logged)."""

T = TypeVar("T")


@dataclass(slots=True)
class _Active:
    live: GroupLive
    desk: AlertDesk
    stream: PoseStream
    mode: str
    exercise_id: str | None
    pump: asyncio.Task[None] | None = None


async def group_socket(websocket: WebSocket) -> None:
    """ASGI websocket endpoint: one group screen, any number of sessions in turn."""
    await serve_socket(websocket, _GroupConnection)


class _GroupConnection(SocketConnection[_Active, GroupStep]):
    kind = "group"

    @property
    def store(self) -> Store | None:
        """The records store (the app's, else the recorder's), or None."""
        return self.rt.records

    def require_active(self, kind: str) -> _Active:
        if self.active is None:
            raise ProtocolError(
                ErrorCode.NOT_OPEN,
                f"expected an open group session for '{kind}', got none",
                valid=["open"],
            )
        return self.active

    async def on_text(self, text: str) -> None:
        message = parse_group_message(text)
        if isinstance(message, GroupOpenMessage):
            await self.open(message)
        elif isinstance(message, CloseMessage):
            self.require_active("close")
            await self.close()
        elif isinstance(message, SetInstructorMessage):
            active = self.require_active(message.type)
            closed = active.live.set_instructor(message.track_id)
            if closed is not None:
                await self.send(self._checked_out(closed))
        elif isinstance(message, CheckInMessage):
            await self.check_in(self.require_active(message.type), message)
        elif isinstance(message, CheckOutMessage):
            active = self.require_active(message.type)
            await self.send(self._checked_out(active.live.check_out(message.track_id)))
        elif isinstance(message, ControlMessage):
            active = self.require_active(message.type)
            events, pending = active.live.control(message.action)
            await self.durable(pending, active)
            for event in events:
                await self.send(event_message(event))
        elif isinstance(message, AcknowledgeAlertMessage):
            # Any open alert of the centre, also between sessions.
            desk = (
                self.active.desk
                if self.active is not None
                else AlertDesk(self.store, live_id="", kiosk_id=self.kiosk_id)
            )
            await self.acknowledge(desk, message.alert_id)

    # --- sessions ---------------------------------------------------------------------

    async def open(self, message: GroupOpenMessage) -> None:
        self.require_closed("a group session")
        lang = message.lang or self.settings.default_lang
        routine, programme = self._routine(message)
        spec: ExerciseSpec | None = (
            None
            if message.exercise is None
            else await self.rt.catalogue.resolve_spec(message.exercise, self.kiosk_id)
        )
        stream = await self.open_stream(
            self.rt.group.open_stream,
            "a multi-person pose backend",
            "the group session",
        )
        live_id = uuid.uuid4().hex

        def start(skeleton: Skeleton) -> GroupLive:
            common: dict[str, Any] = {
                "elder": message.elder,
                "lang": lang,
                "max_participants": message.max_participants,
                "skeleton": skeleton,
                "recorder": self.rt.recorder,
                "live_id": live_id,
                "kiosk_id": self.kiosk_id,
                "client": self.client,
                "stats": stream.stats,
            }
            if routine is not None:
                return RoutineGroupLive(routine, **common)
            return GroupLive(
                mode=message.mode,
                spec=spec,
                exercise_id=None if spec is None else spec.id,
                instructor_track_id=message.instructor_track_id,
                **common,
            )

        live = self.start_on(stream, start, "the group session")
        desk = AlertDesk(self.store, live_id=live_id, kiosk_id=self.kiosk_id)
        self.active = active = _Active(
            live, desk, stream, message.mode, live.exercise_id
        )
        await self.send(
            GroupOpenedMessage(
                session_id=live_id,
                mode=message.mode,
                exercise=None if spec is None else self.rt.catalogue.describe(spec),
                programme=programme,
                lang=lang,
                elder=message.elder,
                max_participants=message.max_participants,
                options=KioskOptions.of(self.settings, message.elder),
                **skeleton_fields(stream.skeleton),
            )
        )
        active.pump = asyncio.create_task(self.pump(active), name=f"group-{live_id}")

    def _routine(
        self, message: GroupOpenMessage
    ) -> tuple[RoutineSpec | None, ProgrammeInfo | None]:
        """The routine `open` names (mode `routine`) and its `group_opened` entry.

        Raises:
            ProtocolError: `unknown_programme`, listing the routines.
        """
        if message.routine is None:
            return None, None
        programmes = self.rt.catalogue.programmes
        found = programmes.get(message.routine)
        if found is None or found.routine is None:
            valid = sorted(k for k, p in programmes.items() if p.routine is not None)
            raise ProtocolError(
                ErrorCode.UNKNOWN_PROGRAMME,
                f"expected a routine's id ({', '.join(valid)}), "
                f"got {message.routine!r}",
                valid=valid,
            )
        return found.routine, found.describe(message.elder)

    async def finish(self, reason: CloseReason) -> None:
        """End the active session: stop its pump, free its stream, close records."""
        active = await self.detach()
        if active is None:
            return
        try:
            participants = active.live.close(reason)
        except Exception:
            log.exception("group %s: summary failed", active.live.live_id)
            participants = []
        if reason == CloseReason.CLOSED:
            stats = stats_message(active.stream)
            await self.send(stats)
            await self.send(
                GroupSummaryMessage(
                    session_id=active.live.live_id,
                    mode=active.live.mode,
                    exercise=active.exercise_id,
                    participants=participants,
                    stats=stats,
                )
            )

    # --- staff actions ----------------------------------------------------------------

    async def check_in(self, active: _Active, message: CheckInMessage) -> None:
        active.live.require_participant(message.track_id)
        if self.store is None:
            raise ProtocolError(
                ErrorCode.NO_RECORDS,
                "expected a records store to check residents in, got none "
                "(start the server with a database)",
            )
        resident = await self.member(message.resident)
        assert resident is not None
        if self.active is not active:  # the session ended meanwhile
            return
        check_in, replaced = active.live.check_in(message.track_id, resident)
        for other in replaced:
            await self.send(self._checked_out(other))
        await self.send(
            CheckedInMessage(
                track_id=check_in.track_id,
                number=check_in.number,
                resident=resident.member_code,
                name=resident.display_name,
            )
        )

    async def acknowledge(self, desk: AlertDesk, alert_id: int) -> None:
        try:
            found = await asyncio.to_thread(desk.acknowledge, alert_id)
        except ProtocolError:
            raise
        except Exception as exc:
            log.exception("group: alert %d not acknowledged", alert_id)
            raise ProtocolError(
                ErrorCode.BAD_MESSAGE,
                f"alert {alert_id} could not be acknowledged: {type(exc).__name__}",
            ) from None
        if not found:
            raise ProtocolError(
                ErrorCode.BAD_MESSAGE,
                f"expected the id of an alert of this centre, got {alert_id}",
            )
        await self.send(AlertAcknowledgedMessage(alert_id=alert_id))

    # --- frames -----------------------------------------------------------------------

    def describe(self, active: _Active) -> str:
        return f"group {active.live.live_id}"

    def feed(self, active: _Active, result: InferenceResult) -> GroupStep:
        assert result.poses is not None
        return active.live.feed(result.poses, result.image_wh, result.lineage)

    async def publish(
        self,
        active: _Active,
        result: InferenceResult,
        step: GroupStep,
        started_ns: int,
    ) -> None:
        now = time.perf_counter_ns()
        await self.durable(step.pending, active)
        await self.send(
            GroupPoseMessage(
                timestamp_ms=result.timestamp_ms,
                image_wh=result.image_wh,
                people=step.people,
                processing_ms=round((now - result.received_ns) / 1e6, 2),
                inference_ms=round(result.inference_ms, 2),
                engine_ms=round((now - started_ns) / 1e6, 3),
            )
        )
        for closed in step.checked_out:
            await self.send(self._checked_out(closed))
        for event in step.events:
            await self.send(event_message(event))
            if isinstance(event, FallDetected):
                await self.raise_alert(active, event)
            elif isinstance(event, FallCleared):
                await self._off_loop(functools.partial(active.desk.clear_fall, event))

    @staticmethod
    def _checked_out(closed: CheckIn) -> CheckedOutMessage:
        return CheckedOutMessage(track_id=closed.track_id, number=closed.number)

    async def raise_alert(self, active: _Active, event: FallDetected) -> None:
        number, name, resident_id = active.live.who(event.track_id)
        alert_id = await self._off_loop(
            lambda: active.desk.raise_fall(
                event, number=number, resident_id=resident_id
            )
        )
        await self.send(
            AlertRaisedMessage(
                alert_id=alert_id,
                kind="fall",
                track_id=event.track_id,
                number=number,
                name=name,
                timestamp_ms=event.timestamp_ms,
            )
        )

    async def _off_loop(self, work: Callable[[], T]) -> T | None:
        """`work()` in a thread, bounded by `ALERT_TIMEOUT_S`; None on failure."""
        try:
            return await asyncio.wait_for(asyncio.to_thread(work), ALERT_TIMEOUT_S)
        except Exception:
            log.exception("group: alert database work failed or timed out")
            return None
