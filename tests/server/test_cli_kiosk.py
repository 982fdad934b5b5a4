"""`movecoach kiosk`, the headless kiosk client, against a real uvicorn server on a free
loopback port: user errors, output in both languages, and (real model) the live rep
count on the shared clips against the catalogue's counts made by eye."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from server.app import create_app
from server.cli import main
from server.settings import Settings
from tests.conftest import shared_data_path
from tests.live_server import free_port, serve_in_thread
from tests.server.conftest import ScriptedBackend
from vision.backends import create_backend


def run_server(backend_factory: Callable[[], Any]) -> Iterator[str]:
    port = free_port()
    settings = Settings(host="127.0.0.1", port=port)
    app = create_app(settings, backend_factory=backend_factory)
    with serve_in_thread(app, port, **settings.uvicorn_websocket_options):
        yield f"ws://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def scripted_server() -> Iterator[str]:
    yield from run_server(ScriptedBackend)


@pytest.fixture(scope="module")
def real_server() -> Iterator[str]:
    yield from run_server(lambda: create_backend("mediapipe"))


def catalogue_row(clip: str) -> dict[str, str]:
    with shared_data_path("video", "CATALOG.tsv").open(newline="") as f:
        return next(r for r in csv.DictReader(f, delimiter="\t") if r["clip"] == clip)


def kiosk_json(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    assert main(["kiosk", "--json", *args]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


# --- no model: a scripted backend behind a real server --------------------------------


@pytest.fixture
def still_video(tmp_path: Path) -> Path:
    """A 1-second, 10 fps grey video (the scripted backend does not look at it)."""
    import cv2
    import numpy as np

    path = tmp_path / "still.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (96, 64))
    for i in range(10):
        writer.write(np.full((64, 96, 3), 100 + i, np.uint8))
    writer.release()
    return path


def test_json_output_is_one_message_per_line(
    scripted_server: str, still_video: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = kiosk_json(
        capsys,
        "--server",
        scripted_server,
        "--source",
        str(still_video),
        "--exercise",
        "squat",
    )
    assert lines[0]["type"] == "opened" and lines[0]["exercise"]["id"] == "squat"
    assert lines[-1]["type"] == "summary"
    assert lines[-1]["stats"]["received"] == 10  # the whole source, in real time
    assert lines[-1]["stats"]["processed"] + lines[-1]["stats"]["dropped"] == 10
    assert not {"pose", "stats"} & {m["type"] for m in lines}  # only what people need


def test_human_output_in_chinese(
    scripted_server: str, still_video: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "--server",
        scripted_server,
        "--source",
        str(still_video),
        "--exercise",
        "squat",
    ]
    assert main(["kiosk", *args, "--lang", "zh-CN", "--elder"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "深蹲：训练开始"  # noqa: RUF001
    assert out[-1].startswith("完成。次数：0")  # noqa: RUF001
    assert all(not line.isascii() for line in out)  # nothing left in English


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--exercise", "moonwalk"],
            "unknown exercise 'moonwalk'; valid ids: arm_raise",
            id="unknown-exercise",
        ),
        pytest.param(
            ["--source", "/no/such/video.mp4"], "no such path", id="missing-source"
        ),
        pytest.param(["--fps", "0"], "--fps must be in (0, 120]", id="bad-fps"),
    ],
)
def test_user_errors_exit_2_with_one_line(
    scripted_server: str,
    still_video: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    base = {
        "--server": scripted_server,
        "--source": str(still_video),
        "--exercise": "squat",
    }
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    argv = ["kiosk", *[x for kv in base.items() for x in kv]]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("movecoach kiosk: error: ") and message in err
    assert "Traceback" not in err


def test_unreachable_server_is_a_user_error(
    still_video: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"ws://127.0.0.1:{free_port()}"  # nobody listens there
    argv = [
        "kiosk",
        "--server",
        url,
        "--source",
        str(still_video),
        "--exercise",
        "squat",
    ]
    assert main(argv) == 2
    assert "cannot connect to" in capsys.readouterr().err


# --- the real model on the shared clips -----------------------------------------------


@pytest.mark.model
@pytest.mark.slow
def test_curl_clip_prints_its_rep_event(
    real_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    video = shared_data_path("video", "bicep_curl_side.mp4")
    expected = int(catalogue_row("bicep_curl_side")["reps"])
    lines = kiosk_json(
        capsys,
        "--server",
        real_server,
        "--source",
        str(video),
        "--exercise",
        "bicep_curl",
    )
    reps = [m for m in lines if m["type"] == "rep_completed"]
    assert len(reps) == expected == 1
    assert 0 <= reps[0]["score"] <= 100
    assert lines[-1]["summary"]["reps"] == expected


@pytest.mark.model
@pytest.mark.slow
def test_air_squat_live_count_matches_the_catalogue(
    real_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Streams the 41 s clip in real time at its 24 fps, as a kiosk camera would."""
    video = shared_data_path("video", "mrpose_air_squat.mp4")
    row = catalogue_row("mrpose_air_squat")
    bottoms_s = [float(t) for t in row["rep_times_s"].split(",")]
    lines = kiosk_json(
        capsys, "--server", real_server, "--source", str(video), "--exercise", "squat"
    )
    reps = [m for m in lines if m["type"] == "rep_completed"]
    assert len(reps) == int(row["reps"]) == 9, [r["timestamp_ms"] for r in reps]
    # Each rep completes on standing up: after its bottom and before the next one.
    ends_s = [*bottoms_s[1:], float(row["active_to_s"]) + 1.0]
    for rep, bottom, limit in zip(reps, bottoms_s, ends_s, strict=True):
        assert bottom < rep["timestamp_ms"] / 1000 < limit, (
            rep["count"],
            rep["timestamp_ms"],
        )
    stats = lines[-1]["stats"]
    assert stats["processed"] >= 0.8 * stats["received"]  # live: few frames dropped
