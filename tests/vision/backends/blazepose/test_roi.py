"""vision/backends/blazepose/roi.py: ROIs, crop affines, rect association."""

from __future__ import annotations

import math

import numpy as np
import numpy.testing as npt
import pytest

from vision.backends import blazepose as ob


@pytest.mark.parametrize(
    ("a", "b", "iou"),
    [
        pytest.param([0, 0, 2, 2], [0, 0, 2, 2], 1.0, id="same"),
        pytest.param([0, 0, 2, 2], [1, 0, 3, 2], 1 / 3, id="half-overlap"),
        pytest.param([0, 0, 1, 1], [2, 2, 3, 3], 0.0, id="disjoint"),
        pytest.param([0, 0, 1, 1], [1, 0, 2, 1], 0.0, id="touching"),
        pytest.param([0, 0, 0, 0], [0, 0, 0, 0], 0.0, id="degenerate"),
    ],
)
def test_box_iou(a: list[float], b: list[float], iou: float) -> None:
    got = ob.box_iou([a], [b])
    assert got.shape == (1, 1)
    assert got[0, 0] == pytest.approx(iou)


@pytest.mark.parametrize(
    ("scale_point", "rotation"),
    [
        pytest.param((100, 60), 0.0, id="up-upright"),
        pytest.param((140, 100), math.pi / 2, id="right"),
        pytest.param((60, 100), -math.pi / 2, id="left"),
        pytest.param((100, 140), -math.pi, id="down-upside-down"),
        pytest.param((140, 60), math.pi / 4, id="up-right"),
    ],
)
def test_rois_from_alignment_points(
    scale_point: tuple[int, int], rotation: float
) -> None:
    roi = ob.rois_from_alignment_points([[100, 100]], [scale_point])
    assert roi.shape == (1, 4)
    dist = math.dist((100, 100), scale_point)
    npt.assert_allclose(roi[0], [100, 100, 2 * dist * 1.25, rotation], atol=1e-9)


@pytest.mark.parametrize("rotation", [0.0, 0.3, math.pi / 2, -2.5], ids=str)
def test_roi_crop_transform_maps_corners_and_centre(rotation: float) -> None:
    roi = np.array([[300.0, 200.0, 128.0, rotation]])
    t = ob.roi_crop_transform(roi, 256)[0]
    centre = ob.apply_transform(t, [128, 128])
    npt.assert_allclose(centre, [300, 200], atol=1e-9)
    # Crop "up" (towards v = 0) is the ROI direction at angle `rotation` from image up.
    top = ob.apply_transform(t, [128, 0])
    npt.assert_allclose(
        top, [300 + 64 * math.sin(rotation), 200 - 64 * math.cos(rotation)], atol=1e-9
    )
    corners = ob.apply_transform(t, [[0, 0], [256, 0], [256, 256], [0, 256]])
    sides = np.linalg.norm(np.diff(np.vstack([corners, corners[:1]]), axis=0), axis=1)
    npt.assert_allclose(sides, 128, atol=1e-9)


def test_letterbox_transform() -> None:
    t = ob.letterbox_transform((640, 480), 224)
    npt.assert_allclose(ob.apply_transform(t, [0, 0]), [0, -80])
    npt.assert_allclose(ob.apply_transform(t, [224, 224]), [640, 560])
    t = ob.letterbox_transform((300, 600), 224)
    npt.assert_allclose(ob.apply_transform(t, [112, 112]), [150, 300])


def test_dedupe_rois() -> None:
    rois = [[100, 100, 80, 0], [105, 98, 82, 0.1], [300, 100, 80, 0]]
    keep = ob.dedupe_rois(rois, [0.6, 0.9, 0.7])
    npt.assert_array_equal(keep, [1, 2])


@pytest.mark.parametrize(
    ("tracked", "detected", "expected"),
    [
        pytest.param([], [], [], id="empty"),
        pytest.param([[0, 0, 10, 0]], [], [[0, 0, 10, 0]], id="only-tracked"),
        pytest.param(
            [[0, 0, 10, 0.0]],
            [[1, 0, 10, 0.5]],
            [[1, 0, 10, 0.5]],
            id="detection-replaces-overlapping-track",
        ),
        pytest.param(
            [[0, 0, 10, 0], [50, 0, 10, 0]],
            [[51, 1, 10, 0], [100, 0, 10, 0]],
            [[0, 0, 10, 0], [51, 1, 10, 0], [100, 0, 10, 0]],
            id="tracked-first-then-detections",
        ),
        pytest.param(
            [],
            [[0, 0, 10, 0], [1, 0, 10, 0]],
            [[1, 0, 10, 0]],
            id="later-wins-in-stream",
        ),
    ],
)
def test_associate_rois(
    tracked: list[list[float]], detected: list[list[float]], expected: list[list[float]]
) -> None:
    got = ob.associate_rois(tracked, detected)
    assert got.shape == (len(expected), 4)
    npt.assert_allclose(got, np.asarray(expected, np.float64).reshape(-1, 4))
