"""`DatabaseRecorder` behind the real websocket loop (`create_app`, scripted backend):
the protocol the loop calls is the one the recorder implements, and what a kiosk did
lands in the records."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient, WebSocketTestSession

from exercises.spec import builtin_specs
from server.app import create_app
from server.schemas import encode_frame
from server.settings import Settings
from server.store import DatabaseRecorder, Store, repository
from server.store.models import SessionStatus
from tests.server.conftest import ScriptedBackend, jpeg_bytes
from tests.server.store.helpers import seed_centre


def _until(ws: WebSocketTestSession, kind: str) -> dict[str, Any]:
    for _ in range(1000):
        message = ws.receive_json()
        if message["type"] == kind:
            return message  # type: ignore[no-any-return]
    raise AssertionError(f"no {kind!r} message in 1000")


def _exercise() -> str:
    ids = sorted(builtin_specs())
    if not ids:
        pytest.skip("no built-in exercises")
    return "squat" if "squat" in ids else ids[0]


@pytest.mark.parametrize("close", [True, False], ids=["closed", "dropped"])
def test_a_live_session_is_recorded(store: Store, db_url: str, close: bool) -> None:
    ids = seed_centre(store)
    recorder = DatabaseRecorder(store)
    app = create_app(
        Settings(db_url=db_url, stats_every=1000),
        backend_factory=ScriptedBackend,
        recorder=recorder,
    )
    exercise = _exercise()
    try:
        with TestClient(app) as client:
            with client.websocket_connect("/ws") as ws:
                ws.send_text(
                    json.dumps(
                        {
                            "type": "open",
                            "v": 1,
                            "exercise": exercise,
                            "lang": "zh-CN",
                            "elder": True,
                            "resident": ids["member_code"],
                        }
                    )
                )
                opened = _until(ws, "opened")
                for ts in (100, 133, 166):
                    ws.send_bytes(encode_frame(ts, jpeg_bytes()))
                    _until(ws, "pose")
                if close:
                    ws.send_text('{"type": "close", "v": 1}')
                    _until(ws, "summary")
            # Leaving the block drops the socket (when not closed); the lifespan ends.
        recorder.flush(10)
    finally:
        recorder.close()
    with store.session() as db:
        session = repository.find_session_by_live_id(db, opened["session_id"])
        assert session is not None
        assert (session.exercise_id, session.language, session.elder_mode) == (
            exercise,
            "zh-CN",
            True,
        )
        assert session.resident_id == ids["resident_id"]
        expected = SessionStatus.COMPLETED if close else SessionStatus.INTERRUPTED
        assert session.status is expected
        assert session.stats is not None and session.stats["processed"] == 3
        assert (
            session.summary is not None and session.summary["exercise_id"] == exercise
        )
