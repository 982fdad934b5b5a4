"""vision/backends/blazepose/regions.py: detector tiles and the merge of regions."""

from __future__ import annotations

from contextlib import nullcontext as does_not_raise
from typing import Any

import numpy as np
import numpy.testing as npt
import pytest

from vision.backends import blazepose as ob


@pytest.mark.parametrize(
    ("image_wh", "min_height", "expected_side"),
    [
        pytest.param((1280, 720), 0.2, 360, id="720p"),
        pytest.param((640, 480), 0.2, 240, id="vga"),
        pytest.param((720, 1280), 0.2, 640, id="portrait"),
        pytest.param((1280, 720), 0.1, 180, id="smaller-people-smaller-tiles"),
    ],
)
def test_tiles_hold_the_smallest_person_wherever_they_stand(
    image_wh: tuple[int, int], min_height: float, expected_side: int
) -> None:
    tiles = ob.tile_grid(image_wh, min_height)
    w, h = image_wh
    sides = tiles[:, 2:] - tiles[:, :2]
    assert (sides == expected_side).all(), sides
    assert tiles[:, :2].min() == 0 and tiles[:, 2].max() == w and tiles[:, 3].max() == h
    # Any box of the smallest person (height min_height*H, width half that) lies
    # entirely inside at least one tile, and the person fills >= the reliable share.
    ph = round(min_height * h)
    pw = ph // 2
    assert ph / expected_side >= ob.DETECTOR_RELIABLE_FRACTION - 1e-9
    for x in range(0, w - pw + 1, max(1, (w - pw) // 37)):
        for y in range(0, h - ph + 1, max(1, (h - ph) // 23)):
            inside = (
                (tiles[:, 0] <= x)
                & (tiles[:, 1] <= y)
                & (tiles[:, 2] >= x + pw)
                & (tiles[:, 3] >= y + ph)
            )
            assert inside.any(), (x, y)


def test_no_tiles_when_the_whole_frame_suffices() -> None:
    # 0.5 of 480 px = 240 px >= 0.4 * 640: the letterboxed frame shows them big enough.
    assert ob.tile_grid((640, 480), 0.6).shape == (0, 4)


@pytest.mark.parametrize(
    ("args", "expectation"),
    [
        pytest.param(((640, 480), 0.2), does_not_raise(), id="ok"),
        pytest.param(((0, 480), 0.2), pytest.raises(ValueError), id="empty-image"),
        pytest.param(((640, 480), 0.0), pytest.raises(ValueError), id="zero-height"),
        pytest.param(((640, 480), 1.5), pytest.raises(ValueError), id="over-one"),
    ],
)
def test_tile_grid_validates(args: tuple[Any, ...], expectation: Any) -> None:
    with expectation:
        ob.tile_grid(*args)


def test_region_batch_matches_single_letterbox() -> None:
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (300, 500, 3), dtype=np.uint8)
    tile = [100, 50, 340, 290]
    tensor, transforms = ob.preprocess_detector_regions(image, [[0, 0, 500, 300], tile])
    whole, whole_t = ob.preprocess_detector(image)
    npt.assert_allclose(tensor[0], whole[0], atol=1e-6)
    npt.assert_allclose(transforms[0], whole_t)
    crop = np.ascontiguousarray(image[50:290, 100:340])
    alone, _ = ob.preprocess_detector(crop)
    # Same samples; only the border differs (the crop has no pixels beyond its edge
    # to interpolate with) and rounding in the warp (one grey level, 1/127.5).
    npt.assert_allclose(tensor[1, :, 2:-2, 2:-2], alone[0, :, 2:-2, 2:-2], atol=0.008)
    # Tensor corners map to the region's corners.
    corners = ob.apply_transform(transforms[1], [[0, 0], [224, 224]])
    npt.assert_allclose(corners, [[100, 50], [340, 290]], atol=1e-9)


def _raw_for(dets_tensor: list[tuple[float, list[float]]]) -> tuple[np.ndarray, ...]:
    """Detector outputs (A, 12), (A,) with one hit per (logit, [cx, cy, w, h, kp0x,
    kp0y, kp1x, kp1y, ...]) given in tensor-normalised coordinates."""
    anchors = ob.generate_anchors()
    boxes = np.zeros((anchors.shape[0], 12), np.float32)
    logits = np.full(anchors.shape[0], -20.0, np.float32)
    for logit, values in dets_tensor:
        cx, cy = values[0], values[1]
        a = int(np.argmin(np.hypot(anchors[:, 0] - cx, anchors[:, 1] - cy)))
        row = np.zeros(12, np.float32)
        row[:4] = values[:4]
        row[4 : 4 + len(values) - 4] = values[4:]
        row[[0, 4, 6, 8, 10]] -= anchors[a, 0]
        row[[1, 5, 7, 9, 11]] -= anchors[a, 1]
        boxes[a] = row * 224
        logits[a] = logit
    return boxes, logits


def _person(cx: float, cy: float, s: float) -> list[float]:
    """Face box at (cx, cy), hips s below, scale point s further (tensor coords)."""
    return [cx, cy, 0.1, 0.1, cx, cy + s, cx, cy, cx, cy + s / 2, cx, cy]


def test_one_person_in_two_regions_is_one_detection() -> None:
    image_wh = (448, 224)
    regions = np.array([[0, 0, 448, 224], [0, 0, 224, 224]], np.float64)
    _, transforms = ob.preprocess_detector_regions(
        np.zeros((224, 448, 3), np.uint8), regions
    )
    # A person at image px (112, 60): tensor coords differ per region.
    whole = _raw_for([(3.0, _person(112 / 448, (60 + 112) / 448, 0.15))])
    tile = _raw_for([(4.0, _person(112 / 224, 60 / 224, 0.3))])
    outputs = (
        np.stack([whole[0], tile[0]])[:, :, :],
        np.stack([whole[1], tile[1]])[:, :, None],
    )
    dets = ob.postprocess_detector_batch(
        outputs, transforms, regions, ob.generate_anchors(), image_wh, min_score=0.5
    )
    assert len(dets) == 1
    npt.assert_allclose(dets.keypoints_xy[0, 0], [112, 60 + 67.2], atol=1.0)


def test_detection_with_hips_far_outside_its_tile_is_dropped() -> None:
    image_wh = (448, 224)
    regions = np.array([[0, 0, 112, 112]], np.float64)
    _, transforms = ob.preprocess_detector_regions(
        np.zeros((224, 448, 3), np.uint8), regions
    )
    near = _person(0.5, 0.2, 0.3)  # hips inside the tile
    far = _person(0.9, 0.5, 1.5)  # hips 1.5 tile sides below: a scrap at the edge
    raw = _raw_for([(4.0, near), (4.0, far)])
    dets = ob.postprocess_detector_batch(
        (raw[0][None], raw[1][None, :, None]),
        transforms,
        regions,
        ob.generate_anchors(),
        image_wh,
        min_score=0.5,
    )
    assert len(dets) == 1
    assert dets.keypoints_xy[0, 0, 1] < 112
