"""The kiosk page in real headless Debian chromium (playwright), against a real uvicorn
server with the real pose model: a video file stands in for the camera (converted to
.y4m by the test), and without a camera the page falls back to the server's demo video.

Speech is stubbed (headless chromium has no voices); the stub records what would have
been said. Saves docs/screenshots/kiosk.png (the README shows it).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import pytest

from server.app import create_app
from server.recording import CountingRecorder
from server.settings import Settings
from tests.conftest import ROOT, need_tool, shared_data_path
from tests.live_server import free_port, serve_in_thread
from vision.backends import create_backend

pytestmark = [pytest.mark.browser, pytest.mark.model, pytest.mark.slow]

SCREENSHOTS = ROOT / "docs" / "screenshots"
CLIP = "bicep_curl_side"  # one curl per 2.2 s loop of the fake camera
EXERCISE = "bicep_curl"
TIMEOUT_MS = 90_000  # 2 shared cores: chromium, the server and the model together

SPEECH_STUB = """
window.__spoken = [];
speechSynthesis.speak = (u) => {
  window.__spoken.push({text: u.text, lang: u.lang, rate: u.rate});
  setTimeout(() => { u.onend && u.onend(new Event('end')); }, 0);
};
"""


@pytest.fixture(scope="module")
def chromium() -> str:
    return need_tool("chromium", "apt-get install chromium (make system-deps)")


def to_y4m(src: Path, dst: Path, fps: int = 30) -> int:
    """Chromium's fake-camera format: raw 4:2:0 frames, even width and height."""
    capture = cv2.VideoCapture(str(src))
    n = 0
    with dst.open("wb") as out:
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            h, w = bgr.shape[:2]
            bgr = bgr[: h - h % 2, : w - w % 2]
            if n == 0:
                size = f"W{bgr.shape[1]} H{bgr.shape[0]}"
                out.write(f"YUV4MPEG2 {size} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
            out.write(b"FRAME\n" + cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420).tobytes())
            n += 1
    capture.release()
    return n


@pytest.fixture(scope="module")
def video() -> Path:
    return shared_data_path("video", f"{CLIP}.mp4")


@pytest.fixture(scope="module")
def fake_camera(video: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    y4m = tmp_path_factory.mktemp("camera") / f"{CLIP}.y4m"
    assert to_y4m(video, y4m) > 30
    return y4m.resolve()


@pytest.fixture(scope="module")
def server(video: Path) -> Iterator[tuple[str, CountingRecorder, Settings]]:
    port = free_port()
    settings = Settings(host="127.0.0.1", port=port, demo_video=video)
    recorder = CountingRecorder()
    app = create_app(
        settings, backend_factory=lambda: create_backend("mediapipe"), recorder=recorder
    )
    with serve_in_thread(app, port, **settings.uvicorn_websocket_options):
        yield f"http://127.0.0.1:{port}", recorder, settings  # loopback: secure context


def launch(
    playwright: Any, chromium: str, camera: Path | None, *, enforce_csp: bool = False
) -> Any:
    args = ["--no-sandbox", "--use-fake-ui-for-media-stream"]
    if camera is not None:
        args += [
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={camera}",
        ]
    browser = playwright.chromium.launch(executable_path=chromium, args=args)
    return browser if enforce_csp else bypassing_csp(browser)


def bypassing_csp(browser: Any) -> Any:
    """`browser` whose pages ignore the server's Content-Security-Policy: playwright's
    `wait_for_function` compiles its predicate with eval, which `script-src 'self'`
    forbids. The pages themselves run under the policy in test_csp_browser.py."""
    for name in ("new_page", "new_context"):
        setattr(
            browser, name, functools.partial(getattr(browser, name), bypass_csp=True)
        )
    return browser


def as_the_page_rounds(value: float) -> str:
    """A number as the pages print it: JavaScript's Math.round rounds halves up
    (92.5 -> 93), where Python's round() rounds them to even (92)."""
    return str(math.floor(value + 0.5))


def state(page: Any) -> dict[str, Any]:
    return page.evaluate("window.kioskState")  # type: ignore[no-any-return]


def test_camera_session_draws_landmarks_counts_reps_and_speaks(
    chromium: str, fake_camera: Path, server: tuple[str, CountingRecorder, Settings]
) -> None:
    from playwright.sync_api import sync_playwright

    url, recorder, _ = server
    page_errors: list[str] = []
    with sync_playwright() as p:
        browser = launch(p, chromium, fake_camera)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            page.add_init_script(SPEECH_STUB)
            page.goto(f"{url}/?lang=en&mirror=0")
            page.click(f'.card[data-exercise="{EXERCISE}"]')
            page.wait_for_function(
                "window.kioskState.posesDrawn >= 10", timeout=TIMEOUT_MS
            )
            page.wait_for_function(
                "window.kioskState.reps >= 1 && "
                "window.kioskState.state === 'exercising'",
                timeout=TIMEOUT_MS,
            )
            page.wait_for_function(  # a fresh skeleton on screen for the picture
                "(n) => window.kioskState.posesDrawn > n",
                arg=state(page)["posesDrawn"] + 3,
                timeout=TIMEOUT_MS,
            )
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "kiosk.png"))
            # the state and the number on screen read in one go: a rep arriving
            # between two reads would make them differ
            live, shown = page.evaluate(
                "[window.kioskState, document.querySelector('#rep-count').innerText]"
            )
            shown_reps = int(shown)
            spoken = page.evaluate("window.__spoken")
            page.click("#finish-btn")
            page.wait_for_function(
                "window.kioskState.state === 'summary'", timeout=TIMEOUT_MS
            )
            final = state(page)
            summary_reps = int(page.inner_text("#summary-reps"))
        finally:
            browser.close()
    assert not page_errors
    assert live["source"] == "camera" and live["cameraError"] is None
    assert live["framesSent"] >= 10 and live["posesDrawn"] >= 10
    assert live["reps"] >= 1 and shown_reps == live["reps"]
    assert any(e["type"] == "rep_completed" for e in live["events"])
    assert live["placement"] == "OK"
    assert live["errors"] == []
    said = [s["text"] for s in spoken]
    assert "1" in said  # the rep count, spoken
    assert {"3", "2", "1"} <= set(said[: said.index("1") + 3])  # the countdown
    assert all(s["lang"] == "en" for s in spoken)
    assert final["summary"]["stats"]["processed"] >= 10
    assert summary_reps == final["summary"]["summary"]["reps"] >= live["reps"]
    assert recorder.events["RepCompleted"] >= 1  # the server saw the same reps


def test_demo_video_without_camera_in_chinese_elder_mode(
    chromium: str, server: tuple[str, CountingRecorder, Settings]
) -> None:
    from playwright.sync_api import sync_playwright

    url, _, settings = server
    with sync_playwright() as p:
        browser = launch(p, chromium, camera=None)  # no camera device at all
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.add_init_script(SPEECH_STUB)
            page.goto(f"{url}/?lang=zh-CN&elder=1")
            assert page.inner_text("h1") == "运动教练"
            assert page.inner_text("#picker h2") == "请选择一个练习"
            assert "弯举" in page.inner_text(f'.card[data-exercise="{EXERCISE}"]')
            page.click(f'.card[data-exercise="{EXERCISE}"]')
            page.wait_for_function(
                "window.kioskState.posesDrawn >= 10", timeout=TIMEOUT_MS
            )
            page.wait_for_function("window.kioskState.reps >= 1", timeout=TIMEOUT_MS)
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "kiosk-demo-zh-elder.png"))
            live = state(page)
            font_px = page.evaluate(
                "parseFloat(getComputedStyle(document.body).fontSize)"
            )
            spoken = page.evaluate("window.__spoken")
        finally:
            browser.close()
    assert live["source"] == "demo" and live["cameraError"]  # getUserMedia failed
    assert live["elder"] is True and font_px >= 28  # large type
    assert live["options"]["cue_interval_ms"] == settings.elder_cue_interval_ms
    assert live["options"]["speech_rate"] == settings.elder_speech_rate
    assert spoken and all(s["lang"] == "zh-CN" for s in spoken)
    assert all(s["rate"] == pytest.approx(settings.elder_speech_rate) for s in spoken)
