"""Camera frames that must cost little when they go wrong (issue 18): an image larger
than a kiosk sends is refused from its JPEG header before anything decodes it
(finding 10), and a backend failing frame after frame logs one line per frame with a
count, its traceback once (finding 11)."""

from __future__ import annotations

import itertools
import logging

import cv2
import numpy as np
import pytest

from server.failures import failure_counts, log_repeated_failure
from server.schemas import ErrorCode, ProtocolError, encode_frame
from server.schemas.protocol import check_frame_size, jpeg_size_wh
from server.settings import Settings
from tests.server.conftest import ScriptedBackend, jpeg_bytes
from tests.server.test_ws import open_session, send_frame, serving, until


def _jpeg(width: int, height: int, *params: int) -> bytes:
    ok, buf = cv2.imencode(
        ".jpg", np.full((height, width, 3), 128, np.uint8), list(params)
    )
    assert ok
    return buf.tobytes()


# --- finding 10: the JPEG header before decoding ----------------------------------


@pytest.mark.parametrize(
    ("jpeg", "wh"),
    [
        pytest.param(_jpeg(64, 48), (64, 48), id="baseline"),
        pytest.param(
            _jpeg(640, 360, cv2.IMWRITE_JPEG_PROGRESSIVE, 1),
            (640, 360),
            id="progressive",
        ),
        pytest.param(
            _jpeg(33, 17, cv2.IMWRITE_JPEG_OPTIMIZE, 1), (33, 17), id="odd-optimized"
        ),
    ],
)
def test_jpeg_size_is_read_from_the_header(jpeg: bytes, wh: tuple[int, int]) -> None:
    assert jpeg_size_wh(jpeg) == wh


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(
            cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))[1].tobytes(), id="png"
        ),
        pytest.param(b"\xff\xd8", id="start-only"),
        pytest.param(b"\xff\xd8\xff\xd9", id="start-and-end"),
        pytest.param(b"\xff\xd8\xff\xe0\x00\x10JFIF", id="cut-in-app0"),
    ],
)
def test_no_jpeg_header_is_bad_image(data: bytes) -> None:
    with pytest.raises(ProtocolError) as refused:
        jpeg_size_wh(data)
    assert refused.value.code is ErrorCode.BAD_IMAGE


def test_finding_10_a_frame_larger_than_the_page_sends_is_refused_undecoded() -> None:
    huge = _jpeg(8000, 8000)  # a 1 MB JPEG that decodes to 192 MB
    assert len(huge) < 1 << 20
    limit = Settings().max_frame_pixels
    assert limit == 4 * 640 * 640
    with pytest.raises(ProtocolError) as refused:
        check_frame_size(huge, limit)
    assert refused.value.code is ErrorCode.TOO_LARGE
    assert "8000x8000" in refused.value.detail

    backends: list[ScriptedBackend] = []

    def factory() -> ScriptedBackend:
        backends.append(ScriptedBackend())
        return backends[-1]

    with (
        serving(factory, max_message_bytes=2 << 20) as (client, _),
        client.websocket_connect("/ws") as ws,
    ):
        open_session(ws)
        ws.send_bytes(encode_frame(100, huge))
        error = until(ws, "error")
        assert error["code"] == "too_large", error
        send_frame(ws, 200, _jpeg(1280, 720))  # what a headless client may send
    frames = [shape for b in backends for ts, shape in b.calls if ts > 0]  # not warm-up
    assert frames == [(720, 1280, 3)]


# --- finding 11: one line per failed frame, the traceback once -----------------------


def test_finding_11_failed_frames_log_one_line_each_and_one_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = itertools.count()

    def factory() -> ScriptedBackend:
        # The warm-up and the session's first frame pass, every later frame fails.
        return ScriptedBackend(fail_on=lambda ts: next(calls) >= 2)

    caplog.set_level(logging.ERROR, logger="server.inference")
    with (
        serving(factory) as (client, _),
        client.websocket_connect("/ws") as ws,
    ):
        open_session(ws)
        send_frame(ws, 100)
        for ts in (200, 300, 400, 500):
            ws.send_bytes(encode_frame(ts, jpeg_bytes()))
            assert until(ws, "error")["code"] == "inference_failed"
    lines = [r for r in caplog.records if r.name == "server.inference"]
    assert len(lines) == 4
    counts = [int(r.getMessage().split("(failure ")[1].split()[0]) for r in lines]
    assert counts == [counts[0] + i for i in range(4)]
    assert all("\n" not in r.getMessage() for r in lines)
    assert [r.exc_info is not None for r in lines] == [counts[0] == 1, *[False] * 3]
    assert all("RuntimeError: scripted failure" in r.getMessage() for r in lines)


def test_each_kind_of_failure_gets_its_own_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = logging.getLogger("tests.failures")

    def fail(kind: type[Exception], frame: int) -> Exception:
        try:
            raise kind(f"frame {frame}")
        except Exception as exc:
            return exc

    caplog.set_level(logging.ERROR, logger="tests.failures")
    got = [
        log_repeated_failure(log, fail(kind, i), "frame %d", i)
        for i, kind in enumerate([KeyError, KeyError, LookupError, KeyError])
    ]
    assert got[1] == got[0] + 1 and got[3] == got[0] + 2
    kinds = {kind for kind, where in failure_counts() if where.startswith(__file__)}
    assert {"KeyError", "LookupError"} <= kinds
    assert [r.exc_info is not None for r in caplog.records] == [
        got[0] == 1,
        False,
        got[2] == 1,
        False,
    ]
