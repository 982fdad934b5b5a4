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


def test_the_kiosk_offers_no_compression_where_the_server_would_accept_it() -> None:
    """A kiosk sends JPEG, which deflate cannot shrink: `connect_kiosk` offers no
    permessage-deflate, so a server left at websockets' defaults (which accepts it)
    neither inflates the kiosk's frames nor deflates its answers."""
    from websockets.asyncio.server import ServerConnection, serve

    async def scenario() -> tuple[str | None, str | None, str]:
        async def echo(ws: ServerConnection) -> None:
            await ws.send(await ws.recv())

        async with serve(echo, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            url = f"ws://127.0.0.1:{port}/ws"
            ws = await connect_kiosk(url, max_size=None, token=None)
            async with ws:
                await ws.send(b"\xff\xd8 not deflated")
                echoed = await ws.recv()
                assert ws.request is not None and ws.response is not None
                return (
                    ws.request.headers.get("Sec-WebSocket-Extensions"),
                    ws.response.headers.get("Sec-WebSocket-Extensions"),
                    repr(echoed),
                )

    offered, accepted, echoed = asyncio.run(asyncio.wait_for(scenario(), 20))
    assert (offered, accepted) == (None, None)
    assert echoed == repr(b"\xff\xd8 not deflated")
