# ruff: noqa: RUF001, RUF003  (full-width punctuation and × in the zh-CN and en texts)
"""Exercise plans end to end in real headless Debian chromium, against a real server
(real pose model, SQLite records, kiosk authentication on): a coach prescribes a
two-exercise plan on the coach pages; the kiosk page, whose camera is a video that
shows the resident's member card (a QR code made with cv2.QRCodeEncoder for a token
from `make_member_token`) and then a person curling (the shared curl clip), checks the
resident in from the camera, greets them with today's plan and runs it: the curls for
the first exercise, the second ended early with "Finish", a spoken rest between them;
the end screen shows done against prescribed, and the coach page then shows that
week's adherence. The plan's own screens are shown in Chinese too.

Saves docs/screenshots/coach-plan-editor(-zh).png, kiosk-plan-today(-zh).png,
kiosk-plan-done.png, coach-plan-adherence(-zh).png and coach-member-card.png (the
printed card, whose QR code the test reads back).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from exercises.member_tokens import (
    TokenStatus,
    check_token,
    make_member_token,
    token_hash,
)
from exercises.prescriptions import WEEKDAYS
from server.store import repository
from tests.conftest import ROOT, shared_data_path
from tests.kiosk.records_server import (
    MEMBER_CODE,
    RecordsServer,
    records_server,
)
from tests.kiosk.test_browser import SPEECH_STUB, chromium, launch
from tests.kiosk.test_records_browser import _login
from vision.qr import QrReader

pytestmark = [pytest.mark.browser, pytest.mark.model, pytest.mark.slow]

__all__ = ["chromium"]  # a fixture shared with test_browser

SCREENSHOTS = ROOT / "docs" / "screenshots"
TIMEOUT_MS = 90_000
CARD_BYTES = bytes(range(16))
QR_SECONDS = 1.5
CURL_LOOPS = 4  # the clip holds one curl; a person who stays counts them in a row
FPS = 30
TOKEN_KEY = "movecoach.kioskToken"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordsServer]:
    yield from records_server(tmp_path_factory.mktemp("plans"))


def _card_picture(token: str, size_wh: tuple[int, int]) -> npt.NDArray[np.uint8]:
    """The member card held up to the camera: its QR code (cv2.QRCodeEncoder) on a
    white card in the middle of a grey picture of the clip's size."""
    code = cv2.QRCodeEncoder.create().encode(token)
    module_px = max(3, min(size_wh) // 2 // code.shape[0])
    code = cv2.resize(
        code, None, fx=module_px, fy=module_px, interpolation=cv2.INTER_NEAREST
    )
    q = 3 * module_px
    code = cv2.copyMakeBorder(code, q, q, q, q, cv2.BORDER_CONSTANT, value=255)
    w, h = size_wh
    frame = np.full((h, w), 110, np.uint8)
    y, x = (h - code.shape[0]) // 2, (w - code.shape[1]) // 2
    frame[y : y + code.shape[0], x : x + code.shape[1]] = code
    return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)


def _camera(token: str, clip: Path, dst: Path) -> Path:
    """A .y4m fake camera: the card for QR_SECONDS, then the curl clip CURL_LOOPS
    times (Chromium loops the file)."""
    capture = cv2.VideoCapture(str(clip))
    frames = []
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        h, w = bgr.shape[:2]
        frames.append(bgr[: h - h % 2, : w - w % 2])
    capture.release()
    h, w = frames[0].shape[:2]
    card = _card_picture(token, (w, h))
    with dst.open("wb") as out:
        out.write(f"YUV4MPEG2 W{w} H{h} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for bgr in [card] * round(QR_SECONDS * FPS) + frames * CURL_LOOPS:
            out.write(b"FRAME\n" + cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420).tobytes())
    return dst.resolve()


def _kiosk_page(browser: Any, server: RecordsServer, lang: str) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 760})
    page.add_init_script(SPEECH_STUB)
    page.add_init_script(
        f"localStorage.setItem('{TOKEN_KEY}', '{server.ids['kiosk_token']}');"
    )
    page.goto(f"{server.url}/?lang={lang}&mirror=0")
    page.wait_for_function(
        "window.kioskState.state === 'picker' && window.kioskState.connected "
        "&& window.kioskState.signInAvailable",
        timeout=TIMEOUT_MS,
    )
    return page


def _print_card(page: Any, server: RecordsServer) -> dict[str, Any]:
    """The coach prints a new member card; its QR code as drawn, read back."""
    page.goto(f"{server.url}/coach?lang=en#/residents/{server.ids['resident_id']}")
    page.wait_for_function(
        "window.coachState.page === 'resident' && window.coachState.ready"
    )
    page.click("#issue-card")
    page.wait_for_selector("#member-card")
    page.locator("#member-card").screenshot(
        path=str(SCREENSHOTS / "coach-member-card.png")
    )
    png = page.locator("#card-qr").screenshot()
    picture = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    reading = QrReader().read(np.ascontiguousarray(picture, dtype=np.uint8))
    return {"text": reading.text, "hint": page.evaluate("window.coachState.card.hint")}


def _prescribe(page: Any, server: RecordsServer, today: dt.date) -> int:
    """The coach writes a two-exercise plan in the editor and saves it."""
    rid = server.ids["resident_id"]
    page.goto(f"{server.url}/coach?lang=en#/residents/{rid}")
    page.wait_for_function(
        "window.coachState.page === 'resident' && window.coachState.ready"
    )
    page.click("#new-plan")
    page.wait_for_function(
        "window.coachState.page === 'plan-editor' && window.coachState.ready"
    )
    page.fill("#plan-title", "Arm and ankle strength")
    # One training day, today's: the editor proposes Mon, Wed and Fri for a new
    # session, so the others are unticked (on a Monday the week had 3 days planned).
    for day in WEEKDAYS:
        page.set_checked(f"#day-0-{day}", day == WEEKDAYS[today.weekday()])
    for row, (exercise, sets, amount, rest) in enumerate(
        (("bicep_curl", "1", "2", "5"), ("heel_raise", "1", "5", "0"))
    ):
        page.click(".add-exercise")
        line = page.locator("tr.plan-exercise").nth(row)
        line.locator("select.ex-exercise").select_option(exercise)
        line = page.locator("tr.plan-exercise").nth(row)  # drawn again for its kind
        line.locator("input.ex-sets").fill(sets)
        line.locator("input.ex-amount").fill(amount)
        line.locator("input.ex-rest").fill(rest)
    page.locator("tr.plan-exercise").nth(0).locator(
        "select.ex-progression-field"
    ).select_option("reps")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "coach-plan-editor.png"), full_page=True)
    page.click("#save-plan")
    page.wait_for_function(
        "window.coachState.page === 'plan' && window.coachState.adherence !== null",
        timeout=TIMEOUT_MS,
    )
    return int(page.evaluate("window.coachState.planEditor.saved"))


def _wait(page: Any, condition: str) -> None:
    page.wait_for_function(condition, timeout=TIMEOUT_MS)


def test_a_coach_prescribes_and_the_kiosk_checks_in_by_card_and_runs_the_plan(
    chromium: str, server: RecordsServer, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    token = make_member_token(CARD_BYTES)
    with server.store.begin() as db:
        resident = repository.get_resident(db, server.ids["resident_id"])
        assert resident is not None
        repository.issue_member_token(db, resident, token_bytes=lambda n: CARD_BYTES)
    camera = _camera(
        token,
        shared_data_path("video", "bicep_curl_side.mp4"),
        tmp_path / "card_then_curls.y4m",
    )
    today = dt.datetime.now(dt.UTC).date()
    errors: list[str] = []
    with sync_playwright() as p:
        office = launch(p, chromium, camera=None)
        kiosk_browser = launch(p, chromium, camera)
        try:
            coach = office.new_page(viewport={"width": 1280, "height": 900})
            coach.on("pageerror", lambda e: errors.append(str(e)))
            _login(coach, server.url)
            plan_id = _prescribe(coach, server, today)
            saved = coach.evaluate("window.coachState.adherence")
            card = _print_card(coach, server)
            # The same editor in Chinese: the coach adds the Chinese texts.
            coach.goto(f"{server.url}/coach?lang=zh-CN#/plans/{plan_id}/edit")
            _wait(coach, "coachState.page === 'plan-editor' && coachState.ready")
            coach.fill("#plan-title", "手臂和脚踝力量")
            coach.fill("#session-name-0", "每日练习")
            editor_zh = coach.inner_text("main")
            coach.screenshot(
                path=str(SCREENSHOTS / "coach-plan-editor-zh.png"), full_page=True
            )
            coach.click("#save-plan")
            _wait(coach, "coachState.page === 'plan' && coachState.adherence")

            # Today's plan in Chinese, signed in on the keypad (no camera here).
            zh = _kiosk_page(office, server, "zh-CN")
            zh.click("#signin-btn")
            zh.fill("#member-code", MEMBER_CODE)
            zh.click("#signin-submit")
            _wait(zh, "kioskState.state === 'plan'")
            today_zh = zh.inner_text("#plan")
            zh.screenshot(path=str(SCREENSHOTS / "kiosk-plan-today-zh.png"))
            zh.close()

            # The kiosk with the camera: the card first, then the curls.
            kiosk = _kiosk_page(kiosk_browser, server, "en")
            kiosk.on("pageerror", lambda e: errors.append(str(e)))
            kiosk.click("#signin-btn")
            _wait(kiosk, "kioskState.state === 'plan'")
            checked_in = kiosk.evaluate(
                "[kioskState.resident, kioskState.checkInRefusals, kioskState.sent]"
            )
            today_en = kiosk.inner_text("#plan")
            kiosk.screenshot(path=str(SCREENSHOTS / "kiosk-plan-today.png"))
            kiosk.click("#plan-start")
            _wait(kiosk, "kioskState.plan.state === 'rest'")
            rest = kiosk.evaluate(
                "[kioskState.plan, document.getElementById('rest-next').innerText, "
                "kioskState.posesReceived]"
            )
            # The rest counts down by itself; then the second exercise runs (the
            # camera still shows curls), and the resident ends it early: a set all
            # the same.
            kiosk.wait_for_function(
                "(n) => kioskState.plan.state === 'running' && kioskState.plan.step "
                "=== 1 && kioskState.posesReceived > n + 5",
                arg=rest[2],
                timeout=TIMEOUT_MS,
            )
            kiosk.click("#finish-btn")
            _wait(kiosk, "kioskState.plan.state === 'done'")
            done = kiosk.evaluate("kioskState.plan")
            done_cells = kiosk.locator("#plan-done-rows tr td").all_inner_texts()
            spoken = [s["text"] for s in kiosk.evaluate("window.__spoken")]
            kiosk.screenshot(path=str(SCREENSHOTS / "kiosk-plan-done.png"))

            # The coach sees this week's adherence, in both languages.
            adherence: dict[str, Any] = {}
            texts = {}
            for lang in ("en", "zh-CN"):
                coach.goto(f"{server.url}/coach?lang={lang}#/plans/{plan_id}")
                coach.reload()
                _wait(coach, "coachState.page === 'plan' && coachState.adherence")
                adherence = coach.evaluate("coachState.adherence")
                texts[lang] = coach.inner_text("main")
                suffix = "" if lang == "en" else "-zh"
                coach.screenshot(
                    path=str(SCREENSHOTS / f"coach-plan-adherence{suffix}.png"),
                    full_page=True,
                )
            week_row = coach.inner_text("#adherence-table tbody tr:last-child")
        finally:
            kiosk_browser.close()
            office.close()
    assert not errors, errors
    assert saved["weeks"] == 1 and saved["current"]["sets_done"] == 0
    # The printed card's QR code reads back as a valid card of this resident.
    assert card["text"] is not None
    assert check_token(card["text"]).status is TokenStatus.VALID
    rid = server.ids["resident_id"]
    with server.store.session() as db:
        hashes = {c.token_hash for c in repository.list_member_tokens(db, rid)}
    assert token_hash(card["text"]) in hashes
    assert card["hint"] == "…" + card["text"][-4:]
    assert "保存处方" in editor_zh and "每周训练日" in editor_zh
    assert "欢迎您，Lin Mei！" in today_zh and "二头弯举" in today_zh
    assert "手臂和脚踝力量" in today_zh and "今天：每日练习" in today_zh
    # Checked in by the card, with no refusal on the way and no code typed.
    resident_name, refusals, sent = checked_in
    assert resident_name == "Lin Mei" and refusals == []
    assert {"v": 1, "type": "scan"} in sent
    assert "Welcome, Lin Mei!" in today_en and "1 × 2 repetitions" in today_en
    assert "Arm and ankle strength" in today_en  # the English title, kept
    assert rest[0]["restLeft"] is not None and rest[1] == "Next: Heel Raise"
    assert "Welcome, Lin Mei." in spoken
    assert "Biceps Curl. Set 1 of 1: 2 repetitions." in spoken
    assert "Rest 5 seconds. Next: Heel Raise." in spoken
    assert "Heel Raise. Set 1 of 1: 5 repetitions." in spoken
    assert spoken[-1] == "Well done! Today's plan is done: 2 of 2 sets."
    assert done["done"] == 2 and done["total"] == 2 and len(done["recorded"]) == 2
    curl, heel = done["recorded"]
    assert (curl["exercise"], curl["reps"]) == ("bicep_curl", 2)
    assert heel["exercise"] == "heel_raise" and heel["reps"] < 5
    assert done_cells[:3] == ["Biceps Curl", "1 / 1", "2 / 2"]
    assert done_cells[4:7] == ["Heel Raise", "1 / 1", f"{heel['reps']} / 5"]
    with server.store.session() as db:
        rows = repository.set_rows(db, plan_id)
        sessions = [
            repository.get_session(db, r.exercise_session_id or 0) for r in rows
        ]
        assert [s.resident_id if s else None for s in sessions] == [rid, rid]
        assert sessions[0] is not None and len(sessions[0].reps) == 2
    assert [(r.exercise_id, r.reps) for r in rows] == [
        ("bicep_curl", 2),
        ("heel_raise", heel["reps"]),
    ]
    assert adherence["current"]["sessions_done"] == 1
    assert adherence["current"]["sets_done"] == 2
    assert "1 / 1" in week_row and "2 / 2" in week_row
    assert "Sets (full)" in texts["en"] and "依从性" in texts["zh-CN"]
    assert "每周训练次数" in texts["zh-CN"]
