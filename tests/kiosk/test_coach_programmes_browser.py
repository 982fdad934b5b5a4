# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""Programme results on the coach pages in real headless Debian chromium: a resident
with a routine (preparation and two rounds of section one, from the routine's own key
poses through the engine), two posture screens and a paced-breathing session (the
records as the kiosk leaves them). The resident page lists them; the routine's session
page shows the per-section scores; the second posture screen's page its figures and
the change since the first; the breathing session's page its rhythm.

Saves docs/screenshots/coach-routine.png and coach-posture-zh.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server import auth
from server.app import create_app
from server.settings import Settings
from server.store import Store, repository, upgrade_database
from tests.conftest import ROOT
from tests.kiosk.test_browser import as_the_page_rounds, chromium, launch
from tests.live_server import free_port, serve_in_thread
from tests.server.conftest import ScriptedBackend
from tests.server.programme_scripts import summaries
from tests.server.store.helpers import at
from tests.server.test_exports_programmes import _level_tilt

pytestmark = [pytest.mark.browser, pytest.mark.slow]

__all__ = ["chromium"]  # a fixture shared with test_browser

SCREENSHOTS = ROOT / "docs" / "screenshots"
TIMEOUT_MS = 60_000
PASSWORD = "coach-pass-123"


def _seed(store: Store) -> dict[str, Any]:
    s = summaries()
    plan = (
        ("routine", s["routine"], 2),
        ("posture", s["posture"], 3),
        ("breathing", s["breathing"], 4),
        ("posture_2", _level_tilt(s["posture"], 0.5), 10),
    )
    with store.begin() as db:
        centre = repository.create_centre(db, "Riverside")
        resident = repository.create_resident(
            db, centre_id=centre.id, member_code="RI-001", display_name="Lin Mei"
        )
        repository.create_staff(
            db,
            username="mei",
            password_hash=auth.hash_password(PASSWORD),
            role="coach",
            centre_id=centre.id,
        )
        ids: dict[str, Any] = {"resident_id": resident.id}
        for key, summary, day in plan:
            session = repository.start_session(
                db,
                exercise_id=summary["programme_id"],
                language="en",
                resident_id=resident.id,
                centre_id=centre.id,
                started_at=at(2026, 3, day, 9),
            )
            repository.finish_session(db, session.id, ended_at=at(2026, 3, day, 9, 5))
            repository.add_programme_result(
                db,
                session_id=session.id,
                resident_id=resident.id,
                summary=summary,
                taken_at=at(2026, 3, day, 9),
            )
            ids[key] = session.id
    return ids


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, dict[str, Any]]]:
    path: Path = tmp_path_factory.mktemp("records") / "records.db"
    url = f"sqlite:///{path}"
    upgrade_database(url)
    store = Store(url)
    ids = _seed(store)
    port = free_port()
    app = create_app(
        Settings(host="127.0.0.1", port=port, db_url=url),
        backend_factory=ScriptedBackend,
        store=store,
    )
    with serve_in_thread(app, port):
        yield f"http://127.0.0.1:{port}", ids


def _open(page: Any, url: str, view: str) -> str:
    page.goto(f"{url}/coach?lang=en#/{view}")
    page.wait_for_function("window.coachState.ready", timeout=TIMEOUT_MS)
    return page.inner_text("main")  # type: ignore[no-any-return]


def test_the_coach_sees_routines_posture_and_breathing(
    chromium: str,
    server: tuple[str, dict[str, Any]],
) -> None:
    from playwright.sync_api import sync_playwright

    url, ids = server
    errors: list[str] = []
    with sync_playwright() as p:
        browser = launch(p, chromium, camera=None)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{url}/coach?lang=en#/login")
            page.fill("#username", "mei")
            page.fill("#password", PASSWORD)
            page.click("#login-submit")
            page.wait_for_function(
                "window.coachState.page === 'residents' && window.coachState.ready",
                timeout=TIMEOUT_MS,
            )
            _open(page, url, f"residents/{ids['resident_id']}")
            history = page.inner_text("#programmes-table")
            _open(page, url, f"sessions/{ids['routine']}")
            sections = page.inner_text("#routine-sections")
            whole = page.inner_text("#routine-whole")
            page.screenshot(path=str(SCREENSHOTS / "coach-routine.png"), full_page=True)
            _open(page, url, f"sessions/{ids['breathing']}")
            rhythm = page.inner_text("#rhythm-lines")
            breaths = page.locator("#breaths-table tbody tr").count()
            page.goto(f"{url}/coach?lang=zh-CN#/sessions/{ids['posture_2']}")
            page.wait_for_function("window.coachState.ready", timeout=TIMEOUT_MS)
            figures_zh = page.inner_text("#posture-figures")
            previous_zh = page.inner_text("#posture-previous")
            page.screenshot(
                path=str(SCREENSHOTS / "coach-posture-zh.png"), full_page=True
            )
        finally:
            browser.close()
    assert not errors
    s = summaries()
    assert "Baduanjin (Eight Pieces of Brocade)" in history
    assert "Posture screen" in history
    assert "1 changed since the previous visit" in history
    assert "Pursed-lip breathing with arm raises" in history
    hold = s["routine"]["sections"][1]
    assert "1. Holding up the heavens with both hands" in sections
    assert "2 / 6" in sections and as_the_page_rounds(hold["score"]) in sections
    assert "Not seen" in sections
    assert whole == f"Whole routine: {round(s['routine']['score'])}"
    assert "One breath every 6.0 s (prescribed 6.0 s)" in rhythm
    assert "Breaths seen: 2 of 2" in rhythm and breaths == 2
    assert "双肩倾斜" in figures_zh and "有变化，更水平" in figures_zh
    assert "（暂定）" in figures_zh  # the placeholder thresholds say so
    assert previous_zh.startswith("与") and "的筛查相比" in previous_zh
