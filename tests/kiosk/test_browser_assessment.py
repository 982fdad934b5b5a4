"""A fitness assessment at the kiosk in real headless Debian chromium: the shared curl
video is the camera, the real pose model and the real protocol run the 30-second arm
curl (with `?assessment_timing=fast` shortening only the instructions and the ready
hold), and the page reaches the result screen. Speech is stubbed and recorded.

Saves docs/screenshots/assessment-result.png.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from server.recording import CountingRecorder
from server.settings import Settings
from tests.kiosk.test_browser import (  # noqa: F401 (fixtures)
    SCREENSHOTS,
    SPEECH_STUB,
    chromium,
    fake_camera,
    launch,
    server,
    state,
    video,
)

pytestmark = [pytest.mark.browser, pytest.mark.model, pytest.mark.slow]

TEST_ID = "arm_curl_30s"
TIMEOUT_MS = 150_000  # 30 s of test after the start, on 2 shared cores


def test_arm_curl_assessment_reaches_the_result_screen(
    chromium: str,  # noqa: F811
    fake_camera: Path,  # noqa: F811
    server: tuple[str, CountingRecorder, Settings],  # noqa: F811
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
            page.goto(f"{url}/?lang=en&mirror=0&assessment_timing=fast")
            assert page.inner_text(f'.card[data-assessment="{TEST_ID}"]') == (
                "30-second arm curl"
            )
            page.fill("#assess-age", "72")
            page.select_option("#assess-sex", "female")
            page.click(f'.card[data-assessment="{TEST_ID}"]')
            page.wait_for_function(
                "window.kioskState.assessPhase === 'running'", timeout=TIMEOUT_MS
            )
            page.wait_for_function(
                "(window.kioskState.counts.left || 0) + "
                "(window.kioskState.counts.right || 0) >= 1",
                timeout=TIMEOUT_MS,
            )
            running = state(page)
            shown = {
                side: int(page.inner_text(f"#assess-count-{side}"))
                for side in ("left", "right")
            }
            target = page.inner_text("#assess-target")
            page.wait_for_function(
                "window.kioskState.state === 'result'", timeout=TIMEOUT_MS
            )
            final: dict[str, Any] = state(page)
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "assessment-result.png"))
            value = page.inner_text("#result-value")
            band = page.inner_text("#result-band")
            percentile = page.inner_text("#result-percentile")
            explanation = page.inner_text("#result-explanation")
            spoken = [s["text"] for s in page.evaluate("window.__spoken")]
        finally:
            browser.close()
    assert not page_errors
    assert running["source"] == "camera" and running["mode"] == "assessment"
    assert shown == {s: running["counts"].get(s, 0) for s in ("left", "right")}
    assert "Normal for your age" in target
    result = final["result"]
    assert result["test_id"] == TEST_ID and result["unit"] == "curls"
    assert result["value"] >= 1 and "stopped_early" not in result["flags"]
    assert int(value) == round(result["value"])
    counted = [e for e in final["events"] if e["type"] == "assessment_count_changed"]
    assert max(e["count"] for e in counted) == result["value"]
    assert (
        band
        == {
            "below": "Below the normal range",
            "normal": "Within the normal range",
            "above": "Above the normal range",
        }[result["band"]]
    )
    assert percentile == f"Percentile {round(result['percentile'])} for your age"
    assert explanation == result["explanation"]["en"]
    # spoken: the instructions, the countdown, go, the counts and the result
    assert spoken[0].startswith("Thirty-second arm curl")
    assert {"Three", "Two", "One", "Go!"} <= set(spoken)
    assert "1" in spoken
    assert spoken[-1] == result["summary"]["en"] or result["summary"]["en"] in spoken
    assert recorder.events["AssessmentCompleted"] >= 1
