# ruff: noqa: F811 (pytest fixtures imported from the helpers)
"""Session resumption (server/resume.py) on SQLite and PostgreSQL: which recorded
sessions a kiosk may go on with, the resumed engine session's numbering and summary,
the recorder re-attaching to the same row, and (with the ws.py hook) a kiosk that
reconnects to the same process."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from exercises.events import CueIssued, Event, PhaseChanged, RepCompleted, Severity
from server.inference import StreamStats
from server.recording import CloseReason, SessionEnd, SessionInfo
from server.resume import (
    MAX_SESSION_AGE_S,
    RESUME_WINDOW_S,
    ResumableRecorder,
    ResumedSession,
    ResumePoint,
    find_resume_point,
    recorded_rep_counts,
)
from server.schemas import OpenMessage, encode_frame
from server.store import Store, repository
from server.store.models import SessionStatus
from tests.server.conftest import kiosk_protocols
from tests.server.store.helpers import (  # noqa: F401 (fixtures)
    cue,
    db_url,
    pg_database_url,
    rep,
    seed_centre,
    sqlite_template,
    store,
)

HAS_RESUME = "resume" in OpenMessage.model_fields  # the ws.py/schemas.py hooks landed
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def info(session_id: str, kiosk_id: int | None, exercise: str = "squat") -> SessionInfo:
    return SessionInfo(
        session_id, exercise, "zh-CN", True, None, NOW, kiosk_id=kiosk_id
    )


def recorded(
    store: Store,
    live_id: str,
    *,
    kiosk_id: int | None,
    status: SessionStatus = SessionStatus.INTERRUPTED,
    started_at: datetime = NOW - timedelta(minutes=10),
    ended_at: datetime | None = NOW - timedelta(minutes=1),
    reps: int = 2,
) -> int:
    with store.begin() as db:
        session = repository.start_session(
            db,
            exercise_id="squat",
            language="zh-CN",
            elder_mode=True,
            kiosk_id=kiosk_id,
            started_at=started_at,
            live_id=live_id,
        )
        for n in range(1, reps + 1):
            repository.record_event(db, session.id, rep(n, score=70.0 + n))
        repository.record_event(db, session.id, cue(500))
        if status != SessionStatus.ACTIVE:
            repository.finish_session(db, session.id, status=status, ended_at=ended_at)
        return session.id


@pytest.mark.parametrize(
    ("case", "resumable"),
    [
        pytest.param({}, True, id="interrupted-just-now"),
        pytest.param(
            {"status": SessionStatus.ACTIVE, "ended_at": None},
            True,
            id="active-its-process-died",
        ),
        pytest.param(
            {"ended_at": NOW - timedelta(seconds=RESUME_WINDOW_S + 1)},
            False,
            id="interrupted-too-long-ago",
        ),
        pytest.param({"status": SessionStatus.COMPLETED}, False, id="completed"),
        pytest.param(
            {
                "status": SessionStatus.ACTIVE,
                "ended_at": None,
                "started_at": NOW - timedelta(seconds=MAX_SESSION_AGE_S + 1),
            },
            False,
            id="active-but-abandoned",
        ),
    ],
)
def test_which_sessions_may_go_on(
    store: Store, case: dict[str, Any], resumable: bool
) -> None:
    ids = seed_centre(store)
    record_id = recorded(store, "live-1", kiosk_id=ids["kiosk_id"], **case)
    point = find_resume_point(
        store, "live-1", kiosk_id=ids["kiosk_id"], exercise_id="squat", now=NOW
    )
    if not resumable:
        assert point is None
        return
    assert point is not None
    assert (point.session_id, point.record_id, point.rep_count) == (
        "live-1",
        record_id,
        2,
    )
    assert (point.lang, point.elder, point.kiosk_id) == ("zh-CN", True, ids["kiosk_id"])
    assert point.rep_scores == (71.0, 72.0) and point.cues_by_id == {"knees_cave": 1}
    assert point.rep_faults == (("knees_cave",), ())


def test_only_the_same_kiosk_and_exercise_go_on(store: Store) -> None:
    riverside = seed_centre(store, "Riverside")
    hillcrest = seed_centre(store, "Hillcrest")
    recorded(store, "live-r", kiosk_id=riverside["kiosk_id"])

    def lookup(
        live_id: str, kiosk_id: int | None, exercise: str = "squat"
    ) -> ResumePoint | None:
        return find_resume_point(
            store, live_id, kiosk_id=kiosk_id, exercise_id=exercise, now=NOW
        )

    assert lookup("live-r", riverside["kiosk_id"]) is not None
    assert lookup("live-r", hillcrest["kiosk_id"]) is None  # another centre's kiosk
    assert lookup("live-r", None) is None  # a kiosk without a token
    assert lookup("live-r", riverside["kiosk_id"], "lunge") is None
    assert lookup("no-such-session", riverside["kiosk_id"]) is None


@dataclass
class FakeSession:
    """Stands in for the engine's session: emits scripted events, sums them up."""

    script: list[list[Event]]
    fed: int = 0
    reps: list[RepCompleted] = field(default_factory=list)

    def feed(self, frame: object, image_wh: tuple[int, int]) -> list[Event]:
        assert image_wh == (640, 360)  # passed on unchanged
        events = self.script[self.fed] if self.fed < len(self.script) else []
        self.fed += 1
        self.reps += [e for e in events if isinstance(e, RepCompleted)]
        return events

    def stop(self) -> list[Event]:
        final = engine_rep(len(self.reps) + 1, 50.0)  # e.g. a rep the stop completes
        self.reps.append(final)
        return [final]

    def summary(self) -> Any:
        from exercises.session import SessionSummary

        scores = [r.score for r in self.reps]
        return SessionSummary(
            exercise_id="squat",
            kind="reps",
            elder_mode=False,
            reps=len(self.reps),
            mean_score=round(sum(scores) / len(scores), 1) if scores else None,
            best_score=max(scores, default=None),
            worst_score=min(scores, default=None),
            duration_ms=4000,
            active_ms=3000,
            mean_rep_duration_ms=1000.0 if self.reps else None,
            cues_by_id={"knees_cave": 2},
            faults_by_id={"knees_cave": 1},
        )

    @property
    def phase(self) -> str:
        return "up"


def engine_rep(count: int, score: float) -> RepCompleted:
    return RepCompleted(
        1000 * count,
        count=count,
        score=score,
        breakdown={},
        duration_ms=1000,
        range_of_motion_deg={},
        cue_ids=("knees_cave",),
    )


def test_a_resumed_session_numbers_reps_after_the_recorded_ones() -> None:
    point = ResumePoint(
        "live-1",
        7,
        "squat",
        "en",
        False,
        None,
        NOW,
        rep_scores=(60.0, None, 80.0),
        rep_durations_ms=(2000, 2000, 2000),
        rep_faults=(("knees_cave",), (), ("too_fast",)),
        cues_by_id={"knees_cave": 1},
    )
    phase = PhaseChanged(10, phase="down", previous="up")
    cue_event = CueIssued(20, cue_id="knees_cave", severity=Severity.MAJOR, message={})
    engine = FakeSession(
        [[phase], [engine_rep(1, 90.0), cue_event], [], [engine_rep(2, 100.0)]]
    )
    session = ResumedSession(engine, point)
    events = [e for _ in range(4) for e in session.feed(object(), (640, 360))]
    assert events[0] is phase and events[2] is cue_event  # only reps change
    assert [e.count for e in events if isinstance(e, RepCompleted)] == [4, 5]
    summary = session.summary()
    assert summary.reps == 5
    # Recorded scores (the non-finite one left out) and the new ones, as one session.
    assert (summary.mean_score, summary.best_score, summary.worst_score) == (
        82.5,
        100.0,
        60.0,
    )
    assert summary.mean_rep_duration_ms == (3 * 2000 + 2 * 1000) / 5
    assert summary.cues_by_id == {"knees_cave": 3}
    assert summary.faults_by_id == {"knees_cave": 2, "too_fast": 1}
    assert (summary.duration_ms, summary.active_ms) == (4000, 3000)  # the resumed part
    assert session.inner is engine and session.inner.phase == "up"  # the engine's
    assert [e.count for e in session.stop()] == [6]  # stop's reps go on the count too
    after_stop = session.summary()
    assert (after_stop.reps, after_stop.worst_score) == (6, 50.0)


def test_the_recorder_goes_on_in_the_same_row(store: Store) -> None:
    ids = seed_centre(store)
    recorder = ResumableRecorder(store)
    try:
        recorder.on_open(info("live-1", ids["kiosk_id"]))
        recorder.on_event("live-1", rep(1))
        recorder.on_close(
            "live-1", SessionEnd(CloseReason.DISCONNECTED, None, StreamStats())
        )
        recorder.flush(10)
        with store.session() as db:
            row = repository.find_session_by_live_id(db, "live-1")
            assert row.status == SessionStatus.INTERRUPTED
            first_id = row.id
        recorder.on_resume(info("live-1", ids["kiosk_id"]))
        recorder.flush(10)
        with store.session() as db:
            row = repository.find_session_by_live_id(db, "live-1")
            assert (row.status, row.ended_at, row.end_reason) == (
                SessionStatus.ACTIVE,
                None,
                None,
            )
        recorder.on_event("live-1", rep(2))
        recorder.on_close("live-1", SessionEnd(CloseReason.CLOSED, None, StreamStats()))
        recorder.flush(10)
    finally:
        recorder.close()
    with store.session() as db:
        row = repository.find_session_by_live_id(db, "live-1")
        assert row.id == first_id and row.status == SessionStatus.COMPLETED
    assert recorded_rep_counts(store, "live-1") == [1, 2]


def test_a_stale_connection_closing_does_not_end_the_resumed_session(
    store: Store,
) -> None:
    ids = seed_centre(store)
    recorder = ResumableRecorder(store)
    try:
        recorder.on_open(info("live-1", ids["kiosk_id"]))
        recorder.on_resume(
            info("live-1", ids["kiosk_id"])
        )  # before the old one noticed
        recorder.on_close(
            "live-1", SessionEnd(CloseReason.DISCONNECTED, None, StreamStats())
        )  # old
        recorder.on_event("live-1", rep(1))  # the resumed connection goes on
        recorder.flush(10)
        with store.session() as db:
            assert (
                repository.find_session_by_live_id(db, "live-1").status
                == SessionStatus.ACTIVE
            )
        recorder.on_close("live-1", SessionEnd(CloseReason.CLOSED, None, StreamStats()))
        recorder.flush(10)
        with store.session() as db:
            assert (
                repository.find_session_by_live_id(db, "live-1").status
                == SessionStatus.COMPLETED
            )
    finally:
        recorder.close()
    assert recorded_rep_counts(store, "live-1") == [1]


# --- through the websocket (the ws.py hook) -------------------------------------------


@pytest.mark.model
@pytest.mark.skipif(
    not HAS_RESUME, reason="needs the ws.py/schemas.py resume hooks (patch)"
)
def test_a_kiosk_reconnecting_goes_on_with_its_session(tmp_path: Any) -> None:
    # SQLite only: PostgreSQL's side of resuming is covered above and under Ray.
    from server.store import upgrade_database

    url = f"sqlite:///{tmp_path / 'records.db'}"
    upgrade_database(url)
    store = Store(url)
    try:
        _reconnect_flow(store)
    finally:
        store.dispose()


def _reconnect_flow(store: Store) -> None:
    from server.operations import build_app
    from server.settings import Settings
    from tests.server.distributed.clips import curl_clip_jpegs

    jpegs = curl_clip_jpegs()
    riverside = seed_centre(store, "Riverside")
    hillcrest = seed_centre(store, "Hillcrest")
    recorder = ResumableRecorder(store, wait_for_reps=False)
    app = build_app(
        Settings(
            backend="onnx",
            kiosk_auth=True,
            db_url=store.url.render_as_string(hide_password=False),
            stats_every=1000,
        ),
        recorder=recorder,
        store=store,
    )

    def lap(ws: Any, start_ms: int) -> list[dict[str, Any]]:
        seen = []
        for i, jpeg in enumerate(jpegs):
            ws.send_bytes(encode_frame(start_ms + 33 * i, jpeg))
            while True:
                seen.append(ws.receive_json())
                if seen[-1]["type"] in ("pose", "error"):
                    break
        return seen

    def open_(ws: Any, **extra: Any) -> dict[str, Any]:
        ws.send_text(
            json.dumps(
                {"type": "open", "exercise": "bicep_curl", "lang": "zh-CN", **extra}
            )
        )
        opened = ws.receive_json()
        assert opened["type"] == "opened", opened
        return opened

    with TestClient(app) as client:
        token = riverside["kiosk_token"]
        with client.websocket_connect("/ws", subprotocols=kiosk_protocols(token)) as ws:
            first = open_(ws)
            seen = lap(ws, 1)
        # The connection dropped mid-session (no close): one rep had been reported.
        assert [m["count"] for m in seen if m["type"] == "rep_completed"] == [1]
        with client.websocket_connect(
            "/ws", subprotocols=kiosk_protocols(hillcrest["kiosk_token"])
        ) as other:
            hijack = open_(other, resume=first["session_id"])  # another centre's kiosk
            assert hijack["session_id"] != first["session_id"]
            assert hijack["resumed_reps"] is None
        with client.websocket_connect("/ws", subprotocols=kiosk_protocols(token)) as ws:
            again = open_(ws, resume=first["session_id"], lang="en")
            assert (again["session_id"], again["resumed_reps"]) == (
                first["session_id"],
                1,
            )
            assert again["lang"] == "zh-CN"  # the session goes on as it was opened
            seen = lap(ws, 5000)
            ws.send_text('{"type": "close"}')
            while seen[-1]["type"] != "summary":
                seen.append(ws.receive_json())
    assert [m["count"] for m in seen if m["type"] == "rep_completed"] == [2]
    assert seen[-1]["summary"]["reps"] == 2
    assert recorded_rep_counts(store, first["session_id"]) == [1, 2]
    with store.session() as db:
        row = repository.find_session_by_live_id(db, first["session_id"])
        assert (row.status, row.centre_id) == (
            SessionStatus.COMPLETED,
            riverside["centre_id"],
        )
