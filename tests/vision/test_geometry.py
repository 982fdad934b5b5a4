"""vision/geometry.py: validating wrappers, smoother state, skeleton conversion."""

from __future__ import annotations

import numpy as np
import numpy.testing as npt
import pytest

from tests import naive
from vision import config, geometry
from vision.types import PoseFrame, Poses, PoseWindow, Skeleton

KNEE = [("left_hip", "left_knee", "left_ankle")]


def _frame_with_knee(angle_deg: float, timestamp_ms: int = 0) -> PoseFrame:
    xyz = np.full((33, 3), 0.5, np.float32)
    s = Skeleton.BLAZEPOSE_33
    rad = np.radians(angle_deg)
    xyz[s.index("left_knee")] = (0.5, 0.5, 0.0)
    xyz[s.index("left_hip")] = (0.5, 0.3, 0.0)
    xyz[s.index("left_ankle")] = (0.5 + 0.2 * np.sin(rad), 0.5 - 0.2 * np.cos(rad), 0.0)
    return PoseFrame(xyz, np.ones(33, np.float32), timestamp_ms)


@pytest.mark.parametrize("angle_deg", [30.0, 90.0, 135.0, 179.0])
def test_joint_angles_of_a_frame_and_a_window(angle_deg):
    triples = geometry.angle_triples(Skeleton.BLAZEPOSE_33, KNEE)
    frame = _frame_with_knee(angle_deg)
    npt.assert_allclose(geometry.joint_angles(frame, triples), [angle_deg], atol=0.01)
    window = PoseWindow.from_frames([frame, _frame_with_knee(angle_deg, 33)])
    assert geometry.joint_angles(window, triples).shape == (2, 1)


@pytest.mark.parametrize(
    ("triples", "error", "match"),
    [
        pytest.param(
            [("left_hip", "left_knee")],
            ValueError,
            "needs 3 joint names",
            id="two-names",
        ),
        pytest.param(
            [("left_hip", "knee", "left_ankle")],
            KeyError,
            "unknown joint 'knee'",
            id="unknown-name",
        ),
    ],
)
def test_angle_triples_errors(triples, error, match):
    with pytest.raises(error, match=match):
        geometry.angle_triples(Skeleton.BLAZEPOSE_33, triples)


def test_joint_angles_array_rejects_bad_input():
    triples = geometry.angle_triples(Skeleton.BLAZEPOSE_33, KNEE)
    with pytest.raises(ValueError, match=r"xyz must be \(T, J, 3\)"):
        geometry.joint_angles_array(
            np.zeros((5, 33, 2), np.float32), np.ones((5, 33), np.float32), triples
        )
    with pytest.raises(ValueError, match=r"triples must index joints 0..32"):
        geometry.joint_angles_array(
            np.zeros((5, 33, 3), np.float32),
            np.ones((5, 33), np.float32),
            np.array([[0, 1, 40]], np.int64),
        )
    with pytest.raises(ValueError, match=r"triples must be \(K, 3\) int64"):
        geometry.joint_angles_array(
            np.zeros((5, 33, 3), np.float32),
            np.ones((5, 33), np.float32),
            np.array([[0, 1, 2]], np.int32),
        )


def test_min_visibility_follows_config(monkeypatch):
    triples = geometry.angle_triples(Skeleton.BLAZEPOSE_33, KNEE)
    frame = _frame_with_knee(90.0)
    vis = frame.visibility.copy()
    vis[:] = 0.4
    dim = PoseFrame(frame.xyz, vis, 0)
    assert np.isnan(geometry.joint_angles(dim, triples)).all()
    monkeypatch.setattr(config, "MIN_VISIBILITY", 0.3)
    npt.assert_allclose(geometry.joint_angles(dim, triples), [90.0], atol=0.01)
    config._reset()
    assert config.MIN_VISIBILITY == 0.5


def test_smoother_matches_naive_and_rejects_time_going_back():
    rng = np.random.default_rng(1)
    ts = np.arange(20, dtype=np.int64) * 33
    xyz = (0.5 + rng.normal(0, 0.02, (20, 33, 3))).astype(np.float32)
    smoother = geometry.OneEuroSmoother()
    got = np.stack(
        [
            smoother.update(PoseFrame(xyz[i], np.ones(33, np.float32), int(ts[i]))).xyz
            for i in range(20)
        ]
    )
    expected = naive.one_euro(
        xyz,
        ts,
        config.ONE_EURO_MIN_CUTOFF_HZ,
        config.ONE_EURO_BETA,
        config.ONE_EURO_D_CUTOFF_HZ,
    )
    npt.assert_allclose(got, expected, atol=2e-5)
    with pytest.raises(
        ValueError, match="timestamps must increase: got 600 ms after 627 ms"
    ):
        smoother.update(PoseFrame(xyz[0], np.ones(33, np.float32), 600))
    with pytest.raises(ValueError, match="smoother is for blazepose_33, got a coco_17"):
        smoother.update(PoseFrame.missing(10_000, Skeleton.COCO_17))


def test_kinematics_equals_smoother_then_angles():
    triples = geometry.angle_triples(Skeleton.BLAZEPOSE_33, KNEE)
    kin = geometry.Kinematics(Skeleton.BLAZEPOSE_33, triples)
    smoother = geometry.OneEuroSmoother()
    for i, angle in enumerate([170.0, 150.0, 120.0, 95.0, 120.0]):
        frame = _frame_with_knee(angle, i * 33)
        smoothed, angles = kin.update_with_angles(frame)
        alone = smoother.update(frame)
        npt.assert_array_equal(smoothed.xyz, alone.xyz)
        npt.assert_allclose(angles, geometry.joint_angles(alone, triples), atol=1e-4)
    missing_smoothed, missing_angles = kin.update_with_angles(PoseFrame.missing(1000))
    assert missing_smoothed.is_missing and np.isnan(missing_angles).all()


def test_convert_openpose_to_blazepose_and_back_by_name():
    src = PoseFrame(
        np.arange(18 * 3, dtype=np.float32).reshape(18, 3),
        np.linspace(0.1, 1.0, 18, dtype=np.float32),
        7,
        Skeleton.OPENPOSE_18,
    )
    blaze = geometry.convert_skeleton(src, Skeleton.BLAZEPOSE_33)
    op, bp = Skeleton.OPENPOSE_18, Skeleton.BLAZEPOSE_33
    npt.assert_array_equal(
        blaze.xyz[bp.index("left_knee")], src.xyz[op.index("left_knee")]
    )
    assert np.isnan(blaze.xyz[bp.index("left_heel")]).all()
    assert blaze.visibility[bp.index("left_heel")] == 0
    back = geometry.convert_skeleton(blaze, Skeleton.OPENPOSE_18)
    expected_neck = (
        src.xyz[op.index("left_shoulder")] + src.xyz[op.index("right_shoulder")]
    ) / 2
    npt.assert_allclose(back.xyz[op.index("neck")], expected_neck)
    npt.assert_array_equal(
        back.xyz[op.index("right_wrist")], src.xyz[op.index("right_wrist")]
    )


def test_warm_up_compiles_every_kernel():
    geometry.warm_up()
    from vision import kernels

    for name in ("_joint_angles", "_one_euro_step", "_smooth_and_angles"):
        assert getattr(kernels, name).signatures, name


def test_isotropic_scales_x_and_z_by_the_aspect() -> None:
    """Normalised x is a fraction of the width: times width / height, one unit is as
    long across as down; z (in x's scale, as BlazePose gives it) follows x."""
    from tests.factories import make_frame

    wide = 16 / 9
    frame = make_frame(7, view="side", knee_deg=100.0, aspect=wide)
    square = geometry.isotropic(frame)
    assert square.aspect_wh == 1.0 and square.timestamp_ms == 7
    # The same person on a square picture, shifted right by the wider picture's half.
    same = make_frame(7, view="side", knee_deg=100.0).xyz
    npt.assert_allclose(
        square.xyz, same + np.array([0.5 * wide - 0.5, 0, 0]), atol=1e-5
    )
    npt.assert_array_equal(square.visibility, frame.visibility)
    assert geometry.isotropic(square) is square  # idempotent
    poses = Poses.from_frames([frame, frame], 7)
    npt.assert_allclose(geometry.isotropic(poses).xyz[1], square.xyz)
    assert geometry.isotropic(poses).aspect_wh == 1.0
    window = PoseWindow.from_frames([frame])
    npt.assert_allclose(geometry.isotropic(window).xyz[0], square.xyz)
    assert geometry.isotropic(window).aspect_wh == 1.0


def test_filters_keep_the_aspect() -> None:
    frame = PoseFrame(
        _frame_with_knee(90.0).xyz, np.ones(33, np.float32), 0, aspect_wh=1.5
    )
    triples = geometry.angle_triples(Skeleton.BLAZEPOSE_33, KNEE)
    assert geometry.OneEuroSmoother().update(frame).aspect_wh == 1.5
    smoothed, _ = geometry.Kinematics(
        Skeleton.BLAZEPOSE_33, triples
    ).update_with_angles(frame)
    assert smoothed.aspect_wh == 1.5
    assert geometry.convert_skeleton(frame, Skeleton.COCO_17).aspect_wh == 1.5
