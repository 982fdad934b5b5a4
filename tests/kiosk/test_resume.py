"""The resuming headless kiosk (kiosk/resume.py) against small scripted websocket
servers on loopback: it reconnects when the server drops it, resumes the session,
re-sends the frame it was holding, closes properly, and falls back to a new session on
a server that does not know `resume`."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from kiosk.client import KioskClientError
from kiosk.resume import stream_resumable_session
from server.schemas import decode_frame


@dataclass
class Script:
    """What the fake server does."""

    drop_after_frames: tuple[
        int, ...
    ] = ()  # close with 1012 after the n-th frame overall
    knows_resume: bool = True
    frames: list[int] = field(
        default_factory=list
    )  # timestamps received, over all connections
    opens: list[dict[str, Any]] = field(default_factory=list)
    connections: int = 0
    reps: int = 0


async def fake_server(script: Script) -> Any:
    from websockets.asyncio.server import serve

    sessions: dict[str, int] = {}

    async def handler(ws: Any) -> None:
        script.connections += 1
        session_id: str | None = None
        async for raw in ws:
            if isinstance(raw, bytes):
                ts, _ = decode_frame(raw)
                script.frames.append(ts)
                await ws.send(json.dumps({"type": "pose", "timestamp_ms": ts}))
                if len(script.frames) % 3 == 0:  # a rep every third frame
                    script.reps += 1
                    assert session_id is not None
                    sessions[session_id] = script.reps
                    await ws.send(
                        json.dumps(
                            {
                                "type": "rep_completed",
                                "count": script.reps,
                                "timestamp_ms": ts,
                            }
                        )
                    )
                if len(script.frames) in script.drop_after_frames:
                    await ws.close(1012, "service restart")
                    return
                continue
            message = json.loads(raw)
            script.opens.append(message)
            if message["type"] == "open":
                resume = message.get("resume")
                if resume is not None and not script.knows_resume:
                    await ws.send(
                        json.dumps(
                            {
                                "type": "error",
                                "code": "bad_message",
                                "detail": "extra field",
                                "fatal": False,
                            }
                        )
                    )
                    continue
                resumed = resume if resume in sessions else None
                session_id = resumed or uuid.uuid4().hex
                sessions.setdefault(session_id, 0)
                await ws.send(
                    json.dumps(
                        {
                            "type": "opened",
                            "session_id": session_id,
                            "resumed_reps": None
                            if resumed is None
                            else sessions[session_id],
                        }
                    )
                )
            elif message["type"] == "close":
                await ws.send(
                    json.dumps({"type": "stats", "received": len(script.frames)})
                )
                await ws.send(
                    json.dumps(
                        {
                            "type": "summary",
                            "session_id": session_id,
                            "summary": {"reps": script.reps},
                        }
                    )
                )

    return await serve(handler, "127.0.0.1", 0)


async def frames(
    n: int, pause_after: tuple[int, ...] = ()
) -> AsyncIterator[tuple[int, bytes]]:
    """n frames; after the listed ones a pause long enough for the drop to be seen
    (a frame written into a connection as it dies is lost, like a camera frame in an
    outage; the pause keeps the test about what the kiosk does once it knows)."""
    for i in range(1, n + 1):
        yield i * 10, b"\xff\xd8 jpeg"
        await asyncio.sleep(0.3 if i in pause_after else 0.005)


def run(script: Script, n: int, **kwargs: Any) -> Any:
    async def body() -> Any:
        server = await fake_server(script)
        port = server.sockets[0].getsockname()[1]
        source = frames(n, script.drop_after_frames)
        try:
            return await asyncio.wait_for(
                stream_resumable_session(
                    f"ws://127.0.0.1:{port}/ws", "squat", source, **kwargs
                ),
                30,
            )
        finally:
            server.close()
            await server.wait_closed()

    return asyncio.run(body())


@pytest.mark.parametrize(
    "drops",
    [pytest.param((4,), id="once"), pytest.param((2, 5, 9), id="three-times")],
)
def test_the_kiosk_resumes_after_each_drop_and_loses_no_frame(
    drops: tuple[int, ...],
) -> None:
    script = Script(drop_after_frames=drops)
    seen: list[dict[str, Any]] = []
    report = run(script, 12, on_message=seen.append)
    assert report.reconnects == len(drops) and report.resumed == [True] * len(drops)
    assert script.connections == len(drops) + 1
    first = script.opens[0]
    assert "resume" not in first
    resumes = [m for m in script.opens if m["type"] == "open"][1:]
    assert [m["resume"] for m in resumes] == [report.opened[0]["session_id"]] * len(
        drops
    )
    # Every frame sent while connected reached the server exactly once, in order.
    assert script.frames == [i * 10 for i in range(1, 13)]
    assert report.frames_sent == 12
    assert [r["count"] for r in report.reps] == [1, 2, 3, 4]
    assert report.summary is not None and report.summary["summary"]["reps"] == 4
    assert sum(m["type"] == "opened" for m in seen) == len(drops) + 1


def test_a_server_without_resume_gives_a_new_session() -> None:
    script = Script(drop_after_frames=(3,), knows_resume=False)
    report = run(script, 6)
    assert report.reconnects == 1 and report.resumed == [False]
    assert report.opened[0]["session_id"] != report.opened[1]["session_id"]
    assert script.frames == [10, 20, 30, 40, 50, 60]
    assert report.summary is not None


def test_a_server_that_is_not_there_fails_at_once() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here

    async def body() -> None:
        await stream_resumable_session(f"ws://127.0.0.1:{port}/ws", "squat", frames(1))

    with pytest.raises(KioskClientError, match="cannot connect"):
        asyncio.run(asyncio.wait_for(body(), 10))


def test_an_outage_longer_than_the_limit_is_an_error() -> None:
    async def body() -> None:
        script = Script(drop_after_frames=(2,))
        server = await fake_server(script)
        port = server.sockets[0].getsockname()[1]

        async def slow_frames() -> AsyncIterator[tuple[int, bytes]]:
            async for item in frames(2):
                yield item
            server.close()  # the server is gone for good
            await asyncio.sleep(0.5)
            yield 30, b"\xff\xd8 jpeg"

        try:
            await stream_resumable_session(
                f"ws://127.0.0.1:{port}/ws",
                "squat",
                slow_frames(),
                reconnect_timeout_s=1.0,
            )
        finally:
            server.close()

    with pytest.raises(KioskClientError, match="could not get the session back"):
        asyncio.run(asyncio.wait_for(body(), 20))
