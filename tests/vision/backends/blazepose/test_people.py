"""vision/backends/blazepose/people.py: one fit per person."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.testing as npt

from tests.factories import make_frame
from vision.backends import blazepose as ob


def _px(frame: Any, wh: tuple[int, int] = (1280, 720)) -> np.ndarray:
    return frame.xyz[:, :2] * np.asarray(wh, np.float32)


def _stack(*frames: Any) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.stack([_px(f) for f in frames]),
        np.stack([f.visibility for f in frames]),
    )


ASPECT = 16 / 9


def test_keypoint_similarity_separates_people_not_jitter() -> None:
    a = make_frame(0, center_x=0.4, height=0.6, aspect=ASPECT)
    jitter = make_frame(0, center_x=0.4, height=0.6, aspect=ASPECT, noise=0.004, seed=1)
    # make_frame's center_x offsets are in frame heights: 0.15 = 108 px, about a
    # shoulder width of a 432-px person: the neighbour stands shoulder to shoulder.
    neighbour = make_frame(0, center_x=0.55, height=0.6, aspect=ASPECT)
    xy, vis = _stack(a, jitter, neighbour)
    sim = ob.keypoint_similarity(xy, vis, xy, vis)
    npt.assert_allclose(np.diag(sim), 1.0)
    assert sim[0, 1] > 0.7
    assert sim[0, 2] < 0.1
    npt.assert_allclose(sim, sim.T, atol=1e-12)
    assert ob.keypoint_similarity(xy[:0], vis[:0], xy, vis).shape == (0, 3)


def test_shoulder_to_shoulder_people_are_two_duplicates_are_one() -> None:
    # Shoulders touching (centres 101 px apart, shoulder width ~95 px): two people.
    left = make_frame(0, center_x=0.43, height=0.6, aspect=ASPECT, shoulder_deg=40)
    right = make_frame(0, center_x=0.57, height=0.6, aspect=ASPECT)
    dup = make_frame(0, center_x=0.432, height=0.61, aspect=ASPECT, noise=0.003, seed=2)
    xy, vis = _stack(left, right, dup)
    keep = ob.select_distinct_poses(xy, vis, np.array([0.9, 0.95, 0.99]))
    assert keep.tolist() == [2, 1]  # the better of the two fits on the left person
    same = ob.same_person(xy, vis)
    assert same.tolist() == [
        [True, False, True],
        [False, True, False],
        [True, False, True],
    ]


def test_collapsed_fit_on_someones_trunk_is_a_duplicate() -> None:
    body = make_frame(0, center_x=0.5, height=0.7, aspect=ASPECT)
    # A small fit whose trunk lies on the chest of the first (what a crop at the
    # wrong scale produces): different joints, same trunk.
    small = make_frame(0, center_x=0.5, height=0.25, floor_y=0.55, aspect=ASPECT)
    xy, vis = _stack(body, small)
    assert ob.keypoint_similarity(xy, vis, xy, vis)[0, 1] < ob.DUPLICATE_SIMILARITY
    assert ob.torso_containment(xy)[0, 1] > ob.TORSO_CONTAINMENT
    # The part ranks at half its score: the whole person's fit is kept even when the
    # part's presence is higher; a part scoring over twice as high would win.
    assert ob.part_of_another(xy, vis).tolist() == [False, True]
    assert ob.select_distinct_poses(xy, vis, np.array([0.9, 1.0])).tolist() == [0]
    assert ob.select_distinct_poses(xy, vis, np.array([0.4, 1.0])).tolist() == [1]


def test_fit_along_someones_arm_is_a_part_of_them() -> None:
    body = make_frame(0, center_x=0.5, height=0.7, aspect=ASPECT, shoulder_deg=90)
    xy_body = _px(body)
    shoulder, wrist = xy_body[11], xy_body[15]  # the left arm, held out sideways
    # A "pose" whose joints are strung along that arm (what a crop on an arm gives).
    t = np.linspace(0, 1, 33)[:, None]
    along = shoulder + t * (wrist - shoulder) + np.array([0, 2.0]) * np.sin(9 * t)
    xy = np.stack([xy_body, along])
    vis = np.ones((2, 33), np.float32)
    on = ob.skeleton_overlap(xy, vis)
    assert on[1, 0] == 1.0 and on[0, 1] < 0.3
    assert ob.part_of_another(xy, vis).tolist() == [False, True]
    assert ob.same_person(xy, vis)[0, 1]
    # A neighbour within reach of the outstretched arm: a few joints touch it, far
    # from "lying on" each other.
    other = _px(make_frame(0, center_x=0.7, height=0.7, aspect=ASPECT))
    apart = ob.skeleton_overlap(np.stack([xy_body, other]), vis)
    assert apart.max(initial=0, where=~np.eye(2, dtype=bool)) < ob.SKELETON_OVERLAP / 2
    assert not ob.same_person(np.stack([xy_body, other]), vis)[0, 1]


def test_plausibility_scores_collapsed_proportions_low() -> None:
    body = _px(make_frame(0, center_x=0.5, height=0.7, aspect=ASPECT))
    collapsed = body.copy()
    collapsed[0] = (body[11] + body[12]) / 2 + np.array([0, -3.0])  # nose on shoulders
    stretched = body.copy()
    stretched[0] = (body[11] + body[12]) / 2 + (body[0] - (body[11] + body[12]) / 2) * 4
    score = ob.pose_plausibility(np.stack([body, collapsed, stretched]))
    assert score[0] > 0.8
    assert score[1] < 0.05 and score[2] < 0.05
    missing = body.copy()
    missing[0] = np.nan
    assert ob.pose_plausibility(missing[None])[0] == 1.0
    npt.assert_allclose(
        ob.torso_lengths(body[None]),
        np.hypot(*((body[11] + body[12]) / 2 - (body[23] + body[24]) / 2)),
    )
