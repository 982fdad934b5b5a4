"""`movecoach analyze` in-process through `server.cli.main`: tables, JSON lines and
one-line errors."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import models
from exercises.spec import builtin_specs, get_spec
from server.cli import main
from tests.conftest import shared_data_path
from tests.factories import hold_frames, make_frame, make_window, rep_frames
from vision.landmarks_io import save_landmarks
from vision.types import PoseWindow, Skeleton

MODEL_FILE = models.MODELS_DIR / "pose_landmarker_full.task"
SLOW_DOWN_ZH = "放慢速度，动作要有控制。"  # noqa: RUF001


def _save(path: Path, window: PoseWindow) -> Path:
    return save_landmarks(
        path, window, detected=np.ones(len(window), bool), meta={"source": "test"}
    )


@pytest.fixture
def squats_npz(tmp_path: Path) -> Path:
    frames = rep_frames(get_spec("squat"), reps=3, noise=0.003)
    return _save(tmp_path / "squats.npz", make_window(frames))


def _json_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_table(squats_npz: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(squats_npz), "--exercise", "squat"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("Squat (squat), ")
    assert lines[1].split() == [
        "rep",
        "score",
        "time",
        "s",
        "range",
        "of",
        "motion",
        "(deg)",
        "cues",
    ]
    assert [line.split()[0] for line in lines[2:5]] == ["1", "2", "3"]
    assert "reps: 3 (partial 0), mean score: " in out


def test_json_lines_end_with_the_summary(
    squats_npz: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["analyze", str(squats_npz), "-e", "squat", "--json"]) == 0
    rows = _json_lines(capsys.readouterr().out)
    reps = [r for r in rows if r["type"] == "rep"]
    assert [r["count"] for r in reps] == [1, 2, 3]
    assert all(r["score"] >= 85 and r["range_of_motion_deg"]["knee"] > 60 for r in reps)
    summary = rows[-1]
    assert summary["type"] == "summary"
    assert (summary["exercise"], summary["reps"], summary["elder_mode"]) == (
        "squat",
        3,
        False,
    )
    assert summary["frames"] == len(rep_frames(get_spec("squat"), reps=3))


def test_cues_in_chinese(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = get_spec("squat")
    fast = _save(
        tmp_path / "fast.npz", make_window(rep_frames(spec, reps=1, duration_s=0.9))
    )
    assert main(["analyze", str(fast), "-e", "squat", "--json", "--lang", "zh-CN"]) == 0
    cues = [r for r in _json_lines(capsys.readouterr().out) if r["type"] == "cue"]
    assert [(c["cue_id"], c["text"]) for c in cues] == [("slow_down", SLOW_DOWN_ZH)]


def test_elder_mode(squats_npz: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(squats_npz), "-e", "squat", "--json", "--elder"]) == 0
    assert _json_lines(capsys.readouterr().out)[-1]["elder_mode"] is True


def test_hold_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = get_spec("plank")
    path = _save(tmp_path / "plank.npz", make_window(hold_frames(spec, seconds=31.0)))
    assert main(["analyze", str(path), "-e", "plank", "--json"]) == 0
    rows = _json_lines(capsys.readouterr().out)
    assert [r["type"] for r in rows] == ["hold", "summary"]
    assert rows[-1]["hold_completed"] is True and rows[-1]["reps"] == 0
    assert 30000 <= rows[-1]["hold_ms"] <= 31000


def test_unknown_exercise_lists_valid_ids(
    squats_npz: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["analyze", str(squats_npz), "--exercise", "sqaut"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "movecoach analyze: error: unknown exercise 'sqaut'; valid exercises: "
    )
    assert all(sid in err for sid in builtin_specs())
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(
            lambda p: p / "absent.npz",
            "expected a landmarks .npz file, got no file at",
            id="missing-file",
        ),
        pytest.param(
            lambda p: (p / "bad.npz").write_bytes(b"not a zip") and p / "bad.npz",
            "expected a landmarks .npz file, got an unreadable file",
            id="not-an-npz",
        ),
    ],
)
def test_unreadable_landmarks(
    tmp_path: Path, make: Any, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = make(tmp_path)
    assert main(["analyze", str(path), "-e", "squat"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("movecoach analyze: error: ") and message in err


def test_skeleton_without_the_joints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frames = [
        make_frame(i * 33, view="side", skeleton=Skeleton.COCO_17) for i in range(5)
    ]
    path = _save(tmp_path / "coco.npz", make_window(frames))
    assert main(["analyze", str(path), "-e", "heel_raise"]) == 2
    err = capsys.readouterr().err
    assert "needs joints that skeleton coco_17 lacks: left_foot_index" in err


def test_missing_video(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["analyze", str(tmp_path / "none.mp4"), "-e", "squat"]) == 2
    assert "no such path" in capsys.readouterr().err


@pytest.mark.model
def test_real_video_one_curl(capsys: pytest.CaptureFixture[str]) -> None:
    """The shared clip of one biceps curl, through the pose model, counts one rep."""
    if not MODEL_FILE.is_file():
        pytest.skip(f"model absent: {MODEL_FILE}")
    video = shared_data_path("video", "bicep_curl_side.mp4")
    assert main(["analyze", str(video), "-e", "bicep_curl", "--json"]) == 0
    rows = _json_lines(capsys.readouterr().out)
    assert rows[-1]["reps"] == 1
    rep = next(r for r in rows if r["type"] == "rep")
    assert rep["range_of_motion_deg"]["elbow"] > 90


def _recompressed(video: Path, out: Path, jpeg_quality: int) -> Path:
    """The clip with every frame JPEG-compressed at `jpeg_quality` (a cheap camera)."""
    import cv2

    cap = cv2.VideoCapture(str(video))
    fps, size = cap.get(cv2.CAP_PROP_FPS), (int(cap.get(3)), int(cap.get(4)))
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        _, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
        writer.write(cv2.imdecode(jpeg, cv2.IMREAD_COLOR))
    cap.release()
    writer.release()
    return out


@pytest.mark.model
def test_real_video_one_curl_from_a_cheap_camera(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The same curl heavily compressed: the person is found only a frame or two
    in, at rest, and the curl starts soon after; it still counts (the count used to
    wait for the placement announcement, 500 ms later, by then mid-curl)."""
    if not MODEL_FILE.is_file():
        pytest.skip(f"model absent: {MODEL_FILE}")
    video = shared_data_path("video", "bicep_curl_side.mp4")
    cheap = _recompressed(video, tmp_path / "cheap.mp4", jpeg_quality=25)
    landmarks = tmp_path / "cheap.npz"
    assert main(["pose", str(cheap), "--out", str(landmarks)]) == 0
    with np.load(landmarks) as data:
        found = int(np.argmax(data["detected"]))
    assert 0 < found < 10  # not found on the first frame(s), then at rest
    capsys.readouterr()
    assert main(["analyze", str(landmarks), "-e", "bicep_curl", "--json"]) == 0
    assert _json_lines(capsys.readouterr().out)[-1]["reps"] == 1


@pytest.mark.parametrize("stored", ["aspect_wh", "meta"])
def test_aspect_from_the_file_and_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], stored: str
) -> None:
    """The file's own aspect (its `aspect_wh`, or an older file's resolution_wh),
    unless --aspect says otherwise."""
    frames = rep_frames(get_spec("bicep_curl"), reps=2, aspect=16 / 9)
    window = make_window(frames)
    if stored == "meta":
        window = dataclasses.replace(window, aspect_wh=1.0)
    path = save_landmarks(
        tmp_path / "wide.npz",
        window,
        detected=np.ones(len(window), bool),
        meta={"source": "test", "resolution_wh": [1280, 720]},
    )
    if stored == "meta":  # a file written before aspect_wh was stored
        with np.load(path) as data:
            fields = {k: data[k] for k in data.files if k != "aspect_wh"}
        np.savez_compressed(path, **fields)
    assert main(["analyze", str(path), "-e", "bicep_curl", "--json"]) == 0
    from_file = _json_lines(capsys.readouterr().out)[-1]
    assert from_file["image_aspect"] == pytest.approx(1.7778, abs=1e-3)
    assert (
        main(["analyze", str(path), "-e", "bicep_curl", "--json", "--aspect", "1"]) == 0
    )
    squashed = _json_lines(capsys.readouterr().out)[-1]
    assert squashed["image_aspect"] == 1.0
    assert from_file["reps"] == 2
    assert from_file["mean_score"] > squashed["mean_score"]


@pytest.mark.parametrize("bad", ["16:0", "wide", "-2"])
def test_bad_aspect(
    squats_npz: Path, bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["analyze", str(squats_npz), "-e", "squat", "--aspect", bad]) == 2
    assert (
        f"--aspect: expected W:H or a positive number, got {bad!r}"
        in capsys.readouterr().err
    )


# --- the report (server/report.py) -------------------------------------------------


def test_report_has_each_rep_and_the_curves_against_the_band(
    squats_npz: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import re
    from html.parser import HTMLParser

    from server.api.sessions import spec_band

    out = tmp_path / "squats.html"
    assert main(["analyze", str(squats_npz), "-e", "squat", "--report", str(out)]) == 0
    assert "reps: 3" in capsys.readouterr().out  # the table still prints
    page = out.read_text(encoding="utf-8")
    HTMLParser().feed(page)  # parses
    assert '<strong id="reps">3</strong>' in page
    rows = re.findall(r"<tr><td>(\d+)</td><td>([\d.]+)</td>", page)
    assert [n for n, _ in rows] == ["1", "2", "3"]
    assert all(0 <= float(score) <= 100 for _, score in rows)
    assert page.count('<rect class="bar"') == 3  # a bar each
    band = spec_band(get_spec("squat"))
    assert band is not None
    channels = re.findall(r'<figure class="curve" data-channel="(\w+)">', page)
    assert channels and set(channels) <= set(band["reference"]["channels"])
    for chunk in page.split('<figure class="curve"')[1:]:
        assert chunk.count("<polygon") == 3  # the band laid on each rep
        assert 'stroke="#1f77b4"' in chunk  # the recording
    assert "<script" not in page and "http://www.w3.org/2000/svg" in page


def test_report_in_chinese_and_for_a_bad_path(
    squats_npz: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "zh.html"
    args = ["analyze", str(squats_npz), "-e", "squat", "--lang", "zh-CN"]
    assert main([*args, "--report", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page and "每次得分" in page and "深蹲" in page
    capsys.readouterr()
    assert main([*args, "--report", str(tmp_path / "out.pdf")]) == 2
    assert (
        "--report: expected a path ending in .html or .htm" in capsys.readouterr().err
    )
    assert main([*args, "--report", str(tmp_path / "no" / "dir.html")]) == 2
    assert "--report:" in capsys.readouterr().err


@pytest.mark.model
def test_a_video_shows_a_progress_bar(capsys: pytest.CaptureFixture[str]) -> None:
    if not MODEL_FILE.is_file():
        pytest.skip(f"model absent: {MODEL_FILE}")
    video = shared_data_path("video", "bicep_curl_side.mp4")
    args = ["analyze", str(video), "-e", "bicep_curl", "--json", "--max-frames", "12"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "pose: 100%" in captured.err and "12/12" in captured.err
    assert json.loads(captured.out.splitlines()[-1])["frames"] == 12
