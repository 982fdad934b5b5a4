"""`DatabaseRecorder` behind the websocket's `SessionRecorder` protocol, on SQLite and
PostgreSQL: what a live session leaves in the records, and that a rep reported to the
kiosk survives the process being killed."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
import types
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.testing as npt
import pytest
from sqlalchemy import func, select

from exercises.events import PhaseChanged
from server.inference import StreamStats
from server.recording import CloseReason, SessionEnd, SessionInfo
from server.store import DatabaseRecorder, Store, repository
from server.store.models import LandmarkChunk, SessionStatus
from tests.conftest import ROOT
from tests.server.store.helpers import (
    at,
    cue,
    frames,
    rep,
    seed_centre,
)
from vision.types import PoseWindow


@dataclass(frozen=True)
class _Summary:  # stands in for the engine's SessionSummary
    reps: int
    mean_score: float


def _info(
    live_id: str = "live-1", resident: str | None = None, **extra: object
) -> object:
    info = SessionInfo(
        session_id=live_id,
        exercise_id="squat",
        lang="zh-CN",
        elder=True,
        resident=resident,
        started_at=at(2026, 3, 2, 9, 30),
        client="10.0.0.7:5000",
    )
    if not extra:
        return info
    if set(extra) <= {f.name for f in dataclasses.fields(info)}:
        return dataclasses.replace(info, **extra)  # type: ignore[arg-type]
    return types.SimpleNamespace(
        **dataclasses.asdict(info), **extra
    )  # older SessionInfo


@pytest.fixture
def recorder(store: Store) -> Iterator[DatabaseRecorder]:
    rec = DatabaseRecorder(store)
    try:
        yield rec
    finally:
        rec.close()


def _only_session(store: Store, live_id: str = "live-1"):  # type: ignore[no-untyped-def]
    with store.session() as db:
        session = repository.find_session_by_live_id(db, live_id)
        assert session is not None
        reps = [(r.count, r.score) for r in session.reps]
        cues = [c.cue_id for c in session.cues]
        window = repository.load_landmarks(db, session.id)
        chunks = db.scalar(
            select(func.count(LandmarkChunk.id)).where(
                LandmarkChunk.session_id == session.id
            )
        )
        return session, reps, cues, window, chunks


def test_a_completed_session_is_recorded(
    store: Store, recorder: DatabaseRecorder
) -> None:
    ids = seed_centre(store)
    recorder.on_open(_info(resident=ids["member_code"]))
    shown = frames(100, step_ms=33, missing_every=9)  # 3.3 s: one 2 s chunk + the rest
    for i, frame in enumerate(shown):
        recorder.on_landmarks("live-1", frame)
        if i == 40:
            recorder.on_event("live-1", rep(1, 72.0))
            recorder.on_event("live-1", cue(frame.timestamp_ms))
            recorder.on_event("live-1", PhaseChanged(frame.timestamp_ms, "down", "up"))
        if i == 80:
            recorder.on_event("live-1", rep(2, 88.0))
    recorder.on_close(
        "live-1",
        SessionEnd(
            CloseReason.CLOSED,
            _Summary(2, 80.0),
            StreamStats(received=100, processed=100),
        ),
    )
    recorder.flush(10)

    session, reps, cues, window, chunks = _only_session(store)
    assert session.status is SessionStatus.COMPLETED
    assert session.end_reason == "closed"
    assert session.resident_id == ids["resident_id"]
    assert session.centre_id == ids["centre_id"]  # the only centre
    assert (session.exercise_id, session.language, session.elder_mode) == (
        "squat",
        "zh-CN",
        True,
    )
    assert session.started_at == at(2026, 3, 2, 9, 30)
    assert session.summary == {"reps": 2, "mean_score": 80.0}
    assert session.stats == {
        "received": 100,
        "processed": 100,
        "dropped": 0,
        "rejected": 0,
    }
    assert reps == [(1, 72.0), (2, 88.0)]
    assert cues == ["knees_cave"]
    assert window is not None
    npt.assert_array_equal(window.timestamp_ms, [f.timestamp_ms for f in shown])
    npt.assert_array_equal(
        window.xyz,
        np.stack([f.xyz for f in shown]).astype(np.float16).astype(np.float32),
    )
    assert chunks == 2


@pytest.mark.parametrize(
    "reason", [CloseReason.DISCONNECTED, CloseReason.SHUTDOWN], ids=lambda r: r.name
)
def test_an_abrupt_end_marks_the_session_interrupted(
    store: Store, recorder: DatabaseRecorder, reason: CloseReason
) -> None:
    ids = seed_centre(store)
    recorder.on_open(_info(resident=ids["member_code"]))
    recorder.on_event("live-1", rep(1, 70.0))
    for frame in frames(10):
        recorder.on_landmarks("live-1", frame)
    recorder.on_close("live-1", SessionEnd(reason, None, StreamStats()))
    recorder.flush(10)
    session, reps, _, window, _ = _only_session(store)
    assert session.status is SessionStatus.INTERRUPTED
    assert session.end_reason == reason.name.lower()
    assert session.summary is None
    assert reps == [(1, 70.0)]
    assert window is not None and len(window) == 10  # flushed at the end


def test_no_landmarks_without_consent(store: Store, recorder: DatabaseRecorder) -> None:
    ids = seed_centre(store)
    with store.begin() as db:
        resident = repository.get_resident(db, ids["resident_id"])
        assert resident is not None
        repository.update_resident(db, resident, consent_landmarks=False)
    recorder.on_open(_info(resident=ids["member_code"]))
    for frame in frames(100):
        recorder.on_landmarks("live-1", frame)
    recorder.on_event("live-1", rep(1))
    recorder.on_close("live-1", SessionEnd(CloseReason.CLOSED, None, StreamStats()))
    recorder.flush(10)
    _, reps, _, window, _ = _only_session(store)
    assert window is None
    assert reps == [(1, 80.0)]  # events are still kept


@pytest.mark.parametrize(("keep", "expected_frames"), [(False, None), (True, 5)])
def test_anonymous_sessions_keep_landmarks_only_when_asked(
    store: Store, keep: bool, expected_frames: int | None
) -> None:
    seed_centre(store)
    rec = DatabaseRecorder(store, record_anonymous_landmarks=keep)
    try:
        rec.on_open(_info(resident=None))
        for frame in frames(5):
            rec.on_landmarks("live-1", frame)
        rec.on_close("live-1", SessionEnd(CloseReason.CLOSED, None, StreamStats()))
        rec.flush(10)
    finally:
        rec.close()
    session, _, _, window, _ = _only_session(store)
    assert session.resident_id is None
    assert (None if window is None else len(window)) == expected_frames


def test_an_unknown_member_code_records_an_anonymous_session(
    store: Store, recorder: DatabaseRecorder
) -> None:
    seed_centre(store)
    recorder.on_open(_info(resident="NOBODY-42"))
    recorder.on_event("live-1", rep(1))
    recorder.flush(10)
    session, reps, _, _, _ = _only_session(store)
    assert session.resident_id is None and reps == [(1, 80.0)]


def test_the_kiosk_names_the_centre_among_several(
    store: Store, recorder: DatabaseRecorder
) -> None:
    seed_centre(store, "Riverside")
    hill = seed_centre(store, "Hillside")
    recorder.on_open(_info("a", resident=hill["member_code"]))  # no kiosk: ambiguous
    recorder.on_open(
        _info("b", resident=hill["member_code"], kiosk_id=hill["kiosk_id"])
    )
    recorder.flush(10)
    a, *_ = _only_session(store, "a")
    b, *_ = _only_session(store, "b")
    assert (a.centre_id, a.resident_id) == (None, None)
    assert (b.centre_id, b.resident_id, b.kiosk_id) == (
        hill["centre_id"],
        hill["resident_id"],
        hill["kiosk_id"],
    )
    with store.session() as db:
        kiosk = repository.get_kiosk(db, hill["kiosk_id"])
        assert kiosk is not None and kiosk.last_seen_at is not None


def test_default_centre_resolves_residents(store: Store) -> None:
    seed_centre(store, "Riverside")
    hill = seed_centre(store, "Hillside")
    rec = DatabaseRecorder(store, default_centre_id=hill["centre_id"])
    try:
        rec.on_open(_info(resident=hill["member_code"]))
        rec.flush(10)
    finally:
        rec.close()
    session, *_ = _only_session(store)
    assert session.resident_id == hill["resident_id"]


def test_a_rep_is_committed_when_on_event_returns(store: Store, db_url: str) -> None:
    ids = seed_centre(store)
    rec = DatabaseRecorder(store)  # wait_for_reps=True
    other = Store(db_url)  # another connection pool, as another process would read
    try:
        rec.on_open(_info(resident=ids["member_code"]))
        future = rec.on_event("live-1", rep(1, 66.0))
        assert future is not None and future.done()
        with other.session() as db:
            session = repository.find_session_by_live_id(db, "live-1")
            assert session is not None
            assert [r.score for r in session.reps] == [66.0]
    finally:
        rec.close()
        other.dispose()


def test_without_waiting_on_event_returns_a_future(store: Store) -> None:
    seed_centre(store)
    rec = DatabaseRecorder(store, wait_for_reps=False)
    try:
        rec.on_open(_info())
        future = rec.on_event("live-1", rep(1))
        assert future is not None
        assert isinstance(future.result(timeout=10), int)  # the rep's row id
        assert rec.on_event("live-1", PhaseChanged(5, "down", "up")) is None
        assert rec.on_event("unknown", rep(1)) is None
    finally:
        rec.close()


def test_close_interrupts_sessions_still_open(store: Store) -> None:
    seed_centre(store)
    rec = DatabaseRecorder(store)
    rec.on_open(_info())
    rec.on_event("live-1", rep(1))
    assert rec.active_sessions == {"live-1"}
    rec.close()
    session, reps, *_ = _only_session(store)
    assert (session.status, session.end_reason) == (
        SessionStatus.INTERRUPTED,
        "shutdown",
    )
    assert reps == [(1, 80.0)]
    rec.flush(1)  # nothing left to wait for
    rec.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        rec.on_open(_info("live-2"))


_KILLED_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from datetime import UTC, datetime
    from exercises.events import RepCompleted
    from server.recording import SessionInfo
    from server.store import DatabaseRecorder, Store

    store = Store(sys.argv[1])
    recorder = DatabaseRecorder(store)
    recorder.on_open(SessionInfo("live-k", "squat", "en", False, sys.argv[2],
                                 datetime.now(UTC)))
    for count in (1, 2):
        recorder.on_event("live-k", RepCompleted(count * 1000, count, 70.0 + count,
                          {"knee": 70.0}, 1500, {"knee": 91.0}))
        # Here the websocket loop would send the rep to the kiosk.
    print("sent", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_reported_rep_survives_the_process_being_killed(
    store: Store, db_url: str
) -> None:
    ids = seed_centre(store)
    child = subprocess.run(
        [sys.executable, "-c", _KILLED_CHILD, db_url, ids["member_code"]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert child.stdout.strip() == "sent"
    reopened = Store(db_url)
    try:
        with reopened.session() as db:
            session = repository.find_session_by_live_id(db, "live-k")
            assert session is not None
            assert session.status is SessionStatus.ACTIVE  # nobody closed it
            assert [(r.count, r.score) for r in session.reps] == [(1, 71.0), (2, 72.0)]
            assert session.resident_id == ids["resident_id"]
        with reopened.begin() as db:  # what the next startup does
            assert (
                repository.interrupt_stale_sessions(
                    db, started_before=repository.utcnow()
                )
                == 1
            )
        with reopened.session() as db:
            session = repository.find_session_by_live_id(db, "live-k")
            assert session is not None and session.status is SessionStatus.INTERRUPTED
    finally:
        reopened.dispose()


def test_window_type_is_what_load_returns(store: Store) -> None:
    ids = seed_centre(store)
    with store.begin() as db:
        sid = repository.start_session(
            db, exercise_id="squat", language="en", resident_id=ids["resident_id"]
        ).id
        repository.append_landmarks(db, sid, PoseWindow.from_frames(frames(3)))
        assert isinstance(repository.load_landmarks(db, sid), PoseWindow)


def test_consent_withdrawn_mid_session_stops_the_recording(
    store: Store, recorder: DatabaseRecorder
) -> None:
    ids = seed_centre(store)
    recorder.on_open(_info(resident=ids["member_code"]))
    shown = frames(140, step_ms=33)  # two 2 s chunks, then the rest
    for frame in shown[:70]:
        recorder.on_landmarks("live-1", frame)
    recorder.flush(10)
    with store.begin() as db:
        resident = repository.get_resident(db, ids["resident_id"])
        assert resident is not None
        repository.update_resident(db, resident, consent_landmarks=False)
    for frame in shown[70:]:
        recorder.on_landmarks("live-1", frame)
    recorder.on_close("live-1", SessionEnd(CloseReason.CLOSED, None, StreamStats()))
    recorder.flush(10)
    _, _, _, window, chunks = _only_session(store)
    assert window is None and chunks == 0
