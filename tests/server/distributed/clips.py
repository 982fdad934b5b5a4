"""The shared one-curl clip as a kiosk sends it (JPEG frames), for the server tests."""

from __future__ import annotations

import functools

import cv2

from tests.conftest import shared_data_path

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
