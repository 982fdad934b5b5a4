"""server.auth: Argon2id passwords, server-side logins, role and centre checks, kiosk
tokens (including a websocket handshake refused for a bad token)."""

# ruff: noqa: F811 (pytest fixtures imported from the helpers)

from __future__ import annotations

import concurrent.futures
import threading
import time
from datetime import timedelta
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, HTTPException, WebSocket
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from server import auth
from server.api import auth as api_auth
from server.api import include_routers
from server.store import Store, repository
from server.store.models import LoginSession, Role, Staff
from tests.server.conftest import kiosk_protocols
from tests.server.store.helpers import (  # noqa: F401 (fixtures)
    db_url,
    fast_hasher,
    pg_database_url,
    seed_centre,
    sqlite_template,
    store,
)
from tests.server.test_api_coach_flows import (  # noqa: F401 (a fixture)
    PASSWORD,
    World,
    _expect,
    world,
)

pytestmark = pytest.mark.usefixtures("fast_hasher")


def _staff(
    store: Store,
    username: str,
    role: str,
    centre_id: int | None,
    password: str = "s3cret-pass",
) -> int:
    with store.begin() as db:
        return repository.create_staff(
            db,
            username=username,
            password_hash=auth.hash_password(password),
            role=role,
            centre_id=centre_id,
        ).id


# --- passwords ----------------------------------------------------------------------


def test_passwords_are_argon2id_salted_and_verified() -> None:
    first, second = (
        auth.hash_password("correct horse"),
        auth.hash_password("correct horse"),
    )
    assert first.startswith("$argon2id$")
    assert first != second  # salted
    assert auth.verify_password(first, "correct horse")
    assert not auth.verify_password(first, "correct horsE")
    assert not auth.verify_password("not a hash", "correct horse")
    with pytest.raises(ValueError, match="non-empty"):
        auth.hash_password("")


def test_default_hasher_is_argon2id_with_real_cost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.undo()  # the module's own hasher, not the test one
    assert auth.PASSWORD_HASHER.type.name == "ID"
    assert auth.PASSWORD_HASHER.memory_cost >= 19 * 1024  # OWASP minimum, KiB


# --- login / logout -----------------------------------------------------------------


def test_login_issues_a_token_stored_only_as_a_hash(store: Store) -> None:
    ids = seed_centre(store)
    _staff(store, "mei", "coach", ids["centre_id"])
    with store.begin() as db:
        result = auth.login(db, "mei", "s3cret-pass")
    assert result is not None
    token, staff, expires_at = result
    assert staff.username == "mei"
    assert expires_at - staff.created_at >= auth.LOGIN_LIFETIME - timedelta(minutes=5)
    with store.session() as db:
        rows = db.query(LoginSession).all()
        assert [r.token_hash for r in rows] == [repository.hash_token(token)]
        assert token not in rows[0].token_hash
        found = repository.find_login(db, token)
        assert found is not None and found.id == staff.id


@pytest.mark.parametrize(
    ("username", "password"),
    [
        pytest.param("mei", "wrong", id="wrong-password"),
        pytest.param("nobody", "s3cret-pass", id="unknown-user"),
        pytest.param("Mei", "s3cret-pass", id="usernames-are-case-sensitive"),
    ],
)
def test_login_refuses_bad_credentials(
    store: Store, username: str, password: str
) -> None:
    ids = seed_centre(store)
    _staff(store, "mei", "coach", ids["centre_id"])
    with store.begin() as db:
        assert auth.login(db, username, password) is None
        assert db.query(LoginSession).count() == 0


def test_inactive_staff_cannot_login_and_lose_their_logins(store: Store) -> None:
    ids = seed_centre(store)
    sid = _staff(store, "mei", "coach", ids["centre_id"])
    with store.begin() as db:
        result = auth.login(db, "mei", "s3cret-pass")
        assert result is not None
        token = result[0]
    with store.begin() as db:
        staff = repository.get_staff(db, sid)
        assert staff is not None
        staff.active = False
    with store.begin() as db:
        assert auth.login(db, "mei", "s3cret-pass") is None
        assert repository.find_login(db, token) is None


def test_logins_expire_and_logout_revokes(store: Store) -> None:
    ids = seed_centre(store)
    _staff(store, "mei", "coach", ids["centre_id"])
    with store.begin() as db:
        short = auth.login(db, "mei", "s3cret-pass", lifetime=timedelta(seconds=-1))
        long = auth.login(db, "mei", "s3cret-pass")
    assert short is not None and long is not None
    with store.begin() as db:
        assert repository.find_login(db, short[0]) is None  # expired
        assert repository.find_login(db, long[0]) is not None
        assert auth.logout(db, long[0]) is True
        assert auth.logout(db, long[0]) is False
        assert repository.find_login(db, long[0]) is None
        assert repository.purge_expired_logins(db) == 1


def test_login_rehashes_outdated_parameters(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from argon2 import PasswordHasher

    ids = seed_centre(store)
    sid = _staff(store, "mei", "coach", ids["centre_id"])
    monkeypatch.setattr(
        auth,
        "PASSWORD_HASHER",
        PasswordHasher(time_cost=2, memory_cost=16, parallelism=1),
    )
    with store.begin() as db:
        before = repository.get_staff(db, sid).password_hash  # type: ignore[union-attr]
        assert auth.login(db, "mei", "s3cret-pass") is not None
    with store.session() as db:
        after = repository.get_staff(db, sid).password_hash  # type: ignore[union-attr]
    assert after != before and "t=2" in after
    assert auth.verify_password(after, "s3cret-pass")


# --- roles and centres --------------------------------------------------------------


def _person(role: str, centre_id: int | None) -> Staff:
    return Staff(
        username="x",
        display_name="x",
        role=Role(role),
        centre_id=centre_id,
        password_hash="",
    )


@pytest.mark.parametrize(
    ("role", "own", "record", "allowed"),
    [
        pytest.param("coach", 1, 1, True, id="coach-own-centre"),
        pytest.param("coach", 1, 2, False, id="coach-other-centre"),
        pytest.param("coach", 1, None, False, id="coach-record-without-centre"),
        pytest.param("admin", 1, 1, True, id="centre-admin-own"),
        pytest.param("admin", 1, 2, False, id="centre-admin-other"),
        pytest.param("admin", None, 2, True, id="all-centres-admin"),
        pytest.param("admin", None, None, True, id="all-centres-admin-orphan"),
    ],
)
def test_require_same_centre(
    role: str, own: int | None, record: int | None, allowed: bool
) -> None:
    staff = _person(role, own)
    assert auth.can_see_centre(staff, record) is allowed
    if allowed:
        auth.require_same_centre(staff, record)
    else:
        with pytest.raises(HTTPException) as denied:
            auth.require_same_centre(staff, record)
        assert denied.value.status_code == 403
        assert denied.value.detail["code"] == "other_centre"  # type: ignore[index]


def _guarded_app(store: Store) -> FastAPI:
    app = FastAPI()
    include_routers(app, store)

    @app.get("/t/any")
    def any_staff(staff: auth.CurrentStaff) -> dict[str, str]:
        return {"who": staff.username}

    @app.get("/t/admin")
    def admin_only(
        staff: Annotated[Staff, Depends(auth.require_role(Role.ADMIN))],
    ) -> dict[str, str]:
        return {"who": staff.username}

    @app.websocket("/t/ws")
    async def kiosk(websocket: WebSocket) -> None:
        kiosk = auth.verify_kiosk_token(store, auth.kiosk_token_from(websocket))
        if kiosk is None:
            await websocket.close(code=1008)
            return
        await websocket.accept()
        await websocket.send_json({"kiosk": kiosk.id, "centre": kiosk.centre_id})
        await websocket.close()

    return app


def _token(store: Store, username: str) -> str:
    with store.begin() as db:
        result = auth.login(db, username, "s3cret-pass")
    assert result is not None
    return result[0]


def test_dependencies_deny_with_the_right_status(store: Store) -> None:
    ids = seed_centre(store)
    _staff(store, "coach", "coach", ids["centre_id"])
    _staff(store, "boss", "admin", ids["centre_id"])
    client = TestClient(_guarded_app(store))
    coach = {"Authorization": f"Bearer {_token(store, 'coach')}"}
    boss = {"Authorization": f"Bearer {_token(store, 'boss')}"}

    for headers in (
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Basic abc"},
    ):
        denied = client.get("/t/any", headers=headers)
        assert denied.status_code == 401
        assert denied.json()["detail"]["code"] == "not_logged_in"
        assert denied.headers["www-authenticate"] == "Bearer"
    assert client.get("/t/any", headers=coach).json() == {"who": "coach"}
    denied = client.get("/t/admin", headers=coach)
    assert (denied.status_code, denied.json()["detail"]["code"]) == (
        403,
        "forbidden_role",
    )
    assert client.get("/t/admin", headers=boss).json() == {"who": "boss"}
    # The cookie works as well as the header.
    client.cookies.set(auth.COOKIE_NAME, _token(store, "coach"))
    assert client.get("/t/any").json() == {"who": "coach"}


def test_kiosk_token_verification(store: Store) -> None:
    ids = seed_centre(store)
    kiosk = auth.verify_kiosk_token(store, ids["kiosk_token"])
    assert kiosk is not None and (kiosk.id, kiosk.centre_id) == (
        ids["kiosk_id"],
        ids["centre_id"],
    )
    assert kiosk.last_seen_at is not None
    for bad in (None, "", "x" * 43, ids["kiosk_token"][:-1]):
        assert auth.verify_kiosk_token(store, bad) is None
    with store.begin() as db:
        repository.get_kiosk(db, ids["kiosk_id"]).active = False  # type: ignore[union-attr]
    assert auth.verify_kiosk_token(store, ids["kiosk_token"]) is None


def test_websocket_handshake_refuses_a_bad_kiosk_token(store: Store) -> None:
    ids = seed_centre(store)
    client = TestClient(_guarded_app(store))
    with client.websocket_connect(
        "/t/ws", subprotocols=kiosk_protocols(ids["kiosk_token"])
    ) as ws:
        assert ws.receive_json() == {
            "kiosk": ids["kiosk_id"],
            "centre": ids["centre_id"],
        }
    with client.websocket_connect(
        "/t/ws", headers={"Authorization": f"Bearer {ids['kiosk_token']}"}
    ) as ws:
        assert ws.receive_json()["kiosk"] == ids["kiosk_id"]
    # A token in the URL is refused even when valid (finding 5 of issue 18).
    for url in ("/t/ws", "/t/ws?token=forged", f"/t/ws?token={ids['kiosk_token']}"):
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            client.websocket_connect(url) as ws,
        ):
            ws.receive_json()
        assert refused.value.code == 1008


def test_every_error_code_has_english_and_chinese_text() -> None:
    for code, texts in auth.ERROR_MESSAGES.items():
        assert set(texts) == {"en", "zh-CN"}, code
        assert all(t.strip() for t in texts.values()), code
        assert any("\u4e00" <= ch <= "\u9fff" for ch in texts["zh-CN"]), code
    with pytest.raises(KeyError):
        auth.api_error(400, "no_such_code")


# --- throttles and ended logins (issue 18, findings 3 and 7) --------------------------


def _login(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    return client.post(
        "/api/auth/login", json={"username": username, "password": password}
    )


def test_finding_3_staff_login_is_throttled_per_account_and_address(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Wrong passwords used to be tried without limit; now an account waits after
    5 (1 s, doubling), from any address, before any hash is computed, and an address
    waits after 10 whatever accounts it tries."""
    now = [0.0]
    monkeypatch.setattr(api_auth, "_now", lambda: now[0])
    client = world.client
    for _ in range(api_auth.PER_ACCOUNT.free):
        _expect(_login(client, "coach_a", "wrong-pass"), 401, "login_failed")
    locked = _login(client, "coach_a")  # the right password waits too
    _expect(locked, 429, "too_many_logins")
    assert locked.headers["Retry-After"] == "1"
    elsewhere = TestClient(client.app, client=("10.1.2.3", 40000))
    _expect(_login(elsewhere, "coach_a"), 429, "too_many_logins")
    assert _login(client, "coach_b").status_code == 200  # another account
    now[0] += 1.5
    assert _login(client, "coach_a").status_code == 200
    for i in range(api_auth.PER_ADDRESS.free):
        _expect(_login(elsewhere, f"nobody-{i}", "x"), 401, "login_failed")
    _expect(_login(elsewhere, "coach_b"), 429, "too_many_logins")
    assert _login(client, "coach_b").status_code == 200


class _CountingHasher:
    """The test hasher, recording which threads verify and how many at once."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.threads: set[str] = set()
        self.running = self.most = 0
        self.lock = threading.Lock()

    def hash(self, password: str) -> str:
        return str(self.inner.hash(password))

    def check_needs_rehash(self, password_hash: str) -> bool:
        return bool(self.inner.check_needs_rehash(password_hash))

    def verify(self, password_hash: str, password: str) -> bool:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.threads.add(threading.current_thread().name)
        try:
            time.sleep(0.05)
            return bool(self.inner.verify(password_hash, password))
        finally:
            with self.lock:
                self.running -= 1


def test_finding_3_argon2_runs_on_its_own_threads_a_few_at_a_time(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each sign-in used to hash on the threads every route shares, as many at once
    as came in; now on the password threads, at most `MAX_CONCURRENT_HASHES`."""
    hasher = _CountingHasher(auth.PASSWORD_HASHER)
    monkeypatch.setattr(auth, "PASSWORD_HASHER", hasher)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        codes = list(
            pool.map(lambda _: _login(world.client, "coach_a").status_code, range(8))
        )
    assert codes == [200] * 8
    assert 1 <= hasher.most <= auth.MAX_CONCURRENT_HASHES == 2
    assert hasher.threads and all(t.startswith("argon2") for t in hasher.threads)


def test_finding_7_a_new_password_or_deactivation_ends_the_accounts_logins(
    world: World,
) -> None:
    """A password reset used to leave the old logins valid."""
    me = world.call("coach_a", "GET", "/api/auth/me")
    assert me.status_code == 200
    coach_id = me.json()["id"]
    path = f"/api/admin/staff/{coach_id}"
    reset = world.call("admin_a", "PATCH", path, json={"password": "brand-new-pass"})
    assert reset.status_code == 200, reset.text
    _expect(world.call("coach_a", "GET", "/api/auth/me"), 401, "not_logged_in")
    fresh = _login(world.client, "coach_a", "brand-new-pass")
    assert fresh.status_code == 200
    world.client.cookies.clear()
    world.tokens["coach_a"] = fresh.json()["token"]
    assert (
        world.call("admin_a", "PATCH", path, json={"active": False}).status_code == 200
    )
    assert (
        world.call("admin_a", "PATCH", path, json={"active": True}).status_code == 200
    )
    _expect(world.call("coach_a", "GET", "/api/auth/me"), 401, "not_logged_in")
    # An admin who changes their own password stays signed in on this login.
    admin_id = world.call("admin_a", "GET", "/api/auth/me").json()["id"]
    own = {"password": "admin-new-pass"}
    changed = world.call("admin_a", "PATCH", f"/api/admin/staff/{admin_id}", json=own)
    assert changed.status_code == 200
    assert world.call("admin_a", "GET", "/api/auth/me").status_code == 200
