"""The records wired into the app (`create_app(..., store=)`, `Settings.kiosk_auth`):
kiosks refused without a valid token, sessions attributed to the token's kiosk and
centre, landmarks recorded from the live loop, the records API mounted."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient, WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from server.app import create_app
from server.schemas import encode_frame
from server.settings import Settings
from server.store import DatabaseRecorder, Store, repository
from server.store.models import SessionStatus
from tests.server.conftest import ScriptedBackend, jpeg_bytes, kiosk_protocols
from tests.server.store.helpers import seed_centre


def _until(ws: WebSocketTestSession, kind: str) -> dict[str, Any]:
    for _ in range(1000):
        message = ws.receive_json()
        if message["type"] == kind:
            return message  # type: ignore[no-any-return]
    raise AssertionError(f"no {kind!r} message in 1000")


@pytest.mark.parametrize("wait", [True, False], ids=["blocking", "awaited"])
def test_kiosk_token_session_and_landmarks(
    store: Store, db_url: str, wait: bool
) -> None:
    here = seed_centre(store, "Riverside")
    there = seed_centre(store, "Hillside")
    with store.begin() as db:  # the same member code in the kiosk's centre
        twin = repository.create_resident(
            db,
            centre_id=there["centre_id"],
            member_code=here["member_code"],
            display_name="Twin",
        ).id
    recorder = DatabaseRecorder(store, wait_for_reps=wait, chunk_ms=50)
    app = create_app(
        Settings(db_url=db_url, stats_every=1000, kiosk_auth=True),
        backend_factory=ScriptedBackend,
        recorder=recorder,
        store=Store(db_url),
    )
    with TestClient(app) as client:
        for url in ("/ws", f"/ws?token={there['kiosk_token']}"):
            with pytest.raises(WebSocketDisconnect) as refused:
                with client.websocket_connect(url) as ws:
                    ws.receive_json()
            assert refused.value.code == 1008
        with client.websocket_connect(
            "/ws", subprotocols=kiosk_protocols(there["kiosk_token"])
        ) as ws:
            ws.send_text(
                json.dumps(
                    {
                        "type": "open",
                        "v": 1,
                        "exercise": "squat",
                        "resident": here["member_code"],
                    }
                )
            )
            opened = _until(ws, "opened")
            for ts in range(100, 430, 33):  # 10 frames
                ws.send_bytes(encode_frame(ts, jpeg_bytes()))
                _until(ws, "pose")
            ws.send_text('{"type": "close", "v": 1}')
            _until(ws, "summary")
        login = client.post("/api/auth/login", json={"username": "x", "password": "y"})
        assert login.status_code == 401  # the records API is mounted
    with store.session() as db:
        session = repository.find_session_by_live_id(db, opened["session_id"])
        assert session is not None
        assert session.kiosk_id == there["kiosk_id"]
        assert session.resident_id == twin  # resolved in the kiosk's centre
        assert session.status is SessionStatus.COMPLETED
        window = repository.load_landmarks(db, session.id)
        assert window is not None and len(window) == 10
