"""`movecoach pose` in-process through `server.cli.main`.

JSON summary, --out, --annotate, and one-line errors without tracebacks."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

import models
from server.cli import main
from vision.landmarks_io import load_landmarks

MODEL_FILE = models.MODELS_DIR / "pose_landmarker_full.task"
_FPS = 20.0
_FRAMES = 6
_DRIFT_PX = 12
_STAGES = ("decode", "inference")


@pytest.fixture
def portrait(tmp_path: Path) -> Path:
    """A real photo of a person (matplotlib's sample data) copied to tmp."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or spec.origin is None:
        pytest.skip("matplotlib (source of the test portrait) is not installed")
    src = Path(spec.origin).parent / "mpl-data" / "sample_data" / "grace_hopper.jpg"
    if not src.is_file():
        pytest.skip(f"test portrait absent: {src}")
    return Path(shutil.copy(src, tmp_path / "portrait.jpg"))


@pytest.fixture
def person_video(portrait: Path, tmp_path: Path) -> Path:
    """_FRAMES frames of the portrait, drifting a few pixels per frame."""
    image = cv2.imread(str(portrait))
    h, w = image.shape[:2]
    path = tmp_path / "person.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), _FPS, (w, h))
    assert writer.isOpened()
    for i in range(_FRAMES):
        writer.write(np.roll(image, _DRIFT_PX * i, axis=1))
    writer.release()
    return path


def _needs_model() -> None:
    if not MODEL_FILE.is_file():
        pytest.skip(f"model absent: {MODEL_FILE}")


def _last_json(out: str) -> dict:
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines, "no output"
    return json.loads(lines[-1])


def _one_line_error(capfd: pytest.CaptureFixture[str]) -> str:
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one stderr line, got {lines}"
    assert lines[0].startswith("movecoach pose: error: ")
    return lines[0]


@pytest.mark.model
def test_json_summary_out_and_annotate(
    person_video: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    _needs_model()
    out = tmp_path / "landmarks.npz"
    annotated = tmp_path / "annotated.mp4"

    status = main(
        [
            "pose",
            str(person_video),
            "--backend",
            "mediapipe",
            "--json",
            "--out",
            str(out),
            "--annotate",
            str(annotated),
        ]
    )
    captured = capfd.readouterr()

    assert status == 0, captured.err
    assert captured.err == ""  # no progress bar off a terminal, no native logs
    summary = _last_json(captured.out)
    assert summary["frames"] == _FRAMES
    assert summary["backend"] == "mediapipe"
    assert 1 <= summary["detected"] <= _FRAMES
    assert summary["detection_rate"] == pytest.approx(summary["detected"] / _FRAMES)
    assert summary["detected"] == _FRAMES  # a clear portrait in every frame
    assert summary["fps"] > 0
    for stage in _STAGES:
        p50, p95 = (
            summary["stages_ms"][stage]["p50"],
            summary["stages_ms"][stage]["p95"],
        )
        assert 0 <= p50 <= p95

    window, meta = load_landmarks(out)
    assert len(window) == _FRAMES
    assert window.timestamp_ms.tolist() == [
        round(i * 1000 / _FPS) for i in range(_FRAMES)
    ]
    assert int(meta["detected"].sum()) == summary["detected"]
    assert meta["source"] == str(person_video) and meta["backend"] == "mediapipe"
    # The person drifts right by 3 px per frame; so does the nose.
    nose_x_px = (
        window.xyz[:, 0, 0] * cv2.imread(str(tmp_path / "portrait.jpg")).shape[1]
    )
    assert np.all(np.diff(nose_x_px) > 0)

    capture = cv2.VideoCapture(str(annotated))
    try:
        assert capture.isOpened()
        assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == _FRAMES
        assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(_FPS)
        ok, first = capture.read()
    finally:
        capture.release()
    assert ok and first.shape == (600, 512, 3)
    # The skeleton is drawn in green (BGR 0, 220, 0): the photo is black and white.
    original = cv2.imread(str(tmp_path / "portrait.jpg"))
    green = (first[..., 1].astype(int) - first[..., 2].astype(int)) > 80
    assert green.sum() > 200
    assert (
        (original[..., 1].astype(int) - original[..., 2].astype(int)) > 80
    ).sum() == 0


@pytest.mark.model
def test_single_image_and_max_frames(
    portrait: Path, person_video: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    _needs_model()
    assert main(["pose", str(portrait), "--json"]) == 0
    summary = _last_json(capfd.readouterr().out)
    assert (summary["frames"], summary["detected"]) == (1, 1)

    assert main(["pose", str(person_video), "--json", "--max-frames", "2"]) == 0
    summary = _last_json(capfd.readouterr().out)
    assert summary["frames"] == 2


@pytest.mark.model
def test_progress_bar_on_request(
    person_video: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    _needs_model()
    assert main(["pose", str(person_video), "--progress"]) == 0
    err = capfd.readouterr().err
    assert f"/{_FRAMES}" in err and "frame" in err


def _blank_image(tmp_path: Path) -> str:
    path = tmp_path / "empty_room.png"
    cv2.imwrite(str(path), np.full((240, 320, 3), 180, np.uint8))
    return str(path)


def _garbage_video(tmp_path: Path) -> str:
    path = tmp_path / "broken.mp4"
    path.write_bytes(np.random.default_rng(0).bytes(4000))
    return str(path)


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        pytest.param(
            lambda p: ["pose", str(p / "missing.mp4")],
            "got no such path",
            id="missing-file",
        ),
        pytest.param(
            lambda p: ["pose", _garbage_video(p)],
            "expected a video OpenCV can decode, got an unreadable file",
            id="unreadable-video",
        ),
        pytest.param(
            lambda p: ["pose", str(p), "--json"],
            "expected image files",
            id="folder-without-images",
        ),
        pytest.param(
            lambda p: ["pose", "x.mp4", "--max-frames", "0"],
            "--max-frames: expected N >= 1, got 0",
            id="max-frames-0",
        ),
        pytest.param(
            lambda p: ["pose", "x.mp4", "--out", str(p / "no" / "dir.npz")],
            "--out: expected an existing folder",
            id="out-folder-missing",
        ),
        pytest.param(
            lambda p: ["pose", "x.mp4", "--out", str(p / "x.csv")],
            "--out: expected a .npz path",
            id="out-not-npz",
        ),
    ],
)
def test_user_errors_are_one_line(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], argv: object, match: str
) -> None:
    status = main(argv(tmp_path))  # type: ignore[operator]
    assert status == 2
    assert match in _one_line_error(capfd)


@pytest.mark.model
def test_no_person_is_an_error(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    _needs_model()
    image = _blank_image(tmp_path)
    assert main(["pose", image, "--json"]) == 2
    line = _one_line_error(capfd)
    assert f"no person found in the image of {image}" in line
    assert capfd.readouterr().out == ""


def test_wrong_model_hash_is_an_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    fake_models = tmp_path / "models"
    fake_models.mkdir()
    shutil.copy(models.MODELS_DIR / "manifest.toml", fake_models / "manifest.toml")
    (fake_models / "pose_landmarker_full.task").write_bytes(b"\x00" * 1024)
    monkeypatch.setattr(models, "MODELS_DIR", fake_models)

    assert main(["pose", _blank_image(tmp_path), "--backend", "mediapipe"]) == 2
    line = _one_line_error(capfd)
    assert "does not match the manifest: expected sha256" in line
    assert "mediapipe backend" in line
