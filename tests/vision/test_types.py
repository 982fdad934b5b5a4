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
    aspect_from_wh,
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


@pytest.mark.parametrize("skeleton", list(Skeleton))
def test_mirror_rows_swap_left_and_right(skeleton):
    names = skeleton.joint_names
    rows = skeleton.mirror_rows
    assert names[rows[names.index("left_wrist")]] == "right_wrist"
    assert names[rows[names.index("right_ankle")]] == "left_ankle"
    assert rows[names.index("nose")] == names.index("nose")
    assert [rows[r] for r in rows] == list(range(len(names)))  # its own inverse
    for name, row in zip(names, rows, strict=True):
        assert names[row].split("_", 1)[-1] == name.split("_", 1)[-1]


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


@pytest.mark.parametrize(
    ("aspect_wh", "expectation"),
    [
        pytest.param(16 / 9, does_not_raise(), id="wide"),
        pytest.param(1, does_not_raise(), id="int"),
        pytest.param(0.0, pytest.raises(ValueError, match=r"got 0\.0"), id="zero"),
        pytest.param(
            -1.0, pytest.raises(ValueError, match=r"got -1\.0"), id="negative"
        ),
        pytest.param(float("inf"), pytest.raises(ValueError), id="infinite"),
        pytest.param(float("nan"), pytest.raises(ValueError), id="nan"),
        pytest.param(True, pytest.raises(ValueError), id="bool"),
        pytest.param("16:9", pytest.raises(ValueError), id="text"),
    ],
)
def test_aspect_is_validated_on_every_pose_type(aspect_wh, expectation):
    j = 33
    with expectation:
        PoseFrame(
            np.zeros((j, 3), np.float32), np.ones(j, np.float32), 0, aspect_wh=aspect_wh
        )
    with expectation:
        Poses.empty(0, aspect_wh=aspect_wh)
    with expectation:
        PoseWindow(
            np.zeros((1, j, 3), np.float32),
            np.ones((1, j), np.float32),
            np.zeros(1, np.int64),
            aspect_wh=aspect_wh,
        )


def test_the_aspect_travels_with_the_poses():
    wide = 16 / 9
    person = PoseFrame(np.zeros((33, 3), np.float32), np.ones(33, np.float32), 5)
    assert person.aspect_wh == 1.0  # unknown
    poses = Poses.from_frames([person, person], 5, aspect_wh=wide)
    assert poses.aspect_wh == wide and poses[1].aspect_wh == wide
    assert Poses.from_frames(poses.frames(), 5).aspect_wh == wide  # the frames'
    assert Poses.from_frames([], 5, aspect_wh=wide).aspect_wh == wide
    assert Poses.from_frames([], 5).aspect_wh == 1.0
    assert PoseFrame.missing(5, aspect_wh=wide).aspect_wh == wide
    # A window takes the aspect of its first frame with a pose: a missing frame
    # (often built without one) has no geometry to go by.
    window = PoseWindow.from_frames([PoseFrame.missing(0), poses[0]])
    assert window.aspect_wh == wide and window[0].aspect_wh == wide
    assert PoseWindow.from_frames([PoseFrame.missing(0)]).aspect_wh == 1.0
    assert PoseWindow.from_frames([poses[0]], aspect_wh=2.0).aspect_wh == 2.0


@pytest.mark.parametrize(
    ("image_wh", "aspect_wh"),
    [
        pytest.param((1280, 720), 16 / 9, id="16:9"),
        pytest.param((480, 640), 0.75, id="portrait"),
        pytest.param((0, 0), 1.0, id="undecoded"),
        pytest.param(None, 1.0, id="unknown"),
        pytest.param((640,), 1.0, id="one-number"),
    ],
)
def test_aspect_from_wh(image_wh, aspect_wh):
    assert aspect_from_wh(image_wh) == pytest.approx(aspect_wh)
