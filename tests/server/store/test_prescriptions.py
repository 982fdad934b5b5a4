"""Exercise prescriptions in the records on SQLite and PostgreSQL: a plan round-trips
through its document, the sets done under it come back as the core's performed sets,
and progression, today's plan and adherence computed from what the database returns
are exactly the worked example's (docs/prescriptions.md); member cards resolve (or
refuse) by hash; scoring tables are validated before anything is stored; a resident's
deletion removes their plans, sets and cards."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from exercises.member_tokens import CheckInProblem, make_member_token, token_hash
from exercises.national_standard import (
    Grade,
    ScoringTableError,
    Sex,
    builtin_test_table,
    score_battery,
)
from exercises.national_standard.table import TABLES_DIR
from exercises.prescriptions import (
    AdherenceTotals,
    Change,
    Dose,
    PrescriptionError,
    plan_for_date,
)
from server.store import Store, repository
from server.store.models import (
    Assessment,
    ExerciseSession,
    FitnessTable,
    MemberToken,
    PerformedSetRow,
    PrescriptionRow,
)
from tests.exercises.prescriptions.factories import CATALOGUE, D, history, make_plan
from tests.server.plans import stored_worked_example
from tests.server.store.helpers import at, seed_centre

AS_OF = D(2025, 3, 26)  # Wednesday of the plan's last week


def _staff(store: Store, centre_id: int) -> int:
    with store.begin() as db:
        return repository.create_staff(
            db,
            username=f"coach{centre_id}",
            password_hash="x",
            role="coach",
            centre_id=centre_id,
        ).id


def _stored_plan(store: Store, ids: dict[str, Any], *, sessions: bool = False) -> int:
    """The worked example stored, prescribed by a coach of the centre."""
    coach = _staff(store, ids["centre_id"])
    return stored_worked_example(store, ids, prescribed_by=coach, sessions=sessions)


def test_a_plan_round_trips_through_its_document(store: Store) -> None:
    ids = seed_centre(store)
    pid = _stored_plan(store, ids)
    with store.session() as db:
        row = repository.get_prescription(db, pid)
        assert row is not None
        assert repository.load_plan(row, CATALOGUE) == make_plan()
        assert (row.start_date, row.end_date) == (D(2025, 3, 5), D(2025, 3, 30))
        assert row.template_id is None and row.prescribed_by is not None
        assert row.document["title"] == {"en": "Knee strength", "zh-CN": "膝关节力量"}
        # The plan that runs on a date: none before or after its dates.
        assert (
            repository.current_prescription(db, ids["resident_id"], D(2025, 3, 4))
            is None
        )
        assert (
            repository.current_prescription(db, ids["resident_id"], D(2025, 3, 5)).id
            == pid
        )  # type: ignore[union-attr]
        assert (
            repository.current_prescription(db, ids["resident_id"], D(2025, 3, 30)).id
            == pid
        )  # type: ignore[union-attr]
        assert (
            repository.current_prescription(db, ids["resident_id"], D(2025, 3, 31))
            is None
        )
        # A plan that no longer validates (a template the centre deleted) says so.
        with pytest.raises(PrescriptionError, match="unknown exercise 'plank'"):
            repository.load_plan(row, {"squat": "reps", "sit_to_stand": "reps"})


def test_a_later_plan_takes_over_and_an_edit_keeps_the_sets(store: Store) -> None:
    ids = seed_centre(store)
    first = _stored_plan(store, ids)

    def later(doc: dict[str, Any]) -> None:
        doc["start_date"] = "2025-03-20"
        doc["end_date"] = "2025-04-30"
        doc["sessions"] = doc["sessions"][:1]

    with store.begin() as db:
        second = repository.create_prescription(
            db,
            centre_id=ids["centre_id"],
            resident_id=ids["resident_id"],
            plan=make_plan(later),
        ).id
    with store.begin() as db:
        on = repository.current_prescription(db, ids["resident_id"], D(2025, 3, 24))
        assert on is not None and on.id == second
        assert [
            r.id
            for r in repository.list_prescriptions(db, resident_id=ids["resident_id"])
        ] == [second, first]
        row = repository.get_prescription(db, first)
        assert row is not None
        before = row.updated_at
        repository.update_prescription(db, row, make_plan(later))
        assert row.updated_at >= before and row.start_date == D(2025, 3, 20)
    with store.session() as db:
        assert len(repository.set_rows(db, first)) == len(history())


def test_progression_and_adherence_from_the_stored_sets_are_exact(store: Store) -> None:
    ids = seed_centre(store)
    pid = _stored_plan(store, ids, sessions=True)
    with store.session() as db:
        row = repository.get_prescription(db, pid)
        assert row is not None
        sets = repository.performed_sets(db, pid)
        report = repository.plan_adherence(db, row, CATALOGUE, AS_OF)
        plan = repository.load_plan(row, CATALOGUE)
    # What went in comes out, oldest first (the history is already in date order).
    assert sets == history()
    # Progression as the kiosk sees it on Monday 24 March: squat 8 -> 10 (week 1, mean
    # 83 >= 80), 10 (week 2, mean 77), 10 (week 3 missed: hold); plank 20 -> 25 -> 30
    # -> 25 (stepped back after the missed week).
    today = plan_for_date(plan, D(2025, 3, 24), sets)
    (session,) = today.sessions
    squat, plank = session.exercises
    assert squat.dose == Dose(2, reps=10) and plank.dose == Dose(2, hold_s=25.0)
    assert squat.last_change is not None and plank.last_change is not None
    assert squat.last_change.change is Change.HELD_MISSED_WEEK
    assert plank.last_change.change is Change.STEPPED_BACK
    # Adherence, week by week, exactly.
    assert [w.week_start for w in report.weeks] == [
        D(2025, 3, 3),
        D(2025, 3, 10),
        D(2025, 3, 17),
        D(2025, 3, 24),
    ]
    assert [w.totals for w in report.weeks] == [
        AdherenceTotals(2, 2, 5, 5, 4, 26, 26, 40.0, 35.0),
        AdherenceTotals(3, 1, 9, 4, 3, 50, 19, 100.0, 50.0),
        AdherenceTotals(3, 0, 9, 0, 0, 50, 0, 120.0, 0.0),
        AdherenceTotals(3, 1, 9, 4, 3, 50, 20, 100.0, 45.0),
    ]
    assert [w.complete for w in report.weeks] == [True, True, True, False]
    assert [w.missed for w in report.weeks] == [False, False, True, False]
    assert report.weeks[0].mean_score == pytest.approx(236 / 3, abs=1e-12)
    assert [w.mean_score for w in report.weeks[1:]] == [77.0, None, 91.0]
    assert report.totals == AdherenceTotals(8, 3, 23, 9, 7, 126, 45, 260.0, 85.0)
    assert report.session_rate == 0.375
    assert report.missed_weeks == (D(2025, 3, 17),)
    assert Fraction(report.score_trend_per_week).limit_denominator(1000) == Fraction(
        95, 21
    )  # type: ignore[arg-type]


def test_a_session_records_one_set_and_outlives_it(store: Store) -> None:
    ids = seed_centre(store)
    pid = _stored_plan(store, ids, sessions=True)
    with store.session() as db:
        linked = repository.set_rows(db, pid)[0]
        session_id = linked.exercise_session_id
        assert session_id is not None
    with pytest.raises(IntegrityError), store.begin() as db:
        repository.record_set(
            db,
            prescription_id=pid,
            performed=history()[0],
            set_index=9,
            exercise_session_id=session_id,
        )
    with store.begin() as db:  # the recording goes: the set stays, unlinked
        db.execute(delete(ExerciseSession).where(ExerciseSession.id == session_id))
    with store.session() as db:
        kept = db.get(PerformedSetRow, linked.id)
        assert kept is not None and kept.exercise_session_id is None
        assert repository.performed_sets(db, pid) == history()


def test_deleting_a_plan_deletes_its_sets(store: Store) -> None:
    ids = seed_centre(store)
    pid = _stored_plan(store, ids)
    with store.begin() as db:
        assert repository.delete_prescription(db, pid) is True
        assert repository.delete_prescription(db, pid) is False
    with store.session() as db:
        assert db.scalar(select(func.count()).select_from(PerformedSetRow)) == 0


def _count(store: Store, model: Any) -> int:
    with store.session() as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_deleting_a_resident_removes_their_plans_sets_and_cards(store: Store) -> None:
    gone = seed_centre(store, "Riverside")
    kept = seed_centre(store, "Hillside")
    _stored_plan(store, gone)
    kept_plan = _stored_plan(store, kept)
    with store.begin() as db:
        for ids in (gone, kept):
            resident = repository.get_resident(db, ids["resident_id"])
            assert resident is not None
            repository.issue_member_token(db, resident)
            repository.issue_member_token(db, resident)
    with store.begin() as db:
        counts = repository.delete_resident(db, gone["resident_id"])
    assert counts is not None
    assert (
        counts["prescriptions"],
        counts["performed_sets"],
        counts["member_tokens"],
    ) == (1, 13, 2)
    assert _count(store, PrescriptionRow) == 1
    assert _count(store, PerformedSetRow) == 13
    assert _count(store, MemberToken) == 2
    with store.session() as db:
        assert [p.id for p in repository.list_prescriptions(db)] == [kept_plan]


# --- member cards ------------------------------------------------------------------


def _bytes(n: int) -> bytes:
    return bytes([n]) * 16


def test_member_cards_keep_only_the_hash_and_resolve_by_it(store: Store) -> None:
    home = seed_centre(store, "Riverside")
    away = seed_centre(store, "Hillside")
    with store.begin() as db:
        resident = repository.get_resident(db, home["resident_id"])
        other = repository.get_resident(db, away["resident_id"])
        assert resident is not None and other is not None
        card, token = repository.issue_member_token(
            db, resident, token_bytes=lambda n: _bytes(1)
        )
        revoked, revoked_token = repository.issue_member_token(
            db, resident, token_bytes=lambda n: _bytes(2)
        )
        _, away_token = repository.issue_member_token(
            db, other, token_bytes=lambda n: _bytes(3)
        )
        repository.revoke_member_token(db, revoked)
        first_revocation = revoked.revoked_at
        repository.revoke_member_token(db, revoked)
        assert revoked.revoked_at == first_revocation  # the first revocation stands
    assert token == make_member_token(_bytes(1))
    with store.session() as db:
        rows = repository.list_member_tokens(db, home["resident_id"])
        assert [r.token_hash for r in rows] == [
            token_hash(token),
            token_hash(revoked_token),
        ]
        assert [r.hint for r in rows] == ["…" + token[-4:], "…" + revoked_token[-4:]]
        # No column holds the token itself.
        for r in rows:
            assert token not in {str(v) for v in (r.token_hash, r.hint)}
        centre = home["centre_id"]

        def problem(text: str) -> CheckInProblem | None:
            return repository.resolve_member_token(db, centre, text).problem

        found = repository.resolve_member_token(db, centre, " " + token.lower() + "\n")
        assert found.problem is None and found.resident is not None
        assert found.resident.id == home["resident_id"]
        assert problem(revoked_token) is CheckInProblem.REVOKED
        assert problem(away_token) is CheckInProblem.OTHER_CENTRE
        assert problem(make_member_token(_bytes(4))) is CheckInProblem.UNKNOWN
        assert problem("https://example.com/pay?id=12") is CheckInProblem.NOT_OURS
        assert (
            problem(token[:-1] + ("A" if token[-1] != "A" else "B"))
            is CheckInProblem.DAMAGED
        )
        assert problem("MC2-" + token[4:]) is CheckInProblem.UNSUPPORTED_VERSION
    assert card.id != revoked.id


# --- national-standard tables and results ------------------------------------------


TEST_TABLE = (TABLES_DIR / "test_table.toml").read_text(encoding="utf-8")


def _install(store: Store, centre_id: int, text: str = TEST_TABLE) -> FitnessTable:
    with store.begin() as db:
        return repository.install_fitness_table(db, centre_id=centre_id, toml_text=text)


def test_a_scoring_table_is_validated_before_it_is_stored(store: Store) -> None:
    ids = seed_centre(store)
    text = TEST_TABLE
    row = _install(store, ids["centre_id"])
    assert (row.table_id, row.test_table) == ("test-table", True)
    malformed = text.replace(
        '"60-64" = [[0, 0], [5, 20]', '"60-64" = [[0, 0], [5, 200]', 1
    )
    missing_band = text.replace(
        '"65-69" = [[0, 0], [5, 20], [10, 40], [15, 60], [20, 80], [25, 100]]\n', "", 1
    )
    for bad, match in (
        ("schema = 1\nid = [", "invalid TOML"),
        (malformed, "points"),
        (
            missing_band.replace('id = "test-table"', 'id = "other"'),
            "missing age group 65-69",
        ),
    ):
        with pytest.raises(ScoringTableError, match=match):
            _install(store, ids["centre_id"], bad)
    with pytest.raises(ValueError, match="already installed"):
        _install(store, ids["centre_id"])
    assert _count(store, FitnessTable) == 1


def test_battery_results_are_stored_one_row_per_item(store: Store) -> None:
    ids = seed_centre(store)
    _install(store, ids["centre_id"])
    with store.begin() as db:
        row = repository.get_fitness_table(db, ids["centre_id"])
        assert row is not None
        table = repository.load_scoring_table(row)
        assert table == builtin_test_table()
        score = score_battery(
            table,
            sex=Sex.FEMALE,
            age_years=66,
            results={"cn_sit_stand_30s": 17, "cn_high_knee_2min": 100},
        )
        saved = repository.add_battery_results(
            db,
            resident_id=ids["resident_id"],
            table=table,
            score=score,
            taken_at=at(2025, 3, 1),
        )
        assert len(saved) == 2
    with store.session() as db:
        rows = repository.list_assessments(db, ids["resident_id"])
    assert [(r.protocol_id, r.value, r.unit, r.band) for r in rows] == [
        ("cn_sit_stand_30s", 17.0, "count", "normal"),  # 60 points: pass
        ("cn_high_knee_2min", 100.0, "count", "above"),  # 100 points: excellent
    ]
    details = rows[0].details
    assert details["points"] == 60 and details["weight"] == 0.125
    assert (details["table_id"], details["test_table"], details["battery_id"]) == (
        "test-table",
        True,
        "elder",
    )
    assert (
        details["age_group"] == [65, 69]
        and details["total"] is None
        and details["grade"] is None
    )
    assert len(details["missing"]) == 6
    assert "TEST table" in details["summary"]["en"]
    assert _count(store, Assessment) == 2
    assert Grade.PASS.value == "pass"
