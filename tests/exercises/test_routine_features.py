"""exercises.routine_features: invariance to the picture, mirrors, missing joints."""

from __future__ import annotations

import numpy as np
import pytest

from exercises.routine import get_routine
from exercises.routine_features import (
    FEATURE_NAMES,
    FEATURES,
    FeatureTracker,
    feature_column,
    mirror_features,
    mirror_index,
    mirror_joints,
)
from tests.routine_performance import frames_of
from vision.geometry import convert_skeleton
from vision.types import COCO_JOINT_NAMES, PoseFrame, Skeleton

RTOL, ATOL = 1e-4, 1e-3  # float32 image coordinates


def _poses() -> list[np.ndarray]:
    """Every key pose of the Baduanjin (torso units, feet at the origin)."""
    return [
        k.array().astype(np.float64)
        for s in get_routine("baduanjin").sections
        for k in s.key_poses
    ]


def _features(frames: list[PoseFrame], aspect: float) -> np.ndarray:
    tracker = FeatureTracker(aspect, smooth=False)
    return np.stack([tracker.update(f) for f in frames])


@pytest.mark.parametrize(
    ("aspect", "torso"),
    [
        pytest.param(16 / 9, 0.22, id="landscape"),
        pytest.param(9 / 16, 0.22, id="portrait"),
        pytest.param(1.0, 0.1, id="far-away"),
    ],
)
def test_the_picture_does_not_change_the_features(aspect: float, torso: float) -> None:
    poses = _poses()
    square = _features(frames_of(poses, 10.0, 1.0), 1.0)
    other = _features(frames_of(poses, 10.0, aspect, torso=torso), aspect)
    np.testing.assert_allclose(other, square, rtol=RTOL, atol=ATOL)


def test_the_other_side_mirrors_the_features() -> None:
    poses = _poses()
    direct = _features(frames_of(poses, 10.0, 1.0), 1.0)
    mirrored = _features(frames_of([mirror_joints(p) for p in poses], 10.0, 1.0), 1.0)
    np.testing.assert_allclose(
        mirrored, mirror_features(direct, FEATURE_NAMES), rtol=RTOL, atol=ATOL
    )
    np.testing.assert_array_equal(
        mirror_features(mirror_features(direct, FEATURE_NAMES), FEATURE_NAMES), direct
    )


def test_mirror_needs_the_pair() -> None:
    with pytest.raises(
        KeyError, match="feature 'wrist_out_left' needs its mirror 'wrist_out_right'"
    ):
        mirror_index(("wrist_out_left", "head_turn"))
    idx, sign = mirror_index(("head_turn", "head_height"))
    assert idx.tolist() == [0, 1]
    assert sign.tolist() == [-1.0, 1.0]


def test_every_feature_has_a_registered_mirror() -> None:
    for f in FEATURES.values():
        assert FEATURES[f.mirror].mirror == f.name
        assert f.unit in ("torso", "deg")


def test_blazepose_and_coco_frames_give_the_same_features() -> None:
    coco = frames_of(_poses()[:5], 10.0, 1.0)
    blaze = [convert_skeleton(f, Skeleton.BLAZEPOSE_33) for f in coco]
    # BlazePose rows that COCO lacks are NaN with visibility 0: unused by features
    np.testing.assert_array_equal(_features(blaze, 1.0), _features(coco, 1.0))


def test_missing_joints_are_nan_where_used() -> None:
    frame = frames_of(_poses()[:1], 10.0, 1.0)[0]
    vis = frame.visibility.copy()
    vis[COCO_JOINT_NAMES.index("left_wrist")] = 0.2  # below the visibility threshold
    hidden = PoseFrame(frame.xyz, vis, frame.timestamp_ms, Skeleton.COCO_17)
    out = FeatureTracker(1.0, smooth=False).update(hidden)
    nan = {n for n in FEATURE_NAMES if np.isnan(out[feature_column(n)])}
    assert nan == {"wrist_height_left", "wrist_out_left", "elbow_angle_left"}
    empty = FeatureTracker(1.0).update(PoseFrame.missing(0, Skeleton.COCO_17))
    assert np.isnan(empty).all()


def test_bad_aspect() -> None:
    with pytest.raises(ValueError, match="image_aspect must be > 0, got 0"):
        FeatureTracker(0.0)
