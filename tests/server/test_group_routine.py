"""A Baduanjin class on the group screen's socket (`/ws/group`, mode `routine`): two
synthetic people side by side, built from the routine's own key poses, through a
scripted multi-person backend, the tracker and `RoutineClass`, with the records in
SQLite; and the mode's bad input."""

from __future__ import annotations

import functools
from typing import Any

import pytest
from starlette.testclient import TestClient

from exercises.routine import get_routine
from server.app import create_app
from server.settings import Settings
from server.store import DatabaseRecorder, Store, repository
from server.store.models import ExerciseSession, SessionStatus
from tests.routine_performance import Part, perform
from tests.server import test_group_ws
from tests.server.conftest import ScriptedBackend, jpeg_bytes
from tests.server.programme_scripts import to_blazepose
from tests.server.test_group_ws import pose_after, send, until
from vision.types import PoseFrame

STEP_MS = 100
ELDER_PACE = 1.3  # the class runs at the elder pace: so do its people
PLANS = {
    "left": (Part("preparation", 1), Part("hold_up_heavens", 3)),
    "right": (Part("preparation", 1), Part("hold_up_heavens", 2)),
}
"""Who does what: the left person three rounds of section one, the right two."""
PICTURE_WH = (128, 64)  # two 1:1 halves

# fixtures: a fresh SQLite store of one centre; the app with two people standing
records = test_group_ws.records
scripted_client = test_group_ws.scripted_client


@functools.cache
def class_frames() -> dict[int, list[PoseFrame]]:
    """timestamp_ms -> the two people the backend finds, left then right, each in
    their half of a 2:1 picture; someone who has done their plan stands still."""
    routine = get_routine("baduanjin")
    people = [
        perform(routine, plan, fps=1000 / STEP_MS, pace=ELDER_PACE)[0]
        for plan in PLANS.values()
    ]
    n = max(len(p) for p in people)
    out: dict[int, list[PoseFrame]] = {}
    for i in range(n):
        ts = i * STEP_MS + 1
        found = []
        for k, frames in enumerate(people):
            f = frames[min(i, len(frames) - 1)]
            xyz = f.xyz.copy()
            xyz[:, 0] = (k + xyz[:, 0]) / 2.0
            tiled = PoseFrame(xyz, f.visibility, ts, f.skeleton, aspect_wh=2.0)
            found.append(to_blazepose(tiled))
        out[ts] = found
    return out


def serve(
    scripted: dict[int, list[PoseFrame]], url: str, store: Store, **kw: Any
) -> TestClient:
    """The app with a records store and a group backend that finds `scripted`."""
    return TestClient(
        create_app(
            Settings(db_url=url, stats_every=100000),
            backend_factory=ScriptedBackend,
            group_backend_factory=lambda: ScriptedBackend(
                lambda i, ts, image: scripted.get(ts, [])
            ),
            store=store,
            **kw,
        )
    )


def test_a_baduanjin_class_of_two(records: tuple[Store, str, dict[str, Any]]) -> None:
    scripted = class_frames()
    stamps = list(scripted)
    store, url, ids = records
    recorder = DatabaseRecorder(store)
    seen: list[dict[str, Any]] = []
    jpeg = jpeg_bytes(*PICTURE_WH)
    try:
        with (
            serve(scripted, url, store, recorder=recorder) as client,
            client.websocket_connect("/ws/group") as ws,
        ):
            send(ws, type="open", mode="routine", routine="baduanjin", lang="zh-CN")
            opened = until(ws, "group_opened")
            assert (opened["mode"], opened["elder"], opened["exercise"]) == (
                "routine",
                True,
                None,
            )
            programme = opened["programme"]
            assert programme["id"] == "baduanjin" and programme["kind"] == "routine"
            assert programme["name"] == {
                "en": "Baduanjin (Eight Pieces of Brocade)",
                "zh-CN": "八段锦",
            }
            first = pose_after(ws, stamps[0], jpeg, seen)
            left, right = (p["track_id"] for p in first["people"])
            assert [(p["role"], p["number"]) for p in first["people"]] == [
                ("participant", 1),
                ("participant", 2),
            ]
            send(ws, type="check_in", track_id=left, resident=ids["member_code"])
            assert until(ws, "checked_in", seen)["name"] == "Lin Riverside"
            poses = [pose_after(ws, ts, jpeg, seen) for ts in stamps[1:3]]
            send(ws, type="control", action="pause")
            paused = until(ws, "participant_event", seen)
            assert paused["event_type"] == "RoutinePaused"
            send(ws, type="control", action="resume")
            poses += [pose_after(ws, ts, jpeg, seen) for ts in stamps[3:]]
            send(ws, type="close")
            summary = until(ws, "group_summary", seen)
        recorder.flush(10)
    finally:
        recorder.close()

    # The room hears each section once, from the class's one guide; nobody's own.
    spoken = [m["section_id"] for m in seen if m["type"] == "section_started"]
    assert spoken == ["preparation", "hold_up_heavens"]
    assert next(m for m in seen if m["type"] == "section_started")["say"]["zh-CN"]
    inner = [m["event_type"] for m in seen if m["type"] == "participant_event"]
    assert "SectionStarted" not in inner and "RestStarted" not in inner
    # Each tile: the section under way and its rounds, exactly.
    target = get_routine("baduanjin").section("hold_up_heavens").rounds
    places = {p["track_id"]: p["routine"] for p in poses[-1]["people"]}
    assert places == {
        left: {
            "section_id": "hold_up_heavens",
            "index": 1,
            "rounds": 3,
            "target_rounds": target,
        },
        right: {
            "section_id": "hold_up_heavens",
            "index": 1,
            "rounds": 2,
            "target_rounds": target,
        },
    }
    reps = {p["track_id"]: p["reps"] for p in poses[-1]["people"]}
    assert reps == {left: 4, right: 3}  # rounds of every section
    rounds = [
        (m["track_id"], m["event"]["section_id"])
        for m in seen
        if m["type"] == "participant_event" and m["event_type"] == "RoundCompleted"
    ]
    assert sorted(rounds) == sorted(
        [(left, "preparation")]
        + [(left, "hold_up_heavens")] * 3
        + [(right, "preparation")]
        + [(right, "hold_up_heavens")] * 2
    )
    # The summary: every participant's sections, closed and scored at the end.
    assert (summary["mode"], summary["exercise"]) == ("routine", "baduanjin")
    by_track = {p["track_id"]: p for p in summary["participants"]}
    assert (by_track[left]["name"], by_track[right]["name"]) == ("Lin Riverside", None)
    assert (by_track[left]["reps"], by_track[right]["reps"]) == (4, 3)
    for track, n in ((left, 3), (right, 2)):
        sections = by_track[track]["session"]["sections"]
        assert by_track[track]["session"]["kind"] == "routine"
        assert [(s["section_id"], s["status"], s["rounds"]) for s in sections[:3]] == [
            ("preparation", "done", 1),
            ("hold_up_heavens", "done", n),
            ("draw_the_bow", "not_seen", 0),  # finished at close
        ]
        assert all(s["score"] > 50 for s in sections[:2])
    # The checked-in person's record: a routine session with its sections, as the
    # kiosk's; the anonymous one left none.
    with store.session() as db:
        (row,) = db.query(ExerciseSession).all()
        assert (row.exercise_id, row.resident_id, row.status) == (
            "baduanjin",
            ids["resident_id"],
            SessionStatus.COMPLETED,
        )
        (result,) = repository.list_programme_results(db, ids["resident_id"])
        assert (result.kind, result.programme_id) == ("routine", "baduanjin")
        stored = [(s.section_id, s.status, s.rounds) for s in result.sections[:2]]
        assert stored == [("preparation", "done", 1), ("hold_up_heavens", "done", 3)]
        assert (
            result.sections[1].score
            == by_track[left]["session"]["sections"][1]["score"]
        )


@pytest.mark.parametrize(
    ("message", "code", "valid"),
    [
        pytest.param(
            {"type": "open", "mode": "routine"}, "bad_message", [], id="no-routine"
        ),
        pytest.param(
            {"type": "open", "mode": "follow", "routine": "baduanjin"},
            "bad_message",
            [],
            id="routine-in-follow-mode",
        ),
        pytest.param(
            {"type": "open", "mode": "routine", "routine": "tai_chi"},
            "unknown_programme",
            ["baduanjin"],
            id="unknown-routine",
        ),
        pytest.param(
            {"type": "open", "mode": "routine", "routine": "posture_screen"},
            "unknown_programme",
            ["baduanjin"],
            id="not-a-routine",
        ),
        pytest.param(
            {"type": "control", "action": "pause"},
            "not_open",
            ["open"],
            id="control-first",
        ),
        pytest.param(
            {"type": "control", "action": "rewind"},
            "bad_message",
            [],
            id="unknown-control",
        ),
    ],
)
def test_bad_routine_input_gets_a_clear_error(
    scripted_client: TestClient, message: dict[str, Any], code: str, valid: list[str]
) -> None:
    with scripted_client.websocket_connect("/ws/group") as ws:
        send(ws, **message)
        error = until(ws, "error")
        assert (error["code"], error["fatal"], error["valid"]) == (code, False, valid)
        send(ws, type="open", mode="routine", routine="baduanjin")
        assert until(ws, "group_opened")["programme"]["id"] == "baduanjin"


def test_controls_and_instructors_belong_to_their_modes(
    scripted_client: TestClient,
) -> None:
    with scripted_client.websocket_connect("/ws/group") as ws:
        send(ws, type="open", mode="follow", instructor_track_id=1)
        until(ws, "group_opened")
        send(ws, type="control", action="skip")
        error = until(ws, "error")
        assert error["code"] == "not_supported" and "routine" in error["detail"]
        send(ws, type="close")
        until(ws, "group_summary")
        send(ws, type="open", mode="routine", routine="baduanjin", elder=False)
        assert until(ws, "group_opened")["elder"] is False
        send(ws, type="control", action="skip")  # before any frame: nothing to skip
        pose = pose_after(ws, 10, jpeg_bytes(), [])
        assert [(p["role"], p["number"]) for p in pose["people"]] == [
            ("participant", 1),
            ("participant", 2),
        ]  # nobody leads a routine class
        assert [p["routine"]["section_id"] for p in pose["people"]] == [
            "preparation",
            "preparation",
        ]
        send(ws, type="set_instructor", track_id=pose["people"][0]["track_id"])
        assert until(ws, "error")["code"] == "not_supported"
        send(ws, type="control", action="skip")
        skipped = [until(ws, "participant_event") for _ in range(2)]
        assert [m["event"]["section_id"] for m in skipped] == [
            "preparation",
            "preparation",
        ]
        assert {m["event_type"] for m in skipped} == {"SectionSkipped"}
        pose = pose_after(ws, 110, jpeg_bytes(), [])
        assert [p["routine"]["section_id"] for p in pose["people"]] == [
            "hold_up_heavens",
            "hold_up_heavens",
        ]


def test_a_fall_in_a_routine_class_raises_an_alert(
    records: tuple[Store, str, dict[str, Any]],
) -> None:
    from tests.exercises.test_falls import fall, frames, lie, stand
    from tests.server.conftest import standing_frame

    timeline = [stand(2.0), fall(0.7), lie(5.0)]
    scripted = {
        f.timestamp_ms: [standing_frame(f.timestamp_ms), f]
        for f in frames(timeline, fps=15.0)
    }
    store, url, ids = records
    seen: list[dict[str, Any]] = []
    with (
        serve(scripted, url, store) as client,
        client.websocket_connect("/ws/group") as ws,
    ):
        send(ws, type="open", mode="routine", routine="baduanjin")
        until(ws, "group_opened")
        jpeg = jpeg_bytes(96, 96)  # square, like the synthetic fall
        poses = [pose_after(ws, ts, jpeg, seen) for ts in scripted]
        send(ws, type="close")
        until(ws, "group_summary", seen)
    falls = [m["type"] for m in seen if m["type"] in ("fall_detected", "alert_raised")]
    assert falls == ["fall_detected", "alert_raised"]
    (alert,) = [m for m in seen if m["type"] == "alert_raised"]
    assert (alert["kind"], alert["track_id"], alert["number"]) == ("fall", 2, 2)
    assert isinstance(alert["alert_id"], int)
    assert [p["track_id"] for p in poses[-1]["people"] if p["fallen"]] == [2]
    with store.session() as db:
        (row,) = repository.list_alerts(db, ids["centre_id"], open_only=False)
        assert (row.id, row.track_id, row.seat_number) == (alert["alert_id"], 2, 2)
