"""Drawing skeletons and writing annotated videos."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vision.annotate import AnnotatedVideoWriter, AnnotateError, draw_poses
from vision.types import Joint, PoseFrame, Poses

W, H = 200, 100


def _frame(points: dict[int, tuple[float, float]], vis: float = 1.0) -> PoseFrame:
    xyz = np.full((33, 3), np.nan, np.float32)
    visibility = np.zeros(33, np.float32)
    for j, (x, y) in points.items():
        xyz[j] = (x, y, 0.0)
        visibility[j] = vis
    return PoseFrame(xyz, visibility, 0)


def _drawn(image: np.ndarray) -> np.ndarray:
    return image.any(axis=2)


def test_bone_between_visible_joints() -> None:
    frame = _frame({Joint.LEFT_SHOULDER: (0.2, 0.5), Joint.LEFT_ELBOW: (0.8, 0.5)})
    image = np.zeros((H, W, 3), np.uint8)
    out = draw_poses(image, frame, thickness=1)

    assert out is image
    drawn = _drawn(image)
    # The bone runs along y = 50 from x = 40 to x = 160; nothing far from it.
    assert drawn[50, 60:140].all()
    assert not drawn[:40].any() and not drawn[60:].any()
    assert not drawn[:, :35].any() and not drawn[:, 166:].any()
    # Joints are white dots, bones coloured.
    assert tuple(image[50, 40]) == (255, 255, 255)
    assert image[50, 100, 1] > 0 and image[50, 100, 0] != image[50, 100, 1]


@pytest.mark.parametrize(
    ("points", "vis", "min_visibility", "expect_any"),
    [
        pytest.param({}, 1.0, 0.5, False, id="all-missing"),
        pytest.param(
            {Joint.LEFT_SHOULDER: (0.2, 0.5), Joint.LEFT_ELBOW: (0.8, 0.5)},
            0.3,
            0.5,
            False,
            id="below-visibility",
        ),
        pytest.param(
            {Joint.LEFT_SHOULDER: (0.2, 0.5), Joint.LEFT_ELBOW: (0.8, 0.5)},
            0.3,
            0.2,
            True,
            id="threshold-lowered",
        ),
        pytest.param({Joint.NOSE: (0.5, 0.5)}, 1.0, 0.5, True, id="lone-joint-dot"),
        pytest.param(
            {Joint.LEFT_SHOULDER: (0.5, 0.7), Joint.LEFT_HIP: (0.5, 1.5)},
            1.0,
            0.5,
            True,
            id="partly-below-image",
        ),
        pytest.param(
            {Joint.LEFT_SHOULDER: (50.0, -40.0), Joint.LEFT_ELBOW: (-30.0, 90.0)},
            1.0,
            0.5,
            False,
            id="far-off-image",
        ),
    ],
)
def test_what_gets_drawn(
    points: dict[int, tuple[float, float]],
    vis: float,
    min_visibility: float,
    expect_any: bool,
) -> None:
    image = np.zeros((H, W, 3), np.uint8)
    draw_poses(image, _frame(points, vis), min_visibility=min_visibility)
    assert _drawn(image).any() == expect_any


def test_several_people_in_different_colours() -> None:
    a = _frame({Joint.LEFT_HIP: (0.1, 0.2), Joint.LEFT_KNEE: (0.4, 0.2)})
    b = _frame({Joint.LEFT_HIP: (0.6, 0.8), Joint.LEFT_KNEE: (0.9, 0.8)})
    image = np.zeros((H, W, 3), np.uint8)
    draw_poses(image, Poses.from_frames([a, b], 0), thickness=1)
    assert tuple(image[20, 50]) != tuple(image[80, 150])
    assert image[20, 50].any() and image[80, 150].any()


@pytest.mark.parametrize(
    "image",
    [
        pytest.param(np.zeros((H, W), np.uint8), id="grey"),
        pytest.param(np.zeros((H, W, 3), np.float32), id="float"),
        pytest.param(np.zeros((H, W, 3), np.uint8)[:, ::2], id="strided"),
    ],
)
def test_rejects_bad_images(image: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"\(H, W, 3\) uint8 C-contiguous"):
        draw_poses(image, PoseFrame.missing(0))


@pytest.mark.parametrize(
    ("name", "fps"),
    [pytest.param("out.mp4", 25.0, id="mp4"), pytest.param("out.avi", 10.0, id="avi")],
)
def test_writer_round_trip(tmp_path: Path, name: str, fps: float) -> None:
    path = tmp_path / name
    with AnnotatedVideoWriter(path, fps) as writer:
        for i in range(5):
            writer.write(np.full((48, 64, 3), 40 * i, np.uint8))
        writer.write(np.zeros((24, 32, 3), np.uint8))  # another size: resized
    assert writer.frames_written == 6
    capture = cv2.VideoCapture(str(path))
    try:
        assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 6
        assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(fps)
        means = []
        while True:
            ok, image = capture.read()
            if not ok:
                break
            assert image.shape == (48, 64, 3)
            means.append(image.mean())
    finally:
        capture.release()
    assert len(means) == 6
    assert np.allclose(means[:5], [0, 40, 80, 120, 160], atol=6)


@pytest.mark.parametrize(
    ("name", "fps", "match"),
    [
        pytest.param("out.gif", 25.0, "ending in .mp4", id="suffix"),
        pytest.param("missing/out.mp4", 25.0, "existing folder", id="folder"),
        pytest.param("out.mp4", 0.0, "fps > 0", id="fps"),
    ],
)
def test_writer_rejects(tmp_path: Path, name: str, fps: float, match: str) -> None:
    with pytest.raises(AnnotateError, match=match):
        AnnotatedVideoWriter(tmp_path / name, fps)
