"""Paths and fakes shared by the tests (build data with tests/factories.py instead)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import models

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (ROOT.parent / "shared" / "data").resolve()
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def need_tool(name: str, install: str) -> str:
    """The path of a program on PATH; fails the calling test in CI (where `make test`
    installs it) and skips it elsewhere, saying how to install it."""
    import shutil

    path = shutil.which(name)
    if path is None:
        message = f"needs {name}: {install}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def shared_data_path(*parts: str) -> Path:
    """A path under ../shared/data; skips the calling test, with a reason, when
    absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


@pytest.fixture
def shared_data() -> Path:
    return shared_data_path()


needs_onnx_models = pytest.mark.skipif(
    not all(
        (models.MODELS_DIR / f).is_file()
        for f in ("pose_detector.onnx", "pose_landmark_full.onnx")
    ),
    reason="ONNX model files absent",
)
"""Skip marker for tests that load the BlazePose ONNX networks."""


def shared_video_frames(*parts: str) -> tuple[list[Any], float]:
    """Every frame (BGR) of a shared clip and its frame rate; skips the calling test
    when the clip is absent."""
    return video_frames(shared_data_path(*parts))


def video_frames(path: Path) -> tuple[list[Any], float]:
    """Every frame (BGR) of a video file as OpenCV decodes it by default (its own
    decoder threads), and its frame rate."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    assert frames, f"no frames decoded from {path}"
    return frames, fps
