"""A Baduanjin class on the group screen (/group, mode "routine") in real headless
Debian chromium, against a real uvicorn server with the real multi-person pose model
and SQLite records.

The camera: the whole-routine performer's first two rounds of section 1, then two of
section 2 (../shared/data/baduanjin, as the kiosk's routine test), enlarged twice and
tiled twice side by side: a class of two. The routine is a two-section, two-round cut
of the Baduanjin (kept short; the engine and files are the whole Baduanjin's), opened
with `?routine=baduanjin_short`. Staff start "Baduanjin (class)", check the left
person in; each tile shows that person's section and rounds, the room's guide is
captioned and spoken once per section (calm, the elder pace), and at the end the
summary lists both people's sections with their scores; the checked-in person's
record keeps the sections as the kiosk's routine sessions do.

Speech is stubbed and recorded. Screenshots: docs/screenshots/group-routine*.png
(English and Chinese).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from exercises.routine import get_routine
from server.app import create_app
from server.programmes import routine_programme
from server.settings import Settings
from server.store import DatabaseRecorder, Store, repository, upgrade_database
from tests.kiosk.test_browser import (  # noqa: F401 (fixtures)
    SCREENSHOTS,
    SPEECH_STUB,
    chromium,
    launch,
)
from tests.kiosk.test_browser_programmes import (
    ROUTINE_CLIPS,
    SECTIONS,
    clip_frames,
    on_canvas,
    write_y4m,
)
from tests.live_server import free_port, serve_in_thread
from tests.server.programme_scripts import short_routine
from tests.server.store.helpers import seed_centre

pytestmark = [pytest.mark.browser, pytest.mark.model, pytest.mark.slow]

TIMEOUT_MS = 240_000  # 2 shared cores: chromium, the server and two people's poses
ROUTINE_ID = "baduanjin_short"


@pytest.fixture(scope="module")
def class_camera(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frames = []
    for name, until_s in ROUTINE_CLIPS:
        for f in clip_frames(name, until_s):
            one = on_canvas(f, 2.0)
            frames.append(np.hstack([one, one]))
    return write_y4m(frames, tmp_path_factory.mktemp("camera") / "class.y4m")


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, Store, dict[str, Any]]]:
    tmp = tmp_path_factory.mktemp("records")
    url = f"sqlite:///{tmp / 'records.db'}"
    upgrade_database(url)
    store = Store(url)
    ids = seed_centre(store)
    port = free_port()
    settings = Settings(host="127.0.0.1", port=port, db_url=url)
    recorder = DatabaseRecorder(store, wait_for_reps=False)
    app = create_app(settings, recorder=recorder, store=store)
    try:
        with serve_in_thread(app, port, **settings.uvicorn_websocket_options):
            short = routine_programme(
                short_routine(get_routine("baduanjin"), SECTIONS, 2), ""
            )
            app.state.runtime.catalogue.programmes[short.id] = short
            yield f"http://127.0.0.1:{port}", store, ids
    finally:
        recorder.close()
        store.dispose()


def group_state(page: Any) -> dict[str, Any]:
    return page.evaluate("window.groupState")  # type: ignore[no-any-return]


def test_a_baduanjin_class_on_the_group_screen(
    chromium: str,  # noqa: F811
    class_camera: Path,
    server: tuple[str, Store, dict[str, Any]],
) -> None:
    from playwright.sync_api import sync_playwright

    url, store, ids = server
    errors: list[str] = []
    with sync_playwright() as p:
        browser = launch(p, chromium, class_camera)
        try:
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.add_init_script(SPEECH_STUB)
            page.goto(f"{url}/group?lang=en&mirror=0&routine={ROUTINE_ID}")
            page.wait_for_function(
                "window.groupState.state === 'setup'", timeout=TIMEOUT_MS
            )
            choice = page.locator('[data-mode="routine"]')
            assert "Baduanjin (class)" in choice.inner_text()
            choice.click()
            page.click("#start-btn")
            # Both people are participants, each on section 1 with a round counted.
            page.wait_for_function(
                "window.groupState.tiles.length === 2 && window.groupState.tiles"
                ".every((t) => t.routine && t.routine.rounds >= 1)",
                timeout=TIMEOUT_MS,
            )
            live = group_state(page)
            left = min(live["tiles"], key=lambda t: t["number"])["track_id"]
            tile = page.locator(f'#tiles .tile[data-track-id="{left}"]')
            tile.locator(".checkin-btn").click()
            page.fill("#member-code", ids["member_code"])  # letters: typed
            page.click("#checkin-submit")
            page.wait_for_function(
                "(id) => window.groupState.tiles.some((t) => t.track_id === id "
                "&& t.name)",
                arg=left,
                timeout=TIMEOUT_MS,
            )
            tile_en = tile.inner_text()
            header_en = page.inner_text("#mode-name")
            page.screenshot(path=str(SCREENSHOTS / "group-routine.png"))
            page.click("#lang-btn")
            page.wait_for_function("window.groupState.lang === 'zh-CN'")
            tile_zh = tile.inner_text()
            pause_zh = page.inner_text("#routine-pause-btn")
            page.screenshot(path=str(SCREENSHOTS / "group-routine-zh.png"))
            # The room moves on to section 2 (its guide spoken once), then staff end.
            page.wait_for_function(
                "window.groupState.routine.room === 'draw_the_bow'",
                timeout=TIMEOUT_MS,
            )
            page.click("#stop-btn")
            page.wait_for_function(
                "window.groupState.state === 'summary'", timeout=TIMEOUT_MS
            )
            summary = group_state(page)["summary"]
            rows_zh = page.inner_text("#summary-rows")
            page.screenshot(path=str(SCREENSHOTS / "group-routine-zh-summary.png"))
            page.click("#lang-btn")
            page.wait_for_function("window.groupState.lang === 'en'")
            rows_en = page.inner_text("#summary-rows")
            page.screenshot(path=str(SCREENSHOTS / "group-routine-summary.png"))
            final = group_state(page)
            spoken = page.evaluate("window.__spoken")
        finally:
            browser.close()

    assert errors == []
    first, second = (get_routine("baduanjin").section(s) for s in SECTIONS)
    assert final["routine"]["spoken"] == list(SECTIONS)  # once each, for the room
    said = [s["text"] for s in spoken]
    for section in (first, second):
        assert (
            sum(section.say["en"] == t or section.say["zh-CN"] == t for t in said) == 1
        )
    assert all(s["rate"] <= 0.85 for s in spoken)  # calm: the elder pace
    assert first.name["en"] in header_en or second.name["en"] in header_en
    assert "Rounds" in tile_en and "遍数" in tile_zh
    assert pause_zh == "暂停"
    assert first.name["zh-CN"] in tile_zh or second.name["zh-CN"] in tile_zh
    # The summary: both people, each section's rounds and score, in both languages.
    assert summary["mode"] == "routine" and summary["exercise"] == ROUTINE_ID
    people = sorted(summary["participants"], key=lambda m: m["number"])
    assert len(people) == 2
    for person in people:
        sections = person["session"]["sections"]
        assert [s["section_id"] for s in sections] == list(SECTIONS)
        assert sections[0]["status"] == "done" and sections[0]["rounds"] >= 1
        assert sections[0]["score"] > 0
    # each person's sections up to the one the room reached, in both languages
    assert first.name["zh-CN"] in rows_zh and "遍" in rows_zh
    assert second.name["zh-CN"] in rows_zh
    assert first.name["en"] in rows_en and "rounds" in rows_en
    assert second.name["en"] in rows_en
    # The checked-in person's record: a routine session with its sections.
    with store.session() as db:
        (result,) = repository.list_programme_results(db, ids["resident_id"])
        assert (result.kind, result.programme_id) == ("routine", ROUTINE_ID)
        checked = next(m for m in people if m["track_id"] == left)
        assert [(s.section_id, s.rounds) for s in result.sections] == [
            (s["section_id"], s["rounds"]) for s in checked["session"]["sections"]
        ]
