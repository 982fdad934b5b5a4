"""`kiosk.client.connect_kiosk`, the connection both the plain (`stream_session`) and
the resumable (`kiosk.resume`) kiosk sessions open: an unreachable server is one
`KioskClientError` naming the URL, with no server error code."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from kiosk.client import KioskClientError, connect_kiosk, stream_session


async def _no_frames() -> AsyncIterator[tuple[int, bytes]]:
    return
    yield


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens here once closed


@pytest.mark.parametrize(
    "opener",
    [
        pytest.param(
            lambda url: connect_kiosk(url, max_size=None, token="t"), id="connect"
        ),
        pytest.param(
            lambda url: stream_session(url, "squat", _no_frames()), id="session"
        ),
    ],
)
def test_an_unreachable_server_is_a_kiosk_client_error(
    opener: Callable[[str], Awaitable[object]],
) -> None:
    url = f"ws://127.0.0.1:{_free_port()}/ws"
    expected = re.escape(f"cannot connect to {url}")
    with pytest.raises(KioskClientError, match=expected) as caught:
        asyncio.run(asyncio.wait_for(opener(url), 10))
    assert caught.value.code is None
