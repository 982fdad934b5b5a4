"""`SocketConnection.durable`: a kiosk that goes away while its events are being
recorded cancels none of the writes, and nothing is left for asyncio to log."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import logging
import threading
from typing import Any

import pytest

from server.socket_base import SocketConnection


class _Connection:
    def describe(self, active: Any) -> str:
        return f"session {active}"


def _recorder_writes(
    pool: concurrent.futures.ThreadPoolExecutor, gate: threading.Event, done: list[int]
) -> list[concurrent.futures.Future[Any]]:
    """One write that holds the recorder's thread until `gate`, one queued after."""

    def write(n: int) -> int:
        gate.wait(5)
        done.append(n)
        return n

    return [pool.submit(write, 1), pool.submit(write, 2)]


def test_a_cancelled_wait_cancels_no_write_and_leaves_nothing_unretrieved(
    caplog: pytest.LogCaptureFixture,
) -> None:
    done: list[int] = []
    gate = threading.Event()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        writes = _recorder_writes(pool, gate, done)

        async def kiosk_goes_away() -> None:
            task = asyncio.ensure_future(
                SocketConnection.durable(_Connection(), writes, 7)  # type: ignore[arg-type]
            )
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            gate.set()
            await asyncio.sleep(0.2)  # the writes finish; their callbacks run

        with caplog.at_level(logging.ERROR, logger="asyncio"):
            asyncio.run(kiosk_goes_away())
            gc.collect()
    assert [w.cancelled() for w in writes] == [False, False]
    assert sorted(done) == [1, 2]
    assert not [r for r in caplog.records if r.name == "asyncio"], caplog.text


def test_a_failed_write_is_reported_once_and_the_wait_returns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def fail() -> None:
        raise OSError("disk full")

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        writes = [pool.submit(fail)]
        with caplog.at_level(logging.WARNING):
            asyncio.run(SocketConnection.durable(_Connection(), writes, 3))  # type: ignore[arg-type]
            gc.collect()
    assert "session 3: events unrecorded" in caplog.text
    assert not [r for r in caplog.records if r.name == "asyncio"], caplog.text
