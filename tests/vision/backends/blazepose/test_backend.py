"""vision/backends/blazepose/backend.py: `OnnxBackend` on the real models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.testing as npt
import pytest

from tests.conftest import needs_onnx_models, shared_video_frames
from vision.backends import blazepose as ob
from vision.backends.base import BackendError
from vision.types import Joint, Poses

VIDEO = ("video", "bicep_curl_side.mp4")
MIN_VIDEO_DETECTION_RATE = 0.95


def _grace_hopper() -> np.ndarray:
    """matplotlib's sample photo (public domain portrait), read from the package."""
    import cv2
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    if not path.is_file():
        pytest.skip(f"matplotlib sample image absent: {path}")
    image = cv2.imread(str(path))
    assert image is not None, f"cv2 could not read {path}"
    return image


def _video_frames(step: int = 1) -> tuple[list[np.ndarray], float]:
    frames, fps = shared_video_frames(*VIDEO)
    return frames[::step], fps / step


@pytest.fixture(scope="module")
def backend():
    with ob.OnnxBackend(ob.OnnxOptions()) as b:
        yield b


def _y(poses: Poses, joint: Any) -> float:
    return float(poses.xyz[0, joint, 1])


@pytest.mark.model
@needs_onnx_models
def test_portrait_landmarks_land_on_the_person(backend: ob.OnnxBackend) -> None:
    backend.reset()
    poses = backend.detect(_grace_hopper(), 1)
    assert len(poses) == 1, f"expected one person, got {len(poses)}"
    assert poses.aspect_wh == pytest.approx(512 / 600)  # the portrait's width/height
    assert poses.scores[0] > 0.9, f"presence {poses.scores[0]}"
    nose = poses.xyz[0, Joint.NOSE, :2]
    # The face is in the upper middle of the 512x600 portrait.
    assert 0.4 < nose[0] < 0.65 and 0.25 < nose[1] < 0.5, f"nose at {nose}"
    ls, rs = poses.xyz[0, Joint.LEFT_SHOULDER], poses.xyz[0, Joint.RIGHT_SHOULDER]
    # She faces the camera: her left shoulder is on the image's right.
    assert ls[0] > nose[0] > rs[0], f"shoulders {ls[0]}, {rs[0]} around nose {nose[0]}"
    assert (
        _y(poses, Joint.NOSE)
        < _y(poses, Joint.LEFT_SHOULDER)
        < _y(poses, Joint.LEFT_HIP)
    )
    for eye in (Joint.LEFT_EYE, Joint.RIGHT_EYE):
        assert abs(poses.xyz[0, eye, 1] - nose[1]) < 0.08, "eyes far from the nose"
    assert poses.visibility[0, Joint.NOSE] > 0.9


@pytest.mark.model
@needs_onnx_models
@pytest.mark.parametrize(
    "image",
    [
        pytest.param(np.zeros((480, 640, 3), np.uint8), id="black"),
        pytest.param(np.full((300, 300, 3), 127, np.uint8), id="grey"),
        pytest.param(
            np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8),
            id="noise",
        ),
    ],
)
def test_no_person_gives_no_pose(backend: ob.OnnxBackend, image: np.ndarray) -> None:
    backend.reset()
    assert len(backend.detect_people(image)) == 0
    poses = backend.detect(image, 1)
    assert len(poses) == 0, f"expected no pose, got scores {poses.scores}"


@pytest.mark.model
@needs_onnx_models
def test_detector_alone_finds_the_portrait(backend: ob.OnnxBackend) -> None:
    image = _grace_hopper()
    dets = backend.detect_people(image)
    assert len(dets) == 1, f"expected 1 detection, got {len(dets)}"
    hips, _, shoulders, _ = dets.keypoints_xy[0]
    assert shoulders[1] < hips[1], f"shoulders {shoulders} not above hips {hips}"
    assert 0 < shoulders[0] < image.shape[1]


@pytest.mark.model
@needs_onnx_models
def test_batch_of_three_equals_three_single_calls(backend: ob.OnnxBackend) -> None:
    image = _grace_hopper()
    dets = backend.detect_people(image)
    base = ob.rois_from_alignment_points(
        dets.keypoints_xy[:, 0], dets.keypoints_xy[:, 1]
    )
    shifts = np.array([[0, 0, 0, 0], [15, -10, 20, 0.2], [-20, 5, -30, -0.3]])
    rois = base + shifts
    batch = backend.landmarks(image, rois)
    assert len(batch) == 3
    for i in range(3):
        single = backend.landmarks(image, rois[i : i + 1])
        npt.assert_allclose(batch.xyz[i], single.xyz[0], atol=1e-5)
        npt.assert_allclose(batch.visibility[i], single.visibility[0], atol=1e-5)
        npt.assert_allclose(batch.presence[i], single.presence[0], atol=1e-5)
    # Different crops really give (slightly) different answers.
    assert not np.allclose(batch.xyz[0], batch.xyz[1], atol=1e-4)


@pytest.mark.model
@needs_onnx_models
@pytest.mark.parametrize("tracking", [True, False], ids=["tracking", "detect-each"])
def test_video_detection_rate_and_plausibility(tracking: bool) -> None:
    frames, fps = _video_frames()
    found = 0
    with ob.OnnxBackend(ob.OnnxOptions(tracking=tracking)) as b:
        for i, frame in enumerate(frames):
            poses = b.detect(frame, round(i * 1000 / fps) + 1)
            if not len(poses):
                continue
            found += 1
            xy = poses.xyz[0, :, :2]
            assert _y(poses, Joint.NOSE) < _y(poses, Joint.LEFT_HIP), f"frame {i}"
            assert _y(poses, Joint.LEFT_SHOULDER) < _y(poses, Joint.LEFT_KNEE)
            torso = [Joint.LEFT_SHOULDER, Joint.RIGHT_SHOULDER, Joint.LEFT_HIP]
            assert ((xy[torso] > -0.05) & (xy[torso] < 1.05)).all(), (
                f"frame {i}: {xy[torso]}"
            )
        runs = b.detector_runs
    rate = found / len(frames)
    assert rate >= MIN_VIDEO_DETECTION_RATE, f"pose in {found}/{len(frames)} frames"
    if tracking:
        assert runs < len(frames) / 4, f"tracking ran the detector {runs} times"
    else:
        assert runs == len(frames)


@pytest.mark.model
@needs_onnx_models
def test_timestamps_must_increase_and_close_is_final() -> None:
    image = np.zeros((64, 64, 3), np.uint8)
    b = ob.OnnxBackend()
    b.detect(image, 10)
    with pytest.raises(
        ValueError, match=r"timestamps must increase .* got 10 ms after 10 ms"
    ):
        b.detect(image, 10)
    b.close()
    b.close()
    with pytest.raises(BackendError, match="closed"):
        b.detect(image, 11)


@pytest.mark.model
@needs_onnx_models
def test_cuda_unavailable_is_a_clear_error() -> None:
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("CUDA execution provider present")
    with pytest.raises(BackendError, match=r"CUDAExecutionProvider.*onnxruntime-gpu"):
        ob.OnnxBackend(ob.OnnxOptions(provider="cuda"))
