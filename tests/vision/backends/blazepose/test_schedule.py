"""vision/backends/blazepose/schedule.py: which tiles need a sweep, whose landmarks
are refreshed within a budget, carried poses, frame costs. Pure numpy, no model."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from vision.backends.blazepose import (
    FrameCosts,
    LandmarkResult,
    concat_results,
    extrapolate_xyz,
    joint_boxes,
    joint_motion,
    jumped,
    refresh_mask,
    search_regions,
    trunk_speed,
    trunk_step,
    uncovered_tiles,
)
from vision.backends.blazepose.schedule import MAX_EXTRAPOLATION_FRAMES

TILES = np.array([[0, 0, 100, 100], [100, 0, 200, 100], [0, 100, 100, 200]])


@pytest.mark.parametrize(
    ("boxes", "expected"),
    [
        pytest.param(np.zeros((0, 4)), [0, 1, 2], id="nobody-tracked"),
        pytest.param([[0, 0, 100, 100]], [1, 2], id="first-tile-covered"),
        pytest.param([[0, 0, 100, 50]], [0, 1, 2], id="half-covered-is-open"),
        pytest.param([[0, 0, 100, 64]], [1, 2], id="64-percent-covered"),
        pytest.param([[0, 0, 100, 40], [0, 40, 100, 80]], [1, 2], id="union-of-two"),
        pytest.param([[-50, -50, 300, 300]], [], id="all-covered"),
    ],
)
def test_uncovered_tiles(boxes: Any, expected: list[int]) -> None:
    got = uncovered_tiles(TILES, boxes, (200, 200))
    assert got.tolist() == expected


def test_joint_boxes_use_visible_joints_and_fall_back_to_all() -> None:
    xy = np.array(
        [
            [[10, 20], [30, 40], [500, 500]],
            [[1, 2], [3, 4], [np.nan, np.nan]],
        ],
        np.float64,
    )
    vis = np.array([[1.0, 0.9, 0.1], [0.0, 0.1, 0.0]])
    boxes = joint_boxes(xy, vis)
    np.testing.assert_array_equal(boxes, [[10, 20, 30, 40], [1, 2, 3, 4]])
    assert joint_boxes(np.zeros((0, 33, 2)), np.zeros((0, 33))).shape == (0, 4)


@pytest.mark.parametrize(
    ("stale", "motion", "kwargs", "expected"),
    [
        pytest.param(
            [0, 0, 0],
            [1, 1, 1],
            {"budget": 0, "still_motion": 0, "max_hold": 0},
            [True, True, True],
            id="no-hold-everyone",
        ),
        pytest.param(
            [0, 0, 0, 0],
            [np.inf] * 4,
            {"budget": 2, "still_motion": 0, "max_hold": 1},
            [True, True, False, False],
            id="budget-first-come",
        ),
        pytest.param(
            [1, 1, 0, 0],
            [0.1] * 4,
            {"budget": 2, "still_motion": 0, "max_hold": 1},
            [True, True, False, False],
            id="held-ones-are-due",
        ),
        pytest.param(
            [1, 1, 1, 0],
            [0.1] * 4,
            {"budget": 2, "still_motion": 0, "max_hold": 1},
            [True, True, True, False],
            id="due-exceed-budget",
        ),
        pytest.param(
            [0, 0, 0, 0],
            [0.01, 0.5, 0.2, 0.9],
            {"budget": 2, "still_motion": 0, "max_hold": 2},
            [False, True, False, True],
            id="fastest-first",
        ),
        pytest.param(
            [0, 1, 0],
            [0.001, 0.001, 0.3],
            {"budget": 0, "still_motion": 0.01, "max_hold": 2},
            [False, False, True],
            id="still-held-until-due",
        ),
        pytest.param(
            [2, 1],
            [0.001, 0.001],
            {"budget": 0, "still_motion": 0.01, "max_hold": 2},
            [True, False],
            id="still-but-due",
        ),
    ],
)
def test_refresh_mask(
    stale: list[int], motion: list[float], kwargs: dict[str, Any], expected: list[bool]
) -> None:
    assert refresh_mask(stale, motion, **kwargs).tolist() == expected


def test_refresh_alternates_eight_people_at_a_budget_of_four() -> None:
    stale = np.zeros(8, np.int64)
    counts = []
    for _ in range(6):
        chosen = refresh_mask(
            stale, np.full(8, 0.1), budget=4, still_motion=0, max_hold=1
        )
        counts.append(int(chosen.sum()))
        stale = np.where(chosen, 0, stale + 1)
        assert stale.max() <= 1
    assert counts == [4] * 6


def test_extrapolate_moves_on_and_stops() -> None:
    xyz = np.zeros((2, 3, 3), np.float32)
    v = np.full((2, 3, 3), 0.01, np.float32)
    v[1, 0] = np.nan
    out = extrapolate_xyz(xyz, v, [1, 5])
    np.testing.assert_allclose(out[0], 0.01)
    np.testing.assert_allclose(out[1, 1:], 0.01 * MAX_EXTRAPOLATION_FRAMES)
    np.testing.assert_allclose(out[1, 0], 0.0)  # unknown velocity: stands still


def _result(xyz: np.ndarray) -> LandmarkResult:
    n = xyz.shape[0]
    return LandmarkResult(
        xyz.astype(np.float32), np.ones((n, 39), np.float32), np.ones(n, np.float32)
    )


def test_joint_motion_in_torso_lengths_per_frame() -> None:
    base = np.zeros((1, 39, 3), np.float32)
    base[0, [23, 24], 1] = 0.3  # hips 0.3 below the shoulders: torso 0.3 (x100 px)
    moved = base.copy()
    moved[..., 0] += 0.06  # everyone 6 px right
    m = joint_motion(_result(moved), _result(base), [2], (100, 100))
    np.testing.assert_allclose(m, [0.06 / 0.3 / 2], rtol=1e-5)


def test_concat_results_keeps_order() -> None:
    a = _result(np.zeros((1, 39, 3)))
    b = _result(np.ones((2, 39, 3)))
    c = concat_results([a, b])
    assert len(c) == 3 and c.xyz[0].max() == 0 and c.xyz[1:].min() == 1


def test_frame_costs_fit_the_budget() -> None:
    costs = FrameCosts()
    assert costs.crops_that_fit(60, 0) == 0  # nothing measured yet
    costs.learn({"landmarks": 40.0, "detector": 18.0, "roi": 10.0}, 2, 1)
    assert (costs.crop_ms, costs.region_ms, costs.rest_ms) == (20.0, 18.0, 10.0)
    assert costs.crops_that_fit(60, 0) == 2  # (60 - 10) // 20
    assert costs.crops_that_fit(60, 1) == 1  # (60 - 10 - 18) // 20
    assert costs.crops_that_fit(20, 1) == 1  # at least one
    assert costs.crops_that_fit(0, 0) == 0  # no budget
    costs.learn({"landmarks": 30.0, "detector": 0.0, "roi": 10.0}, 1, 0)
    assert costs.crop_ms == pytest.approx(0.8 * 20 + 0.2 * 30)


def test_trunk_step_moves_every_joint_with_the_trunk() -> None:
    old = np.zeros((1, 39, 3), np.float32)
    new = old.copy()
    new[0, [11, 12, 23, 24], 0] = 0.04  # the body moved 0.04 right in 2 frames
    new[0, 15, 1] = -0.3  # a wrist swung up
    step = trunk_step(new, old, [2])
    np.testing.assert_allclose(step[..., 0], 0.02)
    np.testing.assert_allclose(step[..., 1:], 0.0)
    new[0, [23, 24], 1] = 0.3  # torso 0.3 of a 100 px picture: 30 px
    speed = trunk_speed(trunk_step(new, old, [1]), new, (100, 100))
    np.testing.assert_allclose(speed, [np.hypot(4.0, 15.0) / 30.0], rtol=1e-5)


def test_jumped_on_a_fast_trunk_or_a_scale_change() -> None:
    old = np.zeros((3, 39, 3), np.float32)
    old[:, [23, 24], 1] = 0.3  # torso 30 px in a 100 px picture
    new = old.copy()
    new[0, :, 0] += 0.01  # 1 px: a step
    new[1, :, 0] += 0.2  # 20 px = 0.67 torso lengths in one frame
    new[2, [23, 24], 1] = 0.45  # torso 1.5x longer
    step = trunk_step(new, old, [1, 1, 1])
    assert jumped(new, old, step, (100, 100)).tolist() == [False, True, True]


@pytest.mark.parametrize(
    ("box", "min_side", "expected"),
    [
        # 1.2 x the longer side (100 px) around the centre.
        pytest.param([300, 100, 340, 200], 50, [260, 90, 380, 210], id="scaled"),
        # A small person: a tile's side at the least.
        pytest.param([300, 140, 310, 160], 100, [255, 100, 355, 200], id="tile-side"),
        # At the image's corner: moved inside, not shrunk.
        pytest.param([600, 300, 640, 360], 50, [568, 288, 640, 360], id="corner"),
        # Larger than the image: clipped to it.
        pytest.param([0, 0, 640, 360], 50, [0, 0, 640, 360], id="whole"),
    ],
)
def test_search_regions(
    box: list[float], min_side: float, expected: list[float]
) -> None:
    got = search_regions([box], (640, 360), min_side)
    np.testing.assert_allclose(got, [expected])
    assert search_regions(np.zeros((0, 4)), (640, 360), 50).shape == (0, 4)
