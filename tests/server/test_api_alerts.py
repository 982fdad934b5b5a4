"""The alerts API through HTTP (TestClient), on SQLite and PostgreSQL: every denial
(401 without sign-in, 404 for another centre's alert as for an unknown one, 403 for
another centre's listing), what each role sees, and idempotent acknowledgement."""

# ruff: noqa: F811 (pytest fixtures imported from the helpers)

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from server import auth
from server.api import include_routers
from server.store import Store, repository
from tests.server.store.helpers import (  # noqa: F401 (fixtures)
    db_url,
    fast_hasher,
    pg_database_url,
    seed_centre,
    sqlite_template,
    store,
)

PASSWORD = "s3cret-pass"
STAFF = (
    ("root", "admin", None),
    ("admin_a", "admin", "a"),
    ("coach_a", "coach", "a"),
    ("coach_b", "coach", "b"),
)


@dataclass
class World:
    client: TestClient
    store: Store
    ids: dict[str, dict[str, Any]]  # centre "a" / "b" ids
    alerts: dict[str, int]  # "a_fall" (resident, cleared), "a_anon", "b_fall"
    staff: dict[str, int]
    tokens: dict[str, str]

    def call(self, who: str | None, method: str, path: str, **kw: Any) -> Any:
        headers = {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}
        return self.client.request(method, path, headers=headers, **kw)

    def listed(self, who: str, query: str = "") -> list[int]:
        response = self.call(who, "GET", f"/api/alerts{query}")
        assert response.status_code == 200, response.text
        return [a["id"] for a in response.json()["alerts"]]


@pytest.fixture
def world(store: Store, fast_hasher: None) -> World:
    ids = {"a": seed_centre(store, "Riverside"), "b": seed_centre(store, "Hillside")}
    alerts = {}
    with store.begin() as db:
        for name, centre, resident, seat in (
            ("a_fall", "a", True, 2),
            ("a_anon", "a", False, None),
            ("b_fall", "b", True, 5),
        ):
            alerts[name] = repository.raise_alert(
                db,
                centre_id=ids[centre]["centre_id"],
                kiosk_id=ids[centre]["kiosk_id"],
                kind="fall",
                live_id=f"g-{centre}",
                track_id=7,
                seat_number=seat,
                resident_id=ids[centre]["resident_id"] if resident else None,
                details={"timestamp_ms": 4200},
            ).id
        repository.clear_alert(db, alerts["a_fall"])
        staff = {
            username: repository.create_staff(
                db,
                username=username,
                display_name=username.replace("_", " ").title(),
                password_hash=auth.hash_password(PASSWORD),
                role=role,
                centre_id=None if centre is None else ids[centre]["centre_id"],
            ).id
            for username, role, centre in STAFF
        }
    app = FastAPI()
    include_routers(app, store)
    client = TestClient(app)
    tokens = {}
    for username, _, _ in STAFF:
        response = client.post(
            "/api/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        tokens[username] = response.json()["token"]
    client.cookies.clear()  # each call below says who it is
    return World(client, store, ids, alerts, staff, tokens)


def _expect(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["detail"]["code"] == code


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("GET", "/api/alerts", id="list"),
        pytest.param("GET", "/api/alerts?open=false", id="list-all"),
        pytest.param("POST", "/api/alerts/{a_fall}/acknowledge", id="acknowledge"),
    ],
)
def test_alerts_need_a_sign_in(world: World, method: str, path: str) -> None:
    _expect(world.call(None, method, path.format(**world.alerts)), 401, "not_logged_in")


def test_a_coach_lists_their_centres_open_alerts_with_who_and_where(
    world: World,
) -> None:
    response = world.call("coach_a", "GET", "/api/alerts")
    assert response.status_code == 200, response.text
    body = response.json()
    datetime.fromisoformat(body["now"])
    # newest first; centre B's alert is not there
    assert [a["id"] for a in body["alerts"]] == [
        world.alerts["a_anon"],
        world.alerts["a_fall"],
    ]
    anon, fall = body["alerts"]
    a = world.ids["a"]
    assert fall["kind"] == "fall" and fall["live_id"] == "g-a"
    assert fall["kiosk"] == {"id": a["kiosk_id"], "name": "Riverside hall"}
    assert fall["seat_number"] == 2 and fall["track_id"] == 7
    assert fall["resident"] == {
        "id": a["resident_id"],
        "member_code": a["member_code"],
        "display_name": "Lin Riverside",
    }
    assert fall["cleared_at"] is not None
    assert datetime.fromisoformat(fall["cleared_at"]) >= datetime.fromisoformat(
        fall["raised_at"]
    )
    assert fall["open"] is True
    assert fall["acknowledged_at"] is None
    assert fall["acknowledged_by"] is None and fall["acknowledged_by_kiosk"] is None
    assert anon["resident"] is None and anon["seat_number"] is None
    assert anon["cleared_at"] is None


@pytest.mark.parametrize(
    ("who", "query", "expected"),
    [
        pytest.param("coach_b", "", ["b_fall"], id="coach-b"),
        pytest.param("admin_a", "", ["a_anon", "a_fall"], id="centre-admin"),
        pytest.param("root", "", ["b_fall", "a_anon", "a_fall"], id="admin-all"),
        pytest.param("root", "?centre_id={b}", ["b_fall"], id="admin-one-centre"),
        pytest.param("coach_a", "?limit=1", ["a_anon"], id="limit"),
    ],
)
def test_who_sees_which_alerts(
    world: World, who: str, query: str, expected: list[str]
) -> None:
    query = query.format(b=world.ids["b"]["centre_id"])
    assert world.listed(who, query) == [world.alerts[name] for name in expected]


@pytest.mark.parametrize("who", ["coach_a", "admin_a"])
def test_another_centres_listing_is_refused(world: World, who: str) -> None:
    response = world.call(
        who, "GET", f"/api/alerts?centre_id={world.ids['b']['centre_id']}"
    )
    _expect(response, 403, "other_centre")


@pytest.mark.parametrize(
    ("who", "alert"),
    [
        pytest.param("coach_a", "b_fall", id="coach-other-centre"),
        pytest.param("admin_a", "b_fall", id="centre-admin-other-centre"),
        pytest.param("coach_b", "a_fall", id="coach-b-other-centre"),
        pytest.param("coach_a", None, id="unknown"),
    ],
)
def test_acknowledging_another_centres_alert_is_404(
    world: World, who: str, alert: str | None
) -> None:
    alert_id = world.alerts[alert] if alert else 9999
    response = world.call(who, "POST", f"/api/alerts/{alert_id}/acknowledge")
    _expect(response, 404, "not_found")
    assert world.listed("root") == [
        world.alerts[n] for n in ("b_fall", "a_anon", "a_fall")
    ]  # nothing was acknowledged


def test_acknowledge_closes_the_alert_and_the_first_one_wins(world: World) -> None:
    path = f"/api/alerts/{world.alerts['a_fall']}/acknowledge"
    first = world.call("coach_a", "POST", path)
    assert first.status_code == 200, first.text
    alert = first.json()["alert"]
    assert alert["open"] is False
    assert alert["acknowledged_by"] == {
        "id": world.staff["coach_a"],
        "display_name": "Coach A",
    }
    assert alert["acknowledged_at"] is not None
    again = world.call("admin_a", "POST", path)  # later, someone else: no change
    assert again.status_code == 200, again.text
    assert again.json()["alert"] == alert
    assert world.listed("coach_a") == [world.alerts["a_anon"]]
    listed = world.call("coach_a", "GET", "/api/alerts?open=false").json()["alerts"]
    assert [a["id"] for a in listed] == [world.alerts["a_anon"], world.alerts["a_fall"]]
    assert listed[1] == alert
    with world.store.session() as db:
        stored = repository.get_alert(db, world.alerts["a_fall"])
        assert stored is not None and stored.acknowledged_by == world.staff["coach_a"]


def test_an_all_centres_admin_acknowledges_any_centres_alert(world: World) -> None:
    response = world.call(
        "root", "POST", f"/api/alerts/{world.alerts['b_fall']}/acknowledge"
    )
    assert response.status_code == 200, response.text
    assert response.json()["alert"]["acknowledged_by"]["id"] == world.staff["root"]
    assert world.listed("coach_b") == []
