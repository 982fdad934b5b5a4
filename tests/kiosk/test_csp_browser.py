"""The pages under the server's Content-Security-Policy in real headless chromium
(issue 18, findings 5 and 6): the kiosk page, the group screen, the set-up page and
the coach pages load and run with the policy enforced (no violation reported); the
kiosk page opens its websocket with its token in a subprotocol, never in the URL.
A scripted backend and SQLite records, kiosk authentication on; no model needed.

The other browser tests open their pages with the policy bypassed
(`tests.kiosk.test_browser.bypassing_csp`): playwright's `wait_for_function` needs
eval. Here every wait polls `page.evaluate` from Python instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from server.app import create_app
from server.settings import Settings
from server.store import DatabaseRecorder, Store, upgrade_database
from tests.kiosk.test_browser import chromium, launch  # noqa: F401 (fixture)
from tests.live_server import serve_in_thread
from tests.server.conftest import ScriptedBackend
from tests.server.store.helpers import seed_centre

pytestmark = [pytest.mark.browser]

TIMEOUT_S = 60.0
WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, centre A's kiosk token) of a server with kiosk auth."""
    tmp: Path = tmp_path_factory.mktemp("csp")
    url = f"sqlite:///{tmp / 'records.db'}"
    upgrade_database(url)
    store = Store(url)
    ids = seed_centre(store)
    recorder = DatabaseRecorder(store)
    app = create_app(
        Settings(db_url=url, kiosk_auth=True),
        backend_factory=ScriptedBackend,
        recorder=recorder,
        store=Store(url),
    )
    try:
        with serve_in_thread(app) as port:
            yield f"http://127.0.0.1:{port}", ids["kiosk_token"]
    finally:
        recorder.close()
        store.dispose()


def _until(page: Any, expression: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.1)


def _page(browser: Any, token: str | None) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.add_init_script(WATCH_CSP)
    if token is not None:
        page.add_init_script(
            f"localStorage.setItem('movecoach.kioskToken', {token!r});"
        )
    return page


def test_finding_5_6_pages_run_under_the_policy_and_the_token_stays_out_of_urls(
    chromium: str,  # noqa: F811
    site: tuple[str, str],
) -> None:
    from playwright.sync_api import sync_playwright

    base, token = site
    opened: list[str] = []
    console: list[str] = []
    with sync_playwright() as p:
        browser = launch(p, chromium, camera=None, enforce_csp=True)
        try:
            page = _page(browser, token)
            page.on("websocket", lambda ws: opened.append(ws.url))
            page.on("console", lambda m: console.append(m.text))
            page.goto(f"{base}/?lang=en&mirror=0")
            _until(page, "window.kioskState && window.kioskState.connected === true")
            kiosk_problem = page.evaluate("window.kioskState.kioskProblem")
            kiosk_csp = page.evaluate("window.__csp")
            visits: dict[str, list[str]] = {}
            checks: dict[str, Callable[[Any], None]] = {
                "/setup?lang=en": lambda pg: _until(pg, "window.setupState"),
                "/coach?lang=en#/login": lambda pg: _until(
                    pg, "document.querySelector('#username') !== null"
                ),
                "/group?lang=en": lambda pg: _until(pg, "window.groupState"),
            }
            for path, ready in checks.items():
                other = _page(browser, token)
                other.goto(f"{base}{path}")
                ready(other)
                visits[path] = other.evaluate("window.__csp")
                other.close()
        finally:
            browser.close()
    assert kiosk_problem is None
    assert kiosk_csp == []
    assert visits == {path: [] for path in checks}
    assert not [line for line in console if "Content Security Policy" in line]
    assert opened and all("token" not in url for url in opened), opened
