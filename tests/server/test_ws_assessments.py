"""Fitness assessments over /ws: `open` with `assessment`, synthetic curls through a
scripted backend (a 4:3 camera, so the aspect correction matters) -> the exact count and
result events; the result stored for a signed-in resident; unknown ids; the aspect of
exercise sessions (server/live.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient, WebSocketTestSession

from exercises.assessments.arm_curl import EXTENDED_DEG, FLEXED_DEG
from exercises.spec import builtin_specs
from server.app import create_app
from server.live import ExerciseLive, start_exercise
from server.recording import CountingRecorder
from server.schemas import ASSESSMENT_IDS, OpenMessage, encode_frame
from server.settings import Settings
from server.store import DatabaseRecorder, Store, repository
from tests.factories import make_frame
from tests.server.conftest import ScriptedBackend, jpeg_bytes
from tests.server.store.helpers import (  # noqa: F401 (fixtures)
    db_url,
    pg_database_url,
    seed_centre,
    sqlite_template,
    store,
)
from vision.types import PoseFrame, Skeleton

CAMERA_WH = (64, 48)  # 4:3: landmarks normalised per axis, as a real camera's are
STEP_MS = 100
COUNTDOWN_MS = 1000
T0_MS = STEP_MS + COUNTDOWN_MS  # ready on the first frame, then the countdown
TEST_MS = 30_000
CYCLE_MS = 2000
FLEX_FROM_MS, FLEX_TO_MS = 600, 1600  # within each cycle after the start
FAST = {"instructions_ms": 0, "ready_hold_ms": 0, "countdown_ms": COUNTDOWN_MS}


def elbow_deg(ts: int) -> float:
    """Arms straight until the start, then one full curl every `CYCLE_MS`."""
    if ts < T0_MS:
        return EXTENDED_DEG + 20
    phase = (ts - T0_MS) % CYCLE_MS
    return FLEXED_DEG - 20 if FLEX_FROM_MS <= phase < FLEX_TO_MS else EXTENDED_DEG + 20


def curl_frame(index: int, ts: int, image: Any) -> list[PoseFrame]:
    h, w = image.shape[:2]
    return [
        make_frame(
            ts, view="side", posture="seated", elbow_deg=elbow_deg(ts), aspect=w / h
        )
    ]


def expected_curls(until_ms: int) -> int:
    """Flexions that began at or before `until_ms`, from the script's own schedule."""
    return sum(1 for i in range(100) if T0_MS + i * CYCLE_MS + FLEX_FROM_MS <= until_ms)


def serve(**kw: Any) -> TestClient:
    app = create_app(
        Settings(stats_every=1000, max_message_bytes=64 * 1024),
        backend_factory=lambda: ScriptedBackend(curl_frame),
        **kw,
    )
    return TestClient(app)


def events_until(ws: WebSocketTestSession, kind: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    for _ in range(5000):
        message = ws.receive_json()
        seen.append(message)
        if message["type"] == kind:
            return seen
    raise AssertionError(f"no {kind!r}")


def run_curls(
    ws: WebSocketTestSession, last_ts: int, **open_fields: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    ws.send_text(
        json.dumps(
            {"type": "open", "v": 1, "assessment": "arm_curl_30s", "timing": FAST}
            | open_fields
        )
    )
    opened = ws.receive_json()
    assert opened["type"] == "opened", opened
    jpeg = jpeg_bytes(*CAMERA_WH)
    seen: list[dict[str, Any]] = []
    for ts in range(STEP_MS, last_ts + 1, STEP_MS):
        ws.send_bytes(encode_frame(ts, jpeg))
        seen += events_until(ws, "pose")
    ws.send_text('{"type": "close", "v": 1}')
    seen += events_until(ws, "summary")
    return opened, seen


def test_arm_curl_counts_each_arm_and_completes_with_norms() -> None:
    recorder = CountingRecorder()
    with serve(recorder=recorder) as client, client.websocket_connect("/ws") as ws:
        opened, seen = run_curls(
            ws, T0_MS + TEST_MS + 500, lang="zh-CN", age_years=72, sex="female"
        )
    info = opened["assessment"]
    assert opened["exercise"] is None
    assert info["id"] == "arm_curl_30s" and info["sides"] == ["left", "right"]
    assert info["duration_ms"] == TEST_MS and info["unit"] == "curls"
    low, high = info["normal_range"]
    assert 0 < low < high
    kinds = [m["type"] for m in seen if m["type"] not in ("pose", "stats")]
    assert kinds[:2] == ["assessment_phase_changed", "assessment_phase_changed"]
    phases = [m["phase"] for m in seen if m["type"] == "assessment_phase_changed"]
    assert phases == ["instructions", "countdown", "running", "result"]
    ticks = [
        m["seconds_left"] for m in seen if m["type"] == "assessment_countdown_ticked"
    ]
    assert ticks == [1]
    started = next(m for m in seen if m["type"] == "assessment_timer_started")
    assert started["started_at_ms"] == T0_MS and started["limit_ms"] == TEST_MS
    n = expected_curls(T0_MS + TEST_MS)
    assert n == 15
    for side in ("left", "right"):
        counts = [
            m["count"]
            for m in seen
            if m["type"] == "assessment_count_changed" and m["side"] == side
        ]
        assert counts == list(range(1, n + 1)), side
    done = [m for m in seen if m["type"] == "assessment_completed"]
    assert len(done) == 1
    result = done[0]["result"]
    assert result["value"] == n and result["per_side"] == {"left": n, "right": n}
    assert result["band"] in ("below", "normal", "above")  # a str enum's value
    assert result["norm"]["sex"] == "female"
    band = "below" if n < low else "above" if n > high else "normal"
    assert result["band"] == band
    assert 1 <= result["percentile"] <= 99
    assert result["explanation"]["zh-CN"] and result["explanation"]["en"]
    assert "stopped_early" not in result["flags"]
    summary = seen[-1]
    assert summary["exercise"] == "arm_curl_30s"
    assert summary["summary"]["value"] == n
    assert recorder.events["AssessmentCompleted"] == 1


def test_closing_mid_test_stops_it_with_the_score_so_far() -> None:
    stop_ms = T0_MS + 7 * CYCLE_MS + 100  # 7 curls done, the 8th at rest
    with serve() as client, client.websocket_connect("/ws") as ws:
        _, seen = run_curls(ws, stop_ms)
    done = [m for m in seen if m["type"] == "assessment_completed"]
    assert len(done) == 1
    result = done[0]["result"]
    assert result["value"] == expected_curls(stop_ms) == 7
    assert "stopped_early" in result["flags"]
    assert result["percentile"] is None and result["band"] is None  # no age given
    assert seen[-1]["summary"]["value"] == 7


def test_closing_before_the_start_cancels() -> None:
    with serve() as client, client.websocket_connect("/ws") as ws:
        _, seen = run_curls(ws, STEP_MS * 3)
    kinds = [m["type"] for m in seen]
    assert "assessment_cancelled" in kinds and "assessment_completed" not in kinds
    assert seen[-1]["summary"] == {}


@pytest.mark.parametrize(
    ("fields", "code", "valid"),
    [
        pytest.param(
            {"assessment": "tug"}, "unknown_assessment", list(ASSESSMENT_IDS), id="id"
        ),
        pytest.param(
            {"assessment": "arm_curl_30s", "exercise": "squat"},
            "bad_message",
            [],
            id="both",
        ),
        pytest.param({}, "bad_message", [], id="neither"),
        pytest.param(
            {"assessment": "arm_curl_30s", "sex": "other"}, "bad_message", [], id="sex"
        ),
    ],
)
def test_bad_assessment_opens_are_errors(
    fields: dict[str, Any], code: str, valid: list[str]
) -> None:
    with serve() as client, client.websocket_connect("/ws") as ws:
        ws.send_text(json.dumps({"type": "open", "v": 1} | fields))
        error = ws.receive_json()
        assert error["type"] == "error" and error["code"] == code, error
        assert error["valid"] == valid
        if valid:
            assert all(i in error["detail"] for i in valid)
        # the socket still works
        ws.send_text(json.dumps({"type": "open", "v": 1, "assessment": "arm_curl_30s"}))
        assert ws.receive_json()["type"] == "opened"


def test_result_is_stored_for_a_signed_in_resident(
    store: Store,  # noqa: F811
    db_url: str,  # noqa: F811
) -> None:
    ids = seed_centre(store)  # born 1948, female
    app_store = Store(db_url)
    with (
        serve(recorder=DatabaseRecorder(app_store), store=app_store) as client,
        client.websocket_connect("/ws") as ws,
    ):
        opened, seen = run_curls(
            ws, T0_MS + TEST_MS, resident=ids["member_code"], age_years=61, sex="male"
        )
    info = opened["assessment"]
    assert info["sex"] == "female" and info["age_years"] >= 77  # the record wins
    result = next(m for m in seen if m["type"] == "assessment_completed")["result"]
    with store.session() as db:
        stored = repository.list_assessments(db, ids["resident_id"])
        session = repository.find_session_by_live_id(db, opened["session_id"])
        assert session is not None
        rows = [
            (a.protocol_id, a.value, a.unit, a.percentile, a.band, a.session_id)
            for a in stored
        ]
        details = stored[0].details if stored else {}
    assert rows == [
        (
            "arm_curl_30s",
            15.0,
            "curls",
            pytest.approx(result["percentile"]),
            result["band"],
            session.id,
        )
    ]
    assert details["per_side"] == {"left": 15, "right": 15}


def test_anonymous_results_are_not_stored(
    store: Store,  # noqa: F811
    db_url: str,  # noqa: F811
) -> None:
    ids = seed_centre(store)
    app_store = Store(db_url)
    with (
        serve(recorder=DatabaseRecorder(app_store), store=app_store) as client,
        client.websocket_connect("/ws") as ws,
    ):
        _, seen = run_curls(ws, T0_MS + TEST_MS)
    assert any(m["type"] == "assessment_completed" for m in seen)
    with store.session() as db:
        assert repository.list_assessments(db, ids["resident_id"]) == []


# --- image aspect ------------------------------------------------------------------


@pytest.mark.parametrize(
    "aspect_wh",
    [
        pytest.param(1.0, id="square"),
        pytest.param(4 / 3, id="4:3"),
        pytest.param(16 / 9, id="16:9"),
    ],
)
def test_exercise_sessions_take_the_frames_aspect(aspect_wh: float) -> None:
    """The frame carries its image's aspect (stamped at decode): the session is built
    once, and neither `open.resolution_wh` nor the feed's image size changes it."""
    spec = builtin_specs()["squat"]
    message = OpenMessage(exercise="squat", resolution_wh=(640, 480))
    live = start_exercise(spec, message, False)(Skeleton.BLAZEPOSE_33)
    assert isinstance(live, ExerciseLive)
    session = live.session
    frame = make_frame(100, view="side", knee_deg=100.0, aspect=aspect_wh)
    live.feed(frame, (100, 100))
    assert live.session is session
    assert session.values["knee"] == pytest.approx(100.0, abs=0.5)


def test_the_assessment_needs_the_aspect_to_see_a_straight_arm() -> None:
    """On a 16:9 camera a 150-degree elbow reads under the ready threshold unless
    x is scaled back: the start needs the aspect."""
    from exercises.assessments.arm_curl import measure_elbows
    from exercises.metrics import Body
    from vision.geometry import isotropic

    aspect = 16 / 9
    frame = make_frame(
        0, view="side", posture="seated", elbow_deg=EXTENDED_DEG + 5, aspect=aspect
    )
    skewed = measure_elbows(Body(frame))["right"]
    fixed = measure_elbows(Body(isotropic(frame)))["right"]
    assert fixed == pytest.approx(EXTENDED_DEG + 5, abs=0.5)
    assert abs(skewed - fixed) > 1.0
