"""The centre's programmes as live sessions (server/programmes.py) and over /ws: a
routine with its controls and per-section summary, the posture screen, paced
breathing; the catalogue lists them; errors for unknown ids and unsupported
controls."""

from __future__ import annotations

import math
from typing import Any

import pytest
from starlette.testclient import TestClient, WebSocketTestSession

from exercises.posture import Level, View
from exercises.routine import get_routine
from exercises.routine_events import (
    RoutineCompleted,
    RoutinePaused,
    RoutineResumed,
    SectionCompleted,
    SectionSkipped,
    SectionStarted,
)
from server.app import create_app
from server.programmes import (
    POSTURE_ID,
    SECTION_STATUSES,
    BreathingSummary,
    PostureSummary,
    ProgrammeOptions,
    RoutineSummary,
    breathing_programme,
    builtin_programmes,
    routine_programme,
)
from server.schemas import encode_frame
from server.settings import Settings
from tests.routine_performance import Part
from tests.server.conftest import ScriptedBackend, jpeg_bytes
from tests.server.programme_scripts import (
    breathing_frames,
    posture_frames,
    routine_frames,
    scripted,
    short_breathing,
    short_routine,
)
from tests.server.test_ws_assessments import events_until as until
from vision.types import PoseFrame, Skeleton

CAMERA_WH = (64, 48)
ASPECT = 4 / 3


def run(live: Any, frames: list[PoseFrame], image_wh: tuple[int, int]) -> list[Any]:
    events: list[Any] = []
    for f in frames:
        events += live.feed(f, image_wh)
    return events


def sections(summary: RoutineSummary) -> list[tuple[str, str, int]]:
    assert {s.status for s in summary.sections} <= set(SECTION_STATUSES)
    return [(s.section_id, s.status, s.rounds) for s in summary.sections]


# --- live sessions ---------------------------------------------------------------


def test_the_catalogue_holds_every_programme_kind() -> None:
    programmes = builtin_programmes()
    assert {p.kind for p in programmes.values()} == {"routine", "posture", "breathing"}
    assert {"baduanjin", POSTURE_ID, "pursed_lip_breathing"} <= set(programmes)
    info = programmes["baduanjin"].describe(False)
    elder = programmes["baduanjin"].describe(True)
    assert [s.id for s in info.sections] == [
        s.id for s in get_routine("baduanjin").sections
    ]
    assert info.controls == ["pause", "resume", "skip"]
    assert elder.sections[1].pace_s == pytest.approx(info.sections[1].pace_s * 1.3)
    breathing = programmes["pursed_lip_breathing"]
    assert breathing.describe(False).schedule == {
        "inhale_s": 2.0,
        "exhale_s": 4.0,
        "cycles": 10,
        "lead_in_s": 10.0,
    }
    assert breathing.describe(True).schedule["exhale_s"] == pytest.approx(5.0)
    posture = programmes[POSTURE_ID].describe(False)
    assert posture.views == ["front", "back"]
    assert "Cobb" in posture.limits["en"] and posture.limits["zh-CN"]
    for p in programmes.values():
        for lang in ("en", "zh-CN"):
            assert p.describe(False).name[lang]


def test_a_routine_summary_has_every_section_in_order() -> None:
    live = builtin_programmes()["baduanjin"].starter(ProgrammeOptions(aspect=ASPECT))(
        Skeleton.BLAZEPOSE_33
    )
    events = run(live, routine_frames(ASPECT), (1280, 960))  # 4:3 frames
    events += live.stop()
    assert (
        isinstance(events[0], SectionStarted) and events[0].section_id == "preparation"
    )
    assert isinstance(events[-1], RoutineCompleted)
    summary = live.summary()
    assert isinstance(summary, RoutineSummary)
    assert summary.completed and summary.programme_id == "baduanjin"
    expected = [("preparation", "done", 1), ("hold_up_heavens", "done", 2)]
    expected += [(s.id, "not_seen", 0) for s in get_routine("baduanjin").sections[2:]]
    assert sections(summary) == expected
    done = summary.sections[:2]
    assert all(s.score >= 80 and len(s.round_scores) == s.rounds for s in done)
    assert summary.score == events[-1].score
    assert summary.score == pytest.approx(
        round((done[0].score + done[1].score) / 2, 1), abs=0.051
    )
    assert all(math.isnan(s.score) for s in summary.sections[2:])


def test_routine_controls_pause_resume_and_skip() -> None:
    live = builtin_programmes()["baduanjin"].starter(ProgrammeOptions())(
        Skeleton.BLAZEPOSE_33
    )
    assert live.control("pause") == []  # no frame yet: nothing to pause
    frames = routine_frames(1.0)
    run(live, frames[:5], (480, 480))
    paused = live.control("pause")
    assert [type(e) for e in paused] == [RoutinePaused]
    assert paused[0].timestamp_ms == frames[4].timestamp_ms
    assert run(live, frames[5:8], (480, 480)) == []  # ignored while paused
    resumed = live.control("resume")
    assert [type(e) for e in resumed] == [RoutineResumed]
    assert resumed[0].paused_ms == frames[7].timestamp_ms - frames[4].timestamp_ms
    skipped = live.control("skip")
    assert [(type(e), e.section_id) for e in skipped] == [
        (SectionSkipped, "preparation"),
        (SectionStarted, "hold_up_heavens"),
    ]
    assert skipped[0].reason == "skipped"
    with pytest.raises(ValueError, match="no control for a routine"):
        live.control("rewind")
    summary = live.summary()
    assert not summary.completed
    assert sections(summary)[:2] == [
        ("preparation", "skipped", 0),
        ("hold_up_heavens", "not_reached", 0),
    ]


def test_a_routine_stopped_midway_keeps_its_sections() -> None:
    routine = short_routine(
        get_routine("baduanjin"), ["hold_up_heavens", "draw_the_bow"], 2
    )
    live = routine_programme(routine, "").starter(ProgrammeOptions())(
        Skeleton.BLAZEPOSE_33
    )
    events = run(live, routine_frames(1.0, [Part("hold_up_heavens", 2)]), (480, 480))
    assert [e.rounds for e in events if isinstance(e, SectionCompleted)] == []
    summary = live.summary()  # the connection dropped: no stop
    assert not summary.completed
    assert sections(summary) == [
        ("hold_up_heavens", "unfinished", 2),
        ("draw_the_bow", "not_reached", 0),
    ]
    assert summary.sections[0].score == pytest.approx(
        sum(summary.sections[0].round_scores) / 2, abs=0.051
    )
    assert summary.score == summary.sections[0].score


def test_the_posture_screen_keeps_its_result_and_reading() -> None:
    live = builtin_programmes()[POSTURE_ID].starter(ProgrammeOptions(aspect=ASPECT))(
        Skeleton.BLAZEPOSE_33
    )
    with pytest.raises(ValueError, match="no control for the posture screen"):
        live.control("pause")
    frames = posture_frames(ASPECT)
    partial = run(live, frames[:14], (640, 480))
    assert any(type(e).__name__ == "PostureViewCaptured" for e in partial)
    front_only = live.summary()
    assert isinstance(front_only, PostureSummary) and not front_only.completed
    assert front_only.result is not None
    assert [v.view for v in front_only.result.views] == [View.FRONT]
    assert front_only.assessment is not None
    run(live, frames[14:], (640, 480))
    summary = live.summary()
    assert summary.completed and summary.result is not None
    assert [v.view for v in summary.result.views] == [View.FRONT, View.BACK]
    combined = summary.result.combined
    assert combined["shoulder_tilt_deg"].value == pytest.approx(3.0, abs=1e-3)
    assert combined["pelvic_tilt_deg"].value == pytest.approx(-1.0, abs=1e-3)
    assert summary.assessment is not None
    assert summary.assessment.level is Level.BORDERLINE
    assert summary.repeatability["shoulder_tilt_deg"] > 0


def test_paced_breathing_compares_the_rhythm() -> None:
    programme = breathing_programme(short_breathing(), "")
    live = programme.starter(ProgrammeOptions(aspect=ASPECT))(Skeleton.BLAZEPOSE_33)
    events = run(live, breathing_frames(ASPECT), (640, 480))
    assert type(events[-1]).__name__ == "BreathingCompleted"
    summary = live.summary()
    assert isinstance(summary, BreathingSummary)
    assert summary.completed and summary.pace_scale == 1.0
    assert (summary.inhale_s, summary.exhale_s, summary.cycles) == (2.0, 4.0, 2)
    assert summary.rhythm is not None and len(summary.rhythm.breaths) == 2
    assert summary.rhythm.ratio == pytest.approx(2.0, abs=0.05)
    assert summary.rhythm.on_pace


def test_breathing_stopped_early_at_the_elder_pace() -> None:
    programme = breathing_programme(short_breathing(), "")
    live = programme.starter(ProgrammeOptions(elder=True))(Skeleton.BLAZEPOSE_33)
    assert live.stop() == []  # nothing started
    run(live, breathing_frames(1.0)[:30], (480, 480))
    stopped = live.stop()
    assert [type(e).__name__ for e in stopped][-1] == "BreathingCompleted"
    summary = live.summary()
    assert not summary.completed and summary.pace_scale == 1.25
    assert (summary.inhale_s, summary.exhale_s) == (2.5, 5.0)


# --- over the kiosk socket ----------------------------------------------------------


def serve(frames: list[PoseFrame], **kw: Any) -> TestClient:
    app = create_app(
        Settings(stats_every=1000, max_message_bytes=64 * 1024),
        backend_factory=lambda: ScriptedBackend(scripted(frames)),
        **kw,
    )
    return TestClient(app)


def send_frames(
    ws: WebSocketTestSession, frames: list[PoseFrame]
) -> list[dict[str, Any]]:
    """Each frame's time in turn, one answered (its `pose`) before the next; what
    came back."""
    image = jpeg_bytes(*CAMERA_WH)
    seen: list[dict[str, Any]] = []
    for f in frames:
        ws.send_bytes(encode_frame(int(f.timestamp_ms), image))
        seen += until(ws, "pose")
    return seen


def test_programmes_are_listed_and_unknown_ones_refused() -> None:
    with serve([]) as client:
        listed = client.get("/api/programmes").json()
        assert {p["kind"] for p in listed} == {"routine", "posture", "breathing"}
        elder = client.get("/api/programmes?elder=true").json()
        assert elder[0]["sections"][1]["pace_s"] > listed[0]["sections"][1]["pace_s"]
        with client.websocket_connect("/ws") as ws:
            ws.send_json({"type": "open", "programme": "tai_chi"})
            error = ws.receive_json()
            assert error["code"] == "unknown_programme"
            assert set(error["valid"]) == {p["id"] for p in listed}
            ws.send_json({"type": "control", "action": "pause"})
            assert ws.receive_json()["code"] == "not_open"
            ws.send_json(
                {"type": "open", "exercise": "squat", "programme": "baduanjin"}
            )
            assert ws.receive_json()["code"] == "bad_message"
            ws.send_json({"type": "open", "exercise": "squat"})
            assert ws.receive_json()["type"] == "opened"
            ws.send_json({"type": "control", "action": "skip"})
            error = ws.receive_json()
            assert error["code"] == "not_supported" and "exercise" in error["detail"]


def test_a_routine_over_the_socket_pauses_and_sums_up() -> None:
    frames = routine_frames(ASPECT)
    with serve(frames) as client, client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "open", "programme": "baduanjin", "lang": "zh-CN"})
        opened = ws.receive_json()
        assert opened["type"] == "opened" and opened["exercise"] is None
        programme = opened["programme"]
        assert programme["kind"] == "routine" and programme["name"]["zh-CN"] == "八段锦"
        send_frames(ws, frames[:3])
        ws.send_json({"type": "control", "action": "pause"})
        assert until(ws, "routine_paused")[-1]["timestamp_ms"] == frames[2].timestamp_ms
        ws.send_json({"type": "control", "action": "resume"})
        until(ws, "routine_resumed")
        seen = send_frames(ws, frames[3:])
        ws.send_json({"type": "close"})
        seen += until(ws, "summary")
    kinds = [m["type"] for m in seen]
    assert "section_completed" in kinds and "routine_completed" in kinds
    summary = seen[-1]["summary"]
    assert summary["kind"] == "routine" and summary["completed"]
    statuses = [
        (s["section_id"], s["status"], s["rounds"]) for s in summary["sections"]
    ]
    assert statuses[:2] == [("preparation", "done", 1), ("hold_up_heavens", "done", 2)]
    assert seen[-1]["exercise"] == "baduanjin"


def test_the_posture_screen_over_the_socket() -> None:
    frames = posture_frames(ASPECT)
    with serve(frames) as client, client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "open", "programme": POSTURE_ID, "stature_cm": 160})
        opened = ws.receive_json()
        assert opened["programme"]["kind"] == "posture"
        assert "X-ray" in opened["programme"]["limits"]["en"]
        seen = send_frames(ws, frames)
        ws.send_json({"type": "close"})
        seen += until(ws, "summary")
    steps = [m["step"] for m in seen if m["type"] == "posture_step_changed"]
    assert steps == ["front", "back", "done"]
    holds = [m for m in seen if m["type"] == "posture_hold_progressed"]
    assert holds[-1]["steady_ms"] == holds[-1]["target_ms"] == 1000
    done = next(m for m in seen if m["type"] == "posture_screen_completed")
    assert done["assessment"]["level"] == "borderline"
    assert {f["figure"] for f in done["assessment"]["findings"]} >= {
        "shoulder_tilt_deg"
    }
    summary = seen[-1]["summary"]
    assert summary["kind"] == "posture" and summary["completed"]
    assert summary["result"]["stature_cm"] == 160


def test_paced_breathing_over_the_socket() -> None:
    frames = breathing_frames(ASPECT)
    with serve(frames) as client:
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        short = breathing_programme(short_breathing(id="short_breathing"), "")
        runtime.catalogue.programmes[short.id] = short
        with client.websocket_connect("/ws") as ws:
            ws.send_json({"type": "open", "programme": "short_breathing"})
            opened = ws.receive_json()
            assert opened["programme"]["schedule"]["cycles"] == 2
            seen = send_frames(ws, frames)
            ws.send_json({"type": "close"})
            seen += until(ws, "summary")
    cues = [(m["phase"], m["cycle"]) for m in seen if m["type"] == "breath_cued"]
    assert cues == [("inhale", 1), ("exhale", 1), ("inhale", 2), ("exhale", 2)]
    assert [m["count"] for m in seen if m["type"] == "breath_measured"] == [1, 2]
    summary = seen[-1]["summary"]
    assert summary["kind"] == "breathing" and summary["completed"]
    assert summary["rhythm"]["period_s"] == pytest.approx(6.0, abs=0.2)
