"""Headless kiosk: a camera (or a video standing in for one) on a small PC, streaming
JPEG frames to a MoveCoach server over the `/ws` websocket (docs/protocol.md).

Speaks only the wire protocol (`server.schemas` for the frame header and message types);
all exercise logic stays on the server. A video file is paced in real time by its own
timestamps, like a camera, so the server sees what a live kiosk would send (and drops
frames the same way when inference falls behind).

    report = run_kiosk(KioskOptions(server="ws://127.0.0.1:8000", source="0",
                                    exercise="squat"), on_message=print)
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit, urlunsplit

from server.schemas import CloseMessage, OpenMessage, encode_frame
from server.settings import Lang

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection
    from websockets.typing import Subprotocol

    from vision.sources import FrameSource

__all__ = [
    "TEXT",
    "KioskClientError",
    "KioskOptions",
    "SessionReport",
    "connect_kiosk",
    "describe_message",
    "encoded_frames",
    "run_kiosk",
    "stream_session",
    "subprotocols",
    "ws_url",
]

DEFAULT_JPEG_QUALITY: Final[int] = 80
DEFAULT_SEND_WIDTH: Final[int] = 640  # the server's default `send_width`
OPEN_TIMEOUT_S: Final[float] = 30.0
DRAIN_TIMEOUT_S: Final[float] = 30.0

TEXT: Final[dict[str, dict[str, str]]] = {
    "en": {
        "opened": "{exercise}: session started",
        "rep": "Rep {count}: score {score}",
        "summary": "Done. Reps: {reps}{score}. Frames: {sent} sent, {processed} "
        "processed, {dropped} dropped",
        "mean_score": ", average score {score}",
        "error": "Server error ({code}): {detail}",
        "phase": "Phase: {phase}",
        "hold": "Holding {held_s:.1f} s of {target_s:.0f} s",
    },
    "zh-CN": {  # full-width punctuation is what Chinese text uses
        "opened": "{exercise}：训练开始",  # noqa: RUF001
        "rep": "第 {count} 次：得分 {score}",  # noqa: RUF001
        "summary": "完成。次数：{reps}{score}。画面：发送 {sent} 帧，"  # noqa: RUF001
        "处理 {processed} 帧，丢弃 {dropped} 帧",  # noqa: RUF001
        "mean_score": "，平均得分 {score}",  # noqa: RUF001
        "error": "服务器错误（{code}）：{detail}",  # noqa: RUF001
        "phase": "阶段：{phase}",  # noqa: RUF001
        "hold": "已保持 {held_s:.1f} 秒 / 目标 {target_s:.0f} 秒",
    },
}
"""Every line the client prints for people, in both languages."""


class KioskClientError(RuntimeError):
    """The server cannot be reached, refused the session, or the source failed."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class KioskOptions:
    """What `movecoach kiosk` was asked to do.

    Attributes:
        server: ws://HOST:PORT (the /ws path is added when missing).
        source: Camera index ("0") or a video file.
        exercise: Exercise id.
        lang: "en" or "zh-CN".
        elder: Elder mode.
        fps: Most frames per second to send (None = the source's rate, at most 30).
        send_width: Scale frames to this width before encoding (None = 640).
        jpeg_quality: 1-100.
        resident: Who exercises (None = anonymous).
        token: The kiosk's token when the server authenticates kiosks (sent as a
            `movecoach.token.` subprotocol: never in the URL).
    """

    server: str
    source: str
    exercise: str
    lang: Lang = "en"
    elder: bool = False
    fps: float | None = None
    send_width: int | None = None
    jpeg_quality: int = DEFAULT_JPEG_QUALITY
    resident: str | None = None
    token: str | None = field(default=None, repr=False)


@dataclass(slots=True)
class SessionReport:
    """Everything the server said during one session, plus client-side timing.

    Attributes:
        opened: The `opened` message.
        events: Engine events (messages other than opened/pose/stats/summary/error).
        errors: `error` messages.
        summary: The `summary` message (None if the server never sent one).
        frames_sent: Frames sent.
        poses: `pose` messages received.
        latency_ms: Per processed frame, send -> its `pose` message arrived.
        event_latency_ms: Per engine event, its frame's send -> the event arrived.
    """

    opened: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] | None = None
    frames_sent: int = 0
    poses: int = 0
    latency_ms: list[float] = field(default_factory=list)
    event_latency_ms: list[float] = field(default_factory=list)
    last_stats: dict[str, Any] | None = None

    @property
    def reps(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == "rep_completed"]


SUBPROTOCOL: Final[str] = "movecoach"
TOKEN_SUBPROTOCOL_PREFIX: Final[str] = "movecoach.token."


def subprotocols(token: str | None) -> list[Subprotocol]:
    """What the client offers: `movecoach`, and `movecoach.token.<token>` with a token
    (as the kiosk pages do; docs/protocol.md, "Kiosk tokens"): a token travels in the
    handshake's `Sec-WebSocket-Protocol` header, never in the URL, which servers and
    proxies log."""
    from websockets.typing import Subprotocol

    offered = [Subprotocol(SUBPROTOCOL)]
    if token:
        offered.append(Subprotocol(TOKEN_SUBPROTOCOL_PREFIX + token))
    return offered


async def connect_kiosk(
    url: str, *, max_size: int | None, token: str | None
) -> ClientConnection:
    """Open the websocket at `url` as a kiosk (offering `subprotocols(token)`).

    Raises:
        KioskClientError: the server cannot be reached or refused the handshake.
    """
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidHandshake, InvalidURI

    try:
        return await connect(
            url,
            max_size=max_size,
            # JPEG does not deflate (see Settings.uvicorn_websocket_options): offering
            # permessage-deflate would only spend this kiosk's CPU on every frame.
            compression=None,
            open_timeout=OPEN_TIMEOUT_S,
            subprotocols=subprotocols(token),
        )
    except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
        raise KioskClientError(f"cannot connect to {url}: {exc}") from None


def ws_url(server: str) -> str:
    """`ws://host:port` -> `ws://host:port/ws`; http(s) schemes become ws(s)."""
    parts = urlsplit(server if "://" in server else f"ws://{server}")
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    if scheme not in ("ws", "wss"):
        raise KioskClientError(f"expected a ws:// or wss:// server URL, got {server!r}")
    path = parts.path if parts.path not in ("", "/") else "/ws"
    return urlunsplit((scheme, parts.netloc, path, parts.query, ""))


def describe_message(message: dict[str, Any], lang: str) -> str | None:
    """One line for people (in `lang`) about a server message, or None to stay quiet."""
    text = TEXT[lang]
    kind = message.get("type")
    if kind == "opened":
        return text["opened"].format(exercise=message["exercise"]["name"][lang])
    if kind == "rep_completed":
        return text["rep"].format(
            count=message["count"], score=_score(message.get("score"))
        )
    if kind in ("cue_issued", "placement_changed") and isinstance(
        message.get("message"), dict
    ):
        return str(message["message"].get(lang, ""))
    if kind == "hold_progressed" and message.get("in_position"):
        return text["hold"].format(
            held_s=message["held_ms"] / 1000, target_s=message["target_ms"] / 1000
        )
    if kind == "error":
        return text["error"].format(code=message["code"], detail=message["detail"])
    if kind == "summary":
        summary = message.get("summary") or {}
        stats = message["stats"]
        reps = summary.get("reps", summary.get("rep_count", "?"))
        if isinstance(reps, list):
            reps = len(reps)
        mean = summary.get("mean_score")
        return text["summary"].format(
            reps=reps,
            score=text["mean_score"].format(score=_score(mean))
            if mean is not None
            else "",
            sent=stats["received"],
            processed=stats["processed"],
            dropped=stats["dropped"],
        )
    return None


def _score(value: object) -> str:
    return (
        "-"
        if not isinstance(value, int | float) or not math.isfinite(value)
        else f"{value:.0f}"
    )


async def encoded_frames(
    source: FrameSource,
    *,
    fps: float | None,
    send_width: int,
    jpeg_quality: int = DEFAULT_JPEG_QUALITY,
) -> AsyncIterator[tuple[int, bytes]]:
    """(timestamp_ms, JPEG) from an open camera or video source, scaled to
    `send_width`, at most `fps` frames per second; closes the source at the end.

    A video is paced in real time by its timestamps (a camera paces itself). Reading and
    encoding run in a thread so the websocket keeps being served meanwhile.

    Raises:
        KioskClientError: the source fails while being read.
    """
    import cv2

    from vision.sources import SourceError

    def encode(image: Any) -> bytes:
        h, w = image.shape[:2]
        if w > send_width:
            image = cv2.resize(
                image,
                (send_width, round(h * send_width / w)),
                interpolation=cv2.INTER_AREA,
            )
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
        if not ok:
            raise KioskClientError("expected OpenCV to encode a JPEG, got a failure")
        return buf.tobytes()

    def next_frame(it: Any) -> tuple[int, bytes] | None:
        try:
            captured = next(it)
        except StopIteration:
            return None
        return captured.timestamp_ms, encode(captured.image_bgr)

    with source:
        rate = fps or min(source.fps or 30.0, 30.0)
        interval_ms = 1000.0 / rate
        live = source.is_live
        frames = source.frames()
        next_due: float | None = None
        start_wall: float | None = None
        first_ts = 0
        while True:
            try:
                item = await asyncio.to_thread(next_frame, frames)
            except SourceError as exc:
                raise KioskClientError(str(exc)) from None
            if item is None:
                return
            ts, jpeg = item
            if next_due is not None and ts + 0.5 < next_due:
                continue  # above the requested rate
            next_due = (
                ts + interval_ms
                if next_due is None
                else max(next_due + interval_ms, ts)
            )
            if not live:
                if start_wall is None:
                    start_wall, first_ts = time.perf_counter(), ts
                delay = start_wall + (ts - first_ts) / 1000 - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            yield ts, jpeg


async def stream_session(
    url: str,
    exercise: str,
    frames: AsyncIterator[tuple[int, bytes]],
    *,
    lang: Lang = "en",
    elder: bool = False,
    resident: str | None = None,
    on_message: Callable[[dict[str, Any]], None] | None = None,
    drain_timeout_s: float = DRAIN_TIMEOUT_S,
    max_size: int | None = 16 << 20,
    token: str | None = None,
) -> SessionReport:
    """Open a session, send every frame of `frames`, close it and wait for the summary.

    Args:
        url: Websocket URL (see `ws_url`).
        exercise: Exercise id.
        frames: (timestamp_ms, JPEG bytes), timestamps increasing; sent as they come.
        on_message: Called with every server message (dict) as it arrives.
        token: The kiosk's token (`subprotocols`), for a server with kiosk auth.

    Raises:
        KioskClientError: the server cannot be reached or refuses the session
            (`code` is the server's error code, e.g. "unknown_exercise").
    """
    from websockets.exceptions import ConnectionClosed

    report = SessionReport()
    sent_at: deque[tuple[int, float]] = deque()  # (timestamp_ms, perf_counter) in order
    sent_by_ts: dict[int, float] = {}
    done = asyncio.Event()

    def handle(message: dict[str, Any]) -> None:
        now = time.perf_counter()
        kind = message.get("type")
        if kind == "pose":
            report.poses += 1
            ts = message["timestamp_ms"]
            while (
                sent_at and sent_at[0][0] < ts
            ):  # older frames were dropped by the server
                sent_by_ts.pop(sent_at.popleft()[0], None)
            if ts in sent_by_ts:
                report.latency_ms.append((now - sent_by_ts[ts]) * 1000)
        elif kind == "stats":
            report.last_stats = message
        elif kind == "summary":
            report.summary = message
            done.set()
        elif kind == "error":
            report.errors.append(message)
        elif kind != "opened":
            report.events.append(message)
            ts = message.get("timestamp_ms")
            if ts in sent_by_ts:
                report.event_latency_ms.append((now - sent_by_ts[ts]) * 1000)
        if on_message is not None:
            on_message(message)

    websocket = await connect_kiosk(url, max_size=max_size, token=token)
    async with websocket:
        open_message = OpenMessage(
            exercise=exercise, lang=lang, elder=elder, resident=resident
        )
        await websocket.send(open_message.model_dump_json())
        try:
            opened = json.loads(
                await asyncio.wait_for(websocket.recv(), OPEN_TIMEOUT_S)
            )
        except (TimeoutError, ConnectionClosed) as exc:
            raise KioskClientError(
                f"expected 'opened' from {url}, got {exc!r}"
            ) from None
        if opened.get("type") != "opened":
            detail = opened.get("detail", opened)
            raise KioskClientError(
                f"the server refused the session: {detail}", code=opened.get("code")
            )
        report.opened = opened
        if on_message is not None:
            on_message(opened)

        async def receive() -> None:
            try:
                async for raw in websocket:
                    handle(json.loads(raw))
            except ConnectionClosed:
                pass
            finally:
                done.set()

        receiver = asyncio.create_task(receive())
        try:
            async for ts, jpeg in frames:
                if done.is_set():
                    break
                now = time.perf_counter()
                sent_at.append((ts, now))
                sent_by_ts[ts] = now
                await websocket.send(encode_frame(ts, jpeg))
                report.frames_sent += 1
            if not done.is_set():
                await websocket.send(CloseMessage().model_dump_json())
            try:
                await asyncio.wait_for(done.wait(), drain_timeout_s)
            except TimeoutError:
                pass
        except ConnectionClosed as exc:
            raise KioskClientError(f"the server closed the connection: {exc}") from None
        finally:
            receiver.cancel()
            with _suppress_cancel():
                await receiver
    return report


class _suppress_cancel:
    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: object, tb: object) -> bool:
        return exc_type is asyncio.CancelledError


def run_kiosk(
    options: KioskOptions, on_message: Callable[[dict[str, Any]], None] | None = None
) -> SessionReport:
    """Stream `options.source` to the server until it ends; returns the report.

    Raises:
        KioskClientError: connection, session or source problems.
    """
    from vision.sources import SourceError, open_source

    try:
        source = open_source(options.source)
    except SourceError as exc:
        raise KioskClientError(str(exc)) from None

    async def main() -> SessionReport:
        frames = encoded_frames(
            source,
            fps=options.fps,
            send_width=options.send_width or DEFAULT_SEND_WIDTH,
            jpeg_quality=options.jpeg_quality,
        )
        return await stream_session(
            ws_url(options.server),
            options.exercise,
            frames,
            lang=options.lang,
            elder=options.elder,
            resident=options.resident,
            on_message=on_message,
            token=options.token,
        )

    try:
        return asyncio.run(main())
    finally:
        source.close()
