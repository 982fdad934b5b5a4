"""Member cards and the QR check-in on the kiosk socket, on SQLite and PostgreSQL
(TestClient): a card issued on the coach pages (token and QR shown once, only the hash
kept) checks its resident in when the kiosk's camera frames show it; a revoked card,
another centre's card, a code that is not ours and a blurred code each get a clear
message in both languages and check nobody in; failed cards count against the kiosk's
member-code limit."""

# ruff: noqa: F811 (pytest fixtures imported from the helpers)

from __future__ import annotations

import json
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from starlette.testclient import WebSocketTestSession

from exercises.member_tokens import CHECK_IN_MESSAGES, CheckInProblem, token_hash
from server import checkin
from server.members import MAX_FAILED_LOOKUPS
from server.schemas import encode_frame
from server.store import repository
from tests.server.conftest import kiosk_protocols
from tests.server.store.helpers import (  # noqa: F401 (fixtures)
    db_url,
    fast_hasher,
    pg_database_url,
    sqlite_template,
    store,
)
from tests.server.test_api_coach_flows import World, _expect, world  # noqa: F401
from tests.vision.test_qr import qr_frame


def _issue(world: World, who: str, resident_id: int) -> dict[str, Any]:
    response = world.call(who, "POST", f"/api/residents/{resident_id}/member-cards")
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _revoked(world: World) -> dict[str, Any]:
    """A card of resident a, issued and revoked on the coach pages."""
    card = _issue(world, "coach_a", world.a["resident_id"])
    response = world.call(
        "coach_a",
        "POST",
        f"/api/residents/{world.a['resident_id']}/member-cards/{card['id']}/revoke",
    )
    assert response.status_code == 200 and response.json()["revoked_at"]
    return card


def _card_frame(modules: list[str], module_px: int = 6) -> npt.NDArray[np.uint8]:
    """A 640x480 camera frame with the card's QR as the coach page draws it."""
    code = np.array([[c == "1" for c in row] for row in modules])
    side = (code.shape[0] + 8) * module_px
    card = np.full((side, side), 255, np.uint8)
    dark = np.kron(code, np.ones((module_px, module_px), bool))
    q = 4 * module_px
    card[q : q + dark.shape[0], q : q + dark.shape[1]][dark] = 0
    frame = np.full((480, 640), 90, np.uint8)
    y, x = (480 - side) // 2, (640 - side) // 2
    frame[y : y + side, x : x + side] = card
    return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)


def _jpeg(frame: npt.NDArray[np.uint8]) -> bytes:
    return bytes(cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])[1])


def _scan(
    world: World, frames: list[npt.NDArray[np.uint8]], *, kiosk: str = "a"
) -> list[dict[str, Any]]:
    """Scan `frames` (400 ms apart) at a kiosk until the first verdict about them,
    then stop scanning; every message the socket sent (the stop is awaited before
    the sentinel error comes back, so no verdict can follow)."""
    token = (world.a if kiosk == "a" else world.b)["kiosk_token"]
    messages: list[dict[str, Any]] = []
    with world.client.websocket_connect(
        "/ws", subprotocols=kiosk_protocols(token)
    ) as ws:
        ws.send_text(json.dumps({"type": "scan", "v": 1}))
        for i, frame in enumerate(frames):
            ws.send_bytes(encode_frame(1000 + 400 * i, _jpeg(frame)))
        messages.append(_verdict(ws))
        ws.send_text(json.dumps({"type": "scan", "v": 1, "on": False}))
        ws.send_text(json.dumps({"type": "close", "v": 1}))  # sentinel: not_open
        while (m := ws.receive_json())["type"] != "error":
            messages.append(m)
        assert m["code"] == "not_open"
    return messages


def _verdict(ws: WebSocketTestSession) -> dict[str, Any]:
    for _ in range(100):
        message = ws.receive_json()
        if message["type"] in ("member_checked_in", "check_in_refused"):
            return message  # type: ignore[no-any-return]
    raise AssertionError("no check-in verdict")


def test_a_new_card_is_shown_once_and_kept_as_a_hash(world: World) -> None:
    card = _issue(world, "coach_a", world.a["resident_id"])
    assert card["token"].startswith("MC1-") and len(card["token"]) == 32
    assert card["hint"] == "…" + card["token"][-4:]
    assert len(card["qr"]) == len(card["qr"][0]) == 25  # version 2
    with world.store.session() as db:
        (row,) = repository.list_member_tokens(db, world.a["resident_id"])
        assert row.token_hash == token_hash(card["token"])
    listed = world.call(
        "coach_a", "GET", f"/api/residents/{world.a['resident_id']}/member-cards"
    )
    assert listed.json()["cards"] == [
        {
            "id": card["id"],
            "hint": card["hint"],
            "created_at": card["created_at"],
            "revoked_at": None,
        }
    ]
    assert card["token"] not in listed.text
    # Another centre's coach can neither issue nor revoke one; another centre's
    # resident answers as an unknown one (finding 13 of issue 18).
    other = world.call(
        "coach_b", "POST", f"/api/residents/{world.a['resident_id']}/member-cards"
    )
    _expect(other, 404, "resident_not_found")
    wrong = world.call(
        "coach_b",
        "POST",
        f"/api/residents/{world.b['resident_id']}/member-cards/{card['id']}/revoke",
    )
    _expect(wrong, 404, "member_card_not_found")


def test_the_camera_checks_a_resident_in_with_their_card(world: World) -> None:
    card = _issue(world, "coach_a", world.a["resident_id"])
    blank = np.full((480, 640, 3), 90, np.uint8)
    messages = _scan(world, [blank, _card_frame(card["qr"])])
    assert messages == [
        {
            "type": "member_checked_in",
            "v": 1,
            "resident": {
                "member_code": world.a["member_code"],
                "display_name": "Lin Riverside",
            },
        }
    ]


def _refusals(messages: list[dict[str, Any]]) -> list[str]:
    assert not [m for m in messages if m["type"] == "member_checked_in"], messages
    return [m["problem"] for m in messages if m["type"] == "check_in_refused"]


def test_bad_codes_get_a_clear_message_and_check_nobody_in(world: World) -> None:
    revoked = _revoked(world)
    away = _issue(world, "coach_b", world.b["resident_id"])
    good = _issue(world, "coach_a", world.a["resident_id"])
    cases = [
        ("revoked", [_card_frame(revoked["qr"])]),
        ("other_centre", [_card_frame(away["qr"])]),
        ("not_ours", [qr_frame("https://pay.example.com/?id=1234", module_px=6)]),
        ("unreadable", [qr_frame(good["token"], module_px=10, blur_sigma_px=6.0)]),
    ]
    for problem, frames in cases:
        messages = _scan(world, frames)
        assert _refusals(messages) == [problem], (problem, messages)
        refusal = messages[0]
        words = CHECK_IN_MESSAGES[CheckInProblem(problem)]
        assert refusal["message"] == {"en": words["en"], "zh-CN": words["zh-CN"]}
    # The same card is good at its own centre, and another centre's kiosk refuses it.
    assert _scan(world, [_card_frame(good["qr"])])[0]["type"] == "member_checked_in"
    assert _refusals(_scan(world, [_card_frame(good["qr"])], kiosk="b")) == [
        "other_centre"
    ]


def test_a_refusal_is_not_repeated_for_every_frame(world: World) -> None:
    revoked = _revoked(world)
    held = [_card_frame(revoked["qr"])] * 5  # 1.6 s of capture time, < 3 s
    messages = _scan(world, held)
    assert _refusals(messages) == ["revoked"]
    assert checkin.REPEAT_REFUSAL_MS > 400 * len(held)


def test_failed_cards_count_against_the_kiosks_member_code_limit(world: World) -> None:
    revoked = _revoked(world)
    good = _issue(world, "coach_a", world.a["resident_id"])
    # Codes that are not ours (a payment code on a phone) guess at no member: however
    # many, they do not count.
    for _ in range(MAX_FAILED_LOOKUPS + 1):
        assert _refusals(_scan(world, [qr_frame("hello", module_px=6)])) == ["not_ours"]
    assert _scan(world, [_card_frame(good["qr"])])[0]["type"] == "member_checked_in"
    for _ in range(MAX_FAILED_LOOKUPS):
        assert _refusals(_scan(world, [_card_frame(revoked["qr"])])) == ["revoked"]
    # Now even a right card and a right member code wait, at this kiosk only.
    assert _refusals(_scan(world, [_card_frame(good["qr"])])) == ["too_many"]
    typed = world.kiosk(
        "POST",
        "/api/kiosk/sign-in",
        world.a["kiosk_token"],
        json={"member_code": world.a["member_code"]},
    )
    _expect(typed, 429, "too_many_attempts")
    assert _refusals(_scan(world, [_card_frame(good["qr"])], kiosk="b")) == [
        "other_centre"
    ]


def test_scanning_needs_no_open_session_and_stops_when_one_opens(world: World) -> None:
    with world.client.websocket_connect(
        "/ws", subprotocols=kiosk_protocols(world.a["kiosk_token"])
    ) as ws:
        ws.send_text(json.dumps({"type": "open", "v": 1, "exercise": "squat"}))
        while ws.receive_json()["type"] != "opened":
            pass
        ws.send_text(json.dumps({"type": "scan", "v": 1}))
        error = ws.receive_json()
    assert error["type"] == "error" and error["code"] == "already_open"
