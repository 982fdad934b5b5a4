"""Fall alerts on the coach pages, in real headless Debian chromium against a real
server (SQLite records; a scripted pose backend, since no camera is involved): alerts
raised through the repository while a coach is signed in appear in the red banner
above the page (another centre's do not), acknowledging one there removes it and
records who did, the alerts page lists them (and picks up a new one), and a group
session's rows are named.

Saves docs/screenshots/coach-fall-alert.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from server import auth
from server.app import create_app
from server.settings import Settings
from server.store import Store, repository, upgrade_database
from tests.conftest import ROOT
from tests.kiosk.test_browser import chromium, launch
from tests.live_server import serve_in_thread
from tests.server.conftest import ScriptedBackend

pytestmark = [pytest.mark.browser, pytest.mark.slow]

__all__ = ["chromium"]  # fixture shared with test_browser

SCREENSHOT = ROOT / "docs" / "screenshots" / "coach-fall-alert.png"
PASSWORD = "coach-pass-123"
TIMEOUT_MS = 20_000
ROWS = "document.querySelectorAll('#alert-banner .alert-row').length"


@dataclass
class AlertServer:
    url: str
    store: Store
    ids: dict[str, Any]


def _seed(store: Store) -> dict[str, Any]:
    with store.begin() as db:
        centre = repository.create_centre(db, "Riverside")
        other = repository.create_centre(db, "Hillside")
        resident = repository.create_resident(
            db, centre_id=centre.id, member_code="RI-001", display_name="Lin Mei"
        )
        kiosk, _ = repository.create_kiosk(db, centre_id=centre.id, name="Group hall")
        other_kiosk, _ = repository.create_kiosk(
            db, centre_id=other.id, name="Hillside hall"
        )
        coach = repository.create_staff(
            db,
            username="mei",
            password_hash=auth.hash_password(PASSWORD),
            role="coach",
            centre_id=centre.id,
            display_name="Coach Mei",
        )
        session = repository.start_session(
            db,
            exercise_id="group_follow",
            language="en",
            resident_id=resident.id,
            kiosk_id=kiosk.id,
            live_id="group-1",
        )
        repository.finish_session(db, session.id)
        return {
            "centre_id": centre.id,
            "other_centre_id": other.id,
            "resident_id": resident.id,
            "kiosk_id": kiosk.id,
            "other_kiosk_id": other_kiosk.id,
            "coach_id": coach.id,
            "group_session_id": session.id,
        }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AlertServer]:
    tmp: Path = tmp_path_factory.mktemp("alerts")
    url = f"sqlite:///{tmp / 'records.db'}"
    upgrade_database(url)
    store = Store(url)
    ids = _seed(store)
    app = create_app(
        Settings(host="127.0.0.1", port=0, db_url=url),
        backend_factory=ScriptedBackend,
        store=store,
    )
    try:
        with serve_in_thread(app) as port:
            yield AlertServer(f"http://127.0.0.1:{port}", store, ids)
    finally:
        store.dispose()


def _raise(
    server: AlertServer,
    *,
    kiosk: str = "kiosk_id",
    seat: int | None,
    resident: bool,
    cleared: bool = False,
) -> int:
    ids = server.ids
    with server.store.begin() as db:
        alert = repository.raise_alert(
            db,
            centre_id=None,  # the kiosk's
            kiosk_id=ids[kiosk],
            kind="fall",
            live_id="group-1",
            track_id=3,
            seat_number=seat,
            resident_id=ids["resident_id"] if resident else None,
            details={"timestamp_ms": 5000},
        )
        if cleared:
            repository.clear_alert(db, alert.id)
        return alert.id


def test_coach_sees_the_fall_alert_banner_and_acknowledges_it(
    chromium: str, server: AlertServer
) -> None:
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = launch(p, chromium, camera=None)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{server.url}/coach?lang=en&alert_poll_ms=500#/login")
            page.fill("#username", "mei")
            page.fill("#password", PASSWORD)
            page.click("#login-submit")
            page.wait_for_function(
                "window.coachState.page === 'residents' && window.coachState.ready"
                " && window.coachState.alerts.polls >= 1",
                timeout=TIMEOUT_MS,
            )
            banner_before = page.locator("#alert-banner").is_visible()

            # Raised while the coach is on the page: the poll brings them in.
            fell = _raise(server, seat=3, resident=True, cleared=True)
            other_centre = _raise(
                server, kiosk="other_kiosk_id", seat=1, resident=False
            )
            anonymous = _raise(server, seat=5, resident=False)
            page.wait_for_function(f"{ROWS} === 2", timeout=TIMEOUT_MS)
            banner = page.locator("#alert-banner")
            banner_text = banner.inner_text()
            box = banner.bounding_box()
            header = page.locator("header.topbar").bounding_box()
            colour = banner.evaluate("b => getComputedStyle(b).backgroundColor")
            page.wait_for_timeout(1100)  # let the age tick once
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT))

            # The banner sits above every view.
            page.goto(
                f"{server.url}/coach?lang=en&alert_poll_ms=500"
                f"#/residents/{server.ids['resident_id']}"
            )
            page.wait_for_function(
                f"window.coachState.page === 'resident' && window.coachState.ready"
                f" && {ROWS} === 2",
                timeout=TIMEOUT_MS,
            )
            sessions_text = page.inner_text("#sessions-table")

            page.click(f'.alert-ack[data-alert-id="{fell}"]')
            page.wait_for_function(f"{ROWS} === 1", timeout=TIMEOUT_MS)
            polls = page.evaluate("window.coachState.alerts.polls")
            page.wait_for_function(
                f"window.coachState.alerts.polls >= {polls + 2}", timeout=TIMEOUT_MS
            )
            left = page.evaluate(
                "[...document.querySelectorAll('#alert-banner .alert-row')]"
                ".map(r => Number(r.dataset.alertId))"
            )

            page.click("#lang-btn")
            page.wait_for_function(
                "document.getElementById('alert-banner').innerText.includes('跌倒警报')"
            )
            banner_zh = page.inner_text("#alert-banner")
            page.click("#lang-btn")

            page.click("#nav-alerts")
            page.wait_for_function(
                "window.coachState.page === 'alerts' && window.coachState.ready",
                timeout=TIMEOUT_MS,
            )
            listed = page.evaluate(
                "[...document.querySelectorAll('#alerts-table tbody tr')]"
                ".map(r => [Number(r.dataset.alertId), r.innerText])"
            )
            # A new alert while the list is open: the banner and the list get it.
            late = _raise(server, seat=None, resident=False)
            page.wait_for_function(
                f"{ROWS} === 2 && document.querySelector("
                f"'#alerts-table tr.alert-open[data-alert-id=\"{late}\"]') !== null",
                timeout=TIMEOUT_MS,
            )
            late_text = page.inner_text(f'.alert-row[data-alert-id="{late}"]')
            for alert_id in (anonymous, late):
                page.click(f'.alert-ack[data-alert-id="{alert_id}"]')
            page.wait_for_function(
                f"{ROWS} === 0 && document.getElementById('alert-banner').hidden",
                timeout=TIMEOUT_MS,
            )
            page.wait_for_function(
                "document.querySelectorAll('#alerts-table tr.alert-open').length === 0",
                timeout=TIMEOUT_MS,
            )
        finally:
            browser.close()
    assert not errors, errors
    assert banner_before is False
    assert "Fall alert" in banner_text and "Group hall · Seat 3 · Lin Mei (RI-001)" in (
        banner_text
    )
    assert "Group hall · Seat 5 · Not checked in" in banner_text
    assert "Cleared: got up" in banner_text and "Acknowledge" in banner_text
    assert "Hillside" not in banner_text  # another centre's alert
    assert box is not None and header is not None
    assert abs(box["y"] - (header["y"] + header["height"])) < 2 and box["height"] > 150
    red, green, blue = (int(c) for c in re.findall(r"\d+", colour)[:3])
    assert red > 150 and green < 40 and blue < 60, colour  # red, whatever the pulse
    assert "Group class: follow the instructor" in sessions_text
    assert left == [anonymous]
    assert "5 号位" in banner_zh and "未签到" in banner_zh
    assert [row[0] for row in listed] == [anonymous, fell]
    assert "Acknowledged by Coach Mei" in listed[1][1]
    assert "Open" in listed[0][1]
    assert "Group hall · No seat number · Not checked in" in late_text
    with server.store.session() as db:
        acknowledged = repository.get_alert(db, fell)
        assert acknowledged is not None and acknowledged.acknowledged_at is not None
        assert acknowledged.acknowledged_by == server.ids["coach_id"]
        assert acknowledged.acknowledged_by_kiosk is None
        untouched = repository.get_alert(db, other_centre)
        assert untouched is not None and untouched.acknowledged_at is None
