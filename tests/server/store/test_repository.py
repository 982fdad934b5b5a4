"""The repository on SQLite and PostgreSQL: centres, staff, residents, kiosks, sessions,
history and weekly progress, notes, templates, assessments, delete on request."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from server.store import Store, repository
from server.store.models import (
    Assessment,
    Base,
    Cue,
    ExerciseSession,
    LandmarkChunk,
    Note,
    Rep,
    Resident,
    Role,
    SessionStatus,
    SessionVideo,
)
from tests.server.store.helpers import (
    at,
    cue,
    frames,
    rep,
    seed_centre,
)
from vision.types import PoseWindow


def _count(store: Store, model: Any, *where: Any) -> int:
    with store.session() as db:
        query = select(func.count()).select_from(model).where(*where)
        return int(db.scalar(query) or 0)


# --- residents ----------------------------------------------------------------------


def test_resident_defaults_follow_the_consent_policy(store: Store) -> None:
    ids = seed_centre(store)
    with store.session() as db:
        resident = repository.get_resident(db, ids["resident_id"])
        assert resident is not None
        assert resident.consent_landmarks is True
        assert resident.consent_video is False
        assert resident.consent_data_sharing is False
        assert resident.conditions == ["knee osteoarthritis"]
        assert resident.created_at.tzinfo is not None


def test_member_code_is_unique_within_a_centre_only(store: Store) -> None:
    a = seed_centre(store, "Riverside")
    b = seed_centre(store, "Hillside")
    with store.begin() as db:  # same code, other centre: fine
        repository.create_resident(
            db,
            centre_id=b["centre_id"],
            member_code=a["member_code"],
            display_name="Wu",
        )
    with pytest.raises(IntegrityError), store.begin() as db:
        repository.create_resident(
            db,
            centre_id=a["centre_id"],
            member_code=a["member_code"],
            display_name="Wu",
        )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param(None, ["Chen Mei", "Lin Riverside", "Zhang Wei"], id="all"),
        pytest.param("chen", ["Chen Mei"], id="name-case-insensitive"),
        pytest.param("ri-0", ["Lin Riverside"], id="member-code"),
        pytest.param("%", [], id="percent-is-literal"),
        pytest.param("e", ["Chen Mei", "Lin Riverside", "Zhang Wei"], id="substring"),
    ],
)
def test_search_residents_within_a_centre(
    store: Store, query: str | None, expected: list[str]
) -> None:
    ids = seed_centre(store)
    other = seed_centre(store, "Hillside")
    with store.begin() as db:
        for code, name in (("RI-101", "Zhang Wei"), ("RI-102", "Chen Mei")):
            repository.create_resident(
                db, centre_id=ids["centre_id"], member_code=code, display_name=name
            )
        repository.create_resident(
            db,
            centre_id=other["centre_id"],
            member_code="HI-9",
            display_name="Chen Other",
        )
    with store.session() as db:
        found = repository.search_residents(db, ids["centre_id"], query)
    assert [r.display_name for r in found] == expected


def test_update_resident_changes_consent_and_refuses_other_fields(store: Store) -> None:
    ids = seed_centre(store)
    with store.begin() as db:
        resident = repository.get_resident(db, ids["resident_id"])
        assert resident is not None
        repository.update_resident(db, resident, consent_video=True, sex="male")
        with pytest.raises(ValueError, match="member_code"):
            repository.update_resident(db, resident, member_code="X")
    with store.session() as db:
        resident = repository.get_resident(db, ids["resident_id"])
        assert resident is not None
        assert resident.consent_video is True
        assert resident.sex == "male"


# --- staff and kiosks ---------------------------------------------------------------


def test_coach_needs_a_centre(store: Store) -> None:
    with store.begin() as db, pytest.raises(ValueError, match="centre"):
        repository.create_staff(
            db, username="c", password_hash="x", role=Role.COACH, centre_id=None
        )


def test_staff_usernames_are_unique(store: Store) -> None:
    ids = seed_centre(store)
    with store.begin() as db:
        repository.create_staff(
            db,
            username="mei",
            password_hash="x",
            role="coach",
            centre_id=ids["centre_id"],
        )
    with pytest.raises(IntegrityError), store.begin() as db:
        repository.create_staff(
            db, username="mei", password_hash="y", role="admin", centre_id=None
        )


def test_kiosk_token_is_stored_hashed_and_verifies(store: Store) -> None:
    ids = seed_centre(store)
    token = ids["kiosk_token"]
    with store.session() as db:
        kiosk = repository.get_kiosk(db, ids["kiosk_id"])
        assert kiosk is not None
        assert token not in kiosk.token_hash
        assert kiosk.token_hash == repository.hash_token(token)
        assert repository.find_kiosk_by_token(db, token) == kiosk
        assert repository.find_kiosk_by_token(db, token + "x") is None
        assert repository.find_kiosk_by_token(db, "") is None
    with store.begin() as db:
        kiosk = repository.get_kiosk(db, ids["kiosk_id"])
        assert kiosk is not None
        kiosk.active = False
    with store.session() as db:
        assert repository.find_kiosk_by_token(db, token) is None


# --- sessions -----------------------------------------------------------------------


def _session_with_reps(
    store: Store,
    resident_id: int,
    started_at: datetime,
    scores: list[float],
    **kw: object,
) -> int:
    with store.begin() as db:
        session = repository.start_session(
            db,
            exercise_id=str(kw.get("exercise_id", "squat")),
            language="zh-CN",
            elder_mode=True,
            resident_id=resident_id,
            started_at=started_at,
        )
        for i, score in enumerate(scores, start=1):
            repository.record_rep(
                db, session.id, rep(i, score, knee=90.0 + i, hip=60.0 + i)
            )
        return session.id


def test_session_lifecycle_keeps_reps_and_cues(store: Store) -> None:
    ids = seed_centre(store)
    with store.begin() as db:
        session = repository.start_session(
            db, exercise_id="squat", language="en", resident_id=ids["resident_id"]
        )
        assert session.status is SessionStatus.ACTIVE
        assert session.centre_id == ids["centre_id"]  # from the resident
        sid = session.id
        repository.record_event(db, sid, rep(1, 75.5))
        repository.record_event(db, sid, cue(1200))
        repository.record_event(db, sid, rep(2, float("nan")))  # non-finite score
        repository.finish_session(db, sid, summary={"reps": 2, "mean": float("inf")})
    with store.session() as db:
        done = repository.get_session(db, sid)
        assert done is not None
        session = done
        assert session.status is SessionStatus.COMPLETED
        assert session.ended_at is not None and session.ended_at >= session.started_at
        assert session.summary == {"reps": 2, "mean": None}
        assert [(r.count, r.score) for r in session.reps] == [(1, 75.5), (2, None)]
        first = session.reps[0]
        assert first.breakdown == {"knee": 76.5, "hip": 74.5}
        assert first.range_of_motion_deg == {"knee": 95.0, "hip": 70.0}
        assert first.cue_ids == ["knees_cave"]
        assert first.duration_ms == 1801
        assert [(c.cue_id, c.severity, c.message["zh-CN"]) for c in session.cues] == [
            ("knees_cave", "major", "膝盖向外推")
        ]


def test_mark_interrupted_keeps_what_was_reported(store: Store) -> None:
    ids = seed_centre(store)
    sid = _session_with_reps(store, ids["resident_id"], at(2026, 3, 2), [70, 80])
    with store.begin() as db:
        repository.mark_interrupted(db, sid, "disconnected")
    with store.session() as db:
        session = repository.get_session(db, sid)
        assert session is not None
        assert session.status is SessionStatus.INTERRUPTED
        assert session.end_reason == "disconnected"
        assert len(session.reps) == 2


def test_interrupt_stale_sessions_only_touches_old_active_ones(store: Store) -> None:
    ids = seed_centre(store)
    old = _session_with_reps(store, ids["resident_id"], at(2026, 3, 2), [70])
    done = _session_with_reps(store, ids["resident_id"], at(2026, 3, 2), [70])
    new = _session_with_reps(store, ids["resident_id"], at(2026, 3, 9), [70])
    with store.begin() as db:
        repository.finish_session(db, done)
        assert (
            repository.interrupt_stale_sessions(db, started_before=at(2026, 3, 5)) == 1
        )
    with store.session() as db:
        statuses = {s: repository.get_session(db, s).status for s in (old, done, new)}  # type: ignore[union-attr]
    assert statuses == {
        old: SessionStatus.INTERRUPTED,
        done: SessionStatus.COMPLETED,
        new: SessionStatus.ACTIVE,
    }


def test_resident_history_is_newest_first_with_aggregates(store: Store) -> None:
    ids = seed_centre(store)
    first = _session_with_reps(store, ids["resident_id"], at(2026, 3, 2), [60, 80])
    second = _session_with_reps(store, ids["resident_id"], at(2026, 3, 4), [])
    with store.session() as db:
        history = repository.resident_sessions(db, ids["resident_id"])
    assert [(o.session.id, o.rep_count, o.mean_score) for o in history] == [
        (second, 0, None),
        (first, 2, pytest.approx(70.0)),
    ]


def test_weekly_progress_groups_by_iso_week_and_exercise(store: Store) -> None:
    ids = seed_centre(store)
    rid = ids["resident_id"]
    # ISO week 10 of 2026 is Mon 2 March .. Sun 8 March.
    _session_with_reps(store, rid, at(2026, 3, 2), [60, 70])  # knee ROM 91, 92
    _session_with_reps(store, rid, at(2026, 3, 8, 20), [90])  # Sunday evening UTC
    _session_with_reps(store, rid, at(2026, 3, 9), [50])  # week 11
    _session_with_reps(store, rid, at(2026, 3, 3), [100], exercise_id="arm_raise")
    with store.session() as db:
        weeks = repository.weekly_progress(db, rid)
        squat_only = repository.weekly_progress(db, rid, exercise_id="squat")
        shanghai = repository.weekly_progress(
            db, rid, exercise_id="squat", tz="Asia/Shanghai"
        )
    summary = [(w.week, w.exercise_id, w.sessions, w.reps, w.mean_score) for w in weeks]
    assert summary == [
        ("2026-W10", "arm_raise", 1, 1, 100.0),
        ("2026-W10", "squat", 2, 3, pytest.approx(220 / 3)),
        ("2026-W11", "squat", 1, 1, 50.0),
    ]
    w10 = weeks[1]
    assert w10.week_start == date(2026, 3, 2)
    assert w10.rom_deg == {
        "hip": pytest.approx((61 + 62 + 61) / 3),
        "knee": pytest.approx((91 + 92 + 91) / 3),
    }
    assert w10.rom_max_deg == {"hip": 62.0, "knee": 92.0}
    assert [w.week for w in squat_only] == ["2026-W10", "2026-W11"]
    # 20:00 UTC on Sunday is 04:00 Monday in Shanghai: that session moves to week 11.
    assert [(w.week, w.sessions) for w in shanghai] == [
        ("2026-W10", 1),
        ("2026-W11", 2),
    ]
    with store.session() as db, pytest.raises(ValueError, match="time zone"):
        repository.weekly_progress(db, rid, tz="Mars/Olympus")


# --- notes, templates, assessments, video -------------------------------------------


def test_notes_about_a_session_imply_its_resident(store: Store) -> None:
    ids = seed_centre(store)
    sid = _session_with_reps(store, ids["resident_id"], at(2026, 3, 2), [70])
    with store.begin() as db:
        coach = repository.create_staff(
            db,
            username="mei",
            password_hash="x",
            role="coach",
            centre_id=ids["centre_id"],
        )
        repository.add_note(
            db, author_id=coach.id, session_id=sid, text="Good depth today"
        )
        repository.add_note(
            db, author_id=coach.id, resident_id=ids["resident_id"], text="Knee ok"
        )
        with pytest.raises(ValueError, match="neither"):
            repository.add_note(db, author_id=coach.id, text="orphan")
        with pytest.raises(ValueError, match="empty"):
            repository.add_note(db, author_id=coach.id, session_id=sid, text="  ")
    with store.session() as db:
        on_session = repository.list_notes(db, session_id=sid)
        on_resident = repository.list_notes(db, resident_id=ids["resident_id"])
    assert [n.text for n in on_session] == ["Good depth today"]
    assert [n.text for n in on_resident] == ["Good depth today", "Knee ok"]
    assert {n.centre_id for n in on_resident} == {ids["centre_id"]}
    assert on_session[0].author is not None and on_session[0].author.username == "mei"


def test_templates_are_upserted_per_centre(store: Store) -> None:
    ids = seed_centre(store)
    other = seed_centre(store, "Hillside")
    with store.begin() as db:
        repository.save_template(
            db,
            centre_id=ids["centre_id"],
            template_id="sit",
            toml_text="a",
            author_id=None,
        )
        repository.save_template(
            db,
            centre_id=ids["centre_id"],
            template_id="sit",
            toml_text="b",
            author_id=None,
        )
        repository.save_template(
            db,
            centre_id=other["centre_id"],
            template_id="sit",
            toml_text="c",
            author_id=None,
        )
    with store.session() as db:
        mine = repository.list_templates(db, ids["centre_id"])
        assert [(t.template_id, t.toml_text) for t in mine] == [("sit", "b")]
        assert mine[0].updated_at >= mine[0].created_at
    with store.begin() as db:
        assert repository.delete_template(db, ids["centre_id"], "sit") is True
        assert repository.delete_template(db, ids["centre_id"], "sit") is False
    assert _count(store, Base.metadata.tables["custom_templates"]) == 1


def test_assessments_round_trip_and_refuse_nan(store: Store) -> None:
    ids = seed_centre(store)
    with store.begin() as db:
        repository.add_assessment(
            db,
            resident_id=ids["resident_id"],
            protocol_id="chair_stand_30s",
            value=12,
            unit="{repetitions}",
            percentile=45.0,
            band="average",
            taken_at=at(2026, 3, 2),
        )
        with pytest.raises(ValueError, match="finite"):
            repository.add_assessment(
                db,
                resident_id=ids["resident_id"],
                protocol_id="x",
                value=float("nan"),
                unit="s",
            )
    with store.session() as db:
        (found,) = repository.list_assessments(db, ids["resident_id"])
    assert (
        found.protocol_id,
        found.value,
        found.unit,
        found.percentile,
        found.band,
    ) == (
        "chair_stand_30s",
        12.0,
        "{repetitions}",
        45.0,
        "average",
    )
    assert found.taken_at == at(2026, 3, 2)


def test_video_needs_the_residents_consent(store: Store) -> None:
    ids = seed_centre(store)
    sid = _session_with_reps(store, ids["resident_id"], at(2026, 3, 2), [70])
    with store.begin() as db, pytest.raises(repository.ConsentError):
        repository.attach_video(db, sid, b"webm")
    with store.begin() as db:
        resident = repository.get_resident(db, ids["resident_id"])
        assert resident is not None
        repository.update_resident(db, resident, consent_video=True)
    with store.begin() as db:
        repository.attach_video(db, sid, b"webm")
    assert _count(store, SessionVideo) == 1


def test_times_are_utc_aware_and_naive_times_are_refused(store: Store) -> None:
    ids = seed_centre(store)
    shanghai = datetime(2026, 3, 2, 18, 0, tzinfo=UTC) + timedelta(0)
    sid = _session_with_reps(store, ids["resident_id"], shanghai, [])
    with store.session() as db:
        session = repository.get_session(db, sid)
        assert session is not None
        assert session.started_at == shanghai
        assert session.started_at.utcoffset() == timedelta(0)
    with pytest.raises(Exception, match="timezone-aware"), store.begin() as db:
        repository.start_session(
            db, exercise_id="squat", language="en", started_at=datetime(2026, 1, 1)
        )


# --- delete on request --------------------------------------------------------------


def _populate(store: Store, ids: dict[str, int]) -> int:
    sid = _session_with_reps(store, ids["resident_id"], at(2026, 3, 2), [70, 80])
    with store.begin() as db:
        repository.record_cue(db, sid, cue(500))
        repository.append_landmarks(db, sid, PoseWindow.from_frames(frames(10)))
        coach = repository.create_staff(
            db,
            username=f"coach{ids['centre_id']}",
            password_hash="x",
            role="coach",
            centre_id=ids["centre_id"],
        )
        repository.add_note(db, author_id=coach.id, session_id=sid, text="n1")
        repository.add_note(
            db, author_id=coach.id, resident_id=ids["resident_id"], text="n2"
        )
        repository.add_assessment(
            db, resident_id=ids["resident_id"], protocol_id="tug", value=9.5, unit="s"
        )
        resident = repository.get_resident(db, ids["resident_id"])
        assert resident is not None
        repository.update_resident(db, resident, consent_video=True)
    with store.begin() as db:
        repository.attach_video(db, sid, b"v")
    return sid


def test_delete_resident_removes_everything_that_references_them(store: Store) -> None:
    gone = seed_centre(store, "Riverside")
    kept = seed_centre(store, "Hillside")
    gone_sid = _populate(store, gone)
    kept_sid = _populate(store, kept)
    with store.begin() as db:
        counts = repository.delete_resident(db, gone["resident_id"])
    assert counts == {
        "sessions": 1,
        "reps": 2,
        "cues": 1,
        "landmark_chunks": 1,
        "videos": 1,
        "notes": 2,
        "assessments": 1,
        "prescriptions": 0,
        "performed_sets": 0,
        "member_tokens": 0,
        "programme_results": 0,
        "alerts_unlinked": 0,
    }
    assert _count(store, Resident, Resident.id == gone["resident_id"]) == 0
    for model, column in (
        (ExerciseSession, ExerciseSession.id),
        (Rep, Rep.session_id),
        (Cue, Cue.session_id),
        (LandmarkChunk, LandmarkChunk.session_id),
        (SessionVideo, SessionVideo.session_id),
        (Note, Note.session_id),
    ):
        assert _count(store, model, column == gone_sid) == 0, model.__name__
        assert _count(store, model, column == kept_sid) == 1 + (model is Rep), (
            model.__name__
        )
    assert _count(store, Note, Note.resident_id == gone["resident_id"]) == 0
    assert _count(store, Assessment, Assessment.resident_id == gone["resident_id"]) == 0
    assert _count(store, Assessment, Assessment.resident_id == kept["resident_id"]) == 1
    with store.begin() as db:
        assert repository.delete_resident(db, gone["resident_id"]) is None


def test_withdrawing_consent_deletes_the_recordings_kept_under_it(store: Store) -> None:
    ids = seed_centre(store)
    other = seed_centre(store, "Hillside")
    sids = {}
    for who in (ids, other):
        sid = _session_with_reps(store, who["resident_id"], at(2026, 3, 2), [70])
        with store.begin() as db:
            repository.append_landmarks(db, sid, PoseWindow.from_frames(frames(4)))
            resident = repository.get_resident(db, who["resident_id"])
            assert resident is not None
            repository.update_resident(db, resident, consent_video=True)
        with store.begin() as db:
            repository.attach_video(db, sid, b"v")
        sids[who["resident_id"]] = sid
    sid = sids[ids["resident_id"]]
    with store.begin() as db:
        resident = repository.get_resident(db, ids["resident_id"])
        assert resident is not None
        repository.update_resident(db, resident, consent_landmarks=False)
    assert _count(store, LandmarkChunk, LandmarkChunk.session_id == sid) == 0
    assert _count(store, SessionVideo, SessionVideo.session_id == sid) == 1
    with store.begin() as db:
        resident = repository.get_resident(db, ids["resident_id"])
        assert resident is not None
        repository.update_resident(db, resident, consent_video=False)
    assert _count(store, SessionVideo, SessionVideo.session_id == sid) == 0
    assert _count(store, Rep, Rep.session_id == sid) == 1  # results stay
    kept = sids[other["resident_id"]]
    assert _count(store, LandmarkChunk, LandmarkChunk.session_id == kept) == 1
    assert _count(store, SessionVideo, SessionVideo.session_id == kept) == 1
