# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""The centre's programmes at the kiosk in real headless Debian chromium, against a real
uvicorn server with the real pose model, a video standing in for the camera:

- a routine end to end: the shared Baduanjin footage (two rounds of section 1, then
  two of section 2, from the whole-routine performer's clips, enlarged onto one
  picture) as the camera, a two-section, two-round Baduanjin as the routine (kept
  short; the engine and files are the whole Baduanjin's): section names on screen,
  the transitions spoken, per-section scores on the result screen;
- the posture screen with a still of a person standing facing the camera (a frame of
  the first seconds of a Baduanjin tutorial clip): the progress ring fills, the front
  view is measured, the screen asks to turn; stopped there, the result shows the
  findings of the front view, the advice and what a camera cannot see;
- paced breathing with a real man's lateral raises as the camera, re-timed to the
  programme's pace (each rise drawn out to 2 s, each fall to 4 s, from where the arm
  height says the moves are): the pace shown and spoken, each breath listed as it is
  seen, and at the end the rhythm against the prescribed one.

Speech is stubbed and recorded. Screenshots in English and Chinese:
docs/screenshots/kiosk-routine*.png, kiosk-posture*.png, kiosk-breathing*.png.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from exercises.breathing import ArmHeight, detect_moves
from exercises.routine import get_routine
from server.app import create_app
from server.programmes import breathing_programme, routine_programme
from server.recording import CountingRecorder
from server.settings import Settings
from tests.conftest import shared_data_path
from tests.kiosk.test_browser import (  # noqa: F401 (fixtures)
    SCREENSHOTS,
    SPEECH_STUB,
    as_the_page_rounds,
    chromium,
    launch,
    state,
)
from tests.live_server import free_port, serve_in_thread
from tests.server.programme_scripts import short_breathing, short_routine
from vision.backends import create_backend
from vision.types import PoseFrame

pytestmark = [pytest.mark.browser, pytest.mark.model, pytest.mark.slow]

TIMEOUT_MS = 120_000  # 2 shared cores: chromium, the server and the model together
CANVAS_WH = (340, 384)  # even sides (4:2:0); the clips (156 x 188) enlarged twice
ROUTINE_CLIPS = (("solo_full_s1", 16.0), ("solo_full_s2", 17.0))
"""Section 1's first 16 s (rounds at 6.2 and 13.4 s), section 2's first 17 s (rounds
at 4.4 and 10.8 s, the second back at rest by 16 s): CATALOG.tsv."""
SECTIONS = ("hold_up_heavens", "draw_the_bow")
STILL = ("s3_plaza_pink", 4.0)  # standing, hands at the abdomen, facing the camera
STILL_S = 4.0
BREATH_CLIP = ("noor_lateral_raise.mp4", 6.45)  # a hard cut at 6.50 s (CATALOG.tsv)
BREATH_SCALE = 0.4  # 1080 x 594 -> 432 x 238
BREATH_FPS = 15
BREATH_IN_S, BREATH_OUT_S, BREATHS = 2.0, 4.0, 3
RHYTHM_S = 0.6
"""The in- and out-breaths read at the kiosk against the ones the camera was re-timed
to (frames dropped on 2 shared cores, the model at another frame rate)."""

Image = npt.NDArray[np.uint8]


def clip_frames(name: str, until_s: float, at_s: float = 0.0) -> list[Image]:
    capture = cv2.VideoCapture(
        str(shared_data_path("baduanjin", "video", f"{name}.mp4"))
    )
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    capture.set(cv2.CAP_PROP_POS_FRAMES, round(at_s * fps))
    out: list[Image] = []
    while len(out) < round((until_s - at_s) * fps):
        ok, bgr = capture.read()
        if not ok:
            break
        out.append(bgr)
    capture.release()
    return out


def on_canvas(bgr: Image, scale: float) -> Image:
    """`bgr` enlarged by `scale`, centred on a light grey picture of `CANVAS_WH`
    (cropped where larger)."""
    w, h = CANVAS_WH
    big = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    canvas = np.full((h, w, 3), 200, np.uint8)
    bh, bw = big.shape[:2]
    y, x = (h - bh) // 2, (w - bw) // 2
    src = big[max(0, -y) : max(0, -y) + h, max(0, -x) : max(0, -x) + w]
    canvas[
        max(0, y) : max(0, y) + src.shape[0], max(0, x) : max(0, x) + src.shape[1]
    ] = src
    return canvas


def write_y4m(frames: Sequence[Image], dst: Path, fps: int = 30) -> Path:
    """Chromium's fake-camera format: raw 4:2:0 frames (even width and height)."""
    h, w = frames[0].shape[:2]
    with dst.open("wb") as out:
        out.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for bgr in frames:
            out.write(b"FRAME\n" + cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420).tobytes())
    return dst.resolve()


@pytest.fixture(scope="module")
def routine_camera(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frames = [
        on_canvas(f, 2.0) for name, s in ROUTINE_CLIPS for f in clip_frames(name, s)
    ]
    return write_y4m(frames, tmp_path_factory.mktemp("camera") / "routine.y4m")


@pytest.fixture(scope="module")
def still_camera(tmp_path_factory: pytest.TempPathFactory) -> Path:
    name, at_s = STILL
    still = clip_frames(name, at_s + 0.1, at_s)[0]
    h, w = still.shape[:2]
    still = still[: h - h % 2, : w - w % 2]
    return write_y4m(
        [still] * round(30 * STILL_S), tmp_path_factory.mktemp("still") / "still.y4m"
    )


def _breathing_clock(request: pytest.FixtureRequest) -> tuple[list[float], float]:
    """For each frame of the re-timed camera, the source time it shows (s), and the
    source's frame rate. Rises and falls are where the arm height (the breathing
    core's own reading of the clip, `exercises.breathing`) says; each is drawn out so
    that it reads 2 s (in) or 4 s (out); holds and rests keep their time."""
    from tests.clip_landmarks import clip_landmarks

    name, until_s = BREATH_CLIP
    cache = Path(request.config.cache.mkdir("movecoach-posture-landmarks"))
    xyz, vis, stamps, aspect = clip_landmarks(
        cache, shared_data_path("video", name), until_s=until_s
    )
    arm = ArmHeight(aspect_wh=aspect)
    heights = [
        arm.update(PoseFrame(xyz[k], vis[k], int(stamps[k])))
        for k in range(len(stamps))
    ]
    moves = detect_moves(stamps.astype(np.float64), np.asarray(heights))
    # a move's 10-90 % span is 0.8 of it (docs/breathing.md, "Reading the rhythm")
    knots_src, knots_out = [0.0], [0.0]
    for m in moves:
        start, end = m.start_ms / 1000, m.end_ms / 1000
        if start <= knots_src[-1]:
            continue
        knots_out.append(knots_out[-1] + start - knots_src[-1])
        knots_src.append(start)
        target = BREATH_IN_S if m.kind == "rise" else BREATH_OUT_S
        knots_out.append(knots_out[-1] + 0.8 * target)
        knots_src.append(end)
    knots_out.append(knots_out[-1] + until_s - knots_src[-1])
    knots_src.append(until_s)
    out_t = np.arange(0.0, knots_out[-1], 1.0 / BREATH_FPS)
    return list(np.interp(out_t, knots_out, knots_src)), 30.0


@pytest.fixture(scope="module")
def breathing_camera(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    name, until_s = BREATH_CLIP
    capture = cv2.VideoCapture(str(shared_data_path("video", name)))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    source: list[Image] = []
    while len(source) < round(until_s * fps):
        ok, bgr = capture.read()
        if not ok:
            break
        small = cv2.resize(bgr, None, fx=BREATH_SCALE, fy=BREATH_SCALE)
        h, w = small.shape[:2]
        source.append(small[: h - h % 2, : w - w % 2])
    capture.release()
    times, _ = _breathing_clock(request)
    frames = [source[min(len(source) - 1, round(t * fps))] for t in times]
    return write_y4m(
        frames, tmp_path_factory.mktemp("breath") / "breath.y4m", fps=BREATH_FPS
    )


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, CountingRecorder]]:
    port = free_port()
    settings = Settings(host="127.0.0.1", port=port)
    recorder = CountingRecorder()
    app = create_app(
        settings, backend_factory=lambda: create_backend("mediapipe"), recorder=recorder
    )
    with serve_in_thread(app, port, **settings.uvicorn_websocket_options):
        short = routine_programme(
            short_routine(get_routine("baduanjin"), SECTIONS, 2),
            "/static/pictures/baduanjin_1.svg",
        )
        app.state.runtime.catalogue.programmes[short.id] = short
        breathing = breathing_programme(
            short_breathing(id="short_breathing", cycles=BREATHS),
            "",
        )
        app.state.runtime.catalogue.programmes[breathing.id] = breathing
        yield f"http://127.0.0.1:{port}", recorder


@contextlib.contextmanager
def kiosk_page(
    browser_path: str, camera: Path, url: str, errors: list[str]
) -> Iterator[Any]:
    """The kiosk page at `url` in chromium with `camera` as its camera, speech
    stubbed; page errors go to `errors`."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p, browser_path, camera)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.add_init_script(SPEECH_STUB)
            page.goto(url)
            yield page
        finally:
            browser.close()


def test_a_routine_runs_end_to_end_at_the_kiosk(
    chromium: str,  # noqa: F811
    routine_camera: Path,
    server: tuple[str, CountingRecorder],
) -> None:
    url, recorder = server
    page_errors: list[str] = []
    with kiosk_page(
        chromium, routine_camera, f"{url}/?lang=en&mirror=0", page_errors
    ) as page:
        card = page.locator('.card[data-programme="baduanjin_short"]')
        assert "Whole routine" in card.inner_text()
        card.click()
        page.wait_for_function(
            "window.kioskState.programme && "
            "window.kioskState.programme.view.rounds >= 1",
            timeout=TIMEOUT_MS,
        )
        first = page.inner_text("#routine-section")
        page.screenshot(path=str(SCREENSHOTS / "kiosk-routine.png"))
        page.wait_for_function(
            "window.kioskState.programme.view.section === 'draw_the_bow'",
            timeout=TIMEOUT_MS,
        )
        second = page.inner_text("#routine-section")
        listed = page.inner_text("#routine-list")
        page.wait_for_function(
            "window.kioskState.state === 'result'", timeout=TIMEOUT_MS
        )
        final: dict[str, Any] = state(page)
        rows = page.locator("#section-scores tbody tr")
        shown = [rows.nth(i).inner_text() for i in range(rows.count())]
        whole = page.inner_text("#routine-score")
        page.screenshot(path=str(SCREENSHOTS / "kiosk-routine-result.png"))
        page.click("#lang-btn")
        zh_rows = page.inner_text("#section-scores")
        page.screenshot(path=str(SCREENSHOTS / "kiosk-routine-result-zh.png"))
        spoken = page.evaluate("window.__spoken")
    assert not page_errors
    assert final["errors"] == [] and final["source"] == "camera"
    assert first == "1. Holding up the heavens with both hands"
    assert second == "2. Drawing the bow to shoot the eagle"
    assert first in listed and second in listed
    said = [s["text"] for s in spoken]
    routine = get_routine("baduanjin")
    for section_id in SECTIONS:  # each transition spoken
        assert routine.section(section_id).say["en"] in said
    assert routine.messages["rest"]["en"] in said
    result = final["programme"]["result"]
    assert result["kind"] == "routine" and result["completed"]
    assert [
        (s["section_id"], s["status"], s["rounds"]) for s in result["sections"]
    ] == [
        ("hold_up_heavens", "done", 2),
        ("draw_the_bow", "done", 2),
    ]
    assert all(s["score"] >= 60 for s in result["sections"])
    assert len(shown) == 2
    for row, section in zip(shown, result["sections"], strict=True):
        assert section["name"]["en"] in row and "2 of 2" in row
        assert as_the_page_rounds(section["score"]) in row
    assert whole == as_the_page_rounds(result["score"])
    assert "第一式 两手托天理三焦" in zh_rows and "2/2遍" in zh_rows
    assert recorder.events["RoutineCompleted"] == 1


def test_the_posture_screen_with_a_still_of_a_standing_person(
    chromium: str,  # noqa: F811
    still_camera: Path,
    server: tuple[str, CountingRecorder],
) -> None:
    url, recorder = server
    page_errors: list[str] = []
    with kiosk_page(
        chromium, still_camera, f"{url}/?lang=zh-CN&mirror=0", page_errors
    ) as page:
        card = page.locator('.card[data-programme="posture_screen"]')
        assert card.inner_text().startswith("体态筛查")
        card.click()
        page.wait_for_function(
            "window.kioskState.programme && "
            "window.kioskState.programme.view.steadyMs > 300",
            timeout=TIMEOUT_MS,
        )
        ring = page.get_attribute("#posture-ring-fill", "stroke-dashoffset")
        page.screenshot(path=str(SCREENSHOTS / "kiosk-posture-zh.png"))
        page.wait_for_function(
            "window.kioskState.programme.view.step === 'back'", timeout=TIMEOUT_MS
        )
        live: dict[str, Any] = state(page)
        captured = page.inner_text("#posture-views")
        page.click("#finish-btn")
        page.wait_for_function(
            "window.kioskState.state === 'result'", timeout=TIMEOUT_MS
        )
        final: dict[str, Any] = state(page)
        findings_zh = page.inner_text("#posture-findings")
        limits_zh = page.inner_text("#posture-limits")
        page.screenshot(path=str(SCREENSHOTS / "kiosk-posture-result-zh.png"))
        page.click("#lang-btn")
        findings_en = page.inner_text("#posture-findings")
        limits_en = page.inner_text("#posture-limits")
        advice_en = page.inner_text("#posture-advice")
        page.screenshot(path=str(SCREENSHOTS / "kiosk-posture-result.png"))
        spoken = page.evaluate("window.__spoken")
    assert not page_errors
    assert live["errors"] == [] and live["source"] == "camera"
    assert live["programme"]["view"]["captured"] == ["front"]
    assert float(ring) < 2 * np.pi * 42  # the ring had begun to fill
    assert "正面已测量" in captured
    said = [s["text"] for s in spoken]
    assert said[0].startswith("请面对摄像头站好")  # the front step, spoken
    assert any(s.startswith("现在请慢慢转身") for s in said)  # then turn round
    result = final["programme"]["result"]
    assert result["kind"] == "posture" and not result["completed"]
    views = result["result"]["views"]
    assert [v["view"] for v in views] == ["front"]
    figures = views[0]["figures"]
    assert all(f["uncertainty"] > 0 for f in figures.values())
    findings = result["assessment"]["findings"]
    for f in findings:
        assert f["message"]["zh-CN"] in findings_zh
        assert f["message"]["en"] in findings_en
    assert "Cobb" in limits_en and "Cobb" in limits_zh and "X" in limits_zh
    assert advice_en == result["assessment"]["advice"]["en"]
    assert recorder.events["PostureViewCaptured"] == 1


def test_paced_breathing_at_the_kiosk(
    chromium: str,  # noqa: F811
    breathing_camera: Path,
    server: tuple[str, CountingRecorder],
) -> None:
    url, recorder = server
    page_errors: list[str] = []
    with kiosk_page(
        chromium, breathing_camera, f"{url}/?lang=en&mirror=0", page_errors
    ) as page:
        card = page.locator('.card[data-programme="short_breathing"]')
        assert card.inner_text().startswith("Pursed-lip breathing")
        card.click()
        page.wait_for_function(
            "window.kioskState.programme && "
            "window.kioskState.programme.view.measured.length >= 1",
            timeout=TIMEOUT_MS,
        )
        live_phase = page.inner_text("#breath-phase")
        live_list = page.inner_text("#breath-measured")
        page.screenshot(path=str(SCREENSHOTS / "kiosk-breathing.png"))
        page.wait_for_function(
            "window.kioskState.state === 'result'", timeout=TIMEOUT_MS
        )
        final: dict[str, Any] = state(page)
        lines_en = page.inner_text("#rhythm-lines")
        tip_en = page.inner_text("#rhythm-tip")
        page.screenshot(path=str(SCREENSHOTS / "kiosk-breathing-result.png"))
        page.click("#lang-btn")
        lines_zh = page.inner_text("#rhythm-lines")
        tip_zh = page.inner_text("#rhythm-tip")
        page.screenshot(path=str(SCREENSHOTS / "kiosk-breathing-result-zh.png"))
        spoken = page.evaluate("window.__spoken")
    assert not page_errors
    assert final["errors"] == [] and final["source"] == "camera"
    assert live_phase in ("Breathe in", "Breathe out")
    assert live_list.startswith("Breath 1: in ")
    view = final["programme"]["view"]
    assert view["cues"] == [
        [phase, n] for n in range(1, BREATHS + 1) for phase in ("inhale", "exhale")
    ]
    programme = short_breathing(id="short_breathing", cycles=BREATHS)
    said = [s["text"] for s in spoken]
    assert said[0] == programme.instructions["en"]
    assert said.count(programme.inhale_cue["en"]) == BREATHS
    assert said.count(programme.exhale_cue["en"]) == BREATHS
    result = final["programme"]["result"]
    assert result["kind"] == "breathing" and result["completed"]
    rhythm = result["rhythm"]
    breaths = rhythm["breaths"]
    assert len(breaths) >= BREATHS - 1
    for b in breaths:
        assert b["inhale_s"] == pytest.approx(BREATH_IN_S, abs=RHYTHM_S)
        assert b["exhale_s"] == pytest.approx(BREATH_OUT_S, abs=RHYTHM_S)
    assert rhythm["long_out"] and rhythm["ratio"] >= 1.5
    assert f"Breaths seen: {len(breaths)} of {BREATHS}" in lines_en
    assert f"Out-breath {rhythm['ratio']:.1f} times as long" in lines_en
    assert tip_en == rhythm["message"]["en"] and tip_zh == rhythm["message"]["zh-CN"]
    assert f"看到的呼吸：{len(breaths)}次，共{BREATHS}次" in lines_zh
    assert recorder.events["BreathingCompleted"] == 1
