"""Kiosk tokens never in a URL (issue 18, finding 5): the websocket takes the token
from a `movecoach.token.<token>` subprotocol (the kiosk pages, the headless client) or
a Bearer header, answers with the plain `movecoach` subprotocol (the token is not
echoed), refuses a token in the query even when valid, and the logs mask one an old
client still puts there."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import logging.config
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from kiosk.client import stream_session
from server.app import WEB_DIR, create_app
from server.operations import MaskSecretsFilter, uvicorn_log_config
from server.settings import Settings
from server.store import DatabaseRecorder, Store, upgrade_database
from tests.live_server import serve_in_thread
from tests.server.conftest import ScriptedBackend, jpeg_bytes, kiosk_protocols
from tests.server.store.helpers import seed_centre


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[tuple[Any, dict[str, Any]]]:
    """An app with kiosk auth and records, and centre A's ids (its kiosk token)."""
    url = f"sqlite:///{tmp_path / 'records.db'}"
    upgrade_database(url)
    store = Store(url)
    ids = seed_centre(store)
    recorder = DatabaseRecorder(store)
    app = create_app(
        Settings(db_url=url, kiosk_auth=True),
        backend_factory=ScriptedBackend,
        recorder=recorder,
        store=Store(url),
    )
    yield app, ids
    recorder.close()
    store.dispose()


def test_finding_5_token_in_a_subprotocol_opens_and_is_not_echoed(
    guarded: tuple[Any, dict[str, Any]],
) -> None:
    app, ids = guarded
    with (
        TestClient(app) as client,
        client.websocket_connect(
            "/ws", subprotocols=kiosk_protocols(ids["kiosk_token"])
        ) as ws,
    ):
        assert ws.accepted_subprotocol == "movecoach"
        ws.send_json({"type": "open", "v": 1, "exercise": "squat"})
        assert ws.receive_json()["type"] == "opened"


@pytest.mark.parametrize("path", ["/ws", "/ws/group"])
def test_finding_5_a_valid_token_in_the_url_is_refused(
    guarded: tuple[Any, dict[str, Any]], path: str
) -> None:
    app, ids = guarded
    with (
        TestClient(app) as client,
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect(f"{path}?token={ids['kiosk_token']}") as ws,
    ):
        ws.receive_json()
    assert refused.value.code == 1008


def test_finding_5_headless_client_sends_its_token_in_the_handshake(
    guarded: tuple[Any, dict[str, Any]],
) -> None:
    app, ids = guarded

    async def frames() -> Any:
        for ts in (100, 200, 300):
            yield ts, jpeg_bytes()

    with serve_in_thread(app) as port:
        report = asyncio.run(
            stream_session(
                f"ws://127.0.0.1:{port}/ws",
                "squat",
                frames(),
                token=ids["kiosk_token"],
                drain_timeout_s=10,
            )
        )
    assert report.opened is not None
    assert report.summary is not None
    assert report.summary["stats"]["received"] == 3  # the latest frame wins


def test_finding_5_access_log_masks_a_token_in_the_url(
    capsys: pytest.CaptureFixture[str],
) -> None:
    names = ("uvicorn", "uvicorn.access", "uvicorn.error")
    saved = {
        n: (logging.getLogger(n).handlers[:], logging.getLogger(n).propagate)
        for n in names
    }
    try:
        logging.config.dictConfig(uvicorn_log_config("text"))
        access = logging.getLogger("uvicorn.access")
        access.info(  # uvicorn's access line
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:5000",
            "GET",
            "/api/kiosk/me?token=s3cr3t-kiosk-token&lang=en",
            "1.1",
            401,
        )
        logging.getLogger("uvicorn.error").info(  # uvicorn's websocket handshake line
            '%s - "WebSocket %s" %s', "127.0.0.1:5001", "/ws?token=s3cr3t-2", 403
        )
    finally:
        for n, (handlers, propagate) in saved.items():
            logging.getLogger(n).handlers[:] = handlers
            logging.getLogger(n).propagate = propagate
    err = capsys.readouterr().err
    assert "s3cr3t" not in err
    assert "/api/kiosk/me?token=***&lang=en" in err
    assert '"WebSocket /ws?token=***" 403' in err


def test_mask_secrets_filter_leaves_other_lines_alone() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskSecretsFilter())
    log = logging.getLogger("tests.mask")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("%d frames, member %s", 3, "token-less")
        log.warning("GET /x?password=hunter2&access_token=abc HTTP/1.1")
    finally:
        log.removeHandler(handler)
    assert stream.getvalue().splitlines() == [
        "3 frames, member token-less",
        "GET /x?password=***&access_token=*** HTTP/1.1",
    ]


def test_finding_5_pages_offer_the_token_as_a_subprotocol_not_in_the_url() -> None:
    media = (WEB_DIR / "shared" / "media.js").read_text(encoding="utf-8")
    assert "?token=" not in media
    assert re.search(r"new WebSocket\(url, socketProtocols\(token\)\)", media)
    assert '"movecoach.token."' in media


def test_finding_5_kiosk_command_takes_its_token_from_a_file_or_the_environment(
    guarded: tuple[Any, dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import cv2
    import numpy as np

    from server.cli import main

    app, ids = guarded
    video = tmp_path / "still.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (96, 64))
    for i in range(3):
        writer.write(np.full((64, 96, 3), 100 + i, np.uint8))
    writer.release()
    token_file = tmp_path / "kiosk-token"
    token_file.write_text(ids["kiosk_token"] + "\n")
    monkeypatch.delenv("MOVECOACH_KIOSK_TOKEN", raising=False)
    with serve_in_thread(app) as port:
        argv = ["kiosk", "--json", "--server", f"ws://127.0.0.1:{port}"]
        argv += ["--source", str(video), "--exercise", "squat"]
        assert main([*argv, "--token-file", str(token_file)]) == 0
        last = json.loads(capsys.readouterr().out.splitlines()[-1])
        assert last["type"] == "summary" and last["stats"]["received"] == 3
        monkeypatch.setenv("MOVECOACH_KIOSK_TOKEN", ids["kiosk_token"])
        assert main(argv) == 0
        capsys.readouterr()
        monkeypatch.delenv("MOVECOACH_KIOSK_TOKEN")
        assert main(argv) == 2  # no token: the handshake is refused
    assert "cannot connect" in capsys.readouterr().err
