"""MediaPipe Tasks backend: pure parts without a model, real images with it."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from contextlib import nullcontext as does_not_raise
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

import models
from tests.conftest import shared_data_path
from vision.backends.base import BackendError
from vision.backends.mediapipe_tasks import (
    MediaPipeOptions,
    MediaPipeTasksBackend,
    landmarks_to_arrays,
    preprocess,
)
from vision.sources import open_source
from vision.types import Joint, Poses, Skeleton

MODEL_FILE = models.MODELS_DIR / "pose_landmarker_full.task"

# A person faces the camera: face high, shoulders below, hips lower (y grows down).
_MIN_VISIBLE = 0.9  # visibility of clearly visible joints in a sharp portrait
# Share of frames with a pose, on a clip with one person in view throughout.
_MIN_DETECTION_RATE = 0.95


def _grace_hopper() -> np.ndarray:
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or spec.origin is None:
        pytest.skip("matplotlib (source of the test portrait) is not installed")
    path = Path(spec.origin).parent / "mpl-data" / "sample_data" / "grace_hopper.jpg"
    if not path.is_file():
        pytest.skip(f"test portrait absent: {path}")
    image = cv2.imread(str(path))
    assert image is not None and image.shape[2] == 3
    return image


# ---- pure parts (no model) ----------------------------------------------------------


def _fake_landmarks(n: int, joints: int = 33) -> list[list[SimpleNamespace]]:
    return [
        [
            SimpleNamespace(
                x=0.01 * j + p,
                y=0.02 * j,
                z=-0.1 * j,
                visibility=None if j == 5 else 0.5 + 0.01 * j,
                presence=0.8,
            )
            for j in range(joints)
        ]
        for p in range(n)
    ]


@pytest.mark.parametrize("n", [pytest.param(0, id="none"), pytest.param(2, id="two")])
def test_landmarks_to_arrays(n: int) -> None:
    xyz, vis, scores = landmarks_to_arrays(_fake_landmarks(n))
    assert xyz.shape == (n, 33, 3) and xyz.dtype == np.float32
    assert vis.shape == (n, 33) and vis.dtype == np.float32
    assert scores.shape == (n,) and scores.dtype == np.float32
    for p in range(n):
        np.testing.assert_allclose(xyz[p, 7], [0.07 + p, 0.14, -0.7], rtol=1e-6)
        assert vis[p, 5] == 0.0  # missing visibility reads as 0
        assert vis[p, 32] == pytest.approx(min(1.0, 0.5 + 0.32))
        assert scores[p] == pytest.approx(0.8)
    Poses(xyz, vis, np.full(n, -1, np.int64), scores, 0)  # valid as Poses


def test_landmarks_to_arrays_rejects_other_skeletons() -> None:
    with pytest.raises(BackendError, match="expected 33 landmarks per pose"):
        landmarks_to_arrays(_fake_landmarks(1, joints=17))


@pytest.mark.parametrize(
    ("image", "expectation"),
    [
        pytest.param(np.zeros((4, 5, 3), np.uint8), does_not_raise(), id="ok"),
        pytest.param(
            np.zeros((4, 5, 3), np.float32),
            pytest.raises(
                ValueError, match=r"\(H, W, 3\) uint8, got \(4, 5, 3\) float32"
            ),
            id="float",
        ),
        pytest.param(
            np.zeros((4, 5), np.uint8),
            pytest.raises(ValueError, match=r"got \(4, 5\) uint8"),
            id="grey",
        ),
        pytest.param(
            np.zeros((4, 5, 4), np.uint8),
            pytest.raises(ValueError, match=r"got \(4, 5, 4\)"),
            id="bgra",
        ),
    ],
)
def test_preprocess_checks_and_swaps_channels(
    image: np.ndarray, expectation: object
) -> None:
    image = image.copy()
    if image.ndim == 3 and image.shape[2] == 3:
        image[..., 0] = 10  # blue
        image[..., 2] = 200  # red
    with expectation:  # type: ignore[attr-defined]
        rgb = preprocess(image)
        assert rgb.flags.c_contiguous and rgb.dtype == np.uint8
        assert (rgb[..., 0] == 200).all() and (rgb[..., 2] == 10).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param(
            {"num_poses": 0}, "num_poses must be an int >= 1, got 0", id="zero-poses"
        ),
        pytest.param({"num_poses": True}, "got True", id="bool-poses"),
        pytest.param(
            {"min_tracking_confidence": 1.5}, "in [0, 1], got 1.5", id="tracking"
        ),
        pytest.param(
            {"min_pose_detection_confidence": -0.1}, "got -0.1", id="detection"
        ),
        pytest.param({"model": "pose.onnx"}, ".task file name", id="model"),
    ],
)
def test_options_validate(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError) as info:
        MediaPipeOptions(**kwargs)
    assert match in str(info.value)


def test_wrong_model_hash_raises_before_loading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(models.MODELS_DIR / "manifest.toml", tmp_path / "manifest.toml")
    (tmp_path / "pose_landmarker_full.task").write_bytes(b"not the model")
    monkeypatch.setattr(models, "MODELS_DIR", tmp_path)
    with pytest.raises(models.ModelIntegrityError, match="expected sha256"):
        MediaPipeTasksBackend()


# ---- with the model -----------------------------------------------------------------


@pytest.fixture
def backend() -> Iterator[MediaPipeTasksBackend]:
    if not MODEL_FILE.is_file():
        pytest.skip(f"model absent: {MODEL_FILE}")
    with MediaPipeTasksBackend() as b:
        yield b


@pytest.mark.model
def test_landmarks_land_on_the_person(backend: MediaPipeTasksBackend) -> None:
    image = _grace_hopper()
    poses = backend.detect(image, 1000)

    assert backend.name == "mediapipe" and poses.skeleton is Skeleton.BLAZEPOSE_33
    assert len(poses) == 1 and poses.timestamp_ms == 1000
    assert poses.aspect_wh == pytest.approx(image.shape[1] / image.shape[0])
    assert poses.track_ids.tolist() == [-1]
    assert 0.0 <= poses.scores[0] <= 1.0
    frame = poses[0]
    nose, l_sh, r_sh = (
        frame.xyz[j] for j in (Joint.NOSE, Joint.LEFT_SHOULDER, Joint.RIGHT_SHOULDER)
    )
    l_hip, r_hip = frame.xyz[Joint.LEFT_HIP], frame.xyz[Joint.RIGHT_HIP]
    for j in (Joint.NOSE, Joint.LEFT_SHOULDER, Joint.RIGHT_SHOULDER, Joint.LEFT_EYE):
        assert frame.visibility[j] > _MIN_VISIBLE, Joint(j).name
    # The face is in the picture, between the shoulders; the body below it.
    assert 0.0 < nose[0] < 1.0 and 0.0 < nose[1] < 1.0
    assert min(l_sh[0], r_sh[0]) < nose[0] < max(l_sh[0], r_sh[0])
    assert nose[1] < min(l_sh[1], r_sh[1])
    assert max(l_sh[1], r_sh[1]) < min(l_hip[1], r_hip[1])
    # Facing the camera: her left shoulder is on the image's right.
    assert l_sh[0] > r_sh[0]
    assert frame.visibility.min() >= 0.0 and frame.visibility.max() <= 1.0
    # z is normalized like x: the same order of magnitude as the image width.
    assert np.isfinite(frame.xyz).all() and np.abs(frame.xyz[:, 2]).max() < 5.0


@pytest.mark.parametrize(
    "image",
    [
        pytest.param(np.full((240, 320, 3), 128, np.uint8), id="grey"),
        pytest.param(
            np.dstack(
                [np.tile(np.linspace(0, 255, 320, dtype=np.uint8), (240, 1))] * 3
            ),
            id="gradient",
        ),
    ],
)
@pytest.mark.model
def test_no_person_gives_no_poses(
    backend: MediaPipeTasksBackend, image: np.ndarray
) -> None:
    poses = backend.detect(np.ascontiguousarray(image), 5)
    assert len(poses) == 0
    assert poses.xyz.shape == (0, 33, 3)
    assert poses.aspect_wh == pytest.approx(320 / 240)  # nobody, still stamped


@pytest.mark.model
@pytest.mark.parametrize(
    ("second_ms", "match"),
    [
        pytest.param(100, "got 100 ms after 100 ms", id="equal"),
        pytest.param(40, "got 40 ms after 100 ms", id="earlier"),
    ],
)
def test_timestamps_must_increase(
    backend: MediaPipeTasksBackend, second_ms: int, match: str
) -> None:
    image = np.full((64, 64, 3), 90, np.uint8)
    backend.detect(image, 100)
    with pytest.raises(ValueError, match=match):
        backend.detect(image, second_ms)
    assert len(backend.detect(image, 101)) == 0  # still usable afterwards


@pytest.mark.model
def test_closed_backend_refuses(backend: MediaPipeTasksBackend) -> None:
    backend.close()
    backend.close()
    with pytest.raises(BackendError, match="closed"):
        backend.detect(np.zeros((8, 8, 3), np.uint8), 1)


@pytest.mark.model
@pytest.mark.slow
def test_shared_video_detection_rate(backend: MediaPipeTasksBackend) -> None:
    video = shared_data_path("video", "bicep_curl_side.mp4")
    found = 0
    total = 0
    with open_source(video) as source:
        for frame in source:
            poses = backend.detect(frame.image_bgr, frame.timestamp_ms)
            total += 1
            if len(poses):
                found += 1
                sh, hip = (
                    poses[0].xyz[Joint.LEFT_SHOULDER],
                    poses[0].xyz[Joint.LEFT_HIP],
                )
                assert sh[1] < hip[1], f"frame {frame.index}: shoulder below hip"
    assert total == source.frame_count
    assert found / total >= _MIN_DETECTION_RATE, f"pose in {found}/{total} frames"
