"""The coach pages, template authoring and the kiosk's token and resident sign-in, in
real headless Debian chromium against a real server (real pose model, SQLite records,
kiosk authentication on). A real session is streamed from the shared curl video first;
the resident's earlier weeks are real Pose Trainer curls run through the engine.

Saves docs/screenshots/coach-resident.png, coach-session.png, coach-authoring.png and
kiosk-history.png.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.client import subprotocols
from server.store import repository
from tests.conftest import ROOT
from tests.kiosk.records_server import (
    COACH,
    MEMBER_CODE,
    PASSWORD,
    RecordsServer,
    records_server,
    stream_video,
)
from tests.kiosk.test_browser import SPEECH_STUB, chromium, fake_camera, launch, video

pytestmark = [pytest.mark.browser, pytest.mark.model, pytest.mark.slow]

__all__ = ["chromium", "fake_camera", "video"]  # fixtures shared with test_browser

SCREENSHOTS = ROOT / "docs" / "screenshots"
TIMEOUT_MS = 90_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordsServer]:
    yield from records_server(tmp_path_factory.mktemp("records"))


@pytest.fixture(scope="module")
def recorded(server: RecordsServer) -> int:
    """A real session: the curl video three times (three curls) at the kiosk."""
    report = stream_video(server, loops=3)
    assert report.opened is not None and report.summary is not None, report.errors
    assert len(report.reps) >= 1, report.events
    with server.store.session() as db:
        session = repository.find_session_by_live_id(db, report.opened["session_id"])
        assert session is not None and session.resident_id == server.ids["resident_id"]
        assert len(session.reps) == len(report.reps)  # every reported rep is kept
        return session.id


def _login(page: Any, url: str, *, lang: str = "en", username: str = COACH) -> None:
    page.goto(f"{url}/coach?lang={lang}#/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_function(
        "window.coachState.page === 'residents' && window.coachState.ready",
        timeout=TIMEOUT_MS,
    )


def test_coach_reviews_a_resident_and_replays_a_real_session(
    chromium: str, server: RecordsServer, recorded: int
) -> None:
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = launch(p, chromium, camera=None)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("pageerror", lambda e: errors.append(str(e)))
            # Not signed in: the pages send you to the sign-in form.
            page.goto(f"{server.url}/coach#/residents/{server.ids['resident_id']}")
            page.wait_for_function("window.coachState.page === 'login'")
            _login(page, server.url)
            assert "Lin Mei" in page.inner_text("#residents-table")
            page.click("a.resident-link")
            page.wait_for_function(
                "window.coachState.page === 'resident' && "
                "window.coachState.chartsDrawn >= 4",
                timeout=TIMEOUT_MS,
            )
            resident_state = page.evaluate("window.coachState")
            assessments_text = page.inner_text("#assessments-table")
            sessions_text = page.inner_text("#sessions-table")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(
                path=str(SCREENSHOTS / "coach-resident.png"), full_page=True
            )

            page.click(f'a.session-link[href="#/sessions/{recorded}"]')
            page.wait_for_function(
                "window.coachState.page === 'session' && "
                "window.coachState.timelineDrawn && window.coachState.curvesDrawn >= 1",
                timeout=TIMEOUT_MS,
            )
            page.click("#play-btn")
            page.wait_for_function(
                "window.coachState.replay.advanced >= 10", timeout=TIMEOUT_MS
            )
            replay = page.evaluate("window.coachState.replay")
            reps_rows = page.locator("#reps-table tbody tr").count()
            page.screenshot(path=str(SCREENSHOTS / "coach-session.png"), full_page=True)

            no_delete_for_coaches = page.locator("#delete-open").count() == 0
            page.fill("#note-text", "Elbow drifts forward on the way up.")
            page.click("#note-submit")
            page.wait_for_function(
                "document.getElementById('notes-list').innerText.includes('drifts')"
            )
            csv = page.request.get(
                f"{server.url}/api/exports/sessions/{recorded}?format=csv"
            )
            csv_text = csv.text()
            fhir = page.request.get(
                f"{server.url}/api/exports/sessions/{recorded}?format=fhir"
            )
            fhir_json = json.loads(fhir.text())
        finally:
            browser.close()
    assert not errors, errors
    assert no_delete_for_coaches
    assert resident_state["progressWeeks"] >= 4  # three earlier weeks and this one
    assert assessments_text.count("30-second chair stand") == 2
    assert sessions_text.count("Biceps Curl") >= 4
    assert replay["frames"] > 30 and replay["bonesDrawn"] > 5
    with server.store.session() as db:
        session = repository.get_session(db, recorded)
        assert session is not None
        assert reps_rows == len(session.reps) >= 1
        notes = repository.list_notes(db, session_id=recorded)
        assert [n.text for n in notes] == ["Elbow drifts forward on the way up."]
    assert csv.status == 200 and csv_text.count("\n") >= 1 + reps_rows
    assert fhir.status == 200 and fhir_json["resourceType"] == "Bundle"


def test_coach_pages_speak_chinese(chromium: str, server: RecordsServer) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p, chromium, camera=None)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 800})
            _login(page, server.url, lang="zh-CN")
            title = page.inner_text("#title")
            heading = page.inner_text("h2")
            page.goto(
                f"{server.url}/coach?lang=zh-CN#/residents/{server.ids['resident_id']}"
            )
            page.wait_for_function(
                "window.coachState.page === 'resident' && window.coachState.ready"
            )
            body = page.inner_text("main")
        finally:
            browser.close()
    assert title == "运动教练 · 教练端" and heading == "居民"
    assert "每周进展" in body and "训练记录" in body and "二头弯举" in body


def test_authoring_from_a_recorded_session_and_kiosks_use_it_at_once(
    chromium: str, server: RecordsServer, recorded: int, video: Path
) -> None:
    video_path = video
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p, chromium, camera=None)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            _login(page, server.url)
            page.goto(f"{server.url}/coach?lang=en#/templates/new")
            page.wait_for_function("window.coachState.page === 'authoring'")
            page.fill("#tpl-id", "hall_curl")
            page.fill("#tpl-name-en", "Hall curl")
            page.fill("#tpl-name-zh", "大厅弯举")
            page.select_option("#tpl-view", "side")
            page.wait_for_selector(
                f'#source-session option[value="{recorded}"]', state="attached"
            )
            page.select_option("#source-session", str(recorded))
            page.click("#propose-session")
            page.wait_for_function(
                "window.coachState.authoring.draft !== null && "
                "document.querySelectorAll('.draft-chart').length > 0",
                timeout=TIMEOUT_MS,
            )
            draft = page.evaluate("window.coachState.authoring.draft")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(
                path=str(SCREENSHOTS / "coach-authoring.png"), full_page=True
            )
            # The coach moves the peak threshold and rewrites a cue, then saves.
            peak = page.locator('.phase-input[data-phase="peak"]')
            peak.fill(str(float(peak.input_value()) + 5.0))
            rules = page.locator(".cue-en").count()
            if rules:
                page.locator(".cue-en").first.fill("Keep that upper arm still.")
            page.click("#save-template")
            page.wait_for_function(
                "window.coachState.authoring.saved === 'hall_curl'", timeout=TIMEOUT_MS
            )
            # The same page also takes a video file: run through the pose model here.
            page.set_input_files("#source-video", str(video_path))
            page.click("#propose-video")
            page.wait_for_function(
                "window.coachState.authoring.draft.source.video_bytes > 0",
                timeout=TIMEOUT_MS,
            )
            from_video = page.evaluate("window.coachState.authoring.draft")
            saved = json.loads(
                page.request.get(f"{server.url}/api/templates/hall_curl").text()
            )
            catalogue = json.loads(
                page.request.get(
                    f"{server.url}/api/kiosk/exercises",
                    headers={"Authorization": f"Bearer {server.ids['kiosk_token']}"},
                ).text()
            )
        finally:
            browser.close()
    assert draft["primary"] == "elbow" and len(draft["reps"]) >= 2
    proposed = draft["template"]["phases"]["peak"]["elbow"]["max_deg"]
    assert f"max_deg = {proposed + 5.0}" in saved["toml"]
    if rules:
        assert "Keep that upper arm still." in saved["toml"]
    assert any(e["id"] == "hall_curl" and e["custom"] for e in catalogue)
    assert from_video["primary"] == "elbow" and len(from_video["reps"]) >= 1
    assert from_video["source"]["frames"] > 30
    # A kiosk of the centre opens it over the websocket at once.
    assert asyncio.run(_open(server, "hall_curl"))["exercise"]["name"]["zh-CN"] == (
        "大厅弯举"
    )


async def _open(server: RecordsServer, exercise: str) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    token = server.ids["kiosk_token"]
    async with connect(server.ws_url, subprotocols=subprotocols(token)) as ws:
        await ws.send(json.dumps({"type": "open", "v": 1, "exercise": exercise}))
        message = json.loads(await asyncio.wait_for(ws.recv(), 30))
        await ws.send(json.dumps({"type": "close", "v": 1}))
        return message  # type: ignore[no-any-return]


def test_kiosk_with_token_and_a_signed_in_resident(
    chromium: str, fake_camera: Path, server: RecordsServer, recorded: int
) -> None:
    """Set-up page stores the token; the page then uses it on its websocket; a resident
    signs in with their code, sees only their history, exercises (recorded to them),
    and signs out."""
    from playwright.sync_api import sync_playwright

    with server.store.begin() as db:  # a group class they took part in
        repository.start_session(
            db,
            exercise_id="group_follow",
            language="en",
            elder_mode=True,
            resident_id=server.ids["resident_id"],
        )
    before = _resident_sessions(server)
    with sync_playwright() as p:
        browser = launch(p, chromium, fake_camera)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.add_init_script(SPEECH_STUB)
            # Without a token the kiosk says it is not set up.
            page.goto(f"{server.url}/?lang=en&mirror=0")
            page.wait_for_function("window.kioskState.state === 'picker'")
            page.wait_for_function("window.kioskState.kioskProblem !== null")
            problem = page.evaluate("window.kioskState.kioskProblem")
            signin_hidden = page.is_hidden("#signin-btn")
            # Set-up: a wrong token is refused, the right one stored.
            page.goto(f"{server.url}/setup?lang=en")
            page.fill("#token", "not-a-token")
            page.click("#save-btn")
            page.wait_for_function("window.setupState.result === 401")
            page.fill("#token", server.ids["kiosk_token"])
            page.click("#save-btn")
            page.wait_for_function("window.setupState.saved === true")
            setup_text = page.inner_text("#setup-status")
            # The kiosk, now authenticated: a wrong code, then the right one.
            page.goto(f"{server.url}/?lang=en&mirror=0")
            page.wait_for_function(
                "window.kioskState.state === 'picker' && window.kioskState.connected "
                "&& window.kioskState.signInAvailable",
                timeout=TIMEOUT_MS,
            )
            page.click("#signin-btn")
            page.fill("#member-code", "NOPE-999")
            page.click("#signin-submit")
            page.wait_for_function(
                "document.getElementById('signin-status').innerText"
                ".includes('No member')"
            )
            page.fill("#member-code", MEMBER_CODE)
            page.click("#signin-submit")
            page.wait_for_function("window.kioskState.state === 'history'")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "kiosk-history.png"))
            history_rows = page.locator("#history-rows tr").count()
            history_text = page.inner_text("#history-rows")
            badge = page.inner_text("#resident-badge")
            page.click("#history-back")
            page.click('.card[data-exercise="bicep_curl"]')
            page.wait_for_function("window.kioskState.reps >= 1", timeout=TIMEOUT_MS)
            page.click("#finish-btn")
            page.wait_for_function(
                "window.kioskState.state === 'summary'", timeout=TIMEOUT_MS
            )
            reps = page.evaluate("window.kioskState.reps")
            page.click("#history-btn")
            page.wait_for_function(
                "(n) => window.kioskState.state === 'history' && "
                "document.querySelectorAll('#history-rows tr').length > n",
                arg=history_rows,
                timeout=TIMEOUT_MS,
            )
            page.click("#signout-btn")
            page.wait_for_function("window.kioskState.resident === null")
            after_signout = page.inner_text("body")
            # A resident who walks away is signed out after the idle time.
            page.goto(f"{server.url}/?lang=en&mirror=0&idle_ms=1500")
            page.wait_for_function(
                "window.kioskState.signInAvailable && window.kioskState.connected",
                timeout=TIMEOUT_MS,
            )
            page.click("#signin-btn")
            page.fill("#member-code", MEMBER_CODE)
            page.click("#signin-submit")
            page.wait_for_function("window.kioskState.resident === 'Lin Mei'")
            page.wait_for_function(
                "window.kioskState.resident === null && "
                "window.kioskState.state === 'picker'",
                timeout=10_000,
            )
            after_idle = page.inner_text("body")
        finally:
            browser.close()
    assert problem == "kiosk_token_required" and signin_hidden
    assert "Hall 1" in setup_text and "Riverside" in setup_text
    assert history_rows == len(before) and badge == "Signed in: Lin Mei"
    # A group class is named, not shown as its record id.
    assert "Group class: follow the instructor" in history_text
    assert "group_follow" not in history_text
    server.recorder.flush(30)
    after = _resident_sessions(server)
    assert len(after) == len(before) + 1
    newest = after[0]
    assert newest.session.kiosk_id == server.ids["kiosk_id"]  # came with the token
    assert newest.rep_count >= reps >= 1
    assert "Lin Mei" not in after_signout  # nothing of hers stays on screen
    assert "Lin Mei" not in after_idle


def _resident_sessions(server: RecordsServer) -> list[Any]:
    with server.store.session() as db:
        return repository.resident_sessions(db, server.ids["resident_id"])


def test_admin_deletes_a_resident_after_exporting(
    chromium: str, server: RecordsServer
) -> None:
    from playwright.sync_api import sync_playwright

    from tests.kiosk.records_server import ADMIN

    with server.store.begin() as db:
        gone = repository.create_resident(
            db,
            centre_id=server.ids["centre_id"],
            member_code="DEL-1",
            display_name="Zhao Lei",
        )
        session = repository.start_session(
            db,
            exercise_id="squat",
            language="en",
            resident_id=gone.id,
            centre_id=server.ids["centre_id"],
        )
        repository.add_note(db, author_id=None, text="to go", session_id=session.id)
        gone_id = gone.id
    with sync_playwright() as p:
        browser = launch(p, chromium, camera=None)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            _login(page, server.url, username=ADMIN)
            page.goto(f"{server.url}/coach?lang=en#/residents/{gone_id}")
            page.wait_for_function("window.coachState.page === 'resident'")
            page.click("#delete-open")
            with page.expect_download() as download:
                page.click("text=Download a full export first (JSON)")
            exported = json.loads(Path(download.value.path()).read_text())
            page.fill("#delete-confirm", "DEL-1")
            page.click("#delete-go")  # the export box is not ticked yet: refused
            refused = page.inner_text("#delete-dialog")
            page.check("#delete-exported")
            page.click("#delete-go")
            page.wait_for_function("window.coachState.deleted !== undefined")
            deleted = page.evaluate("window.coachState.deleted")
            done = page.inner_text("main")
        finally:
            browser.close()
    assert exported["resident"]["member_code"] == "DEL-1"
    assert "Download the export and type the member code first." in refused
    assert deleted["sessions"] == 1 and deleted["notes"] == 1
    assert "Zhao Lei and all their data were deleted." in done
    with server.store.session() as db:
        assert repository.get_resident(db, gone_id) is None
