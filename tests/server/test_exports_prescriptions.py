"""Exercise-plan exports on SQLite and PostgreSQL: a plan's adherence as JSON and CSV
(the worked example's numbers), the centre's adherence as CSV, and the plan as an HL7
FHIR R4 CarePlan with an activity per exercise and the exercise sessions done under
it linked back (`basedOn`), validated with the fhir.resources R4B models like the other
exports; the resident's JSON export holds their plans, sets and member cards."""

# ruff: noqa: F811 (pytest fixtures imported from the helpers)

from __future__ import annotations

import csv
import io
import json
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from exercises.prescriptions import adherence
from server import exports
from server.store import Store, repository
from tests.exercises.prescriptions.factories import D, make_plan
from tests.server.plans import stored_worked_example
from tests.server.store.helpers import (  # noqa: F401 (fixtures)
    at,
    db_url,
    fast_hasher,
    pg_database_url,
    rep,
    seed_centre,
    sqlite_template,
    store,
)
from tests.server.test_api_coach_flows import World, _expect, world  # noqa: F401
from tests.server.test_exports import UUID_URN, _check_codeable, _check_quantity

AS_OF = D(2025, 3, 26)


def _plan_with_sessions(store: Store, ids: dict[str, Any]) -> int:
    return stored_worked_example(store, ids, sessions=True, reps=True)


def test_adherence_as_json_and_csv(store: Store) -> None:
    ids = seed_centre(store)
    pid = _plan_with_sessions(store, ids)
    with store.session() as db:
        row = repository.get_prescription(db, pid)
        assert row is not None
        report = adherence(make_plan(), repository.performed_sets(db, pid), AS_OF)
        data = exports.prescription_json(db, row, report)
        text = exports.prescription_csv(report)
        centre = exports.centre_adherence_csv([(row, report)])
    json.dumps(data)
    assert data["format"] == "movecoach.export" and data["version"] == 1
    assert data["prescription"]["document"]["title"]["en"] == "Knee strength"
    assert len(data["sets"]) == 13 and data["sets"][0]["exercise"] == "squat"
    assert data["adherence"]["totals"]["reps_done"] == 45
    assert data["adherence"]["session_rate"] == 0.375
    lines = text.splitlines()
    assert lines[0] == ",".join(exports.ADHERENCE_COLUMNS)
    assert lines[1:] == [
        "2025-03-03,True,False,2,2,5,5,4,26,26,40.0,35.0,78.667",
        "2025-03-10,True,False,3,1,9,4,3,50,19,100.0,50.0,77.0",
        "2025-03-17,True,True,3,0,9,0,0,50,0,120.0,0.0,",
        "2025-03-24,False,False,3,1,9,4,3,50,20,100.0,45.0,91.0",
    ]
    centre_rows = list(csv.reader(io.StringIO(centre)))
    assert centre_rows[0][:3] == ["prescription_id", "member_code", "display_name"]
    assert [r[:4] for r in centre_rows[1:]] == [
        [str(pid), ids["member_code"], "Lin Riverside", w]
        for w in ("2025-03-03", "2025-03-10", "2025-03-17", "2025-03-24")
    ]


def _careplan_bundle(store: Store, ids: dict[str, Any], today: Any) -> dict[str, Any]:
    pid = _plan_with_sessions(store, ids)
    with store.session() as db:
        row = repository.get_prescription(db, pid)
        assert row is not None
        return exports.prescription_fhir(db, row, make_plan(), today)


def _careplan(bundle: dict[str, Any]) -> dict[str, Any]:
    (careplan,) = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "CarePlan"
    ]
    return careplan  # type: ignore[no-any-return]


def test_the_plan_is_a_valid_careplan_with_its_sessions_linked(store: Store) -> None:
    ids = seed_centre(store)
    bundle = _careplan_bundle(store, ids, AS_OF)
    Bundle.model_validate(bundle)  # every element's name, type and cardinality
    by_url = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    assert all(UUID_URN.match(url) for url in by_url)
    kinds = [r["resourceType"] for r in by_url.values()]
    assert kinds.count("Patient") == 1 and kinds.count("CarePlan") == 1
    careplan = _careplan(bundle)
    careplan_url = f"urn:uuid:{careplan['id']}"
    assert (careplan["status"], careplan["intent"]) == ("active", "plan")
    assert careplan["period"] == {"start": "2025-03-05", "end": "2025-03-30"}
    assert careplan["title"] == "Knee strength" and careplan["created"] == "2025-03-01"
    assert careplan["author"] == {"display": "Mei Chen (coach)"}
    assert careplan["note"][0]["text"] == "Stop on sharp knee pain. / 膝盖锐痛时停止。"
    assert by_url[careplan["subject"]["reference"]]["resourceType"] == "Patient"
    for concept in careplan["category"]:
        _check_codeable(concept)
    details = [a["detail"] for a in careplan["activity"]]
    assert [d["code"]["coding"][0]["code"] for d in details] == [
        "squat",
        "plank",
        "sit_to_stand",
    ]
    assert [d["scheduledTiming"]["repeat"]["dayOfWeek"] for d in details] == [
        ["mon", "thu"],
        ["mon", "thu"],
        ["sat"],
    ]
    assert [(d["quantity"]["value"], d["quantity"]["unit"]) for d in details] == [
        (16, "{repetitions}"),
        (40.0, "s"),
        (10, "{repetitions}"),
    ]
    for d in details:
        _check_quantity(d["quantity"])
        assert d["status"] == "in-progress"
    assert details[0]["description"] == (
        "Strength: 2 x 8 repetitions; rest 60 s; 4 s per repetition; target score "
        "75; reps +2 a week while the mean score >= 80, up to 12; after a missed "
        "week: hold"
    )
    # The sessions done under the plan: 7 squat and plank sets... each a session
    # panel (with its members), every one based on the CarePlan.
    observations = [r for r in by_url.values() if r["resourceType"] == "Observation"]
    assert observations and all(
        o["basedOn"] == [{"reference": careplan_url}] for o in observations
    )
    outcomes = {
        a["detail"]["code"]["coding"][0]["code"]: [
            r["reference"] for r in a.get("outcomeReference", [])
        ]
        for a in careplan["activity"]
    }
    assert [len(outcomes[e]) for e in ("squat", "plank", "sit_to_stand")] == [6, 6, 1]
    for refs in outcomes.values():
        for ref in refs:
            panel = by_url[ref]
            assert panel["resourceType"] == "Observation"
            assert panel["code"]["coding"][0]["code"] == "exercise-session"
            assert all(m["reference"] in by_url for m in panel["hasMember"])


def test_an_ended_plan_is_completed(store: Store) -> None:
    ids = seed_centre(store)
    bundle = _careplan_bundle(store, ids, D(2025, 4, 2))
    Bundle.model_validate(bundle)
    careplan = _careplan(bundle)
    assert careplan["status"] == "completed"
    assert {a["detail"]["status"] for a in careplan["activity"]} == {"completed"}


def test_the_residents_export_holds_their_plans_and_cards(store: Store) -> None:
    ids = seed_centre(store)
    pid = _plan_with_sessions(store, ids)
    with store.begin() as db:
        resident = repository.get_resident(db, ids["resident_id"])
        assert resident is not None
        _, token = repository.issue_member_token(db, resident)
    with store.session() as db:
        data = exports.resident_json(db, ids["resident_id"])
    assert [p["id"] for p in data["prescriptions"]] == [pid]
    assert len(data["prescriptions"][0]["sets"]) == 13
    assert data["member_cards"][0]["hint"] == "…" + token[-4:]
    assert token not in json.dumps(data)


# --- through the API ----------------------------------------------------------------


def test_exports_through_the_api(world: World) -> None:
    pid = _plan_with_sessions(world.store, world.a)
    base = f"/api/exports/prescriptions/{pid}"
    as_of = "as_of=2025-03-26"
    csv_text = world.call("coach_a", "GET", f"{base}?format=csv&{as_of}")
    assert csv_text.status_code == 200 and csv_text.headers["content-type"].startswith(
        "text/csv"
    )
    assert csv_text.text.count("\n") == 5
    fhir = world.call("coach_a", "GET", f"{base}?format=fhir&{as_of}")
    assert fhir.headers["content-type"].startswith("application/fhir+json")
    Bundle.model_validate(fhir.json())
    data = world.call("coach_a", "GET", f"{base}?format=json&{as_of}").json()
    assert data["adherence"]["as_of"] == "2025-03-26"
    _expect(
        world.call("coach_b", "GET", f"{base}?format=csv"),
        404,
        "prescription_not_found",
    )
    centre = world.call("coach_a", "GET", f"/api/exports/adherence?format=csv&{as_of}")
    assert centre.status_code == 200 and centre.text.count("\n") == 5
    assert world.call("coach_a", "GET", f"/api/exports/adherence?{as_of}").json()[
        "plans"
    ]
    other = world.call("coach_b", "GET", f"/api/exports/adherence?format=csv&{as_of}")
    assert other.text.count("\n") == 1  # the header: another centre's plans stay out
