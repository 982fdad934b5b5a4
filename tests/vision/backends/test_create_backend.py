"""`vision.backends.create_backend`: names, options, a missing onnx module."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import models
from vision.backends import BACKENDS, DEFAULT_BACKEND, BackendError, create_backend


def test_backend_names() -> None:
    assert BACKENDS == ("mediapipe", "onnx")


@pytest.mark.parametrize(
    ("name", "options", "error", "match"),
    [
        pytest.param(
            "openpose", {}, ValueError, "valid backends: mediapipe, onnx", id="unknown"
        ),
        pytest.param("", {}, ValueError, "unknown pose backend ''", id="empty"),
        pytest.param(
            "mediapipe",
            {"num_people": 2},
            ValueError,
            "unknown mediapipe option(s) num_people; valid options: num_poses,",
            id="unknown-option",
        ),
        pytest.param(
            "mediapipe",
            {"num_poses": 0},
            ValueError,
            "num_poses must be an int >= 1, got 0",
            id="bad-option",
        ),
    ],
)
def test_rejects(name: str, options: dict, error: type, match: str) -> None:
    with pytest.raises(error) as info:
        create_backend(name, **options)
    assert match in str(info.value)


def test_onnx_module_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes the import fail as if the file did not exist.
    monkeypatch.setitem(sys.modules, "vision.backends.onnx", None)
    with pytest.raises(
        BackendError, match=r"expected the module vision/backends/onnx\.py"
    ):
        create_backend("onnx")


@pytest.mark.model
def test_mediapipe_by_name() -> None:
    if not (models.MODELS_DIR / "pose_landmarker_full.task").is_file():
        pytest.skip("model absent")
    for backend in (
        create_backend("mediapipe"),
        create_backend("mediapipe", num_poses=2),
    ):
        with backend:
            assert backend.name == "mediapipe"
            assert len(backend.detect(np.zeros((32, 32, 3), np.uint8), 1)) == 0


@pytest.mark.model
def test_onnx_is_the_default() -> None:
    """Private by default (issue 20): ONNX Runtime sends nothing off the machine."""
    if not (models.MODELS_DIR / "pose_landmark_full.onnx").is_file():
        pytest.skip("model absent")
    assert DEFAULT_BACKEND == "onnx"
    with create_backend() as backend:
        assert backend.name == "onnx"
        assert len(backend.detect(np.zeros((32, 32, 3), np.uint8), 1)) == 0
