"""`server.middleware` and the strict input behind it (issue 18, findings 4, 6 and 8):
bounded bodies, 422s that do not echo, security headers, strict JSON numbers and
strings, ids beyond 64 bits and deeply nested TOML; each a clear 4xx with a code,
nothing stored, the server still up. On SQLite through TestClient (scripted backend)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient

from server import auth
from server.app import create_app
from server.middleware import (
    CONTENT_SECURITY_POLICY,
    MAX_BODY_BYTES,
    BoundedInputMiddleware,
    SecurityHeadersMiddleware,
)
from server.settings import Settings
from server.store import Store, repository, upgrade_database
from tests.server.conftest import ScriptedBackend
from tests.server.store.helpers import fast_hasher, seed_centre  # noqa: F401

PASSWORD = "s3cret-pass-never-echoed"


@dataclass
class World:
    client: TestClient
    store: Store
    a: dict[str, Any]
    staff: dict[str, str]  # Authorization header of centre A's admin

    def residents(self) -> int:
        with self.store.session() as db:
            return len(repository.search_residents(db, None, limit=1000))


@pytest.fixture
def world(tmp_path: Any, fast_hasher: None) -> Iterator[World]:  # noqa: F811
    url = f"sqlite:///{tmp_path / 'records.db'}"
    upgrade_database(url)
    store = Store(url)
    a = seed_centre(store)
    with store.begin() as db:
        repository.create_staff(
            db,
            username="admin_a",
            password_hash=auth.hash_password(PASSWORD),
            role="admin",
            centre_id=a["centre_id"],
        )
    app = create_app(
        Settings(db_url=url, kiosk_auth=True),
        backend_factory=ScriptedBackend,
        store=Store(url),
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        login = {"username": "admin_a", "password": PASSWORD}
        token = client.post("/api/auth/login", json=login).json()["token"]
        client.cookies.clear()
        yield World(client, store, a, {"Authorization": f"Bearer {token}"})
    store.dispose()


def _code(response: Any) -> str:
    return str(response.json()["detail"]["code"])


# --- finding 4: bodies bounded, 422s without the values sent --------------------------


def test_finding_4_declared_body_over_one_mib_is_refused_unread(world: World) -> None:
    body = b"{" + b" " * MAX_BODY_BYTES + b"}"
    response = world.client.post(
        "/api/auth/login", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert _code(response) == "body_too_large"
    assert str(MAX_BODY_BYTES) in response.json()["detail"]["message"]


def test_finding_4_chunked_body_is_cut_off_at_the_bound(world: World) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        yield b'{"display_name": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'", "member_code": "9"}'

    before = world.residents()
    response = world.client.post(
        "/api/residents",
        content=chunks(),
        headers={**world.staff, "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert _code(response) == "body_too_large"
    assert world.residents() == before
    assert world.client.get("/health").status_code == 200


def test_finding_4_video_route_keeps_its_own_bound(world: World) -> None:
    # Two MiB of not-a-video pass the 1 MiB bound and reach the route's own checks.
    response = world.client.post(
        "/api/authoring/drafts/video?template_id=my_move&view=side",
        content=b"\x00" * (2 << 20),
        headers={**world.staff, "content-type": "application/octet-stream"},
    )
    assert response.status_code == 422, response.text
    assert _code(response) == "video_unreadable"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"password": PASSWORD}, id="missing-username"),
        pytest.param({"username": "admin_a", "password": [PASSWORD]}, id="wrong-type"),
        pytest.param({"username": "x", "password": PASSWORD, "extra": 1}, id="extra"),
    ],
)
def test_finding_4_validation_errors_never_echo_the_password(
    world: World, body: dict[str, Any]
) -> None:
    response = world.client.post("/api/auth/login", json=body)
    assert response.status_code in (401, 422), response.text
    assert PASSWORD not in response.text
    if response.status_code == 422:
        for error in response.json()["detail"]:
            assert set(error) == {"type", "loc", "msg"}


# --- finding 6: headers -----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "cache_control"),
    [
        pytest.param("/", "no-cache", id="kiosk-page"),
        pytest.param("/coach", "no-cache", id="coach-page"),
        pytest.param("/static/kiosk.js", "no-cache", id="static"),
        pytest.param("/api/residents", "no-store", id="residents"),
        pytest.param("/api/auth/me", "no-store", id="me"),
    ],
)
def test_finding_6_security_headers(
    world: World, path: str, cache_control: str
) -> None:
    response = world.client.get(path, headers=world.staff)
    assert response.status_code == 200, response.text
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == cache_control


def test_finding_6_export_of_personal_data_is_not_stored(world: World) -> None:
    response = world.client.get(
        f"/api/exports/residents/{world.a['resident_id']}?format=csv",
        headers=world.staff,
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"


# --- finding 8: strict numbers, ids, surrogates, nesting ----------------------------


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        pytest.param("GET", "/api/residents/9223372036854775808", 404, "not_found"),
        pytest.param("GET", "/api/sessions/18446744073709551615", 404, "not_found"),
        pytest.param("GET", "/api/residents/-9223372036854775809", 404, "not_found"),
        pytest.param(
            "POST", "/api/alerts/9223372036854775808/acknowledge", 404, "not_found"
        ),
        pytest.param(
            "GET",
            "/api/residents?centre_id=9223372036854775808",
            422,
            "invalid_request",
        ),
        pytest.param(  # passes the text check; the database's OverflowError is 422
            "GET",
            "/api/sessions?resident_id=9223372036854775808.0",
            422,
            "invalid_request",
        ),
    ],
)
def test_finding_8_ids_beyond_64_bits_are_4xx(
    world: World, method: str, path: str, status: int, code: str
) -> None:
    response = world.client.request(method, path, headers=world.staff)
    assert response.status_code == status, response.text
    assert _code(response) == code


@pytest.mark.parametrize(
    "field",
    [
        pytest.param('"age": NaN', id="nan"),
        pytest.param('"age": Infinity', id="infinity"),
        pytest.param('"age": -Infinity', id="minus-infinity"),
        pytest.param('"age": 1e400', id="1e400"),
        pytest.param('"centre_id": 9223372036854775808', id="id-2^63"),
        pytest.param('"notes": "\\ud800"', id="lone-surrogate"),
        pytest.param('"\\udfff": 1', id="lone-surrogate-key"),
    ],
)
def test_finding_8_non_strict_json_is_422_and_stores_nothing(
    world: World, field: str
) -> None:
    body = '{"display_name": "Ann", "member_code": "4711", ' + field + "}"
    before = world.residents()
    response = world.client.post(
        "/api/residents",
        content=body,
        headers={**world.staff, "content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert _code(response) == "invalid_request"
    assert world.residents() == before


@pytest.mark.parametrize(
    "toml",
    [
        pytest.param("a = " + "[" * 5000 + "]" * 5000, id="arrays"),
        pytest.param("a = " + "{b = " * 3000 + "1" + "}" * 3000, id="inline-tables"),
        pytest.param("a" + ".a" * 5000 + " = 1", id="dotted-keys"),
    ],
)
def test_finding_8_deeply_nested_toml_is_422(world: World, toml: str) -> None:
    template = world.client.post(
        "/api/templates", json={"toml": toml}, headers=world.staff
    )
    assert template.status_code == 422, template.text
    assert _code(template) == "invalid_template"
    table = world.client.post(
        "/api/fitness-tables", content=toml.encode(), headers=world.staff
    )
    assert table.status_code == 422, table.text
    assert _code(table) == "invalid_scoring_table"
    assert "nested at most 32 deep" in table.json()["detail"]["message"]


# --- non-HTTP scopes pass through untouched -------------------------------------------


@pytest.mark.parametrize(
    "middleware",
    [
        pytest.param(BoundedInputMiddleware, id="bounded-input"),
        pytest.param(SecurityHeadersMiddleware, id="security-headers"),
    ],
)
@pytest.mark.parametrize(
    "scope",
    [
        pytest.param({"type": "websocket", "path": "/ws", "headers": []}, id="ws"),
        pytest.param({"type": "lifespan"}, id="lifespan"),
    ],
)
def test_non_http_scopes_reach_the_app_untouched(
    middleware: Any, scope: dict[str, Any]
) -> None:
    seen: list[tuple[Any, Any, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append((scope, receive, send))

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: Any) -> None:
        raise AssertionError(f"expected nothing sent, got {message!r}")

    asyncio.run(middleware(app)(scope, receive, send))
    assert len(seen) == 1
    assert seen[0][0] is scope
    assert seen[0][1] is receive
    assert seen[0][2] is send
