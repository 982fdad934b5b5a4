"""Exports: CSV and JSON contain the reps; the FHIR R4 bundle is structurally valid
(resource types, required fields, codes, references that resolve inside the bundle) and
reveals the resident's identity only with data-sharing consent. The fall alerts that
name a resident are in their JSON and FHIR exports, and not after they are deleted."""

# ruff: noqa: F811 (pytest fixtures imported from the helpers)

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from server import exports
from server.store import Store, repository
from tests.server.store.helpers import (  # noqa: F401 (fixtures)
    at,
    cue,
    db_url,
    pg_database_url,
    rep,
    seed_centre,
    sqlite_template,
    store,
)

DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
)
UUID_URN = re.compile(
    r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
)
OBSERVATION_STATUS = {
    "registered",
    "preliminary",
    "final",
    "amended",
    "corrected",
    "cancelled",
    "entered-in-error",
    "unknown",
}


def _populate(store: Store, *, sharing: bool = False) -> dict[str, Any]:
    ids = seed_centre(store)
    with store.begin() as db:
        resident = repository.get_resident(db, ids["resident_id"])
        assert resident is not None
        repository.update_resident(db, resident, consent_data_sharing=sharing)
        first = repository.start_session(
            db,
            exercise_id="squat",
            language="en",
            resident_id=resident.id,
            started_at=at(2026, 3, 2, 9),
        )
        repository.record_rep(db, first.id, rep(1, 70.0, knee=90.0, hip=60.0))
        repository.record_rep(db, first.id, rep(2, 90.0, knee=100.0, hip=70.0))
        repository.record_cue(db, first.id, cue(1500))
        repository.finish_session(db, first.id, ended_at=at(2026, 3, 2, 9, 6))
        second = repository.start_session(
            db,
            exercise_id="=cmd|evil",
            language="zh-CN",
            resident_id=resident.id,
            started_at=at(2026, 3, 4, 9),
        )
        repository.record_rep(db, second.id, rep(1, 50.0))
        repository.mark_interrupted(
            db, second.id, "disconnected", ended_at=at(2026, 3, 4, 9, 1)
        )
        coach = repository.create_staff(
            db,
            username="mei",
            password_hash="x",
            role="coach",
            centre_id=ids["centre_id"],
            display_name="Coach Mei",
        )
        repository.add_note(
            db, author_id=coach.id, session_id=first.id, text="Deeper than last week"
        )
        repository.add_note(
            db, author_id=coach.id, resident_id=resident.id, text="Prefers mornings"
        )
        repository.add_assessment(
            db,
            resident_id=resident.id,
            protocol_id="chair_stand_30s",
            value=12,
            unit="{repetitions}",
            percentile=45,
            band="average",
            taken_at=at(2026, 3, 5),
        )
        repository.add_assessment(
            db,
            resident_id=resident.id,
            protocol_id="custom_walk",
            value=3.5,
            unit="laps",
            taken_at=at(2026, 3, 6),
        )
    return {**ids, "first": first.id, "second": second.id}


# --- CSV and JSON -------------------------------------------------------------------


def test_session_csv_has_one_row_per_rep_with_angles(store: Store) -> None:
    ids = _populate(store)
    with store.session() as db:
        text = exports.session_csv(db, ids["first"])
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["rep"], r["score"], r["member_code"]) for r in rows] == [
        ("1", "70.0", ids["member_code"]),
        ("2", "90.0", ids["member_code"]),
    ]
    assert rows[1]["rom_deg.knee"] == "100.0" and rows[1]["score.hip"] == "89.0"
    assert rows[0]["cue_ids"] == "knees_cave" and rows[1]["cue_ids"] == ""


def test_resident_csv_covers_every_session_and_defuses_formulas(store: Store) -> None:
    ids = _populate(store)
    with store.session() as db:
        rows = list(
            csv.DictReader(io.StringIO(exports.resident_csv(db, ids["resident_id"])))
        )
    assert [(int(r["session_id"]), r["rep"]) for r in rows] == [
        (ids["first"], "1"),
        (ids["first"], "2"),
        (ids["second"], "1"),
    ]
    assert rows[2]["exercise_id"] == "'=cmd|evil"
    assert rows[2]["status"] == "interrupted"


def test_resident_json_holds_everything_kept_about_them(store: Store) -> None:
    ids = _populate(store)
    with store.session() as db:
        data = exports.resident_json(db, ids["resident_id"])
    json.dumps(data)  # serializable as is
    assert data["format"] == "movecoach.export" and data["version"] == 1
    assert data["resident"]["member_code"] == ids["member_code"]
    assert data["resident"]["consent"] == {
        "landmarks": True,
        "video": False,
        "data_sharing": False,
    }
    sessions = data["sessions"]
    assert [s["id"] for s in sessions] == [ids["first"], ids["second"]]
    assert [r["score"] for r in sessions[0]["reps"]] == [70.0, 90.0]
    assert sessions[0]["reps"][0]["range_of_motion_deg"] == {"knee": 90.0, "hip": 60.0}
    assert sessions[0]["mean_score"] == pytest.approx(80.0)
    assert [c["cue_id"] for c in sessions[0]["cues"]] == ["knees_cave"]
    assert [n["text"] for n in sessions[0]["notes"]] == ["Deeper than last week"]
    assert sessions[0]["notes"][0]["author"] == "Coach Mei"
    assert [n["text"] for n in data["notes"]] == ["Prefers mornings"]
    assert [a["protocol_id"] for a in data["assessments"]] == [
        "chair_stand_30s",
        "custom_walk",
    ]


def test_session_json_contains_reps_and_optionally_landmarks(store: Store) -> None:
    from tests.server.store.helpers import frames
    from vision.types import PoseWindow

    ids = _populate(store)
    with store.begin() as db:
        repository.append_landmarks(db, ids["first"], PoseWindow.from_frames(frames(5)))
    with store.session() as db:
        plain = exports.session_json(db, ids["first"])
        full = exports.session_json(db, ids["first"], landmarks=True)
    assert [r["count"] for r in plain["session"]["reps"]] == [1, 2]
    assert "landmarks" not in plain["session"]
    assert full["session"]["landmarks"]["frames"] == 5
    assert plain["resident"] == {
        "id": ids["resident_id"],
        "member_code": ids["member_code"],
    }


def test_unknown_ids_raise_lookup_error(store: Store) -> None:
    with store.session() as db:
        everything: list[Callable[[Any, int], object]] = [
            exports.session_csv,
            exports.session_json,
            exports.session_fhir,
            exports.resident_csv,
            exports.resident_json,
            exports.resident_fhir,
        ]
        for export in everything:
            with pytest.raises(LookupError):
                export(db, 12345)


# --- FHIR ---------------------------------------------------------------------------


def _check_codeable(concept: dict[str, Any]) -> None:
    assert concept.get("coding") or concept.get("text"), concept
    for coding in concept.get("coding", []):
        assert coding["system"].startswith(("http://", "https://")), coding
        assert (
            isinstance(coding["code"], str)
            and coding["code"]
            and " " not in coding["code"]
        )


def _check_quantity(quantity: dict[str, Any]) -> None:
    assert isinstance(quantity["value"], int | float)
    assert isinstance(quantity["unit"], str)
    if "code" in quantity:  # qty-3: a code needs a system
        assert quantity["system"] == exports.UCUM


def _check_bundle(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """R4 structure checks; returns resources by fullUrl."""
    # The HL7 models (fhir.resources, R4B = R4 plus fixes for these resources)
    # validate every element's name, type and cardinality.
    Bundle.model_validate(bundle)
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "collection"
    assert DATETIME.match(bundle["timestamp"])
    by_url: dict[str, dict[str, Any]] = {}
    for entry in bundle["entry"]:
        assert set(entry) == {"fullUrl", "resource"}
        assert UUID_URN.match(entry["fullUrl"]), entry["fullUrl"]
        resource = entry["resource"]
        assert entry["fullUrl"] == f"urn:uuid:{resource['id']}"
        assert entry["fullUrl"] not in by_url, "duplicate fullUrl"
        by_url[entry["fullUrl"]] = resource
    for resource in by_url.values():
        if resource["resourceType"] == "Patient":
            continue
        assert resource["resourceType"] == "Observation"
        assert resource["status"] in OBSERVATION_STATUS
        _check_codeable(resource["code"])
        for category in resource.get("category", []):
            _check_codeable(category)
        assert DATETIME.match(resource["effectiveDateTime"])
        values = [k for k in resource if k.startswith("value")]
        assert len(values) <= 1
        if "valueQuantity" in resource:
            _check_quantity(resource["valueQuantity"])
        if "valueInteger" in resource:
            assert isinstance(resource["valueInteger"], int)
        if "valueBoolean" in resource:
            assert isinstance(resource["valueBoolean"], bool)
        for note in resource.get("note", []):
            assert isinstance(note["text"], str) and note["text"]
        for component in resource.get("component", []):
            _check_codeable(component["code"])
            component_values = [k for k in component if k.startswith("value")]
            assert len(component_values) == 1, component
            if "valueQuantity" in component:
                _check_quantity(component["valueQuantity"])
            if "valueDateTime" in component:
                assert DATETIME.match(component["valueDateTime"])
        refs = [resource["subject"]] if "subject" in resource else []
        refs += resource.get("hasMember", [])
        for ref in refs:
            assert ref["reference"] in by_url, f"unresolved {ref['reference']}"
        if "subject" in resource:
            assert by_url[resource["subject"]["reference"]]["resourceType"] == "Patient"
    return by_url


def _observations(
    by_url: dict[str, dict[str, Any]], system: str, code: str
) -> list[dict[str, Any]]:
    return [
        r
        for r in by_url.values()
        if r["resourceType"] == "Observation"
        and any(
            c["system"] == system and c["code"] == code
            for c in r["code"].get("coding", [])
        )
    ]


def test_resident_bundle_is_valid_r4_with_expected_observations(store: Store) -> None:
    ids = _populate(store)
    with store.session() as db:
        bundle = exports.resident_fhir(db, ids["resident_id"])
    json.dumps(bundle)
    by_url = _check_bundle(bundle)
    patients = [r for r in by_url.values() if r["resourceType"] == "Patient"]
    assert len(patients) == 1
    assert patients[0]["identifier"][0]["value"] == ids["member_code"]

    reps = _observations(by_url, exports.OBSERVATION_SYSTEM, "repetitions")
    assert sorted(o["valueInteger"] for o in reps) == [1, 2]
    for observation in reps:
        exercise = observation["component"][0]
        assert exercise["code"]["coding"][0] == {
            "system": exports.LOINC,
            "code": "73985-4",
            "display": "Exercise activity",
        }

    (score_first,) = [
        o
        for o in _observations(by_url, exports.OBSERVATION_SYSTEM, "form-score")
        if o["effectiveDateTime"].startswith("2026-03-02")
    ]
    assert score_first["valueQuantity"] == {
        "value": 80.0,
        "unit": "{score}",
        "system": exports.UCUM,
        "code": "{score}",
    }
    per_angle = {
        c["code"]["coding"][0]["code"]: c["valueQuantity"]["value"]
        for c in score_first["component"][1:]
    }
    assert per_angle == {"hip": 79.0, "knee": 81.0}

    (rom_first,) = [
        o
        for o in _observations(by_url, exports.OBSERVATION_SYSTEM, "range-of-motion")
        if o["effectiveDateTime"].startswith("2026-03-02")
    ]
    rom = {
        c["code"]["coding"][0]["code"]: c["valueQuantity"]
        for c in rom_first["component"][1:]
    }
    assert rom["knee"] == {
        "value": 95.0,
        "unit": "deg",
        "system": exports.UCUM,
        "code": "deg",
    }
    assert rom["hip"]["value"] == 65.0

    durations = _observations(by_url, exports.LOINC, "55411-3")
    assert sorted(o["valueQuantity"]["value"] for o in durations) == [1.0, 6.0]
    assert all(o["valueQuantity"]["code"] == "min" for o in durations)

    panels = _observations(by_url, exports.OBSERVATION_SYSTEM, "exercise-session")
    assert len(panels) == 2
    interrupted = next(
        p for p in panels if p["effectiveDateTime"].startswith("2026-03-04")
    )
    assert "interrupted" in interrupted["note"][0]["text"]
    assert len(interrupted["hasMember"]) == 4  # reps, score, ROM, duration

    (chair,) = _observations(by_url, exports.ASSESSMENT_SYSTEM, "chair_stand_30s")
    assert chair["valueQuantity"] == {
        "value": 12.0,
        "unit": "{repetitions}",
        "system": exports.UCUM,
        "code": "{repetitions}",
    }
    assert chair["interpretation"][0]["text"] == "average"
    assert chair["component"][0]["valueQuantity"]["code"] == "%"
    (walk,) = _observations(by_url, exports.ASSESSMENT_SYSTEM, "custom_walk")
    assert walk["valueQuantity"] == {"value": 3.5, "unit": "laps"}  # not UCUM: no code


@pytest.mark.parametrize(
    ("sharing", "expect_identity"),
    [
        pytest.param(False, False, id="no-consent"),
        pytest.param(True, True, id="consent"),
    ],
)
def test_patient_identity_follows_consent(
    store: Store, sharing: bool, expect_identity: bool
) -> None:
    ids = _populate(store, sharing=sharing)
    with store.session() as db:
        bundle = exports.resident_fhir(db, ids["resident_id"])
    (patient,) = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Patient"
    ]
    text = json.dumps(bundle, ensure_ascii=False)
    assert ("Lin Riverside" in text) is expect_identity
    assert ("name" in patient, "birthDate" in patient, "gender" in patient) == (
        expect_identity,
    ) * 3
    if expect_identity:
        assert patient["birthDate"] == "1948" and patient["gender"] == "female"


def test_session_bundle_and_stable_ids(store: Store) -> None:
    ids = _populate(store)
    with store.session() as db:
        one = exports.session_fhir(db, ids["first"])
        two = exports.session_fhir(db, ids["first"])
    by_url = _check_bundle(one)
    assert [e["fullUrl"] for e in one["entry"]] == [e["fullUrl"] for e in two["entry"]]
    assert {r["resourceType"] for r in by_url.values()} == {"Patient", "Observation"}
    assert len(_observations(by_url, exports.OBSERVATION_SYSTEM, "repetitions")) == 1


def test_anonymous_session_bundle_has_no_subject(store: Store) -> None:
    seed_centre(store)
    with store.begin() as db:
        sid = repository.start_session(db, exercise_id="squat", language="en").id
        repository.record_rep(db, sid, rep(1))
    with store.session() as db:
        bundle = exports.session_fhir(db, sid)
    by_url = _check_bundle(bundle)
    assert all(
        r["resourceType"] == "Observation" and "subject" not in r
        for r in by_url.values()
    )
    statuses = {r["status"] for r in by_url.values()}
    assert statuses == {"preliminary"}  # still active


def test_hold_sessions_export_the_time_held(store: Store) -> None:
    ids = seed_centre(store)
    with store.begin() as db:
        sid = repository.start_session(
            db, exercise_id="plank", language="en", resident_id=ids["resident_id"]
        ).id
        repository.finish_session(
            db,
            sid,
            summary={"kind": "hold", "hold_ms": 31500, "hold_score": 77.5, "reps": 0},
        )
    with store.session() as db:
        by_url = _check_bundle(exports.session_fhir(db, sid))
    (hold,) = _observations(by_url, exports.OBSERVATION_SYSTEM, "hold-duration")
    assert hold["valueQuantity"] == {
        "value": 31.5,
        "unit": "s",
        "system": exports.UCUM,
        "code": "s",
    }
    assert hold["component"][1]["valueQuantity"]["value"] == 77.5
    assert _observations(by_url, exports.OBSERVATION_SYSTEM, "form-score") == []


# --- fall alerts --------------------------------------------------------------------


def _raise_alerts(store: Store, ids: dict[str, Any]) -> dict[str, int]:
    """Fall alerts at the resident's centre: two name the resident (one cleared and
    acknowledged, one still open), one names another resident, one nobody."""
    with store.begin() as db:
        other = repository.create_resident(
            db, centre_id=ids["centre_id"], member_code="RI-002", display_name="Wu"
        )
        coach = repository.create_staff(
            db,
            username="ling",
            password_hash="x",
            role="coach",
            centre_id=ids["centre_id"],
            display_name="Coach Ling",
        )

        def fall(resident_id: int | None, seat: int | None, when: Any) -> int:
            alert = repository.raise_alert(
                db,
                centre_id=None,
                kiosk_id=ids["kiosk_id"],
                kind="fall",
                live_id="live-1",
                track_id=7,
                seat_number=seat,
                resident_id=resident_id,
                details={"timestamp_ms": 4200, "name": "Lin"},
            )
            alert.raised_at = when
            return alert.id

        seen = fall(ids["resident_id"], 3, at(2026, 3, 7, 9, 10))
        open_ = fall(ids["resident_id"], None, at(2026, 3, 8, 9, 10))
        fall(other.id, 4, at(2026, 3, 7, 9, 11))
        fall(None, 5, at(2026, 3, 7, 9, 12))
        db.flush()
        repository.clear_alert(db, seen)
        repository.acknowledge_alert(db, seen, staff_id=coach.id)
    return {"seen": seen, "open": open_, "other_resident": other.id}


def test_resident_json_lists_the_fall_alerts_that_name_them(store: Store) -> None:
    ids = _populate(store)
    alerts = _raise_alerts(store, ids)
    with store.session() as db:
        data = exports.resident_json(db, ids["resident_id"])
        other = exports.resident_json(db, alerts["other_resident"])
    json.dumps(data)
    # The format only grew: every key a version-1 reader knows is still there.
    assert set(data) == {
        "format",
        "version",
        "exported_at",
        "resident",
        "sessions",
        "assessments",
        "notes",
        "alerts",
        "prescriptions",
        "member_cards",
    }
    assert data["version"] == 1
    assert [a["id"] for a in data["alerts"]] == [alerts["seen"], alerts["open"]]
    seen, open_ = data["alerts"]
    assert {k: seen[k] for k in ("kind", "resident_id", "seat_number", "details")} == {
        "kind": "fall",
        "resident_id": ids["resident_id"],
        "seat_number": 3,
        "details": {"timestamp_ms": 4200, "name": "Lin"},
    }
    assert seen["kiosk"] == {"id": ids["kiosk_id"], "name": "Riverside hall"}
    assert seen["raised_at"].startswith("2026-03-07T09:10:00")
    assert DATETIME.match(seen["cleared_at"]) and DATETIME.match(
        seen["acknowledged_at"]
    )
    assert seen["acknowledged_by"]["display_name"] == "Coach Ling"
    assert (open_["acknowledged_at"], open_["acknowledged_by"]) == (None, None)
    assert [a["seat_number"] for a in other["alerts"]] == [4]  # not the anonymous one


def test_resident_bundle_has_an_observation_per_fall_alert(store: Store) -> None:
    ids = _populate(store)
    _raise_alerts(store, ids)
    with store.session() as db:
        bundle = exports.resident_fhir(db, ids["resident_id"])
        session_bundle = exports.session_fhir(db, ids["first"])
    by_url = _check_bundle(bundle)
    found = _observations(by_url, exports.OBSERVATION_SYSTEM, "fall-alert")
    assert len(found) == 2
    seen, open_ = sorted(found, key=lambda o: o["effectiveDateTime"])
    assert seen["effectiveDateTime"].startswith("2026-03-07T09:10:00")
    assert (seen["status"], open_["status"]) == ("final", "preliminary")
    assert seen["valueBoolean"] is True and "category" not in seen
    assert seen["note"] == [{"text": exports.ALERT_NOTE}]
    components = {
        c["code"]["coding"][0]["code"]: next(v for k, v in c.items() if k != "code")
        for c in seen["component"]
    }
    assert set(components) == {
        "seat-number",
        "kiosk",
        "alert-cleared",
        "alert-acknowledged",
    }
    assert (components["seat-number"], components["kiosk"]) == (3, "Riverside hall")
    assert {c["code"]["coding"][0]["code"] for c in open_["component"]} == {"kiosk"}
    assert "Lin" not in json.dumps(found)  # details (may name them) stay out
    # The rest of the bundle is what it was; session bundles carry no alerts.
    assert len(_observations(by_url, exports.OBSERVATION_SYSTEM, "repetitions")) == 2
    assert not _observations(
        _check_bundle(session_bundle), exports.OBSERVATION_SYSTEM, "fall-alert"
    )


def test_fall_alerts_of_a_deleted_resident_are_not_exported(store: Store) -> None:
    ids = _populate(store)
    _raise_alerts(store, ids)
    with store.begin() as db:
        archive = exports.resident_json(db, ids["resident_id"])  # what DELETE returns
        counts = repository.delete_resident(db, ids["resident_id"])
    assert counts is not None and counts["alerts_unlinked"] == 2
    assert len(archive["alerts"]) == 2
    with store.begin() as db:
        # SQLite hands the freed id to the next resident: nothing may follow it.
        again = repository.create_resident(
            db, centre_id=ids["centre_id"], member_code="RI-003", display_name="Zhao"
        )
        again_id = again.id
    with store.session() as db:
        if again_id != ids["resident_id"]:  # PostgreSQL: a fresh id
            with pytest.raises(LookupError):
                exports.resident_json(db, ids["resident_id"])
        assert exports.resident_json(db, again_id)["alerts"] == []
        bundle = exports.resident_fhir(db, again_id)
        assert not _observations(
            _check_bundle(bundle), exports.OBSERVATION_SYSTEM, "fall-alert"
        )
        kept = repository.list_alerts(db, ids["centre_id"], open_only=False)
    assert len(kept) == 4  # the centre's safety record stays, without them
    unlinked = sorted(
        (a.seat_number or 0, a.details) for a in kept if a.resident_id is None
    )
    assert unlinked == [(0, {}), (3, {}), (5, {"timestamp_ms": 4200, "name": "Lin"})]
