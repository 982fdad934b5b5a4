"""The shared one-curl clip as a kiosk sends it (JPEG frames), and a kiosk session
that sends it in lockstep, for the server tests."""

from __future__ import annotations

import functools
import json
from typing import Any

import cv2

from kiosk.client import subprotocols
from server.schemas import encode_frame
from tests.conftest import shared_data_path

EXERCISE = "bicep_curl"
FRAME_MS = 33
REPLY_TIMEOUT_S = 30.0

CLIP = ("video", "bicep_curl_side.mp4")
"""CATALOG: one full curl, side view, 67 frames at 30 fps."""


@functools.cache
def _encoded() -> tuple[bytes, ...]:
    capture = cv2.VideoCapture(str(shared_data_path(*CLIP)))
    out = []
    try:
        while True:
            ok, image = capture.read()
            if not ok:
                break
            out.append(cv2.imencode(".jpg", image)[1].tobytes())
    finally:
        capture.release()
    return tuple(out)


def curl_clip_jpegs() -> tuple[bytes, ...]:
    """Every frame of the clip, JPEG-encoded (skips the calling test when the shared
    data is absent)."""
    shared_data_path(*CLIP)
    jpegs = _encoded()
    assert len(jpegs) > 30, f"expected the whole clip, got {len(jpegs)} frames"
    return jpegs


def lockstep_session(
    ws_url: str,
    token: str | None,
    jpegs: tuple[bytes, ...],
    *,
    start_ms: int = 1,
    resume: str | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Open a `bicep_curl` session at `ws_url`, send every frame waiting for its
    pose, close: (opened, every message after it)."""
    from websockets.sync.client import connect

    seen: list[dict[str, Any]] = []
    with connect(
        ws_url, subprotocols=subprotocols(token), open_timeout=REPLY_TIMEOUT_S
    ) as ws:
        message: dict[str, Any] = {"type": "open", "exercise": EXERCISE}
        if resume is not None:
            message["resume"] = resume
        ws.send(json.dumps(message))
        opened = json.loads(ws.recv(REPLY_TIMEOUT_S))
        assert opened["type"] == "opened", opened
        for i, jpeg in enumerate(jpegs):
            ws.send(encode_frame(start_ms + i * FRAME_MS, jpeg))
            while True:
                seen.append(json.loads(ws.recv(REPLY_TIMEOUT_S)))
                if seen[-1]["type"] in ("pose", "error"):
                    break
        ws.send('{"type": "close"}')
        while seen[-1]["type"] != "summary":
            seen.append(json.loads(ws.recv(REPLY_TIMEOUT_S)))
    return opened, seen
