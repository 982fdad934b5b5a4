"""A kiosk on the centre's LAN opened over plain HTTP gets no camera: browsers give
getUserMedia only to secure contexts (HTTPS, or localhost). In real headless Debian
chromium, the kiosk page and the group screen served over http:// under a name that is
not localhost say so, in both languages, and what staff can do; the same page on
loopback (a secure context) says nothing and gets the camera.

Traffic stays on loopback: the server listens on 127.0.0.1 and chromium maps the test
name to it (--host-resolver-rules); a secure context is judged by the name in the URL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.app import create_app
from server.settings import Settings
from tests.kiosk.test_browser import SPEECH_STUB, bypassing_csp, chromium, video
from tests.kiosk.web_modules import page_keys
from tests.live_server import serve_in_thread
from tests.server.conftest import ScriptedBackend

pytestmark = [pytest.mark.browser, pytest.mark.slow]

__all__ = ["chromium", "video"]  # fixtures shared with test_browser

LAN_NAME = "kiosk.centre.test"  # mapped to 127.0.0.1 inside chromium, nowhere else
EXERCISE = "bicep_curl"
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    app = create_app(
        Settings(host="127.0.0.1", port=0), backend_factory=ScriptedBackend
    )
    with serve_in_thread(app) as bound:
        yield bound


@pytest.fixture(scope="module")
def demo_port(video: Path) -> Iterator[int]:
    """A server with a demo video, which plays where no camera is given."""
    app = create_app(
        Settings(host="127.0.0.1", port=0, demo_video=video),
        backend_factory=ScriptedBackend,
    )
    with serve_in_thread(app) as bound:
        yield bound


@contextlib.contextmanager
def lan_browser(chromium: str) -> Iterator[Any]:
    """Chromium with a fake camera (granted without asking) and the LAN name mapped
    to loopback."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = bypassing_csp(
            p.chromium.launch(
                executable_path=chromium,
                args=[
                    "--no-sandbox",
                    "--use-fake-ui-for-media-stream",
                    "--use-fake-device-for-media-stream",
                    f"--host-resolver-rules=MAP {LAN_NAME} 127.0.0.1",
                ],
            )
        )
        try:
            yield browser
        finally:
            browser.close()


def open_kiosk(browser: Any, url: str) -> tuple[Any, list[str]]:
    """The kiosk page at `url`, once it shows the picker and is connected, and the
    list its script errors go to."""
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script(SPEECH_STUB)
    page.goto(url)
    page.wait_for_function(
        "window.kioskState.state === 'picker' && window.kioskState.connected",
        timeout=TIMEOUT_MS,
    )
    return page, errors


def notice_lines(lang: str, origin: str, *, demo: bool = False) -> list[str]:
    """The notice's lines as the kiosk's string tables have them."""
    strings = page_keys("index.html", lang)
    why = strings["camera_insecure_context"].replace("{origin}", origin)
    return [why, strings["camera_insecure_fix"]] + (
        [strings["camera_demo_instead"]] if demo else []
    )


def test_kiosk_over_plain_http_on_the_lan_says_why_there_is_no_camera(
    chromium: str, port: int, tmp_path: Any
) -> None:
    lan = f"http://{LAN_NAME}:{port}"
    with lan_browser(chromium) as browser:
        page, lan_errors = open_kiosk(browser, f"{lan}/?lang=en&mirror=0")
        secure = page.evaluate("window.isSecureContext")
        notice_visible = page.is_visible("#camera-notice")
        notice_en = page.inner_text("#camera-notice")
        state_notice = page.evaluate("window.kioskState.cameraNotice")
        page.screenshot(path=str(tmp_path / "kiosk-insecure.png"))
        page.click("#lang-btn")
        notice_zh = page.inner_text("#camera-notice")
        page.click("#lang-btn")
        # Choosing an exercise: the status line says why, not "not available".
        page.click(f'.card[data-exercise="{EXERCISE}"]')
        page.wait_for_function(
            "window.kioskState.cameraProblem !== null", timeout=TIMEOUT_MS
        )
        page.wait_for_function(
            "document.getElementById('stage-status').innerText.includes('HTTPS')",
            timeout=TIMEOUT_MS,
        )
        stage_status = page.inner_text("#stage-status")
        lan_state = page.evaluate("window.kioskState")

        # The same page on loopback is a secure context: no notice, a camera.
        page, loopback_errors = open_kiosk(
            browser, f"http://127.0.0.1:{port}/?lang=en&mirror=0"
        )
        loopback_secure = page.evaluate("window.isSecureContext")
        loopback_notice = page.is_visible("#camera-notice")
        page.click(f'.card[data-exercise="{EXERCISE}"]')
        page.wait_for_function(
            "window.kioskState.source === 'camera'", timeout=TIMEOUT_MS
        )
        loopback_state = page.evaluate("window.kioskState")
    assert secure is False and loopback_secure is True
    assert notice_visible and state_notice == "insecure_context"
    assert notice_en.splitlines() == notice_lines("en", lan)  # no demo: no third line
    assert notice_zh.splitlines() == notice_lines("zh-CN", lan)
    assert f"plain HTTP ({lan})" in notice_en
    assert "HTTPS" in notice_en and "docs/kiosk-setup.md" in notice_en
    assert "无法使用摄像头" in notice_zh and "HTTPS" in notice_zh
    assert "plain HTTP" in stage_status and "not available" not in stage_status
    assert lan_state["cameraProblem"] == "insecure_context"
    assert lan_state["source"] is None and lan_state["framesSent"] == 0
    assert not loopback_notice and loopback_state["cameraNotice"] is None
    assert loopback_state["cameraProblem"] is None
    assert loopback_state["cameraError"] is None
    assert not lan_errors and not loopback_errors


def test_group_screen_over_plain_http_on_the_lan_says_why_in_chinese(
    chromium: str, port: int
) -> None:
    with lan_browser(chromium) as browser:
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        page.add_init_script(SPEECH_STUB)
        page.goto(f"http://{LAN_NAME}:{port}/group?lang=zh-CN")
        page.wait_for_function(
            "window.groupState.state === 'setup' && window.groupState.connected",
            timeout=TIMEOUT_MS,
        )
        notice = page.inner_text("#camera-notice")
        problem = page.evaluate("window.groupState.cameraNotice")
        page.click("#start-btn")
        page.wait_for_function(
            "window.groupState.cameraProblem !== null", timeout=TIMEOUT_MS
        )
        page.wait_for_function(
            "document.getElementById('live-status').innerText.includes('HTTPS')",
            timeout=TIMEOUT_MS,
        )
        live_status = page.inner_text("#live-status")
    assert problem == "insecure_context"
    assert "无法使用摄像头" in notice and "HTTPS" in notice
    assert "docs/kiosk-setup.md" in notice
    assert "无法使用摄像头" in live_status and "摄像头无法使用" not in live_status


def test_kiosk_with_a_demo_video_says_the_demo_plays_instead(
    chromium: str, demo_port: int
) -> None:
    """Where the server has a demo video the page used to fall back to it silently."""
    lan = f"http://{LAN_NAME}:{demo_port}"
    with lan_browser(chromium) as browser:
        page, errors = open_kiosk(browser, f"{lan}/?lang=zh-CN")
        notice = page.inner_text("#camera-notice")
        page.click(f'.card[data-exercise="{EXERCISE}"]')
        page.wait_for_function(
            "window.kioskState.source === 'demo'", timeout=TIMEOUT_MS
        )
        live = page.evaluate("window.kioskState")
        badge = page.inner_text("#source-badge")
    assert notice.splitlines() == notice_lines("zh-CN", lan, demo=True)
    assert live["cameraProblem"] == "insecure_context"
    assert badge == page_keys("index.html", "zh-CN")["using_demo"]
    assert not errors
