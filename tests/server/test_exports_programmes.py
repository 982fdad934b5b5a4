"""Programme results reach the coach API and the exports (SQLite and PostgreSQL):
JSON (each session's programme), CSV (`table=programmes`, one row per measure) and
FHIR (a routine's section scores; posture figures as exam Observations in UCUM with
the uncertainty as a component, the thresholds and the method "camera screen, not
radiographic"; the breathing rhythm), validated with the HL7 R4B models; a posture
screen against the previous visit."""

# ruff: noqa: F811 (pytest fixtures imported from the helpers)
from __future__ import annotations

import copy
import csv
import io
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from exercises.posture import DEFAULT_THRESHOLDS, FIGURES
from server import auth, exports
from server.api import include_routers
from server.store import Store, repository
from tests.server.programme_scripts import summaries
from tests.server.store.helpers import (  # noqa: F401 (fixtures)
    at,
    db_url,
    fast_hasher,
    pg_database_url,
    seed_centre,
    sqlite_template,
    store,
)
from tests.server.test_exports import _check_bundle, _observations

THRESHOLDS = {t.figure: t for t in DEFAULT_THRESHOLDS}
LEVELS = {"within": "N", "above": "A", "borderline": "IND", "unclear": "IND"}


def _level_tilt(summary: dict[str, Any], tilt_deg: float) -> dict[str, Any]:
    """The posture summary with the combined shoulder tilt set to `tilt_deg`."""
    out = copy.deepcopy(summary)
    out["result"]["combined"]["shoulder_tilt_deg"]["value"] = tilt_deg
    return out


def _programme_session(
    store: Store, ids: dict[str, Any], summary: dict[str, Any], day: int
) -> int:
    with store.begin() as db:
        session = repository.start_session(
            db,
            exercise_id=summary["programme_id"],
            language="zh-CN",
            resident_id=ids["resident_id"],
            centre_id=ids["centre_id"],
            started_at=at(2026, 3, day, 9),
        )
        repository.finish_session(db, session.id, ended_at=at(2026, 3, day, 9, 5))
        repository.add_programme_result(
            db,
            session_id=session.id,
            resident_id=ids["resident_id"],
            summary=summary,
            taken_at=at(2026, 3, day, 9),
        )
        return int(session.id)


def _populate(store: Store) -> dict[str, Any]:
    ids = seed_centre(store)
    s = summaries()
    ids["routine"] = _programme_session(store, ids, s["routine"], 2)
    ids["posture"] = _programme_session(store, ids, s["posture"], 3)
    ids["breathing"] = _programme_session(store, ids, s["breathing"], 4)
    ids["posture_2"] = _programme_session(
        store, ids, _level_tilt(s["posture"], 0.5), 10
    )
    return ids


def test_json_exports_carry_each_session_programme(store: Store) -> None:
    ids = _populate(store)
    with store.session() as db:
        routine = exports.session_json(db, ids["routine"])["session"]["programme"]
        everything = exports.resident_json(db, ids["resident_id"])
    assert routine["kind"] == "routine" and routine["programme_id"] == "baduanjin"
    assert [s["section_id"] for s in routine["sections"]][:2] == [
        "preparation",
        "hold_up_heavens",
    ]
    assert routine["score"] == summaries()["routine"]["score"]
    kinds = [s.get("programme", {}).get("kind") for s in everything["sessions"]]
    assert kinds == ["routine", "posture", "breathing", "posture"]
    posture = everything["sessions"][1]["programme"]
    assert len(posture["figures"]) == 3 * len(FIGURES)
    assert posture["assessment"]["level"] == "borderline"
    assert posture["stature_cm"] == 160.0
    breathing = everything["sessions"][2]["programme"]
    assert [b["count"] for b in breathing["breaths"]] == [1, 2]
    assert breathing["rhythm"]["on_pace"] is True


def test_a_posture_screen_is_compared_with_the_previous_visit(store: Store) -> None:
    ids = _populate(store)
    with store.session() as db:
        first = exports.session_programme(db, ids["posture"])
        second = exports.session_programme(db, ids["posture_2"])
    assert first is not None and first["comparison"] is None  # the first visit
    assert second is not None
    comparison = second["comparison"]
    assert comparison["previous_session_id"] == ids["posture"]
    tilt = comparison["figures"]["shoulder_tilt_deg"]
    assert tilt["delta"] == pytest.approx(0.5 - 3.0, abs=1e-3)
    assert tilt["changed"] is True and tilt["closer_to_level"] is True
    pelvis = comparison["figures"]["pelvic_tilt_deg"]
    assert pelvis["delta"] == 0.0 and pelvis["changed"] is False
    assert pelvis["closer_to_level"] is None
    assert set(comparison["figures"]) == set(FIGURES)


def test_the_programmes_csv_has_one_row_per_measure(store: Store) -> None:
    ids = _populate(store)
    with store.session() as db:
        text = exports.resident_programmes_csv(db, ids["resident_id"])
        routine_only = exports.session_programmes_csv(db, ids["routine"])
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(exports.PROGRAMME_CSV_COLUMNS)
    by_kind: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_kind.setdefault(row["kind"], []).append(row)
    sections = summaries()["routine"]["sections"]
    assert len(by_kind["routine"]) == 1 + 3 * len(sections)
    first = [r for r in by_kind["routine"] if r["item"] == "section:hold_up_heavens"]
    assert [(r["measure"], r["value"]) for r in first][:2] == [
        ("status", "done"),
        ("rounds", "2"),
    ]
    assert len(by_kind["posture"]) == 2 * 2 * 3 * len(FIGURES)  # two visits
    tilt = next(
        r
        for r in by_kind["posture"]
        if r["item"] == "combined:shoulder_tilt_deg" and r["measure"] == "value"
    )
    assert (tilt["unit"], tilt["level"]) == ("deg", "borderline")
    assert tilt["note"] == "placeholder threshold 3.0 deg"
    sd = next(
        r
        for r in by_kind["posture"]
        if r["item"] == "front:trunk_shift_pct" and r["measure"] == "uncertainty"
    )
    assert sd["unit"] == "%H" and float(sd["value"]) > 0
    breathing = {(r["item"], r["measure"]): r["value"] for r in by_kind["breathing"]}
    assert float(breathing["rhythm", "period_s"]) == pytest.approx(6.0, abs=0.2)
    assert breathing["rhythm", "tip"] == summaries()["breathing"]["rhythm"]["tip"]
    assert breathing["breath:2", "period_s"] == ""  # the last breath has no period
    assert routine_only.count("\r\n") == 1 + len(by_kind["routine"])


def test_fhir_routine_and_breathing_observations(store: Store) -> None:
    ids = _populate(store)
    with store.session() as db:
        bundle = exports.resident_fhir(db, ids["resident_id"])
    by_url = _check_bundle(bundle)  # the HL7 R4B models and the R4 checks
    (routine,) = _observations(by_url, exports.OBSERVATION_SYSTEM, "routine-score")
    assert routine["valueQuantity"]["code"] == "{score}"
    assert routine["valueQuantity"]["value"] == summaries()["routine"]["score"]
    scored = {
        c["code"]["coding"][0]["code"]: c["valueQuantity"]["value"]
        for c in routine["component"]
        if "valueQuantity" in c
    }
    done = [s for s in summaries()["routine"]["sections"] if s["rounds"]]
    assert scored == {s["section_id"]: s["score"] for s in done}
    assert all(
        c["code"]["coding"][0]["system"] == exports.ROUTINE_SECTION_SYSTEM
        for c in routine["component"]
    )
    (rhythm,) = _observations(
        by_url, exports.OBSERVATION_SYSTEM, "paced-breathing-rhythm"
    )
    assert "arm movement, not from airflow" in rhythm["method"]["text"]
    assert rhythm["valueQuantity"]["code"] == "s"
    parts = {c["code"]["coding"][0]["code"]: c for c in rhythm["component"]}
    assert parts["breaths-seen"]["valueInteger"] == 2
    assert parts["breaths-prescribed"]["valueInteger"] == 2
    assert parts["out-in-ratio"]["valueQuantity"]["code"] == "1"


def test_fhir_posture_figures_are_exam_observations(store: Store) -> None:
    ids = _populate(store)
    with store.session() as db:
        bundle = exports.session_fhir(db, ids["posture"])
    by_url = _check_bundle(bundle)
    posture = [
        r
        for r in by_url.values()
        if r["resourceType"] == "Observation"
        and r["code"]["coding"][0]["system"] == exports.POSTURE_SYSTEM
    ]
    assert len(posture) == len(FIGURES)
    combined = summaries()["posture"]["result"]["combined"]
    assessment = summaries()["posture"]["assessment"]
    findings = {f["figure"]: f for f in assessment["findings"]}
    figure_of = {code: f for f, (code, _) in exports.FIGURE_CODES.items()}
    assert set(figure_of.values()) == set(FIGURES)
    for obs in posture:
        assert obs["category"][0]["coding"][0]["code"] == "exam"
        assert obs["method"] == {"text": "camera screen, not radiographic"}
        assert obs["subject"]["reference"].startswith("urn:uuid:")
        figure = combined[figure_of[obs["code"]["coding"][0]["code"]]]
        value = obs["valueQuantity"]
        assert value["value"] == round(figure["value"], 3)
        assert value["code"] == ("deg" if figure["unit"] == "deg" else "%")
        parts = {c["code"]["coding"][0]["code"]: c for c in obs["component"]}
        sd = parts["standard-uncertainty"]["valueQuantity"]
        assert sd["code"] == value["code"] and sd["value"] > 0
        assert {"front-view", "back-view"} <= set(parts)
    tilt = next(o for o in posture if o["code"]["coding"][0]["code"] == "shoulder-tilt")
    assert tilt["valueQuantity"] == {
        "value": round(combined["shoulder_tilt_deg"]["value"], 3),
        "unit": "deg",
        "system": exports.UCUM,
        "code": "deg",
    }
    level = findings["shoulder_tilt_deg"]["level"]
    assert tilt["interpretation"][0]["coding"][0]["code"] == LEVELS[level]
    assert tilt["referenceRange"][0]["high"]["value"] == 3.0
    assert "Placeholder" in tilt["referenceRange"][0]["text"]
    shift = next(
        o for o in posture if o["code"]["coding"][0]["code"] == "trunk-lateral-shift"
    )
    assert shift["valueQuantity"]["unit"] == "% of stature"
    height = next(
        o
        for o in posture
        if o["code"]["coding"][0]["code"] == "shoulder-height-difference"
    )
    assert "interpretation" not in height and "referenceRange" not in height


def test_the_coach_api_shows_programmes(store: Store, fast_hasher: None) -> None:
    ids = _populate(store)
    with store.begin() as db:
        repository.create_staff(
            db,
            username="coach",
            password_hash=auth.hash_password("s3cret-pass"),
            role="coach",
            centre_id=ids["centre_id"],
        )
    app = FastAPI()
    include_routers(app, store)
    client = TestClient(app)
    login = client.post(
        "/api/auth/login", json={"username": "coach", "password": "s3cret-pass"}
    )
    assert login.status_code == 200
    detail = client.get(f"/api/sessions/{ids['posture_2']}?landmarks=false").json()
    assert detail["programme"]["kind"] == "posture"
    assert detail["programme"]["comparison"]["previous_session_id"] == ids["posture"]
    routine = client.get(f"/api/sessions/{ids['routine']}?landmarks=false").json()
    assert routine["programme"]["sections"][1]["rounds"] == 2
    listed = client.get(f"/api/residents/{ids['resident_id']}/programmes").json()
    assert [p["kind"] for p in listed["programmes"]] == [
        "routine",
        "posture",
        "breathing",
        "posture",
    ]
    only = client.get(
        f"/api/residents/{ids['resident_id']}/programmes?kind=posture"
    ).json()
    assert [p["session_id"] for p in only["programmes"]] == [
        ids["posture"],
        ids["posture_2"],
    ]
    table = client.get(
        f"/api/exports/residents/{ids['resident_id']}?format=csv&table=programmes"
    )
    assert (
        table.status_code == 200
        and "programmes.csv" in table.headers["content-disposition"]
    )
    assert table.text.startswith("session_id,member_code,programme_id,kind")
    reps = client.get(f"/api/exports/residents/{ids['resident_id']}?format=csv")
    assert reps.text.startswith("session_id,member_code,exercise_id")
    assert (
        client.get(f"/api/residents/{ids['resident_id']}/programmes?kind=x").status_code
        == 422
    )
