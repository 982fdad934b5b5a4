# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""The exercise-plan API behind the coach pages and the kiosk, on SQLite and
PostgreSQL (TestClient, scripted pose backend): plan templates and the starting level
the latest assessments suggest, plans created, edited and deleted only within the
coach's centre (another centre's plan is 404), invalid documents refused with the
validator's words and nothing stored, today's plan and adherence (the worked example's
numbers through HTTP), the centre's weeks, and the kiosk running today's plan: the
resident's plan by member code, each set recorded from the exercise session the kiosk
streamed."""

# ruff: noqa: F811 (pytest fixtures imported from the helpers)

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest

from server.schemas import encode_frame
from server.store import Store, repository
from server.store.models import PrescriptionRow
from tests.exercises.prescriptions.factories import history, plan_doc
from tests.server.conftest import jpeg_bytes, kiosk_protocols
from tests.server.store.helpers import (  # noqa: F401 (fixtures)
    at,
    db_url,
    fast_hasher,
    pg_database_url,
    sqlite_template,
    store,
)
from tests.server.test_api_coach_flows import (  # noqa: F401 (world: a fixture)
    World,
    _expect,
    _until,
    squat_frames,
    world,
)


def _count(store: Store) -> int:
    with store.session() as db:
        return len(repository.list_prescriptions(db))


def _create(
    world: World, who: str = "coach_a", doc: dict[str, Any] | None = None
) -> Any:
    return world.call(
        who,
        "POST",
        f"/api/residents/{world.a['resident_id']}/prescriptions",
        json={"document": doc if doc is not None else plan_doc()},
    )


# --- templates and suggestions --------------------------------------------------------


def test_plan_templates_are_listed_in_both_languages(world: World) -> None:
    response = world.call("coach_a", "GET", "/api/plan-templates")
    assert response.status_code == 200, response.text
    templates = {t["id"]: t for t in response.json()["templates"]}
    assert set(templates) == {"after_lung_rehab", "fall_prevention", "knee_oa_beginner"}
    for t in templates.values():
        assert t["status"] == "example" and t["sources"]
        assert set(t["name"]) == {"en", "zh-CN"} and set(t["source_note"]) == {
            "en",
            "zh-CN",
        }
    sit = templates["fall_prevention"]["sessions"][0]["exercises"][0]
    assert sit["exercise"] == "sit_to_stand"
    assert (sit["sets"], sit["reps"]) == (2, 8)
    assert sit["easier"] == {"sets": 1, "reps": 5} and sit["harder"] == {
        "sets": 3,
        "reps": 10,
    }
    assert sit["assessed_by"] == ["chair_stand_30s", "cn_sit_stand_30s"]
    _expect(world.call(None, "GET", "/api/plan-templates"), 401, "not_logged_in")


def test_the_latest_assessment_suggests_the_starting_level(world: World) -> None:
    rid = world.a["resident_id"]
    with world.store.begin() as db:  # an older normal result, then a newer low one
        for day, band in ((1, "normal"), (20, "below")):
            repository.add_assessment(
                db,
                resident_id=rid,
                protocol_id="chair_stand_30s",
                value=9,
                unit="{repetitions}",
                band=band,
                taken_at=at(2025, 2, day),
            )
        repository.add_assessment(  # a national-standard item graded excellent
            db,
            resident_id=rid,
            protocol_id="cn_high_knee_2min",
            value=100,
            unit="count",
            band="above",
            taken_at=at(2025, 2, 21),
        )
    response = world.call(
        "coach_a",
        "POST",
        f"/api/residents/{rid}/plan-suggestion",
        json={"template_id": "fall_prevention", "start_date": "2025-03-03"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    levels = {lv["exercise"]: lv for lv in body["levels"]}
    assert levels["sit_to_stand"]["level"] == "easier"
    assert levels["sit_to_stand"]["reason"]["en"] == (
        "30-second chair stand on 2025-02-20 was below the normal range: start easier."
    )
    assert levels["standing_march"]["level"] == "harder"
    assert levels["single_leg_stance"]["level"] == "standard"
    assert levels["single_leg_stance"]["based_on"] is None
    doc = body["document"]
    exercises = {e["exercise"]: e for e in doc["sessions"][0]["exercises"]}
    assert (exercises["sit_to_stand"]["sets"], exercises["sit_to_stand"]["reps"]) == (
        1,
        5,
    )
    assert (
        exercises["standing_march"]["sets"],
        exercises["standing_march"]["reps"],
    ) == (2, 30)
    assert doc["start_date"] == "2025-03-03" and doc["end_date"] == "2025-05-25"
    assert doc["template_id"] == "fall_prevention"
    # The coach saves it as suggested.
    assert _create(world, doc=doc).status_code == 201
    unknown = world.call(
        "coach_a",
        "POST",
        f"/api/residents/{rid}/plan-suggestion",
        json={"template_id": "nope"},
    )
    _expect(unknown, 404, "plan_template_not_found")


# --- create, read, edit, delete ----------------------------------------------------


def test_a_coach_creates_edits_and_deletes_a_plan(world: World) -> None:
    created = _create(world)
    assert created.status_code == 201, created.text
    plan = created.json()
    assert plan["document"]["title"] == {"en": "Knee strength", "zh-CN": "膝关节力量"}
    assert plan["error"] is None and plan["prescribed_by"]["display_name"]
    pid = plan["id"]
    listed = world.call(
        "coach_a", "GET", f"/api/residents/{world.a['resident_id']}/prescriptions"
    )
    assert [p["id"] for p in listed.json()["prescriptions"]] == [pid]
    doc = copy.deepcopy(plan["document"])
    doc["sessions"][0]["exercises"][0]["reps"] = 6
    edited = world.call(
        "coach_a", "PUT", f"/api/prescriptions/{pid}", json={"document": doc}
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["document"]["sessions"][0]["exercises"][0]["reps"] == 6
    assert (
        world.call("coach_a", "DELETE", f"/api/prescriptions/{pid}").status_code == 204
    )
    _expect(
        world.call("coach_a", "GET", f"/api/prescriptions/{pid}"),
        404,
        "prescription_not_found",
    )
    assert _count(world.store) == 0


def test_who_prescribed_defaults_to_the_coach(world: World) -> None:
    doc = plan_doc()
    del doc["prescribed_by"], doc["prescribed_on"]
    created = _create(world, doc=doc)
    assert created.status_code == 201, created.text
    assert created.json()["document"]["prescribed_by"] == {
        "name": "coach_a",
        "role": "coach",
    }


def _mutated(change: Any) -> dict[str, Any]:
    doc = plan_doc()
    change(doc)
    return doc


INVALID_DOCUMENTS = [
    pytest.param(
        lambda d: d["sessions"][0]["exercises"][0].update(exercise="moonwalk"),
        "unknown exercise 'moonwalk'; valid exercises: ",
        id="unknown-exercise",
    ),
    pytest.param(
        lambda d: d.update(end_date="2025-03-01"),
        "end_date: expected on or after start_date 2025-03-05",
        id="ends-before-start",
    ),
    pytest.param(
        lambda d: d["sessions"][0]["exercises"][1].update(reps=10),
        "a hold exercise is dosed in hold_s, not reps",
        id="reps-for-a-hold",
    ),
    pytest.param(
        lambda d: d["sessions"][0].update(days=["someday"]),
        "unknown day 'someday'",
        id="unknown-day",
    ),
    pytest.param(lambda d: d.update(colour="blue"), "colour", id="unknown-key"),
]


@pytest.mark.parametrize(("change", "message"), INVALID_DOCUMENTS)
def test_invalid_plans_are_refused_and_nothing_is_stored(
    world: World, change: Any, message: str
) -> None:
    response = _create(world, doc=_mutated(change))
    _expect(response, 422, "invalid_prescription")
    assert message in response.json()["detail"]["message"]
    assert _count(world.store) == 0
    # An edit that breaks the plan is refused too, and the plan stays as it was.
    pid = _create(world).json()["id"]
    edit = world.call(
        "coach_a",
        "PUT",
        f"/api/prescriptions/{pid}",
        json={"document": _mutated(change)},
    )
    _expect(edit, 422, "invalid_prescription")
    with world.store.session() as db:
        row = db.get(PrescriptionRow, pid)
        assert row is not None and row.document["end_date"] == "2025-03-30"
        assert row.document["sessions"][0]["exercises"][0]["exercise"] == "squat"


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("GET", ""),
        ("PUT", ""),
        ("DELETE", ""),
        ("GET", "/today"),
        ("GET", "/adherence"),
    ],
)
def test_another_centres_plan_is_not_found(
    world: World, method: str, suffix: str
) -> None:
    pid = _create(world).json()["id"]
    kw = {"json": {"document": plan_doc()}} if method == "PUT" else {}
    response = world.call("coach_b", method, f"/api/prescriptions/{pid}{suffix}", **kw)
    _expect(response, 404, "prescription_not_found")
    unknown = world.call("coach_a", method, f"/api/prescriptions/999999{suffix}", **kw)
    _expect(unknown, 404, "prescription_not_found")
    assert _count(world.store) == 1  # still there, unchanged
    _expect(world.call(None, "GET", f"/api/prescriptions/{pid}"), 401, "not_logged_in")


def test_a_coach_cannot_prescribe_for_another_centres_resident(world: World) -> None:
    response = world.call(
        "coach_b",
        "POST",
        f"/api/residents/{world.a['resident_id']}/prescriptions",
        json={"document": plan_doc()},
    )
    _expect(response, 404, "resident_not_found")  # as for an unknown resident
    listing = world.call(
        "coach_b", "GET", f"/api/residents/{world.a['resident_id']}/prescriptions"
    )
    _expect(listing, 404, "resident_not_found")
    assert _count(world.store) == 0


# --- today and adherence --------------------------------------------------------------


def _with_history(world: World) -> int:
    pid = int(_create(world).json()["id"])
    with world.store.begin() as db:
        for i, performed in enumerate(history()):
            repository.record_set(
                db, prescription_id=pid, performed=performed, set_index=i + 1
            )
    return pid


def test_today_and_adherence_are_the_worked_example(world: World) -> None:
    pid = _with_history(world)
    today = world.call(
        "coach_a", "GET", f"/api/prescriptions/{pid}/today?date=2025-03-24"
    )
    assert today.status_code == 200, today.text
    body = today.json()
    assert body["status"] == "active" and body["week_start"] == "2025-03-24"
    (session,) = body["sessions"]
    squat, plank = session["exercises"]
    assert (squat["exercise"], squat["sets"], squat["reps"]) == ("squat", 2, 10)
    assert (plank["exercise"], plank["sets"], plank["hold_s"]) == ("plank", 2, 25.0)
    assert squat["change"] == "held_missed_week"
    assert squat["change_text"] == {
        "en": "reps stays at 10: no session that week",
        "zh-CN": "次数保持10：该周没有训练",
    }
    assert plank["change_text"]["en"] == "seconds held 30 → 25: no session that week"
    assert [s["session_id"] for s in body["make_up"]] == []
    assert body["next_session_on"] == "2025-03-27"

    report = world.call(
        "coach_a", "GET", f"/api/prescriptions/{pid}/adherence?as_of=2025-03-26"
    )
    assert report.status_code == 200, report.text
    adherence = report.json()["adherence"]
    weeks = adherence["weeks"]
    assert [w["week_start"] for w in weeks] == [
        "2025-03-03",
        "2025-03-10",
        "2025-03-17",
        "2025-03-24",
    ]
    assert [
        (w["totals"]["sessions_done"], w["totals"]["sessions_prescribed"])
        for w in weeks
    ] == [
        (2, 2),
        (1, 3),
        (0, 3),
        (1, 3),
    ]
    assert [w["missed"] for w in weeks] == [False, False, True, False]
    assert adherence["totals"] == {
        "sessions_prescribed": 8,
        "sessions_done": 3,
        "sets_prescribed": 23,
        "sets_done": 9,
        "sets_completed": 7,
        "reps_prescribed": 126,
        "reps_done": 45,
        "hold_s_prescribed": 260.0,
        "hold_s_done": 85.0,
    }
    assert adherence["session_rate"] == 0.375
    assert adherence["missed_weeks"] == ["2025-03-17"]
    assert adherence["score_trend_per_week"] == pytest.approx(95 / 21, abs=1e-12)
    assert len(report.json()["sets"]) == 13

    centre = world.call("coach_a", "GET", "/api/adherence?as_of=2025-03-26")
    assert centre.status_code == 200, centre.text
    cbody = centre.json()
    assert cbody["centre_id"] == world.a["centre_id"]
    assert [
        (w["week_start"], w["residents"], w["residents_missed"]) for w in cbody["weeks"]
    ] == [
        ("2025-03-03", 1, 0),
        ("2025-03-10", 1, 0),
        ("2025-03-17", 1, 1),
        ("2025-03-24", 1, 0),
    ]
    (entry,) = cbody["plans"]
    assert entry["resident"]["display_name"] == "Lin Riverside"
    assert entry["session_rate"] == 0.375 and entry["missed_weeks"] == ["2025-03-17"]
    # The other centre sees none of it.
    other = world.call("coach_b", "GET", "/api/adherence?as_of=2025-03-26").json()
    assert other["plans"] == [] and other["weeks"] == []
    _expect(
        world.call(
            "coach_b", "GET", f"/api/adherence?centre_id={world.a['centre_id']}"
        ),
        403,
        "other_centre",
    )


# --- the kiosk runs today's plan ------------------------------------------------------


def _todays_plan(world: World) -> int:
    today = dt.datetime.now(dt.UTC).date()
    doc = {
        "schema": 1,
        "title": {"en": "Legs", "zh-CN": "腿部"},
        "start_date": (today - dt.timedelta(days=1)).isoformat(),
        "end_date": (today + dt.timedelta(days=27)).isoformat(),
        "prescribed_by": {"name": "Mei", "role": "coach"},
        "elder_mode": True,
        "sessions": [
            {
                "id": "daily",
                "name": {"en": "Every day", "zh-CN": "每天"},
                "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                "exercises": [
                    {"exercise": "squat", "sets": 2, "reps": 2, "rest_s": 30},
                    {"exercise": "heel_raise", "sets": 1, "reps": 10, "rest_s": 0},
                ],
            }
        ],
    }
    response = _create(world, doc=doc)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _stream_squats(world: World, member_code: str, reps: int, start_ms: int) -> str:
    frames = squat_frames(reps, seed=3, start_ms=start_ms)
    world.feed[:] = frames
    with world.client.websocket_connect(
        "/ws", subprotocols=kiosk_protocols(world.a["kiosk_token"])
    ) as ws:
        ws.send_text(
            json.dumps(
                {"type": "open", "v": 1, "exercise": "squat", "resident": member_code}
            )
        )
        opened = _until(ws, "opened")
        for frame in frames:
            ws.send_bytes(encode_frame(frame.timestamp_ms, jpeg_bytes()))
            while ws.receive_json()["type"] != "pose":
                pass
        ws.send_text('{"type": "close", "v": 1}')
        _until(ws, "summary")
    return str(opened["session_id"])


def test_the_kiosk_runs_todays_plan_and_records_each_set(world: World) -> None:
    pid = _todays_plan(world)
    code = world.a["member_code"]
    token = world.a["kiosk_token"]
    plan = world.kiosk("POST", "/api/kiosk/plan", token, json={"member_code": code})
    assert plan.status_code == 200, plan.text
    body = plan.json()
    assert body["resident"] == {"member_code": code, "display_name": "Lin Riverside"}
    assert (
        body["prescription"]["id"] == pid and body["prescription"]["elder_mode"] is True
    )
    (session,) = body["today"]["sessions"]
    assert [(e["exercise"], e["sets"], e["reps"]) for e in session["exercises"]] == [
        ("squat", 2, 2),
        ("heel_raise", 1, 10),
    ]
    assert body["sets_today"] == [] and session["done_today"] is False

    live = _stream_squats(world, code, 2, 1000)
    recorded = world.kiosk(
        "POST",
        "/api/kiosk/plan/sets",
        token,
        json={
            "member_code": code,
            "prescription_id": pid,
            "session_id": "daily",
            "exercise": "squat",
            "set_index": 1,
            "live_session_id": live,
        },
    )
    assert recorded.status_code == 201, recorded.text
    done = recorded.json()["set"]
    assert (done["exercise"], done["set_index"], done["reps"], done["hold_s"]) == (
        "squat",
        1,
        2,
        0.0,
    )
    assert 0 <= done["score"] <= 100
    assert len(recorded.json()["sets_today"]) == 1

    # The same session cannot count twice; a set must name an exercise of the plan
    # and a session of this resident.
    def post(**changes: Any) -> Any:
        body = {**_set(code, pid, live), **changes}
        return world.kiosk("POST", "/api/kiosk/plan/sets", token, json=body)

    _expect(post(), 409, "set_already_recorded")
    _expect(post(exercise="lunge"), 422, "plan_set_refused")
    _expect(post(exercise="heel_raise"), 422, "plan_set_refused")
    _expect(post(live_session_id="no-such-session"), 422, "plan_set_refused")
    # Another centre's kiosk knows neither the resident nor the plan.
    away = world.kiosk(
        "POST", "/api/kiosk/plan", world.b["kiosk_token"], json={"member_code": code}
    )
    _expect(away, 404, "member_code_unknown")
    # The coach sees today's set in the adherence.
    report = world.call("coach_a", "GET", f"/api/prescriptions/{pid}/adherence").json()
    week = report["adherence"]["weeks"][-1]["totals"]
    assert (week["sessions_done"], week["sets_done"], week["reps_done"]) == (1, 1, 2)
    assert report["sets"][0]["exercise_session_id"] is not None
    # Back at the kiosk the day shows the set and the session as done.
    after = world.kiosk(
        "POST", "/api/kiosk/plan", token, json={"member_code": code}
    ).json()
    assert after["today"]["sessions"][0]["done_today"] is True
    assert [s["reps"] for s in after["sets_today"]] == [2]


def _set(code: str, pid: int, live: str) -> dict[str, Any]:
    return {
        "member_code": code,
        "prescription_id": pid,
        "session_id": "daily",
        "exercise": "squat",
        "set_index": 2,
        "live_session_id": live,
    }


def test_a_resident_without_a_plan_gets_none(world: World) -> None:
    response = world.kiosk(
        "POST",
        "/api/kiosk/plan",
        world.a["kiosk_token"],
        json={"member_code": world.a["member_code"]},
    )
    assert response.status_code == 200, response.text
    assert response.json()["prescription"] is None and response.json()["today"] is None
