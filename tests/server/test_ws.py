"""The /ws kiosk protocol over starlette's TestClient: open/frames/events/close, every
kind of bad input answered with an error while the session (and others) go on, drop
counting, dropped connections, and real-model rep events on the shared curl clip."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import cv2
import pytest
from starlette.testclient import TestClient, WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from exercises.spec import builtin_specs
from server.app import create_app
from server.recording import CountingRecorder
from server.schemas import encode_frame
from server.settings import Settings
from tests.conftest import shared_data_path
from tests.server.conftest import MediaPipeClock, ScriptedBackend, jpeg_bytes
from vision.backends import create_backend

MAX_BYTES = 64 * 1024
TIMEOUT_S = 10.0


def exercise_id(prefer: str = "curl") -> str:
    ids = sorted(builtin_specs())
    assert ids, "no built-in exercises"
    return next((i for i in ids if prefer in i), ids[0])


@contextlib.contextmanager
def serving(
    backend_factory: Callable[[], Any] | None = None,
    *,
    recorder: CountingRecorder | None = None,
    **settings: Any,
) -> Iterator[tuple[TestClient, Any]]:
    settings.setdefault("max_message_bytes", MAX_BYTES)
    settings.setdefault("stats_every", 1000)
    app = create_app(
        Settings(**settings),
        backend_factory=backend_factory or ScriptedBackend,
        recorder=recorder,
    )
    with TestClient(app) as client:
        yield client, app.state.runtime


def open_session(
    ws: WebSocketTestSession, exercise: str | None = None, **extra: Any
) -> dict[str, Any]:
    ws.send_text(
        json.dumps(
            {"type": "open", "v": 1, "exercise": exercise or exercise_id(), **extra}
        )
    )
    opened = ws.receive_json()
    assert opened["type"] == "opened", opened
    return opened


def until(
    ws: WebSocketTestSession, kind: str, seen: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Read messages until one of `kind` (collecting everything in `seen`)."""
    for _ in range(1000):
        message = ws.receive_json()
        if seen is not None:
            seen.append(message)
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind!r} message in 1000")


def send_frame(
    ws: WebSocketTestSession, ts: int, jpeg: bytes | None = None
) -> dict[str, Any]:
    """Send one frame and wait for its pose (lockstep: nothing is dropped)."""
    ws.send_bytes(encode_frame(ts, jpeg or jpeg_bytes()))
    pose = until(ws, "pose")
    assert pose["timestamp_ms"] == ts
    return pose


def close_session(
    ws: WebSocketTestSession, seen: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    ws.send_text('{"type": "close", "v": 1}')
    return until(ws, "summary", seen)


def wait_for(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


# --- the happy path -------------------------------------------------------------------


def test_open_frames_close() -> None:
    recorder = CountingRecorder()
    exercise = exercise_id()
    spec = builtin_specs()[exercise]
    with (
        serving(recorder=recorder) as (client, runtime),
        client.websocket_connect("/ws") as ws,
    ):
        opened = open_session(ws, exercise, lang="zh-CN", elder=True, resident="r-7")
        assert opened["exercise"]["id"] == exercise
        assert opened["exercise"]["name"] == {
            "en": spec.name["en"],
            "zh-CN": spec.name["zh-CN"],
        }
        assert (opened["lang"], opened["elder"]) == ("zh-CN", True)
        assert (
            opened["options"]["cue_interval_ms"]
            == runtime.settings.elder_cue_interval_ms
        )
        assert len(opened["joint_names"]) == 33 and [11, 13] in opened["bones"]
        seen: list[dict[str, Any]] = []
        for ts in (100, 133, 166):
            pose = send_frame(ws, ts)
            seen.append(pose)
            assert pose["present"] and pose["candidates"] == 1
            assert len(pose["xy"]) == len(pose["visibility"]) == 33
            assert pose["image_wh"] == [64, 48]
            assert pose["processing_ms"] >= pose["inference_ms"] >= 0
        summary = close_session(ws, seen)
        stats = seen[-2]
        assert stats["type"] == "stats"
        assert (
            stats["received"],
            stats["processed"],
            stats["dropped"],
            stats["rejected"],
        ) == (3, 3, 0, 0)
        assert summary["exercise"] == exercise and summary["stats"] == stats
        assert summary["session_id"] == opened["session_id"]
        assert isinstance(summary["summary"], dict) and summary["summary"]
        assert all(m["v"] == 1 for m in seen)
    assert recorder.opened == 1 and recorder.closed == {"CLOSED": 1}


def test_sessions_follow_each_other_on_one_socket() -> None:
    with serving() as (client, _), client.websocket_connect("/ws") as ws:
        first = open_session(ws)
        send_frame(ws, 10)
        send_frame(ws, 20)
        assert close_session(ws)["stats"]["processed"] == 2
        second = open_session(ws)
        assert second["session_id"] != first["session_id"]
        send_frame(ws, 5)  # a new session starts its own clock
        assert close_session(ws)["stats"]["processed"] == 1


def test_stats_are_sent_periodically() -> None:
    with serving(stats_every=2) as (client, _), client.websocket_connect("/ws") as ws:
        open_session(ws)
        seen: list[dict[str, Any]] = []
        for ts in range(1, 6):
            ws.send_bytes(encode_frame(ts, jpeg_bytes()))
            until(ws, "pose", seen)
        close_session(ws, seen)
    stats = [m["processed"] for m in seen if m["type"] == "stats"]
    assert stats == [2, 4, 5]  # every 2nd processed frame, then the final count


# --- bad input ------------------------------------------------------------------------


def _send_text(text: str) -> Callable[[WebSocketTestSession], None]:
    return lambda ws: ws.send_text(text)


def _send_bytes(data: bytes) -> Callable[[WebSocketTestSession], None]:
    return lambda ws: ws.send_bytes(data)


def _repeat_timestamp(ws: WebSocketTestSession) -> None:
    send_frame(ws, 500)
    ws.send_bytes(encode_frame(500, jpeg_bytes()))


BAD_AFTER_OPEN = [
    pytest.param(
        _send_bytes(encode_frame(50, b"\xff\xd8\xff\xe0 not really a jpeg")),
        "bad_image",
        id="corrupt-jpeg",
    ),
    pytest.param(
        _send_bytes(encode_frame(50, b"x" * MAX_BYTES)),
        "too_large",
        id="oversized-frame",
    ),
    pytest.param(
        _send_text(json.dumps({"type": "close", "pad": "x" * MAX_BYTES})),
        "too_large",
        id="oversized-text",
    ),
    pytest.param(_send_text("{'type': 'close'"), "bad_json", id="malformed-json"),
    pytest.param(_send_text('{"type": "jump"}'), "bad_message", id="unknown-type"),
    pytest.param(
        _send_text('{"type": "close", "v": 7}'),
        "unsupported_version",
        id="wrong-version",
    ),
    pytest.param(_send_bytes(b"MC\x01"), "bad_frame", id="short-header"),
    pytest.param(
        _send_bytes(b"JPEG" + bytes(8) + jpeg_bytes()), "bad_frame", id="bad-magic"
    ),
    pytest.param(_repeat_timestamp, "non_monotonic", id="non-monotonic"),
    pytest.param(
        _send_text(json.dumps({"type": "open", "v": 1, "exercise": exercise_id()})),
        "already_open",
        id="open-twice",
    ),
]


@pytest.mark.parametrize(("bad", "code"), BAD_AFTER_OPEN)
def test_bad_input_during_a_session_gets_an_error_and_the_session_goes_on(
    bad: Callable[[WebSocketTestSession], None], code: str
) -> None:
    with serving() as (client, _), client.websocket_connect("/ws") as ws:
        open_session(ws)
        send_frame(ws, 10)
        bad(ws)
        error = until(ws, "error")
        assert error["code"] == code
        assert error["detail"] and error["fatal"] is False
        send_frame(ws, 1000)  # still served
        summary = close_session(ws)
        assert summary["stats"]["processed"] >= 2


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        pytest.param(
            _send_bytes(encode_frame(1, jpeg_bytes())),
            "not_open",
            id="frame-before-open",
        ),
        pytest.param(
            _send_text('{"type": "close"}'), "not_open", id="close-before-open"
        ),
        pytest.param(
            _send_text(
                '{"type": "open", "v": 1, "exercise": "underwater_basket_weaving"}'
            ),
            "unknown_exercise",
            id="unknown-exercise",
        ),
        pytest.param(
            _send_text('{"type": "open", "v": 1, "exercise": ""}'),
            "bad_message",
            id="empty-exercise",
        ),
        pytest.param(_send_text("null"), "bad_message", id="json-null"),
    ],
)
def test_bad_input_before_open_gets_an_error_and_open_still_works(
    bad: Callable[[WebSocketTestSession], None], code: str
) -> None:
    with serving() as (client, _), client.websocket_connect("/ws") as ws:
        bad(ws)
        error = ws.receive_json()
        assert (error["type"], error["code"]) == ("error", code)
        open_session(ws)
        send_frame(ws, 10)
        close_session(ws)


def test_unknown_exercise_lists_the_valid_ids() -> None:
    with serving() as (client, _), client.websocket_connect("/ws") as ws:
        ws.send_text('{"type": "open", "exercise": "yoga_on_a_unicycle"}')
        error = ws.receive_json()
    assert error["code"] == "unknown_exercise"
    assert error["valid"] == sorted(builtin_specs())
    assert all(i in error["detail"] for i in builtin_specs())


def test_a_failing_backend_frame_is_reported_and_the_session_goes_on() -> None:
    def factory() -> ScriptedBackend:
        # The backend's own time: its load ran at 0, the session is rebased to
        # start at 1 (frame 10), so frame 20 is its 11.
        return ScriptedBackend(fail_on=lambda ts: ts == 11)

    with serving(factory) as (client, _), client.websocket_connect("/ws") as ws:
        open_session(ws)
        send_frame(ws, 10)
        ws.send_bytes(encode_frame(20, jpeg_bytes()))
        error = until(ws, "error")
        assert (
            error["code"] == "inference_failed"
            and "scripted failure" in error["detail"]
        )
        send_frame(ws, 30)
        stats = close_session(ws)["stats"]
    assert (stats["processed"], stats["rejected"]) == (2, 1)


# --- isolation, drops, disconnects ----------------------------------------------------


def test_a_second_session_is_unaffected_by_a_misbehaving_one() -> None:
    with serving() as (client, _):
        with (
            client.websocket_connect("/ws") as bad,
            client.websocket_connect("/ws") as good,
        ):
            open_session(bad)
            open_session(good)
            for i in range(5):
                bad.send_text("not json")
                bad.send_bytes(encode_frame(1 + i, b"garbage"))
                bad.send_bytes(b"x" * (MAX_BYTES + 1))
                send_frame(good, 100 + i)
            good_summary = close_session(good)
            seen: list[dict[str, Any]] = []
            bad.send_bytes(encode_frame(99, jpeg_bytes()))  # still served too
            until(bad, "pose", seen)
            bad_summary = close_session(bad, seen)
    assert good_summary["stats"] == {
        "type": "stats",
        "v": 1,
        "received": 5,
        "processed": 5,
        "dropped": 0,
        "rejected": 0,
    }
    errors = [m["code"] for m in seen if m["type"] == "error"]
    stats = bad_summary["stats"]
    assert errors.count("bad_json") == 5 and errors.count("too_large") == 5
    assert errors.count("bad_image") == 5 - stats["dropped"] >= 1
    assert len(errors) == 15 - stats["dropped"]
    assert (stats["received"], stats["processed"]) == (11, 1)
    assert stats["rejected"] == 10 - stats["dropped"]


def test_frames_faster_than_inference_are_dropped_and_counted() -> None:
    gate = threading.Event()
    slow = ScriptedBackend()
    with serving(lambda: slow) as (client, _), client.websocket_connect("/ws") as ws:
        open_session(ws)
        slow.gate = gate  # from now on detect blocks until the test opens the gate
        ws.send_bytes(encode_frame(1, jpeg_bytes()))
        assert slow.entered.wait(TIMEOUT_S)  # frame 1 is in inference
        for ts in range(2, 11):
            ws.send_bytes(encode_frame(ts, jpeg_bytes()))
        ws.send_text("barrier")  # answered only after every frame above was received
        assert until(ws, "error")["code"] == "bad_json"
        gate.set()
        seen: list[dict[str, Any]] = []
        summary = close_session(ws, seen)
    poses = [m["timestamp_ms"] for m in seen if m["type"] == "pose"]
    assert poses == [1, 10]  # the newest frame won; 2..9 never reached the model
    assert [ts for ts, _ in slow.calls[1:]] == [1, 10]
    stats = summary["stats"]
    assert (
        stats["received"],
        stats["processed"],
        stats["dropped"],
        stats["rejected"],
    ) == (10, 2, 8, 0)


def test_a_dropped_connection_mid_session_is_recorded_and_harms_nothing() -> None:
    recorder = CountingRecorder()
    with serving(recorder=recorder) as (client, runtime):
        with client.websocket_connect("/ws") as ws:
            open_session(ws)
            send_frame(ws, 10)
            ws.send_bytes(encode_frame(20, jpeg_bytes()))  # maybe still in inference
        wait_for(
            lambda: recorder.closed["DISCONNECTED"] == 1,
            "the disconnect to be recorded",
        )
        wait_for(
            lambda: runtime.admission.connections == 0, "the connection to be released"
        )
        assert recorder.opened == 1 and not recorder.active
        with client.websocket_connect("/ws") as ws:  # the server goes on
            open_session(ws)
            send_frame(ws, 10)
            close_session(ws)
        assert client.get("/health").json()["ready"] is True
    assert recorder.closed == {"DISCONNECTED": 1, "CLOSED": 1}


def test_more_kiosks_than_max_sessions_get_busy() -> None:
    with serving(max_sessions=1) as (client, runtime):
        with client.websocket_connect("/ws") as first:
            open_session(first)
            with client.websocket_connect("/ws") as second:
                error = second.receive_json()
                assert (error["code"], error["fatal"]) == ("busy", True)
                with pytest.raises(WebSocketDisconnect) as info:
                    second.receive_json()
                assert info.value.code == 1013
            send_frame(first, 1)  # the admitted kiosk is unaffected
            close_session(first)
        wait_for(
            lambda: runtime.admission.connections == 0, "the connection to be released"
        )
        with client.websocket_connect("/ws") as again:  # a slot is free again
            open_session(again)


# --- the real model -------------------------------------------------------------------


@pytest.mark.model
@pytest.mark.slow
def test_real_model_counts_the_curl_in_the_shared_clip() -> None:
    video = shared_data_path("video", "bicep_curl_side.mp4")
    capture = cv2.VideoCapture(str(video))
    fps = capture.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(cv2.imencode(".jpg", image)[1].tobytes())
    capture.release()
    assert len(frames) > 30
    recorder = CountingRecorder()
    seen: list[dict[str, Any]] = []
    real = serving(lambda: create_backend("mediapipe"), recorder=recorder)
    with real as (client, runtime), client.websocket_connect("/ws") as ws:
        assert runtime.worker.backend_name == "mediapipe"
        open_session(ws, exercise_id("curl"))
        for i, jpeg in enumerate(frames):
            ws.send_bytes(encode_frame(1 + round(i * 1000 / fps), jpeg))
            until(ws, "pose", seen)
        summary = close_session(ws, seen)
    poses = [m for m in seen if m["type"] == "pose"]
    assert sum(p["present"] for p in poses) >= 0.9 * len(frames)  # a real person, found
    reps = [m for m in seen if m["type"] == "rep_completed"]
    assert len(reps) == 1, [
        m["type"] for m in seen if m["type"] != "pose"
    ]  # CATALOG: one curl
    assert 0 <= reps[0]["score"] <= 100 and reps[0]["count"] == 1
    assert summary["stats"]["processed"] == len(frames)
    assert recorder.events["RepCompleted"] == 1


# --- isolation between sessions (issue 18, finding 1) --------------------------------


@pytest.fixture(scope="module")
def live_pool() -> Iterator[str]:
    """A live server whose backends have MediaPipe's clock (int64 microseconds that
    wrap), one pooled: the session after a hostile one gets the backend it used."""
    from server.inference import InferenceWorker
    from tests.live_server import serve_in_thread

    settings = Settings(max_message_bytes=MAX_BYTES, stats_every=1000)
    app = create_app(
        settings,
        worker=InferenceWorker(MediaPipeClock, max_idle_backends=1),
    )
    with serve_in_thread(app, **settings.uvicorn_websocket_options) as port:
        yield f"ws://127.0.0.1:{port}/ws"


def _lockstep(ws: Any, ts: int) -> None:
    """One clip frame, waited for: it must come back as a pose."""
    ws.send(encode_frame(ts, jpeg_bytes()))
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        message = json.loads(ws.recv(timeout=max(0.0, deadline - time.monotonic())))
        assert message["type"] != "error", message
        if message["type"] == "pose" and message["timestamp_ms"] == ts:
            return


@contextlib.contextmanager
def _ordinary(url: str) -> Iterator[Any]:
    from websockets.sync.client import connect

    with connect(url, max_size=64 << 20, ping_interval=None) as ws:
        ws.send(json.dumps({"type": "open", "v": 1, "exercise": exercise_id()}))
        while json.loads(ws.recv(timeout=TIMEOUT_S))["type"] != "opened":
            pass
        yield ws


def test_finding_1_whatever_one_session_sends_another_sessions_frames_are_processed(
    live_pool: str,
) -> None:
    """Hypothesis scripts (`benchmarks/wire_fuzz.py`: any timestamps up to 2^64 - 1,
    broken headers and images, hostile JSON, any order) on one socket; a session
    beside it and the next session (on the backend the script's session used) get
    every frame processed."""
    from hypothesis import given
    from hypothesis import strategies as st
    from websockets.sync.client import connect

    from benchmarks.wire_fuzz import (
        SPECIAL_TIMESTAMPS_MS,
        Corpus,
        kiosk_scripts,
        play,
    )
    from tests.server.fuzz_world import fuzz_settings

    corpus = Corpus.synthetic(MAX_BYTES)
    opening = json.dumps({"type": "open", "v": 1, "exercise": exercise_id()})
    # Ordinary frames at any times: what reaches the model (the generic scripts
    # below mostly break the header or the image first).
    timed = st.lists(
        st.one_of(
            st.sampled_from(SPECIAL_TIMESTAMPS_MS),
            st.integers(0, 2**64 - 1),
            st.integers(1, 5000),
        ),
        min_size=1,
        max_size=6,
    ).map(lambda times: [opening, *(encode_frame(t, jpeg_bytes()) for t in times)])

    @fuzz_settings(20)
    @given(
        script=st.one_of(
            timed, kiosk_scripts(corpus, sorted(builtin_specs()), max_messages=12)
        )
    )
    def run(script: list[Any]) -> None:
        with _ordinary(live_pool) as beside:
            _lockstep(beside, 1)
            with connect(live_pool, max_size=64 << 20, ping_interval=None) as ws:
                played = play(ws, script, TIMEOUT_S)
                assert played.answered and played.close_code is None, played
                _lockstep(beside, 2)
        with _ordinary(live_pool) as after:
            for ts in (1, 68, 135):
                _lockstep(after, ts)

    run()
