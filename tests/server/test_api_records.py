"""The records API through HTTP (TestClient), on SQLite and PostgreSQL: every denial
(401 without sign-in, 403 wrong role or other centre, 404 unknown) and what is
allowed."""

# ruff: noqa: F811 (pytest fixtures imported from the helpers)

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from server import auth
from server.api import include_routers
from server.store import Store, repository
from tests.server.store.helpers import (  # noqa: F401 (fixtures)
    at,
    cue,
    db_url,
    fast_hasher,
    frames,
    pg_database_url,
    rep,
    seed_centre,
    seed_session,
    sqlite_template,
    store,
)

TEMPLATE = (Path(__file__).parent / "data" / "chair_squat.toml").read_text(
    encoding="utf-8"
)
PASSWORD = "s3cret-pass"


@dataclass
class World:
    client: TestClient
    store: Store
    a: dict[str, Any]  # centre A ids (+ session "session_id")
    b: dict[str, Any]  # centre B ids
    tokens: dict[str, str]

    def as_(self, who: str | None) -> dict[str, str]:
        return {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}

    def call(self, who: str | None, method: str, path: str, **kw: Any) -> Any:
        return self.client.request(method, path, headers=self.as_(who), **kw)


@pytest.fixture
def world(store: Store, fast_hasher: None) -> World:
    a = seed_centre(store, "Riverside")
    b = seed_centre(store, "Hillside")
    a["session_id"] = seed_session(store, a)
    b["session_id"] = seed_session(store, b)
    with store.begin() as db:
        for username, role, centre in (
            ("root", "admin", None),
            ("admin_a", "admin", a["centre_id"]),
            ("coach_a", "coach", a["centre_id"]),
            ("coach_b", "coach", b["centre_id"]),
        ):
            repository.create_staff(
                db,
                username=username,
                password_hash=auth.hash_password(PASSWORD),
                role=role,
                centre_id=centre,
            )
    app = FastAPI()
    include_routers(app, store)
    client = TestClient(app)
    tokens = {}
    for username in ("root", "admin_a", "coach_a", "coach_b"):
        response = client.post(
            "/api/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        tokens[username] = response.json()["token"]
    client.cookies.clear()  # each call below says who it is
    return World(client, store, a, b, tokens)


def _routes(w: World) -> list[tuple[str, str, dict[str, Any]]]:
    """Every route that needs a sign-in, with a plausible body, on centre B's data."""
    rb, sb = w.b["resident_id"], w.b["session_id"]
    return [
        ("POST", "/api/auth/logout", {}),
        ("GET", "/api/auth/me", {}),
        ("GET", "/api/residents", {}),
        (
            "POST",
            "/api/residents",
            {"json": {"member_code": "N1", "display_name": "New"}},
        ),
        ("GET", f"/api/residents/{rb}", {}),
        ("PATCH", f"/api/residents/{rb}", {"json": {"consent_video": True}}),
        ("DELETE", f"/api/residents/{rb}", {}),
        ("GET", f"/api/residents/{rb}/sessions", {}),
        ("GET", f"/api/residents/{rb}/progress", {}),
        ("GET", f"/api/residents/{rb}/notes", {}),
        ("POST", f"/api/residents/{rb}/notes", {"json": {"text": "hi"}}),
        ("GET", f"/api/residents/{rb}/assessments", {}),
        ("GET", f"/api/residents/{rb}/programmes", {}),
        (
            "POST",
            f"/api/residents/{rb}/assessments",
            {"json": {"protocol_id": "tug", "value": 9.1, "unit": "s"}},
        ),
        ("GET", "/api/sessions", {}),
        ("GET", f"/api/sessions/{sb}", {}),
        ("GET", f"/api/sessions/{sb}/landmarks", {}),
        ("GET", f"/api/sessions/{sb}/notes", {}),
        ("POST", f"/api/sessions/{sb}/notes", {"json": {"text": "hi"}}),
        ("GET", f"/api/exports/sessions/{sb}?format=csv", {}),
        ("GET", f"/api/exports/residents/{rb}?format=fhir", {}),
        (
            "POST",
            "/api/authoring/drafts",
            {"json": {"session_id": sb, "template_id": "drafted"}},
        ),
        ("POST", "/api/authoring/drafts/video?template_id=drafted", {"content": b"x"}),
        ("GET", "/api/templates", {}),
        ("POST", "/api/templates", {"json": {"toml": TEMPLATE}}),
        ("GET", "/api/templates/chair_squat", {}),
        ("PUT", "/api/templates/chair_squat", {"json": {"toml": TEMPLATE}}),
        ("DELETE", "/api/templates/chair_squat", {}),
        ("GET", "/api/admin/centres", {}),
        ("POST", "/api/admin/centres", {"json": {"name": "New centre"}}),
        ("GET", "/api/admin/staff", {}),
        (
            "POST",
            "/api/admin/staff",
            {"json": {"username": "x", "password": "longenough", "role": "coach"}},
        ),
        ("PATCH", "/api/admin/staff/1", {"json": {"active": False}}),
        ("GET", "/api/admin/kiosks", {}),
        ("POST", "/api/admin/kiosks", {"json": {"name": "k"}}),
        ("DELETE", f"/api/admin/kiosks/{w.b['kiosk_id']}", {}),
    ]


def _expect(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["detail"]["code"] == code


# --- 401 ----------------------------------------------------------------------------


def test_every_route_needs_a_sign_in(world: World) -> None:
    for method, path, kw in _routes(world):
        for headers in ({}, {"Authorization": "Bearer forged-token"}):
            response = world.client.request(method, path, headers=headers, **kw)
            assert response.status_code == 401, (method, path, response.text)
            assert response.json()["detail"]["code"] == "not_logged_in"
    assert world.call(None, "GET", "/api/auth/errors").status_code == 200  # public


def test_wrong_password_and_logout(world: World) -> None:
    bad = world.client.post(
        "/api/auth/login", json={"username": "coach_a", "password": "nope"}
    )
    _expect(bad, 401, "login_failed")
    assert world.call("coach_a", "GET", "/api/auth/me").json()["username"] == "coach_a"
    assert world.call("coach_a", "POST", "/api/auth/logout").status_code == 204
    _expect(world.call("coach_a", "GET", "/api/auth/me"), 401, "not_logged_in")


def test_login_sets_an_httponly_strict_cookie(world: World) -> None:
    response = world.client.post(
        "/api/auth/login", json={"username": "coach_a", "password": PASSWORD}
    )
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert response.json()["staff"]["role"] == "coach"
    assert world.client.get("/api/auth/me").json()["username"] == "coach_a"  # by cookie
    world.client.post("/api/auth/logout")
    _expect(world.client.get("/api/auth/me"), 401, "not_logged_in")


# --- 403 wrong role -----------------------------------------------------------------

ADMIN_ONLY = [
    ("GET", "/api/admin/centres", {}),
    ("POST", "/api/admin/centres", {"json": {"name": "X"}}),
    ("GET", "/api/admin/staff", {}),
    (
        "POST",
        "/api/admin/staff",
        {"json": {"username": "y", "password": "longenough", "role": "coach"}},
    ),
    ("PATCH", "/api/admin/staff/1", {"json": {"display_name": "Z"}}),
    ("GET", "/api/admin/kiosks", {}),
    ("POST", "/api/admin/kiosks", {"json": {"name": "k"}}),
    ("DELETE", "/api/admin/kiosks/1", {}),
    ("DELETE", "/api/residents/{ra}", {}),
]


@pytest.mark.parametrize(
    ("method", "path", "kw"), ADMIN_ONLY, ids=[f"{m} {p}" for m, p, _ in ADMIN_ONLY]
)
def test_coaches_are_refused_admin_routes(
    world: World, method: str, path: str, kw: dict[str, Any]
) -> None:
    response = world.call(
        "coach_a", method, path.format(ra=world.a["resident_id"]), **kw
    )
    _expect(response, 403, "forbidden_role")


def test_only_an_all_centres_admin_creates_centres_and_global_admins(
    world: World,
) -> None:
    _expect(
        world.call("admin_a", "POST", "/api/admin/centres", json={"name": "X"}),
        403,
        "forbidden_role",
    )
    body = {
        "username": "root2",
        "password": "longenough",
        "role": "admin",
        "all_centres": True,
    }
    _expect(
        world.call("admin_a", "POST", "/api/admin/staff", json=body),
        403,
        "forbidden_role",
    )
    assert world.call("root", "POST", "/api/admin/staff", json=body).status_code == 201
    created = world.call(
        "root", "POST", "/api/admin/centres", json={"name": "Lakeside"}
    )
    assert created.status_code == 201 and created.json()["name"] == "Lakeside"
    _expect(
        world.call("root", "POST", "/api/admin/centres", json={"name": "Lakeside"}),
        409,
        "centre_name_taken",
    )


# --- another centre: 404 for its records, 403 for a listing naming it ----------------


def _unknown_ids(world: World, path: str, kw: dict[str, Any]) -> tuple[str, Any]:
    """`path` and `kw` with centre B's resident and session ids made unknown."""
    known = {world.b["resident_id"], world.b["session_id"]}
    for record_id in known:
        path = path.replace(f"/{record_id}/", "/999999/")
        if path.endswith(f"/{record_id}") or f"/{record_id}?" in path:
            path = path.replace(f"/{record_id}", "/999999")
    if "json" in kw:
        kw = {
            **kw,
            "json": {k: 999999 if v in known else v for k, v in kw["json"].items()},
        }
    return path, kw


def test_finding_13_another_centres_record_answers_as_an_unknown_one(
    world: World,
) -> None:
    """Another centre's record used to answer 403 `other_centre` and an unknown one
    404, so ids could be enumerated; now both answer the same 404."""
    refused = [
        (m, p, kw)
        for m, p, kw in _routes(world)
        if not p.startswith(("/api/admin", "/api/auth", "/api/authoring/drafts/video"))
        and (m, p)
        != ("DELETE", f"/api/residents/{world.b['resident_id']}")  # role first
    ]
    with_centre = {
        ("GET", "/api/residents"): {"params": {"centre_id": world.b["centre_id"]}},
        ("POST", "/api/residents"): {
            "json": {
                "member_code": "N1",
                "display_name": "N",
                "centre_id": world.b["centre_id"],
            }
        },
        ("GET", "/api/sessions"): {"params": {"centre_id": world.b["centre_id"]}},
        ("GET", "/api/templates"): {"params": {"centre_id": world.b["centre_id"]}},
        ("POST", "/api/templates"): {
            "json": {"toml": TEMPLATE, "centre_id": world.b["centre_id"]}
        },
        ("GET", "/api/templates/chair_squat"): {
            "params": {"centre_id": world.b["centre_id"]}
        },
        ("PUT", "/api/templates/chair_squat"): {
            "json": {"toml": TEMPLATE, "centre_id": world.b["centre_id"]}
        },
        ("DELETE", "/api/templates/chair_squat"): {
            "params": {"centre_id": world.b["centre_id"]}
        },
    }
    for method, path, kw in refused:
        if (method, path) in with_centre:  # a listing or a new record naming B
            response = world.call("coach_a", method, path, **with_centre[method, path])
            _expect(response, 403, "other_centre")
            continue
        response = world.call("coach_a", method, path, **kw)
        unknown_path, unknown_kw = _unknown_ids(world, path, kw)
        unknown = world.call("coach_a", method, unknown_path, **unknown_kw)
        assert response.status_code == 404, (method, path, response.text)
        assert (response.status_code, response.json()) == (
            unknown.status_code,
            unknown.json(),
        ), (method, path)
    # Nothing of B's changed.
    with world.store.session() as db:
        resident = repository.get_resident(db, world.b["resident_id"])
        assert resident is not None and resident.consent_video is False
        assert repository.list_notes(db, resident_id=world.b["resident_id"]) == []
        assert repository.find_resident(db, world.b["centre_id"], "N1") is None


def test_centre_admin_is_refused_another_centres_records(world: World) -> None:
    for method, path in (
        ("DELETE", f"/api/residents/{world.b['resident_id']}"),
        ("DELETE", f"/api/admin/kiosks/{world.b['kiosk_id']}"),
        ("GET", f"/api/exports/residents/{world.b['resident_id']}"),
        ("GET", "/api/admin/staff?centre_id=" + str(world.b["centre_id"])),
    ):
        response = world.call("admin_a", method, path)
        if "?centre_id=" in path:  # a listing naming another centre
            _expect(response, 403, "other_centre")
        else:
            assert response.status_code == 404, (method, path, response.text)
    coach_b = next(
        s
        for s in world.call("root", "GET", "/api/admin/staff").json()["staff"]
        if s["username"] == "coach_b"
    )
    _expect(
        world.call(
            "admin_a",
            "PATCH",
            f"/api/admin/staff/{coach_b['id']}",
            json={"active": False},
        ),
        404,
        "staff_not_found",
    )
    root = next(
        s
        for s in world.call("root", "GET", "/api/admin/staff").json()["staff"]
        if s["username"] == "root"
    )
    _expect(
        world.call(
            "admin_a", "PATCH", f"/api/admin/staff/{root['id']}", json={"active": False}
        ),
        404,
        "staff_not_found",
    )


# --- 404 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        ("GET", "/api/residents/987654", "resident_not_found"),
        ("PATCH", "/api/residents/987654", "resident_not_found"),
        ("GET", "/api/residents/987654/progress", "resident_not_found"),
        ("GET", "/api/sessions/987654", "session_not_found"),
        ("POST", "/api/sessions/987654/notes", "session_not_found"),
        ("GET", "/api/exports/sessions/987654", "session_not_found"),
        ("GET", "/api/exports/residents/987654?format=fhir", "resident_not_found"),
        ("GET", "/api/templates/nope", "template_not_found"),
        ("DELETE", "/api/templates/nope", "template_not_found"),
    ],
)
def test_unknown_records_are_404(
    world: World, method: str, path: str, code: str
) -> None:
    kw: dict[str, Any] = {"json": {"text": "x"}} if method in ("POST", "PATCH") else {}
    _expect(world.call("coach_a", method, path, **kw), 404, code)


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        ("PATCH", "/api/admin/staff/987654", "staff_not_found"),
        ("DELETE", "/api/admin/kiosks/987654", "kiosk_not_found"),
        ("DELETE", "/api/residents/987654", "resident_not_found"),
    ],
)
def test_unknown_admin_records_are_404(
    world: World, method: str, path: str, code: str
) -> None:
    kw: dict[str, Any] = {"json": {"active": True}} if method == "PATCH" else {}
    _expect(world.call("admin_a", method, path, **kw), 404, code)


# --- allowed ------------------------------------------------------------------------


def test_coach_sees_and_searches_only_their_centre(world: World) -> None:
    listed = world.call("coach_a", "GET", "/api/residents").json()["residents"]
    assert [r["id"] for r in listed] == [world.a["resident_id"]]
    assert (
        world.call("coach_a", "GET", "/api/residents", params={"q": "lin"}).json()[
            "residents"
        ][0]["member_code"]
        == world.a["member_code"]
    )
    assert (
        world.call("coach_a", "GET", "/api/residents", params={"q": "zzz"}).json()[
            "residents"
        ]
        == []
    )
    every = world.call("root", "GET", "/api/residents").json()["residents"]
    assert {r["id"] for r in every} == {world.a["resident_id"], world.b["resident_id"]}
    sessions = world.call("coach_a", "GET", "/api/sessions").json()["sessions"]
    assert [s["id"] for s in sessions] == [world.a["session_id"]]


@pytest.mark.parametrize(
    "field",
    [
        "display_name",
        "sex",
        "conditions",
        "consent_landmarks",
        "consent_video",
        "consent_data_sharing",
    ],
)
def test_an_explicit_null_leaves_a_resident_field_as_it_was(
    world: World, field: str
) -> None:
    # Found by the HTTP fuzz suite (tests/server/test_fuzz_http.py): a null consent
    # flag reached the NOT NULL column and answered 500.
    path = f"/api/residents/{world.a['resident_id']}"
    before = world.call("coach_a", "GET", path).json()
    patched = world.call("coach_a", "PATCH", path, json={field: None})
    assert patched.status_code == 200, patched.text
    assert world.call("coach_a", "GET", path).json() == before


def test_coach_creates_and_updates_a_resident(world: World) -> None:
    body = {
        "member_code": "RI-200",
        "display_name": "Zhao Li",
        "birth_year": 1951,
        "sex": "male",
        "conditions": ["hypertension"],
    }
    created = world.call("coach_a", "POST", "/api/residents", json=body)
    assert created.status_code == 201, created.text
    profile = created.json()
    assert profile["centre_id"] == world.a["centre_id"]
    assert profile["consent"] == {
        "landmarks": True,
        "video": False,
        "data_sharing": False,
    }
    _expect(
        world.call("coach_a", "POST", "/api/residents", json=body),
        409,
        "member_code_taken",
    )
    patched = world.call(
        "coach_a",
        "PATCH",
        f"/api/residents/{profile['id']}",
        json={"consent_data_sharing": True, "consent_landmarks": False},
    )
    assert patched.json()["consent"] == {
        "landmarks": False,
        "video": False,
        "data_sharing": True,
    }
    assert (
        world.call("coach_a", "GET", f"/api/residents/{profile['id']}").json()[
            "display_name"
        ]
        == "Zhao Li"
    )
    bad = world.call(
        "coach_a",
        "POST",
        "/api/residents",
        json={**body, "member_code": "X", "sex": "robot"},
    )
    assert bad.status_code == 422
    _expect(
        world.call("root", "POST", "/api/residents", json={**body, "member_code": "Y"}),
        400,
        "centre_required",
    )


def test_history_progress_and_notes(world: World) -> None:
    rid, sid = world.a["resident_id"], world.a["session_id"]
    history = world.call("coach_a", "GET", f"/api/residents/{rid}/sessions").json()[
        "sessions"
    ]
    assert [(s["id"], s["rep_count"], s["mean_score"]) for s in history] == [
        (sid, 2, 80.0)
    ]
    weeks = world.call(
        "coach_a",
        "GET",
        f"/api/residents/{rid}/progress",
        params={"tz": "Asia/Shanghai"},
    ).json()
    assert [(w["week"], w["reps"], w["mean_score"]) for w in weeks["weeks"]] == [
        ("2026-W10", 2, 80.0)
    ]
    assert weeks["weeks"][0]["week_start"] == "2026-03-02"
    _expect(
        world.call(
            "coach_a",
            "GET",
            f"/api/residents/{rid}/progress",
            params={"tz": "Nowhere/Town"},
        ),
        400,
        "bad_timezone",
    )
    note = world.call(
        "coach_a", "POST", f"/api/sessions/{sid}/notes", json={"text": "Good depth"}
    )
    assert note.status_code == 201 and note.json()["author"] == "coach_a"
    world.call(
        "coach_a", "POST", f"/api/residents/{rid}/notes", json={"text": "Call daughter"}
    )
    texts = [
        n["text"]
        for n in world.call("coach_a", "GET", f"/api/residents/{rid}/notes").json()[
            "notes"
        ]
    ]
    assert texts == ["Good depth", "Call daughter"]
    assert (
        world.call(
            "coach_a", "POST", f"/api/sessions/{sid}/notes", json={"text": ""}
        ).status_code
        == 422
    )


def test_session_detail_for_review(world: World) -> None:
    # The session's exercise is the centre's custom template: its band comes from it.
    assert (
        world.call(
            "coach_a", "POST", "/api/templates", json={"toml": TEMPLATE}
        ).status_code
        == 201
    )
    detail = world.call(
        "coach_a", "GET", f"/api/sessions/{world.a['session_id']}"
    ).json()
    assert [r["count"] for r in detail["reps"]] == [1, 2]
    assert detail["reps"][0]["range_of_motion_deg"] == {"knee": 95.0, "hip": 70.0}
    assert [c["cue_id"] for c in detail["cues"]] == ["knees_cave"]
    assert detail["resident"]["member_code"] == world.a["member_code"]
    assert (
        detail["landmarks"]["frames"] == 12 and len(detail["landmarks"]["xy"][0]) == 66
    )
    knee = detail["reference_band"]["reference"]["channels"]["knee"]
    assert knee["mean"] == [170.0, 140.0, 110.0, 140.0, 170.0]
    assert knee["lower"][2] == 95.0 and knee["upper"][2] == 125.0
    slim = world.call(
        "coach_a",
        "GET",
        f"/api/sessions/{world.a['session_id']}",
        params={"landmarks": False},
    ).json()
    assert "landmarks" not in slim
    replay = world.call(
        "coach_a",
        "GET",
        f"/api/sessions/{world.a['session_id']}/landmarks",
        params={"max_frames": 5},
    ).json()
    assert replay["frames"] == 4 and replay["step"] == 3


def test_session_detail_without_a_known_template(world: World) -> None:
    detail = world.call(
        "coach_a", "GET", f"/api/sessions/{world.a['session_id']}"
    ).json()
    assert detail["reference_band"] is None


@pytest.mark.parametrize("who", ["coach_a", "admin_a", "root"])
def test_exports_contain_the_reps(world: World, who: str) -> None:
    sid, rid = world.a["session_id"], world.a["resident_id"]
    as_csv = world.call(
        who, "GET", f"/api/exports/sessions/{sid}", params={"format": "csv"}
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [(r["rep"], r["score"]) for r in rows] == [("1", "70.0"), ("2", "90.0")]
    as_json = world.call(who, "GET", f"/api/exports/residents/{rid}").json()
    assert [r["score"] for r in as_json["sessions"][0]["reps"]] == [70.0, 90.0]
    fhir = world.call(
        who, "GET", f"/api/exports/residents/{rid}", params={"format": "fhir"}
    )
    assert fhir.headers["content-type"] == "application/fhir+json"
    bundle = fhir.json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    reps = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["code"]["coding"][0]["code"] == "repetitions"
    ]
    assert [o["valueInteger"] for o in reps] == [2]


def test_templates_crud_with_validation(world: World) -> None:
    created = world.call("coach_a", "POST", "/api/templates", json={"toml": TEMPLATE})
    assert created.status_code == 201 and created.json()["id"] == "chair_squat"
    _expect(
        world.call("coach_a", "POST", "/api/templates", json={"toml": TEMPLATE}),
        409,
        "invalid_template",
    )
    listed = world.call("coach_a", "GET", "/api/templates").json()["templates"]
    assert [t["id"] for t in listed] == ["chair_squat"] and "toml" not in listed[0]
    assert (
        world.call("coach_b", "GET", "/api/templates").json()["templates"] == []
    )  # per centre
    edited = TEMPLATE.replace("tolerance = { knee = 15 }", "tolerance = { knee = 20 }")
    assert (
        world.call(
            "coach_a", "PUT", "/api/templates/chair_squat", json={"toml": edited}
        ).status_code
        == 200
    )
    assert (
        "knee = 20"
        in world.call("coach_a", "GET", "/api/templates/chair_squat").json()["toml"]
    )
    broken = world.call(
        "coach_a",
        "PUT",
        "/api/templates/chair_squat",
        json={"toml": TEMPLATE.replace('kind = "reps"', 'kind = "dance"')},
    )
    _expect(broken, 422, "invalid_template")
    assert "dance" in broken.json()["detail"]["message"]
    not_toml = world.call("coach_a", "POST", "/api/templates", json={"toml": "id = ["})
    _expect(not_toml, 422, "invalid_template")
    renamed = world.call(
        "coach_a", "PUT", "/api/templates/other_id", json={"toml": TEMPLATE}
    )
    _expect(renamed, 422, "invalid_template")
    assert (
        world.call("coach_a", "DELETE", "/api/templates/chair_squat").status_code == 204
    )
    _expect(
        world.call("coach_a", "GET", "/api/templates/chair_squat"),
        404,
        "template_not_found",
    )


def test_admin_manages_staff_and_kiosks(world: World) -> None:
    created = world.call(
        "admin_a", "POST", "/api/admin/kiosks", json={"name": "Hall 2"}
    )
    assert created.status_code == 201
    kiosk = created.json()
    token = kiosk.pop("token")
    assert kiosk["centre_id"] == world.a["centre_id"]
    verified = auth.verify_kiosk_token(world.store, token)
    assert verified is not None and verified.id == kiosk["id"]
    listed = world.call("admin_a", "GET", "/api/admin/kiosks").json()["kiosks"]
    assert {k["id"] for k in listed} == {world.a["kiosk_id"], kiosk["id"]}
    assert all("token" not in k for k in listed)
    assert (
        world.call("admin_a", "DELETE", f"/api/admin/kiosks/{kiosk['id']}").status_code
        == 204
    )
    assert auth.verify_kiosk_token(world.store, token) is None

    body = {"username": "coach_new", "password": "longenough", "role": "coach"}
    staff = world.call("admin_a", "POST", "/api/admin/staff", json=body)
    assert (
        staff.status_code == 201 and staff.json()["centre_id"] == world.a["centre_id"]
    )
    _expect(
        world.call("admin_a", "POST", "/api/admin/staff", json=body),
        409,
        "username_taken",
    )
    login = world.client.post(
        "/api/auth/login", json={"username": "coach_new", "password": "longenough"}
    )
    token_new = login.json()["token"]
    world.client.cookies.clear()
    headers = {"Authorization": f"Bearer {token_new}"}
    assert world.client.get("/api/auth/me", headers=headers).status_code == 200
    world.call(
        "admin_a",
        "PATCH",
        f"/api/admin/staff/{staff.json()['id']}",
        json={"active": False},
    )
    _expect(world.client.get("/api/auth/me", headers=headers), 401, "not_logged_in")
    me = world.call("admin_a", "GET", "/api/auth/me").json()
    _expect(
        world.call(
            "admin_a", "PATCH", f"/api/admin/staff/{me['id']}", json={"active": False}
        ),
        409,
        "last_admin",
    )
    too_short = world.call(
        "admin_a",
        "POST",
        "/api/admin/staff",
        json={**body, "username": "u2", "password": "short"},
    )
    assert too_short.status_code == 422


def test_admin_deletes_a_resident_with_an_export_first(world: World) -> None:
    rid = world.a["resident_id"]
    response = world.call(
        "admin_a", "DELETE", f"/api/residents/{rid}", params={"export": "json"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["deleted"]["sessions"] == 1 and body["deleted"]["reps"] == 2
    assert [r["count"] for r in body["export"]["sessions"][0]["reps"]] == [1, 2]
    _expect(
        world.call("admin_a", "GET", f"/api/residents/{rid}"), 404, "resident_not_found"
    )
    _expect(
        world.call("admin_a", "GET", f"/api/sessions/{world.a['session_id']}"),
        404,
        "session_not_found",
    )
    # Centre B untouched.
    assert (
        world.call(
            "coach_b", "GET", f"/api/residents/{world.b['resident_id']}"
        ).status_code
        == 200
    )


def test_assessments_route(world: World) -> None:
    rid = world.a["resident_id"]
    posted = world.call(
        "coach_a",
        "POST",
        f"/api/residents/{rid}/assessments",
        json={
            "protocol_id": "tug",
            "value": 9.4,
            "unit": "s",
            "band": "normal",
            "taken_at": "2026-03-05T10:00:00+08:00",
        },
    )
    assert posted.status_code == 201, posted.text
    assert posted.json()["taken_at"] == "2026-03-05T02:00:00+00:00"
    listed = world.call("coach_a", "GET", f"/api/residents/{rid}/assessments").json()[
        "assessments"
    ]
    assert [(a["protocol_id"], a["value"]) for a in listed] == [("tug", 9.4)]
    naive = world.call(
        "coach_a",
        "POST",
        f"/api/residents/{rid}/assessments",
        json={
            "protocol_id": "tug",
            "value": 1,
            "unit": "s",
            "taken_at": "2026-03-05T10:00:00",
        },
    )
    _expect(naive, 422, "invalid_request")


def test_password_hashes_are_never_returned(world: World) -> None:
    me = world.call("coach_a", "GET", "/api/auth/me").json()
    assert set(me) >= {"id", "username", "role", "centre_id"}
    listed = world.call("root", "GET", "/api/admin/staff").json()["staff"]
    assert all("password_hash" not in s for s in [me, *listed])
    assert "argon2" not in world.call("root", "GET", "/api/admin/staff").text
