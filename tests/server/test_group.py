"""server/group.py without sockets or models: synthetic people go through the tracker
and the group engine; the screen's people list, the records of checked-in residents
(a real `Store`, SQLite and PostgreSQL) and fall alerts are checked exactly."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from starlette.datastructures import State

from exercises.events import CueIssued, Event, RepCompleted
from exercises.falls import FallCleared, FallDetected
from exercises.group import FollowRepCounted, ParticipantEvent, ParticipantLeft
from exercises.spec import get_spec
from server.group import FOLLOW_EXERCISE_ID, GroupLive
from server.group_records import AlertDesk, ResidentRef, find_resident_ref
from server.members import LookupProblem, Who
from server.recording import (
    CloseReason,
    ForwardingRecorder,
    NullRecorder,
    RecordWrite,
    SessionEnd,
    SessionInfo,
)
from server.schemas import ErrorCode, GroupPerson, ProtocolError
from server.store import DatabaseRecorder, Store, repository
from server.store.models import Cue, ExerciseSession, Rep, SessionStatus
from tests.factories import make_frame, rep_frames
from tests.server.store.helpers import (  # noqa: F401 (fixtures)
    db_url,
    pg_database_url,
    seed_centre,
    sqlite_template,
)
from vision.types import PoseFrame, Poses

FPS = 10.0
WHO = Who(None, "127.0.0.1")  # setting up: the only centre, no kiosk
WIDE = (1280, 720)  # image_wh of a 16:9 camera
ASPECT = WIDE[0] / WIDE[1]
PERIOD_S = 3.0

Person = Callable[[int, float], PoseFrame]


def _ts(i: int) -> int:
    return round(i * 1000 / FPS) + 1


def arm_deg(t: float) -> float:
    return 20.0 + 130.0 * 0.5 * (1 - math.cos(2 * math.pi * t / PERIOD_S))


def person(x: float, height: float = 0.45, lag_s: float | None = None) -> Person:
    """Someone at `x`; raising the arms (`lag_s` behind the beat) or standing still."""

    def make(ts: int, t: float) -> PoseFrame:
        kw: dict[str, Any] = (
            {} if lag_s is None else {"shoulder_deg": arm_deg(t - lag_s)}
        )
        return make_frame(ts, center_x=x, height=height, aspect=ASPECT, **kw)

    return make


INSTRUCTOR = person(0.5, 0.6, lag_s=0.0)  # largest and central: picked to lead


def untracked(ts: int, frames: list[PoseFrame]) -> Poses:
    """This frame's people as the multi-person backend returns them (no track ids,
    stamped with the image's aspect)."""
    return Poses.from_frames(
        [dataclasses.replace(f, timestamp_ms=ts) for f in frames], ts
    )


def scene(people: list[Person], i: int) -> Poses:
    ts = _ts(i)
    return untracked(ts, [p(ts, i / FPS) for p in people])


class Calls(ForwardingRecorder):
    """A recorder around another that logs every call: (method, args)."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.log: list[tuple[str, Any]] = []

    def on_open(self, info: SessionInfo) -> None:
        self.log.append(("on_open", (info,)))
        super().on_open(info)

    def on_event(self, session_id: str, event: Event) -> RecordWrite:
        self.log.append(("on_event", (session_id, event)))
        return super().on_event(session_id, event)

    def on_landmarks(self, session_id: str, frame: PoseFrame) -> None:
        self.log.append(("on_landmarks", (session_id, frame)))
        super().on_landmarks(session_id, frame)

    def on_close(self, session_id: str, end: SessionEnd) -> None:
        self.log.append(("on_close", (session_id, end)))
        super().on_close(session_id, end)


def live(**kw: Any) -> GroupLive:
    options: dict[str, Any] = {
        "mode": "follow",
        "spec": None,
        "exercise_id": None,
        "elder": True,
        "lang": "en",
        "max_participants": 8,
        "recorder": Calls(NullRecorder()),
    }
    options.update(kw)
    return GroupLive(**options)


@pytest.fixture
def records(db_url: str) -> Iterator[tuple[Store, DatabaseRecorder, dict[str, Any]]]:  # noqa: F811
    """A records store with one centre, resident and kiosk, and its recorder."""
    st = Store(db_url)
    ids = seed_centre(st)
    recorder = DatabaseRecorder(st)
    try:
        yield st, recorder, ids
    finally:
        recorder.close()
        st.dispose()


def resident_of(st: Store, ids: dict[str, Any]) -> ResidentRef:
    ref = find_resident_ref(st, State(), WHO, ids["member_code"])
    assert isinstance(ref, ResidentRef)
    return ref


def add_resident(st: Store, ids: dict[str, Any], code: str, name: str) -> ResidentRef:
    with st.begin() as db:
        repository.create_resident(
            db, centre_id=ids["centre_id"], member_code=code, display_name=name
        )
    ref = find_resident_ref(st, State(), WHO, code)
    assert isinstance(ref, ResidentRef)
    return ref


def sessions(st: Store) -> list[ExerciseSession]:
    with st.session() as db:
        rows = db.query(ExerciseSession).order_by(ExerciseSession.id).all()
        db.expunge_all()
        return rows


def reps_of(st: Store, session_id: int) -> list[tuple[int, float | None]]:
    with st.session() as db:
        rows = db.query(Rep).filter(Rep.session_id == session_id).order_by(Rep.count)
        return [(r.count, r.score) for r in rows]


# --------------------------------------------------------------------- people list


def test_people_list_roles_numbers_and_coordinates() -> None:
    group = live(max_participants=1)
    a = make_frame(1, center_x=0.5, height=0.6, aspect=ASPECT)
    b = make_frame(1, center_x=0.2, height=0.45, aspect=ASPECT, hidden=["left_wrist"])
    c = make_frame(1, center_x=0.8, height=0.45, aspect=ASPECT)
    step = group.feed(untracked(1, [a, b, c]), WIDE)

    def xy(f: PoseFrame) -> list[tuple[float, float] | None]:
        return [
            None if math.isnan(x) else (round(x, 4), round(y, 4))
            for x, y in f.xyz[:, :2].tolist()
        ]

    def vis(f: PoseFrame) -> list[float]:
        return [round(v, 3) for v in f.visibility.tolist()]

    assert step.people == [
        GroupPerson(
            track_id=1,
            number=None,
            role="instructor",
            name=None,
            reps=0,
            in_step=None,
            last_score=None,
            fallen=False,
            xy=xy(a),
            visibility=vis(a),
        ),
        GroupPerson(
            track_id=2,
            number=1,
            role="participant",
            name=None,
            reps=0,
            in_step=None,
            last_score=None,
            fallen=False,
            xy=xy(b),
            visibility=vis(b),
        ),
        GroupPerson(
            track_id=3,
            number=None,
            role="extra",  # beyond max_participants
            name=None,
            reps=0,
            in_step=None,
            last_score=None,
            fallen=False,
            xy=xy(c),
            visibility=vis(c),
        ),
    ]
    wrist = b.skeleton.index("left_wrist")
    assert step.people[1].xy[wrist] is None  # a missing joint is null on the wire
    assert [type(e).__name__ for e in step.events] == [
        "InstructorChanged",
        "ParticipantJoined",
    ]


def test_the_poses_carry_the_aspect_and_nothing_is_rebuilt() -> None:
    group = live()
    engine, tracker = group.group, group.tracker
    step = group.feed(scene([INSTRUCTOR], 0), WIDE)
    assert group.group is engine and group.tracker is tracker
    assert step.tracked.aspect_wh == pytest.approx(ASPECT)
    with pytest.raises(TypeError):
        live(aspect_wh=ASPECT)  # no aspect option left to disagree with the poses


@pytest.mark.parametrize("with_lineage", [True, False], ids=["lineage", "none"])
def test_the_estimators_lineage_keeps_a_person_whose_fit_grows(
    with_lineage: bool,
) -> None:
    """A fit of part of someone (half hidden, or just after a cut) that the
    estimator follows to the whole body (x1.9 in one frame) stays one person on the
    screen when the worker passes the lineage on; without it the tracker's scale gate
    starts a new person."""
    group = live()
    ids = []
    for i in range(8):
        height, floor = (0.4, 0.9) if i < 4 else (0.76, 0.95)
        frame = make_frame(i * 100 + 1, height=height, floor_y=floor, aspect=ASPECT)
        poses = Poses.from_frames([frame], i * 100 + 1)
        lineage = np.array([3], np.int64) if with_lineage else None
        step = group.feed(poses, WIDE, lineage)
        ids += step.tracked.track_ids.tolist()
    assert set(ids) == ({1} if with_lineage else {1, 2})


@pytest.mark.parametrize(
    ("action", "code"),
    [
        pytest.param(lambda g: g.check_out(2), ErrorCode.UNKNOWN_PARTICIPANT, id="out"),
        pytest.param(
            lambda g: g.require_participant(1),  # the instructor
            ErrorCode.UNKNOWN_PARTICIPANT,
            id="instructor-is-no-participant",
        ),
        pytest.param(
            lambda g: g.set_instructor(99), ErrorCode.UNKNOWN_PARTICIPANT, id="unseen"
        ),
        pytest.param(
            lambda g: g.check_in(7, ResidentRef(1, "X", "X")),
            ErrorCode.UNKNOWN_PARTICIPANT,
            id="check-in-nobody",
        ),
    ],
)
def test_staff_actions_on_unknown_tracks(
    action: Callable[[GroupLive], Any], code: ErrorCode
) -> None:
    group = live()
    group.feed(scene([INSTRUCTOR, person(0.2)], 0), WIDE)
    with pytest.raises(ProtocolError) as caught:
        action(group)
    assert caught.value.code is code


# --------------------------------------------------------------------- records


REPS_AFTER_S = 16.0  # the template-free counter has counted a few reps by then


def test_follow_reps_of_checked_in_residents_are_recorded_with_in_step_scores(
    records: tuple[Store, DatabaseRecorder, dict[str, Any]],
) -> None:
    st, recorder, ids = records
    other = add_resident(st, ids, "RI-002", "Wang Fang")
    calls = Calls(recorder)
    group = live(recorder=calls, kiosk_id=ids["kiosk_id"])
    people = [
        INSTRUCTOR,
        person(0.15, lag_s=0.4),  # checked in throughout
        person(0.85, lag_s=0.3),  # never checked in
        person(0.3, lag_s=0.2),  # checked in, then out at once
    ]
    step = group.feed(scene(people, 0), WIDE)
    assert [(p.track_id, p.role, p.number) for p in step.people] == [
        (1, "instructor", None),
        (2, "participant", 1),
        (3, "participant", 2),
        (4, "participant", 3),
    ]
    check_in, replaced = group.check_in(2, resident_of(st, ids))
    assert (check_in.track_id, check_in.number, replaced) == (2, 1, [])
    group.check_in(4, other)
    closed = group.check_out(4)
    assert (closed.track_id, closed.number, closed.resident) == (4, 3, other)
    follow_reps: list[FollowRepCounted] = []
    frames = round(REPS_AFTER_S * FPS)
    for i in range(1, frames):
        step = group.feed(scene(people, i), WIDE)
        follow_reps += [e for e in step.events if isinstance(e, FollowRepCounted)]
        for future in step.pending:  # what the loop awaits before sending
            future.result(5)
    assert [p.name for p in step.people] == [None, "Lin Riverside", None, None]
    mine = [e for e in follow_reps if e.track_id == 2]
    assert len(mine) >= 2
    assert {e.track_id for e in follow_reps} == {2, 3, 4}  # all count, 2 is recorded
    summary = group.close(CloseReason.CLOSED)
    recorder.flush(10)
    rows = sessions(st)  # anonymous people and the instructor leave no rows
    assert [(r.exercise_id, r.resident_id, r.kiosk_id, r.status) for r in rows] == [
        (
            FOLLOW_EXERCISE_ID,
            ids["resident_id"],
            ids["kiosk_id"],
            SessionStatus.COMPLETED,
        ),
        (
            FOLLOW_EXERCISE_ID,
            other.resident_id,
            ids["kiosk_id"],
            SessionStatus.COMPLETED,
        ),
    ]
    assert reps_of(st, rows[0].id) == [
        (n, e.in_step) for n, e in enumerate(mine, start=1)
    ]
    assert reps_of(st, rows[1].id) == []  # checked out before their reps
    assert [(p.track_id, p.resident, p.name, p.reps) for p in summary] == [
        (2, ids["member_code"], "Lin Riverside", len(mine)),
        (3, None, None, len([e for e in follow_reps if e.track_id == 3])),
        (4, None, None, len([e for e in follow_reps if e.track_id == 4])),
    ]
    landmarks = [a for m, a in calls.log if m == "on_landmarks"]
    assert len(landmarks) == frames - 1  # every frame after the check-in
    assert {a[0] for a in landmarks} == {check_in.session_id}


def test_same_exercise_records_each_checked_in_participants_own_events(
    records: tuple[Store, DatabaseRecorder, dict[str, Any]],
) -> None:
    spec = get_spec("arm_raise")
    lean = {"trunk_roll_deg": 40.0}  # the template's "leaning" cue fires
    tracks = [
        rep_frames(
            spec, reps=3, aspect=ASPECT, seed=1, center_x=0.3, height=0.5, **lean
        ),
        rep_frames(spec, reps=3, aspect=ASPECT, seed=2, center_x=0.75, height=0.5),
    ]
    st, recorder, ids = records
    group = live(
        mode="same_exercise",
        spec=spec,
        exercise_id=spec.id,
        recorder=Calls(recorder),
        kiosk_id=ids["kiosk_id"],
    )
    inner: dict[int, list[Any]] = {1: [], 2: []}
    step = None
    for i in range(min(len(t) for t in tracks)):
        ts = tracks[0][i].timestamp_ms + 1
        step = group.feed(untracked(ts, [t[i] for t in tracks]), WIDE)
        if i == 0:
            group.check_in(1, resident_of(st, ids))
        for e in step.events:
            if isinstance(e, ParticipantEvent):
                inner[e.track_id].append(e.event)
        for future in step.pending:
            future.result(5)
    assert step is not None
    reps = {k: [e for e in v if isinstance(e, RepCompleted)] for k, v in inner.items()}
    cues = [e for e in inner[1] if isinstance(e, CueIssued)]
    assert len(reps[1]) == len(reps[2]) == 3
    assert cues, "the leaning participant got no cue"
    assert [(p.track_id, p.role, p.reps, p.last_score) for p in step.people] == [
        (1, "participant", 3, round(reps[1][-1].score, 1)),
        (2, "participant", 3, round(reps[2][-1].score, 1)),
    ]
    group.close(CloseReason.CLOSED)
    recorder.flush(10)
    (row,) = sessions(st)
    assert (row.exercise_id, row.resident_id, row.status) == (
        "arm_raise",
        ids["resident_id"],
        SessionStatus.COMPLETED,
    )
    assert reps_of(st, row.id) == [(e.count, e.score) for e in reps[1]]
    with st.session() as db:
        stored = db.query(Cue).filter(Cue.session_id == row.id).order_by(Cue.id)
        assert [c.cue_id for c in stored] == [c.cue_id for c in cues]


@pytest.mark.parametrize(
    ("reason", "status"),
    [
        pytest.param(CloseReason.CLOSED, SessionStatus.COMPLETED, id="closed"),
        pytest.param(CloseReason.DISCONNECTED, SessionStatus.INTERRUPTED, id="dropped"),
    ],
)
def test_closing_the_session_closes_the_rows(
    records: tuple[Store, DatabaseRecorder, dict[str, Any]],
    reason: CloseReason,
    status: SessionStatus,
) -> None:
    st, recorder, ids = records
    group = live(recorder=Calls(recorder))
    people = [INSTRUCTOR, person(0.2)]
    group.feed(scene(people, 0), WIDE)
    group.check_in(2, resident_of(st, ids))
    for i in range(1, 5):
        group.feed(scene(people, i), WIDE)
    assert [(p.track_id, p.resident) for p in group.close(reason)] == [
        (2, ids["member_code"])
    ]
    recorder.flush(10)
    assert [r.status for r in sessions(st)] == [status]


def test_leaving_the_view_closes_the_row(
    records: tuple[Store, DatabaseRecorder, dict[str, Any]],
) -> None:
    st, recorder, ids = records
    group = live(recorder=Calls(recorder))
    group.feed(scene([INSTRUCTOR, person(0.2)], 0), WIDE)
    group.check_in(2, resident_of(st, ids))
    gone_ms = _ts(0) + 6500  # past GroupOptions.leave_after_ms
    step = group.feed(untracked(gone_ms, [INSTRUCTOR(gone_ms, 6.5)]), WIDE)
    assert [e for e in step.events if isinstance(e, ParticipantLeft)] == [
        ParticipantLeft(gone_ms, 2, 1)
    ]
    assert [(c.track_id, c.number) for c in step.checked_out] == [(2, 1)]
    assert group.check_ins == {}
    recorder.flush(10)
    (row,) = sessions(st)
    assert row.status == SessionStatus.COMPLETED
    summary = group.close(CloseReason.DISCONNECTED)
    assert [(p.track_id, p.resident) for p in summary] == [(2, ids["member_code"])]
    recorder.flush(10)
    (row,) = sessions(st)
    assert row.status == SessionStatus.COMPLETED  # closed when they left


def test_becoming_the_instructor_closes_the_row_and_a_resident_is_one_person(
    records: tuple[Store, DatabaseRecorder, dict[str, Any]],
) -> None:
    st, recorder, ids = records
    group = live(recorder=Calls(recorder))
    group.feed(scene([INSTRUCTOR, person(0.2), person(0.8)], 0), WIDE)
    resident = resident_of(st, ids)
    group.check_in(2, resident)
    _, replaced = group.check_in(3, resident)  # staff picked the wrong one first
    assert [c.track_id for c in replaced] == [2]
    closed = group.set_instructor(3)
    assert closed is not None and closed.track_id == 3
    assert group.check_ins == {}
    recorder.flush(10)
    assert [s.status for s in sessions(st)] == [SessionStatus.COMPLETED] * 2


def test_unknown_member_code_finds_nobody(
    records: tuple[Store, DatabaseRecorder, dict[str, Any]],
) -> None:
    st, _, ids = records
    who = Who(ids["kiosk_id"], "10.0.0.7")
    assert find_resident_ref(st, State(), who, "NOPE-404") is LookupProblem.UNKNOWN_CODE
    ref = find_resident_ref(st, State(), who, ids["member_code"])
    assert ref == ResidentRef(ids["resident_id"], ids["member_code"], "Lin Riverside")


# --------------------------------------------------------------------- falls


def test_fall_raises_an_alert_that_clears_and_is_acknowledged(
    records: tuple[Store, DatabaseRecorder, dict[str, Any]],
) -> None:
    from tests.exercises.test_falls import fall, frames, get_up, lie, stand

    st, recorder, ids = records
    group = live(
        recorder=Calls(recorder), kiosk_id=ids["kiosk_id"], instructor_track_id=1
    )
    desk = AlertDesk(st, live_id=group.live_id, kiosk_id=ids["kiosk_id"])
    timeline = [stand(2.0), fall(0.7), lie(5.0), get_up(1.5), stand(2.0)]
    seen: list[tuple[str, int | None]] = []
    fallen_on_screen = set()
    for f in frames(timeline):
        leader = make_frame(f.timestamp_ms, center_x=0.15, height=0.5)
        step = group.feed(untracked(f.timestamp_ms, [leader, f]), (720, 720))
        if not group.check_ins:
            group.check_in(2, resident_of(st, ids))
        fallen_on_screen |= {p.track_id for p in step.people if p.fallen}
        for e in step.events:
            if isinstance(e, FallDetected):
                number, name, resident_id = group.who(e.track_id)
                assert (number, name, resident_id) == (
                    1,
                    "Lin Riverside",
                    ids["resident_id"],
                )
                alert_id = desk.raise_fall(e, number=number, resident_id=resident_id)
                seen.append(("raised", alert_id))
            elif isinstance(e, FallCleared):
                seen.append(("cleared", desk.clear_fall(e)))
    assert fallen_on_screen == {2}
    assert [kind for kind, _ in seen] == ["raised", "cleared"]
    alert_id = seen[0][1]
    assert alert_id is not None and seen[1][1] == alert_id
    with st.session() as db:
        (alert,) = repository.list_alerts(db, ids["centre_id"])
        assert (alert.id, alert.kind, alert.track_id, alert.seat_number) == (
            alert_id,
            "fall",
            2,
            1,
        )
        assert (alert.live_id, alert.resident_id, alert.kiosk_id) == (
            group.live_id,
            ids["resident_id"],
            ids["kiosk_id"],
        )
        assert alert.cleared_at is not None and alert.acknowledged_at is None
    assert desk.acknowledge(alert_id) is True
    assert desk.acknowledge(alert_id + 1000) is False
    with st.session() as db:
        assert repository.list_alerts(db, ids["centre_id"]) == []
        (done,) = repository.list_alerts(db, ids["centre_id"], open_only=False)
        assert done.acknowledged_at is not None
        assert done.acknowledged_by_kiosk == ids["kiosk_id"]


def test_without_a_store_alerts_have_no_id_and_cannot_be_acknowledged() -> None:
    desk = AlertDesk(None, live_id="x", kiosk_id=None)
    event = FallDetected(5000, 2, {"en": "", "zh-CN": ""}, 900, 1.4, 600)
    assert desk.raise_fall(event, number=1, resident_id=None) is None
    with pytest.raises(ProtocolError) as caught:
        desk.acknowledge(1)
    assert caught.value.code is ErrorCode.NO_RECORDS


def test_a_failing_alert_write_still_returns_and_is_logged(
    records: tuple[Store, DatabaseRecorder, dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    st, _, _ = records

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setattr(repository, "raise_alert", broken)
    desk = AlertDesk(st, live_id="x", kiosk_id=None)
    event = FallDetected(5000, 2, {"en": "", "zh-CN": ""}, 900, 1.4, 600)
    assert desk.raise_fall(event, number=None, resident_id=None) is None
    assert "not stored" in caplog.text
    assert np.isfinite(event.drop_torso_lengths)
