"""vision/types.py: validation messages, missing frames, skeleton name lookups."""

from __future__ import annotations

from contextlib import nullcontext as does_not_raise

import numpy as np
import pytest

from vision.types import (
    BlazePoseJoint,
    CocoJoint,
    OpenPoseJoint,
    PoseFrame,
    Poses,
    PoseWindow,
    Skeleton,
)


@pytest.mark.parametrize(
    ("xyz", "visibility", "timestamp_ms", "expectation"),
    [
        pytest.param(
            np.zeros((33, 3), np.float32),
            np.ones(33, np.float32),
            0,
            does_not_raise(),
            id="valid",
        ),
        pytest.param(
            np.zeros((17, 2), np.float64),
            np.ones(33, np.float32),
            0,
            pytest.raises(
                ValueError,
                match=r"xyz must be \(33, 3\) float32, "
                r"got \(17, 2\) float64",
            ),
            id="wrong-shape-dtype",
        ),
        pytest.param(
            np.zeros((33, 3), np.float32),
            np.ones(33, np.float64),
            0,
            pytest.raises(ValueError, match=r"visibility must be \(33,\) float32"),
            id="visibility-dtype",
        ),
        pytest.param(
            [[0.0] * 3] * 33,
            np.ones(33, np.float32),
            0,
            pytest.raises(TypeError, match="numpy array, got list"),
            id="list",
        ),
        pytest.param(
            np.zeros((33, 3), np.float32),
            np.ones(33, np.float32),
            1.5,
            pytest.raises(TypeError, match="timestamp_ms must be an int"),
            id="float-timestamp",
        ),
    ],
)
def test_pose_frame_validation(xyz, visibility, timestamp_ms, expectation):
    with expectation:
        PoseFrame(xyz, visibility, timestamp_ms)


@pytest.mark.parametrize("skeleton", list(Skeleton), ids=lambda s: s.value)
def test_missing_frame_is_all_nan_with_zero_visibility(skeleton):
    frame = PoseFrame.missing(42, skeleton)
    assert frame.is_missing and frame.timestamp_ms == 42
    assert frame.xyz.shape == (skeleton.num_joints, 3)
    assert np.isnan(frame.xyz).all() and not frame.visibility.any()


@pytest.mark.parametrize(
    ("skeleton", "enum", "count"),
    [
        pytest.param(Skeleton.BLAZEPOSE_33, BlazePoseJoint, 33, id="blazepose"),
        pytest.param(Skeleton.COCO_17, CocoJoint, 17, id="coco"),
        pytest.param(Skeleton.OPENPOSE_18, OpenPoseJoint, 18, id="openpose"),
    ],
)
def test_skeleton_names_and_enums_agree(skeleton, enum, count):
    assert skeleton.num_joints == count == len(enum)
    for member in enum:
        assert skeleton.index(member.name.lower()) == int(member)
    for a, b in skeleton.bones:
        assert 0 <= a < count and 0 <= b < count and a != b
    # Every skeleton has the limbs that downstream templates name.
    for name in (
        "left_shoulder",
        "left_elbow",
        "left_wrist",
        "left_hip",
        "left_knee",
        "left_ankle",
        "right_knee",
    ):
        assert skeleton.has(name)


def test_unknown_joint_lists_valid_names():
    with pytest.raises(KeyError, match=r"unknown joint 'left_kne'.*valid joints: nose"):
        Skeleton.COCO_17.index("left_kne")


def test_openpose_layout_matches_pose_trainer_order():
    # Order documented in ../shared/data/README.md for posetrainer-dev.
    assert Skeleton.OPENPOSE_18.index("neck") == 1
    assert Skeleton.OPENPOSE_18.index("right_wrist") == 4
    assert Skeleton.OPENPOSE_18.index("left_ankle") == 13
    assert Skeleton.OPENPOSE_18.index("left_ear") == 17


def test_poses_round_trip_and_validation():
    frames = [
        PoseFrame(np.full((33, 3), i, np.float32), np.ones(33, np.float32), 5)
        for i in range(3)
    ]
    poses = Poses.from_frames(frames, 5, scores=[0.9, 0.8, 0.7])
    assert len(poses) == 3 and (poses.track_ids == -1).all()
    assert poses[2].xyz[0, 0] == 2 and poses[2].timestamp_ms == 5
    assert len(Poses.empty(0)) == 0
    with pytest.raises(ValueError, match=r"visibility must be \(2, 33\) float32"):
        Poses(
            np.zeros((2, 33, 3), np.float32),
            np.zeros((3, 33), np.float32),
            np.zeros(2, np.int64),
            np.zeros(2, np.float32),
            0,
        )


def test_pose_window_stacks_frames_in_order():
    frames = [PoseFrame.missing(t) for t in (0, 33, 66)]
    window = PoseWindow.from_frames(frames)
    assert len(window) == 3 and window.xyz.flags.c_contiguous
    assert window.timestamp_ms.tolist() == [0, 33, 66]
    assert window[1].timestamp_ms == 33
    with pytest.raises(ValueError, match="at least one frame"):
        PoseWindow.from_frames([])
