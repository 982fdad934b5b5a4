"""The coach's authoring path for a flowing form (tai chi): a demonstration video in,
a routine draft out (`kind=routine` on /api/authoring/drafts/video), whose two files
load back as the routine the core proposes. The pose backend is scripted: it "finds"
a synthetic form built from the Baduanjin's key poses (three moves)."""

# ruff: noqa: F811 (pytest fixtures imported from the helpers)
from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np

from exercises.routine import load_routine, routine_from_dict
from exercises.routine_authoring import propose_routine
from tests.exercises.test_routine_authoring import FPS, _demo
from tests.routine_performance import frames_of
from tests.server.programme_scripts import to_blazepose
from tests.server.store.helpers import (  # noqa: F401 (fixtures)
    db_url,
    fast_hasher,
    pg_database_url,
    sqlite_template,
    store,
)
from tests.server.test_api_coach_flows import World, world  # noqa: F401
from vision.types import PoseFrame


def _video(tmp_path: Path, n: int) -> bytes:
    import cv2

    path = tmp_path / "form.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (64, 48))
    for _ in range(n):
        writer.write(np.full((48, 64, 3), 128, np.uint8))
    writer.release()
    return path.read_bytes()


def test_a_routine_draft_from_a_video(world: World, tmp_path: Path) -> None:
    frames: list[PoseFrame] = [to_blazepose(f) for f in frames_of(_demo(), FPS, 1.0)]
    world.feed[:] = frames
    response = world.call(
        "coach_a",
        "POST",
        "/api/authoring/drafts/video?template_id=test_form&kind=routine"
        "&name_en=Test+form",
        content=_video(tmp_path, len(frames)),
    )
    assert response.status_code == 200, response.text
    draft = response.json()
    assert draft["kind"] == "routine"
    assert draft["source"]["frames"] == len(frames)
    assert [s["id"] for s in draft["routine"]["sections"]] == [
        "move_01",
        "move_02",
        "move_03",
    ]
    # no Chinese name given: the id stands in until the coach names it
    assert draft["routine"]["name"] == {"en": "Test form", "zh-CN": "test_form"}
    files = draft["files"]
    assert sorted(files) == ["test_form.poses.toml", "test_form.toml"]
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    saved = load_routine(tmp_path / "test_form.toml")
    assert saved == routine_from_dict(draft["routine"], draft["poses"])
    assert tomllib.loads(files["test_form.toml"])["id"] == "test_form"
    # the same draft as the core proposes from the frames the backend returned
    core = propose_routine(
        frames, routine_id="test_form", name={"en": "Test form", "zh-CN": "test_form"}
    )
    assert saved == core.spec
    assert draft["cuts_s"] == list(core.cuts_s)


def test_a_routine_draft_needs_a_long_enough_demonstration(
    world: World, tmp_path: Path
) -> None:
    frames = [to_blazepose(f) for f in frames_of(_demo()[:10], FPS, 1.0)]
    world.feed[:] = frames
    response = world.call(
        "coach_a",
        "POST",
        "/api/authoring/drafts/video?template_id=short&kind=routine",
        content=_video(tmp_path, len(frames)),
    )
    assert response.status_code == 422
    assert response.json()["detail"]["code"] == "authoring_failed"
