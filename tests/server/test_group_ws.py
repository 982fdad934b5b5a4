"""`/ws/group` end to end: real frames of the shared two-person clip through the
multi-person model, the tracker and the group engine, with the records in SQLite; and
the protocol's error paths with a scripted backend (no model).

The clip's test needs ../shared/data (skipped without it) and the ONNX models; a
frame costs ~0.2-0.5 s of CPU, so each test sends a few and waits for each result.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from starlette.testclient import TestClient, WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from server.app import create_app
from server.group import FOLLOW_EXERCISE_ID
from server.schemas import encode_frame
from server.settings import Settings
from server.store import DatabaseRecorder, Store, repository, upgrade_database
from server.store.models import ExerciseSession, SessionStatus
from tests.conftest import ROOT, shared_data_path
from tests.server.conftest import (
    ScriptedBackend,
    jpeg_bytes,
    kiosk_protocols,
    standing_frame,
)
from tests.server.store.helpers import seed_centre
from vision.types import PoseFrame

CLIP = ("video", "group2_taichi_beach.mp4")
CLIP_FRAME_MS = 60  # 16.67 fps
WIDE_SHOT_FRAMES = 30  # frames 0-29 (1.8 s): both people in full (CATALOG.tsv)


def _models_present() -> bool:
    return all(
        (ROOT / "models" / name).is_file()
        for name in ("pose_detector.onnx", "pose_landmark_full.onnx")
    )


def clip_jpegs() -> list[tuple[int, bytes]]:
    """(timestamp_ms, JPEG) of the clip's wide shot."""
    path = shared_data_path(*CLIP)
    if not _models_present():
        pytest.skip("ONNX pose models not in models/")
    capture = cv2.VideoCapture(str(path))
    out = []
    try:
        for index in range(WIDE_SHOT_FRAMES):
            ok, image = capture.read()
            if not ok:
                break
            ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
            assert ok
            out.append((index * CLIP_FRAME_MS + 1, buf.tobytes()))
    finally:
        capture.release()
    assert len(out) == WIDE_SHOT_FRAMES
    return out


def send(ws: WebSocketTestSession, **message: Any) -> None:
    ws.send_text(json.dumps({"v": 1, **message}))


def until(
    ws: WebSocketTestSession, kind: str, seen: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The next `kind` message; the ones before it are appended to `seen`."""
    for _ in range(500):
        message: dict[str, Any] = ws.receive_json()
        if message["type"] == kind:
            return message
        if seen is not None:
            seen.append(message)
    raise AssertionError(f"no {kind!r} message in 500")


def pose_after(
    ws: WebSocketTestSession,
    timestamp_ms: int,
    jpeg: bytes,
    seen: list[dict[str, Any]],
) -> dict[str, Any]:
    ws.send_bytes(encode_frame(timestamp_ms, jpeg))
    pose = until(ws, "group_pose", seen)
    assert pose["timestamp_ms"] == timestamp_ms
    return pose


@pytest.fixture
def records(tmp_path: Path) -> Iterator[tuple[Store, str, dict[str, Any]]]:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    upgrade_database(url)
    store = Store(url)
    ids = seed_centre(store)
    try:
        yield store, url, ids
    finally:
        store.dispose()


def rows(store: Store) -> list[ExerciseSession]:
    with store.session() as db:
        found = db.query(ExerciseSession).order_by(ExerciseSession.id).all()
        db.expunge_all()
        return found


# --------------------------------------------------------------------- real frames


@pytest.mark.parametrize("ending", ["close", "drop"], ids=["closed", "dropped"])
def test_two_people_on_the_real_clip(
    records: tuple[Store, str, dict[str, Any]], ending: str
) -> None:
    frames = clip_jpegs()
    store, url, ids = records
    recorder = DatabaseRecorder(store)
    app = create_app(
        Settings(db_url=url, stats_every=1000),
        backend_factory=ScriptedBackend,  # the kiosk's; the group's is the real one
        recorder=recorder,
        store=store,
    )
    seen: list[dict[str, Any]] = []
    try:
        with TestClient(app) as client, client.websocket_connect("/ws/group") as ws:
            send(ws, type="open", mode="follow", lang="zh-CN")
            opened = until(ws, "group_opened", seen)
            assert (opened["mode"], opened["elder"], opened["exercise"]) == (
                "follow",
                True,
                None,
            )
            assert opened["skeleton"] == "blazepose_33"
            poses = [pose_after(ws, *frames[i], seen) for i in (0, 2)]
            people = poses[-1]["people"]
            assert len(people) == 2
            assert len({p["track_id"] for p in people}) == 2
            roles = {p["role"]: p for p in people}
            assert set(roles) == {"instructor", "participant"}
            leader, follower = roles["instructor"], roles["participant"]
            assert (follower["number"], leader["number"]) == (1, None)
            assert len(leader["xy"]) == len(leader["visibility"]) == 33
            changed = [m for m in seen if m["type"] == "instructor_changed"]
            assert [(m["track_id"], m["automatic"]) for m in changed] == [
                (leader["track_id"], True)
            ]
            if ending == "close":
                # Staff tap the other person as the instructor; the first one joins
                # (the frame's events follow its group_pose).
                send(ws, type="set_instructor", track_id=follower["track_id"])
                seen.clear()
                pose = pose_after(ws, *frames[4], seen)
                assert {p["track_id"]: p["role"] for p in pose["people"]} == {
                    follower["track_id"]: "instructor",
                    leader["track_id"]: "participant",
                }
                leader, follower = follower, leader
            # Unknown member code or track, a bad frame: errors; the session goes on.
            send(ws, type="check_in", track_id=follower["track_id"], resident="NOPE-1")
            assert until(ws, "error", seen)["code"] == "unknown_resident"
            send(
                ws,
                type="check_in",
                track_id=leader["track_id"],  # the instructor is no participant
                resident=ids["member_code"],
            )
            assert until(ws, "error", seen)["code"] == "unknown_participant"
            ws.send_bytes(b"MC")
            assert until(ws, "error", seen)["code"] == "bad_frame"
            send(
                ws,
                type="check_in",
                track_id=follower["track_id"],
                resident=ids["member_code"],
            )
            checked = until(ws, "checked_in", seen)
            if ending == "close":
                changed = [m for m in seen if m["type"] == "instructor_changed"]
                assert [(m["track_id"], m["automatic"]) for m in changed] == [
                    (leader["track_id"], False)
                ]
                joined = [m for m in seen if m["type"] == "participant_joined"]
                assert [m["track_id"] for m in joined] == [follower["track_id"]]
            assert checked == {
                "type": "checked_in",
                "v": 1,
                "track_id": follower["track_id"],
                "number": 1,
                "resident": ids["member_code"],
                "name": "Lin Riverside",
            }
            pose = pose_after(ws, *frames[6], seen)
            names = {p["track_id"]: p["name"] for p in pose["people"]}
            assert names == {
                follower["track_id"]: "Lin Riverside",
                leader["track_id"]: None,
            }
            if ending == "close":
                send(ws, type="close")
                stats = until(ws, "stats")
                summary = until(ws, "group_summary")
                assert summary["session_id"] == opened["session_id"]
                assert summary["stats"] == stats
                assert (stats["processed"], stats["rejected"]) == (4, 1)
                listed = [
                    (p["track_id"], p["resident"], p["name"])
                    for p in summary["participants"]
                ]
                assert (
                    follower["track_id"],
                    ids["member_code"],
                    "Lin Riverside",
                ) in listed
            # Leaving the block without `close` drops the connection.
        recorder.flush(10)
    finally:
        recorder.close()
    (row,) = rows(store)
    assert (row.exercise_id, row.resident_id, row.language, row.elder_mode) == (
        FOLLOW_EXERCISE_ID,
        ids["resident_id"],
        "zh-CN",
        True,
    )
    assert row.status == (
        SessionStatus.COMPLETED if ending == "close" else SessionStatus.INTERRUPTED
    )


# --------------------------------------------------------------------- protocol


def two_people(index: int, timestamp_ms: int, image: Any) -> list[PoseFrame]:
    """A scripted multi-person backend's find: a tall person in the middle and a
    smaller one on the left."""
    a = standing_frame(timestamp_ms)
    b = PoseFrame(
        (a.xyz * np.array([0.5, 0.6, 1.0], np.float32)).astype(np.float32),
        a.visibility,
        timestamp_ms,
    )
    return [a, b]


@pytest.fixture
def scripted_client() -> Iterator[TestClient]:
    app = create_app(
        Settings(stats_every=2),
        backend_factory=ScriptedBackend,
        group_backend_factory=lambda: ScriptedBackend(two_people),
    )
    with TestClient(app) as client:
        yield client


@pytest.mark.parametrize(
    ("message", "code"),
    [
        pytest.param("not json", "bad_json", id="bad-json"),
        pytest.param('{"type": "dance", "v": 1}', "bad_message", id="unknown-type"),
        pytest.param('{"type": "close", "v": 2}', "unsupported_version", id="v2"),
        pytest.param(
            '{"type": "open", "v": 1, "mode": "same_exercise"}',
            "bad_message",
            id="same-exercise-without-exercise",
        ),
        pytest.param(
            '{"type": "open", "v": 1, "mode": "follow", "max_participants": 9}',
            "bad_message",
            id="too-many-seats",
        ),
        pytest.param(
            '{"type": "open", "v": 1, "mode": "same_exercise", "exercise": "nope"}',
            "unknown_exercise",
            id="unknown-exercise",
        ),
        pytest.param(
            '{"type": "check_in", "v": 1, "track_id": 2, "resident": "A"}',
            "not_open",
            id="check-in-before-open",
        ),
        pytest.param(b"MC\x01\x00", "not_open", id="short-frame-first"),
        pytest.param(encode_frame(5, jpeg_bytes()), "not_open", id="frame-first"),
    ],
)
def test_bad_input_before_open_gets_an_error_and_open_still_works(
    scripted_client: TestClient, message: str | bytes, code: str
) -> None:
    with scripted_client.websocket_connect("/ws/group") as ws:
        if isinstance(message, bytes):
            ws.send_bytes(message)
        else:
            ws.send_text(message)
        error = until(ws, "error")
        assert (error["code"], error["fatal"]) == (code, False)
        send(ws, type="open", mode="follow")
        assert until(ws, "group_opened")["max_participants"] == 8


def test_session_with_a_scripted_backend(scripted_client: TestClient) -> None:
    with scripted_client.websocket_connect("/ws/group") as ws:
        send(ws, type="open", mode="follow", max_participants=1, instructor_track_id=1)
        until(ws, "group_opened")
        seen: list[dict[str, Any]] = []
        pose = pose_after(ws, 10, jpeg_bytes(), seen)
        assert [(p["track_id"], p["role"], p["number"]) for p in pose["people"]] == [
            (1, "instructor", None),
            (2, "participant", 1),
        ]
        # No records store: check-ins and acknowledgements are refused, politely.
        for message, code in (
            ({"type": "check_in", "track_id": 2, "resident": "A"}, "no_records"),
            (
                {"type": "check_in", "track_id": 9, "resident": "A"},
                "unknown_participant",
            ),
            ({"type": "check_out", "track_id": 2}, "unknown_participant"),
            ({"type": "set_instructor", "track_id": 9}, "unknown_participant"),
            ({"type": "acknowledge_alert", "alert_id": 1}, "no_records"),
            ({"type": "open", "mode": "follow"}, "already_open"),
        ):
            send(ws, **message)
            assert until(ws, "error")["code"] == code, message
        ws.send_bytes(encode_frame(10, jpeg_bytes()))
        assert until(ws, "error")["code"] == "non_monotonic"
        ws.send_bytes(encode_frame(20, b"not a jpeg"))
        assert until(ws, "error")["code"] == "bad_image"
        pose_after(ws, 30, jpeg_bytes(), seen)
        assert until(ws, "stats")["processed"] == 2
        send(ws, type="close")
        summary = until(ws, "group_summary")
        assert summary["participants"] == [
            {
                "track_id": 2,
                "number": 1,
                "resident": None,
                "name": None,
                "reps": 0,
                "in_step_mean": None,
                "joined_ms": 10,
                "last_seen_ms": 30,
                "session": None,
            }
        ]
        assert (summary["stats"]["processed"], summary["stats"]["rejected"]) == (2, 2)
        # A second session on the same connection starts afresh.
        send(ws, type="open", mode="follow")
        assert until(ws, "group_opened")["session_id"] != summary["session_id"]


def test_group_page_is_served(scripted_client: TestClient) -> None:
    page = ROOT / "kiosk" / "web" / "group" / "index.html"
    if not page.is_file():
        pytest.skip("kiosk/web/group/index.html not written yet")
    response = scripted_client.get("/group")
    assert response.status_code == 200
    assert response.text == page.read_text(encoding="utf-8")
    assert response.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize("with_records", [True, False], ids=["records", "no-records"])
def test_a_fall_raises_an_alert_on_the_screen(
    records: tuple[Store, str, dict[str, Any]], with_records: bool
) -> None:
    from tests.exercises.test_falls import fall, frames, get_up, lie, stand

    timeline = [stand(2.0), fall(0.7), lie(5.0), get_up(1.5), stand(1.5)]
    scripted = {
        f.timestamp_ms: [standing_frame(f.timestamp_ms), f]
        for f in frames(timeline, fps=15.0)
    }
    store, url, ids = records
    app = create_app(
        Settings(db_url=url, stats_every=1000),
        backend_factory=ScriptedBackend,
        group_backend_factory=lambda: ScriptedBackend(
            lambda i, ts, image: scripted.get(ts, [])
        ),
        store=store if with_records else None,
    )
    seen: list[dict[str, Any]] = []
    with TestClient(app) as client, client.websocket_connect("/ws/group") as ws:
        send(ws, type="open", mode="follow", instructor_track_id=1)
        until(ws, "group_opened")
        jpeg = jpeg_bytes(96, 96)  # square, like the synthetic fall
        poses = [pose_after(ws, ts, jpeg, seen) for ts in scripted]
        send(ws, type="close")
        until(ws, "group_summary", seen)
        kinds = [m["type"] for m in seen]
        falls = [
            k for k in kinds if k in ("fall_detected", "alert_raised", "fall_cleared")
        ]
        assert falls == ["fall_detected", "alert_raised", "fall_cleared"]
        (alert,) = [m for m in seen if m["type"] == "alert_raised"]
        assert {k: alert[k] for k in ("kind", "track_id", "number", "name")} == {
            "kind": "fall",
            "track_id": 2,
            "number": 1,
            "name": None,
        }
        fallen = [m["timestamp_ms"] for m in poses for p in m["people"] if p["fallen"]]
        (detected,) = [m for m in seen if m["type"] == "fall_detected"]
        (cleared,) = [m for m in seen if m["type"] == "fall_cleared"]
        assert fallen == [  # shown fallen from the alert until they are up
            ts
            for ts in scripted
            if detected["timestamp_ms"] <= ts < cleared["timestamp_ms"]
        ]
        if not with_records:
            assert alert["alert_id"] is None
            return
        assert isinstance(alert["alert_id"], int)
        send(ws, type="acknowledge_alert", alert_id=alert["alert_id"])  # after close
        assert until(ws, "alert_acknowledged") == {
            "type": "alert_acknowledged",
            "v": 1,
            "alert_id": alert["alert_id"],
        }
        send(ws, type="acknowledge_alert", alert_id=alert["alert_id"] + 99)
        assert until(ws, "error")["code"] == "bad_message"
    with store.session() as db:
        (row,) = repository.list_alerts(db, ids["centre_id"], open_only=False)
        assert (row.id, row.track_id, row.seat_number) == (alert["alert_id"], 2, 1)
        assert row.cleared_at is not None and row.acknowledged_at is not None


def test_with_kiosk_auth_the_screen_needs_its_token_and_records_name_its_kiosk(
    records: tuple[Store, str, dict[str, Any]],
) -> None:
    store, url, ids = records
    recorder = DatabaseRecorder(store)
    app = create_app(
        Settings(db_url=url, kiosk_auth=True),
        backend_factory=ScriptedBackend,
        group_backend_factory=lambda: ScriptedBackend(two_people),
        recorder=recorder,
        store=store,
    )
    try:
        with TestClient(app) as client:
            for refused in ("/ws/group", "/ws/group?token=forged"):
                with (
                    pytest.raises(WebSocketDisconnect),
                    client.websocket_connect(refused) as ws,
                ):
                    ws.receive_json()
            token = ids["kiosk_token"]
            with client.websocket_connect(
                "/ws/group", subprotocols=kiosk_protocols(token)
            ) as ws:
                send(ws, type="open", mode="follow", instructor_track_id=1)
                until(ws, "group_opened")
                pose_after(ws, 10, jpeg_bytes(), [])
                send(ws, type="check_in", track_id=2, resident=ids["member_code"])
                assert until(ws, "checked_in")["name"] == "Lin Riverside"
                send(ws, type="check_out", track_id=2)
                assert until(ws, "checked_out") == {
                    "type": "checked_out",
                    "v": 1,
                    "track_id": 2,
                    "number": 1,
                }
        recorder.flush(10)
    finally:
        recorder.close()
    (row,) = rows(store)
    assert (row.kiosk_id, row.resident_id, row.status) == (
        ids["kiosk_id"],
        ids["resident_id"],
        SessionStatus.COMPLETED,
    )


@pytest.mark.parametrize(
    "hostile_ms", [2**53, 2**63 - 1, 2**63, 2**64 - 1, 10 + 3_600_001]
)
def test_finding_1_group_frame_times_are_bounded(
    scripted_client: TestClient, hostile_ms: int
) -> None:
    """The group engine's int64 times overflowed from 2^63 (the frame lost, a
    traceback logged); now the socket refuses such a frame, or a jump of more than
    an hour, with `bad_timestamp`, and the session goes on."""
    with scripted_client.websocket_connect("/ws/group") as ws:
        send(ws, type="open", mode="follow", instructor_track_id=1)
        until(ws, "group_opened")
        pose_after(ws, 10, jpeg_bytes(), [])
        ws.send_bytes(encode_frame(hostile_ms, jpeg_bytes()))
        assert until(ws, "error")["code"] == "bad_timestamp"
        assert len(pose_after(ws, 77, jpeg_bytes(), [])["people"]) == 2
