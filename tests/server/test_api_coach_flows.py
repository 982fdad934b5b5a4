"""The flows behind the coach pages and the kiosk page, through HTTP and the websocket
(TestClient, scripted pose backend), on SQLite and PostgreSQL: template authoring
(from a session, from a video), saving a template as JSON, the kiosk routes (token,
centre catalogue, resident sign-in) and the live websocket playing a centre's own
template at once. Every denial: no sign-in, wrong role, another centre, bad or missing
kiosk token, someone else's member code."""

# ruff: noqa: F811 (pytest fixtures imported from the helpers)

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient, WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from exercises.authoring import propose_template
from exercises.spec import get_spec, spec_from_dict
from server import auth
from server.api import authoring as authoring_api
from server.api import kiosk as kiosk_api
from server.app import create_app
from server.schemas import encode_frame
from server.settings import Settings
from server.store import DatabaseRecorder, Store, repository
from tests.factories import make_window, rep_frames
from tests.server.conftest import (
    ScriptedBackend,
    jpeg_bytes,
    kiosk_protocols,
    standing_frame,
)
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
from vision.types import PoseFrame, PoseWindow

PASSWORD = "s3cret-pass"


def squat_frames(reps: int, *, seed: int = 0, start_ms: int = 0) -> list[PoseFrame]:
    return rep_frames(
        get_spec("squat"), reps=reps, seed=seed, view="side", start_ms=start_ms
    )


def authored_template(template_id: str = "wall_squat") -> dict[str, Any]:
    draft = propose_template(
        make_window(squat_frames(3)),
        template_id=template_id,
        name={"en": "Wall squat", "zh-CN": "靠墙深蹲"},
        view="side",
    )
    return draft.template


@dataclass
class World:
    client: TestClient
    store: Store
    recorder: DatabaseRecorder
    backends: list[ScriptedBackend]
    a: dict[str, Any]
    b: dict[str, Any]
    tokens: dict[str, str]
    feed: list[PoseFrame]  # poses the scripted backend "finds", in order

    def call(self, who: str | None, method: str, path: str, **kw: Any) -> Any:
        headers = dict(kw.pop("headers", {}))
        if who is not None:
            headers["Authorization"] = f"Bearer {self.tokens[who]}"
        return self.client.request(method, path, headers=headers, **kw)

    def kiosk(self, method: str, path: str, token: str | None, **kw: Any) -> Any:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        return self.client.request(method, path, headers=headers, **kw)


def _landmark_session(
    store: Store, ids: dict[str, Any], frames: list[PoseFrame]
) -> int:
    with store.begin() as db:
        session = repository.start_session(
            db,
            exercise_id="squat",
            language="en",
            resident_id=ids["resident_id"],
            kiosk_id=ids["kiosk_id"],
            started_at=at(2026, 3, 2, 9),
        )
        repository.append_landmarks(db, session.id, PoseWindow.from_frames(frames))
        repository.record_rep(db, session.id, rep(1, 88.0))
        repository.finish_session(db, session.id, ended_at=at(2026, 3, 2, 9, 5))
        return session.id


def _world(store: Store, db_url: str, *, kiosk_auth: bool) -> Iterator[World]:
    a = seed_centre(store, "Riverside")
    b = seed_centre(store, "Hillside")
    a["session_id"] = _landmark_session(store, a, squat_frames(3))
    b["session_id"] = _landmark_session(store, b, squat_frames(3, seed=2))
    with store.begin() as db:
        bare = repository.start_session(
            db,
            exercise_id="squat",
            language="en",
            resident_id=a["resident_id"],
            kiosk_id=a["kiosk_id"],
        )
        a["bare_session_id"] = bare.id  # no landmarks
        for username, role, centre in (
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
    backends: list[ScriptedBackend] = []
    feed: list[PoseFrame] = []

    def script(index: int, ts: int, image: Any) -> list[PoseFrame]:
        return [feed.pop(0)] if feed else [standing_frame(ts)]

    def factory() -> ScriptedBackend:
        backend = ScriptedBackend(script)
        backends.append(backend)
        return backend

    recorder = DatabaseRecorder(store)
    app = create_app(
        Settings(db_url=db_url, stats_every=1000, kiosk_auth=kiosk_auth),
        backend_factory=factory,
        recorder=recorder,
        store=Store(db_url),
    )
    with TestClient(app) as client:
        tokens = {}
        for username in ("admin_a", "coach_a", "coach_b"):
            response = client.post(
                "/api/auth/login", json={"username": username, "password": PASSWORD}
            )
            assert response.status_code == 200, response.text
            tokens[username] = response.json()["token"]
        client.cookies.clear()
        yield World(client, store, recorder, backends, a, b, tokens, feed)
    recorder.close()


@pytest.fixture
def world(store: Store, db_url: str, fast_hasher: None) -> Iterator[World]:
    yield from _world(store, db_url, kiosk_auth=True)


def _expect(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["detail"]["code"] == code, response.text


# --- authoring ------------------------------------------------------------------------


def test_draft_from_a_recorded_session(world: World) -> None:
    body = {
        "session_id": world.a["session_id"],
        "template_id": "wall_squat",
        "name": {"en": "Wall squat", "zh-CN": "靠墙深蹲"},
        "view": "side",
    }
    response = world.call("coach_a", "POST", "/api/authoring/drafts", json=body)
    assert response.status_code == 200, response.text
    draft = response.json()
    assert len(draft["reps"]) == 3 and draft["source"]["frames"] > 100
    assert draft["primary"] in draft["channels"]
    spec = spec_from_dict(draft["template"])  # what the page edits is valid as is
    assert spec.id == "wall_squat" and spec.name["zh-CN"] == "靠墙深蹲"
    for channel in draft["channels"]:
        assert len(draft["reference"][channel]) == len(draft["t"])
        assert draft["tolerance"][channel] >= 10.0


# (who, body overrides, status, code): every way a draft from a session is refused.
SESSION_DRAFT_DENIALS = [
    ("no-sign-in", None, {}, 401, "not_logged_in"),
    ("other-centre", "coach_b", {}, 404, "session_not_found"),  # as unknown
    ("unknown-session", "coach_a", {"session_id": 999999}, 404, "session_not_found"),
    ("no-landmarks", "coach_a", {"session_id": "bare"}, 422, "no_landmarks"),
    ("bad-template-id", "coach_a", {"template_id": "Not An Id"}, 422, None),
]


def test_draft_from_a_session_denials(world: World) -> None:
    for case, who, body, status, code in SESSION_DRAFT_DENIALS:
        payload = {"session_id": world.a["session_id"], "template_id": "x", **body}
        if payload["session_id"] == "bare":
            payload["session_id"] = world.a["bare_session_id"]
        response = world.call(who, "POST", "/api/authoring/drafts", json=payload)
        assert response.status_code == status, (case, response.text)
        if code is not None:
            assert response.json()["detail"]["code"] == code, case


def test_draft_from_a_video(world: World, tmp_path: Any) -> None:
    """The uploaded file is decoded with OpenCV and every frame goes through the
    server's pose backend (scripted here: the frames of three synthetic squats)."""
    import cv2
    import numpy as np

    frames = squat_frames(3)
    path = tmp_path / "demo.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (64, 48))
    for _ in frames:
        writer.write(np.full((48, 64, 3), 128, np.uint8))
    writer.release()
    world.feed[:] = frames
    response = world.call(
        "coach_a",
        "POST",
        "/api/authoring/drafts/video?template_id=video_squat&view=side&name_en=V",
        content=path.read_bytes(),
    )
    assert response.status_code == 200, response.text
    draft = response.json()
    assert draft["source"]["frames"] == len(frames)
    assert len(draft["reps"]) == 3
    assert draft["template"]["name"]["en"] == "V"


# (who, query, body, declared size, status, code)
VIDEO_DRAFT_DENIALS = [
    ("no-sign-in", None, "template_id=x", b"x", None, 401, "not_logged_in"),
    ("empty", "coach_a", "template_id=x", b"", None, 422, "video_unreadable"),
    (
        "not-a-video",
        "coach_a",
        "template_id=x",
        b"not a video",
        None,
        422,
        "video_unreadable",
    ),
    (
        "too-large",
        "coach_a",
        "template_id=x",
        b"x",
        authoring_api.MAX_VIDEO_BYTES + 1,
        413,
        "video_too_large",
    ),
    (
        "bad-posture",
        "coach_a",
        "template_id=x&posture=flying",
        b"x",
        None,
        422,
        "invalid_request",
    ),
    ("bad-template-id", "coach_a", "template_id=Bad+Id", b"x", None, 422, None),
]


def test_draft_from_a_video_denials(world: World) -> None:
    for case, who, query, content, declared, status, code in VIDEO_DRAFT_DENIALS:
        path = f"/api/authoring/drafts/video?{query}"
        if declared is not None:  # a declared size over the limit is refused early
            response = world.call(
                who,
                "POST",
                path,
                content=iter([content]),
                headers={"Content-Length": str(declared)},
            )
        else:
            response = world.call(who, "POST", path, content=content)
        assert response.status_code == status, (case, response.text)
        if code is not None:
            assert response.json()["detail"]["code"] == code, case


# --- saving a template as JSON --------------------------------------------------------


def test_save_a_template_from_json_and_the_centre_sees_it(world: World) -> None:
    template = authored_template()
    response = world.call(
        "coach_a", "POST", "/api/templates", json={"template": template}
    )
    assert response.status_code == 201, response.text
    saved = response.json()
    assert saved["name"] == {"en": "Wall squat", "zh-CN": "靠墙深蹲"}
    assert spec_from_dict(tomllib.loads(saved["toml"])) == spec_from_dict(template)
    listed = world.call("coach_a", "GET", "/api/templates").json()["templates"]
    assert [t["id"] for t in listed] == ["wall_squat"]
    assert world.call("coach_b", "GET", "/api/templates").json()["templates"] == []


SAVE_JSON_DENIALS = [
    ("both-forms", {"toml": "x = 1", "template": {}}, None),
    ("neither", {}, None),
    ("invalid", {"template": {"schema": 1, "id": "x"}}, "invalid_template"),
    ("not-an-object", {"template": "squat"}, None),
]


def test_save_template_json_denials(world: World) -> None:
    for case, body, code in SAVE_JSON_DENIALS:
        response = world.call("coach_a", "POST", "/api/templates", json=body)
        assert response.status_code == 422, (case, response.text)
        if code is not None:
            assert response.json()["detail"]["code"] == code, case
    _expect(
        world.call(None, "POST", "/api/templates", json={"template": {}}),
        401,
        "not_logged_in",
    )
    assert world.call("coach_a", "GET", "/api/templates").json()["templates"] == []


def test_a_template_may_not_shadow_a_built_in(world: World) -> None:
    template = authored_template("squat")
    _expect(
        world.call("coach_a", "POST", "/api/templates", json={"template": template}),
        422,
        "invalid_template",
    )


# --- kiosk routes ---------------------------------------------------------------------


def test_kiosk_me_and_catalogue_with_its_token(world: World) -> None:
    world.call(
        "coach_a", "POST", "/api/templates", json={"template": authored_template()}
    )
    me = world.kiosk("GET", "/api/kiosk/me", world.a["kiosk_token"]).json()
    assert me["kiosk"]["id"] == world.a["kiosk_id"]
    assert me["centre"]["name"] == "Riverside" and me["kiosk_auth"] and me["sign_in"]
    ids_a = {
        e["id"]: e["custom"]
        for e in world.kiosk(
            "GET", "/api/kiosk/exercises", world.a["kiosk_token"]
        ).json()
    }
    ids_b = {
        e["id"]
        for e in world.kiosk(
            "GET", "/api/kiosk/exercises", world.b["kiosk_token"]
        ).json()
    }
    assert ids_a["wall_squat"] is True and ids_a["squat"] is False
    assert "wall_squat" not in ids_b and "squat" in ids_b


def test_kiosk_route_denials(world: World) -> None:
    cases = [
        ("no-token", None, "kiosk_token_required"),
        ("forged", "forged", "bad_kiosk_token"),
        ("a-staff-token", world.tokens["coach_a"], "bad_kiosk_token"),
    ]
    for path in ("/api/kiosk/me", "/api/kiosk/exercises"):
        for case, token, code in cases:
            response = world.kiosk("GET", path, token)
            assert response.status_code == 401, (path, case, response.text)
            assert response.json()["detail"]["code"] == code, (path, case)
    # A revoked kiosk's token stops working at once.
    assert (
        world.kiosk("GET", "/api/kiosk/me", world.a["kiosk_token"]).status_code == 200
    )
    revoked = world.call(
        "admin_a", "DELETE", f"/api/admin/kiosks/{world.a['kiosk_id']}"
    )
    assert revoked.status_code == 204
    for path in ("/api/kiosk/me", "/api/kiosk/exercises"):
        _expect(
            world.kiosk("GET", path, world.a["kiosk_token"]), 401, "bad_kiosk_token"
        )


def test_resident_sign_in_shows_only_their_own_history(world: World) -> None:
    response = world.kiosk(
        "POST",
        "/api/kiosk/sign-in",
        world.a["kiosk_token"],
        json={"member_code": world.a["member_code"]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["resident"] == {
        "member_code": world.a["member_code"],
        "display_name": "Lin Riverside",
    }
    assert {s["exercise_id"] for s in body["sessions"]} == {"squat"}
    assert len(body["sessions"]) == 2  # the recorded one and the bare one
    text = json.dumps(body)
    for private in ("1948", "knee osteoarthritis", "consent", "Hillside"):
        assert private not in text


def test_resident_sign_in_denials(world: World) -> None:
    a_code, b_code = world.a["member_code"], world.b["member_code"]
    cases = [  # (case, kiosk token, member code, status, error)
        (
            "other-centres-code",
            world.a["kiosk_token"],
            b_code,
            404,
            "member_code_unknown",
        ),
        ("unknown-code", world.a["kiosk_token"], "ZZ-404", 404, "member_code_unknown"),
        ("no-token", None, a_code, 401, "kiosk_token_required"),
        ("forged-token", "forged", a_code, 401, "bad_kiosk_token"),
        ("staff-token", world.tokens["coach_a"], a_code, 401, "bad_kiosk_token"),
    ]
    for case, token, code, status, error in cases:
        response = world.kiosk(
            "POST", "/api/kiosk/sign-in", token, json={"member_code": code}
        )
        assert response.status_code == status, (case, response.text)
        assert response.json()["detail"]["code"] == error, case


def test_wrong_member_codes_are_limited_per_kiosk(world: World) -> None:
    for i in range(kiosk_api.MAX_FAILED_SIGN_INS):
        _expect(
            world.kiosk(
                "POST",
                "/api/kiosk/sign-in",
                world.a["kiosk_token"],
                json={"member_code": f"GUESS-{i}"},
            ),
            404,
            "member_code_unknown",
        )
    right = {"member_code": world.a["member_code"]}
    _expect(
        world.kiosk("POST", "/api/kiosk/sign-in", world.a["kiosk_token"], json=right),
        429,
        "too_many_attempts",
    )
    # Another kiosk is not blocked by this one's guesses.
    assert (
        world.kiosk(
            "POST",
            "/api/kiosk/sign-in",
            world.b["kiosk_token"],
            json={"member_code": world.b["member_code"]},
        ).status_code
        == 200
    )


def test_without_kiosk_auth_the_only_centre_is_used(
    store: Store, db_url: str, fast_hasher: None
) -> None:
    """No token needed when kiosks are not authenticated, as long as the database has
    one centre; a wrong token is still refused."""
    ids = seed_centre(store, "Solo")
    app = create_app(
        Settings(db_url=db_url, stats_every=1000, kiosk_auth=False),
        backend_factory=ScriptedBackend,
        store=Store(db_url),
    )
    with TestClient(app) as client:
        me = client.get("/api/kiosk/me").json()
        signed = client.post(
            "/api/kiosk/sign-in", json={"member_code": ids["member_code"]}
        )
        forged = client.get("/api/kiosk/me", headers={"Authorization": "Bearer forged"})
    assert me["kiosk"] is None and me["centre"]["name"] == "Solo"
    assert not me["kiosk_auth"] and me["sign_in"]
    assert signed.status_code == 200
    _expect(forged, 401, "bad_kiosk_token")


# --- the live websocket plays the centre's own template -------------------------------


def _until(ws: WebSocketTestSession, kind: str) -> dict[str, Any]:
    for _ in range(2000):
        message = ws.receive_json()
        if message["type"] == kind:
            return message  # type: ignore[no-any-return]
    raise AssertionError(f"no {kind!r} message in 2000")


def test_a_saved_template_counts_reps_on_the_kiosks_of_its_centre_at_once(
    world: World,
) -> None:
    saved = world.call(
        "coach_a", "POST", "/api/templates", json={"template": authored_template()}
    )
    assert saved.status_code == 201
    frames = squat_frames(2, seed=5, start_ms=1000)
    world.feed[:] = frames
    protocols = kiosk_protocols(world.a["kiosk_token"])
    messages: list[dict[str, Any]] = []
    with world.client.websocket_connect("/ws", subprotocols=protocols) as ws:
        ws.send_text(
            json.dumps(
                {
                    "type": "open",
                    "v": 1,
                    "exercise": "wall_squat",
                    "resident": world.a["member_code"],
                }
            )
        )
        opened = _until(ws, "opened")
        for frame in frames:  # one at a time: none is dropped as stale
            ws.send_bytes(encode_frame(frame.timestamp_ms, jpeg_bytes()))
            while (message := ws.receive_json())["type"] != "pose":
                messages.append(message)
        ws.send_text('{"type": "close", "v": 1}')
        while (message := ws.receive_json())["type"] != "summary":
            messages.append(message)
        summary = message
    reps = [m for m in messages if m["type"] == "rep_completed"]
    assert opened["exercise"]["name"]["en"] == "Wall squat"
    assert [r["count"] for r in reps] == [1, 2]
    assert summary["summary"]["reps"] == 2
    world.recorder.flush(10)
    with world.store.session() as db:
        session = repository.find_session_by_live_id(db, opened["session_id"])
        assert session is not None and session.exercise_id == "wall_squat"
        assert session.resident_id == world.a["resident_id"] and len(session.reps) == 2


def test_another_centres_kiosk_cannot_open_the_template(world: World) -> None:
    world.call(
        "coach_a", "POST", "/api/templates", json={"template": authored_template()}
    )
    with world.client.websocket_connect(
        "/ws", subprotocols=kiosk_protocols(world.b["kiosk_token"])
    ) as ws:
        ws.send_text(json.dumps({"type": "open", "v": 1, "exercise": "wall_squat"}))
        error = _until(ws, "error")
    assert error["code"] == "unknown_exercise"
    assert "wall_squat" not in error["valid"] and "squat" in error["valid"]


def test_a_bad_kiosk_token_is_refused_at_the_handshake(world: World) -> None:
    for protocols in (
        [],
        kiosk_protocols("forged"),
        kiosk_protocols(world.tokens["coach_a"]),
    ):
        with (
            pytest.raises(WebSocketDisconnect),
            world.client.websocket_connect("/ws", subprotocols=protocols) as ws,
        ):
            ws.receive_json()
