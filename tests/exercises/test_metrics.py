"""exercises.metrics: the closed registry, on frames posed by joint angles."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from exercises.metrics import (
    METRICS,
    VIEWS,
    Body,
    compute_metric,
    detect_view,
    in_frame_mask,
)
from tests.factories import make_frame
from vision.types import PoseFrame, Skeleton

TOL_DEG = 1.0
TOL_RATIO = 0.03


def test_registry_is_documented() -> None:
    assert len(METRICS) >= 15
    for name, m in METRICS.items():
        assert m.name == name
        assert m.unit in ("deg", "ratio")
        assert m.view in VIEWS
        assert m.description and m.joints
        assert name.endswith("_deg") == (m.unit == "deg")


@pytest.mark.parametrize("name", sorted(METRICS))
def test_every_metric_is_nan_without_a_person(name: str) -> None:
    assert math.isnan(compute_metric(name, PoseFrame.missing(0)))


@pytest.mark.parametrize("name", sorted(METRICS))
def test_every_metric_is_finite_or_nan_on_a_standing_person(name: str) -> None:
    for view in ("front", "side"):
        value = compute_metric(name, make_frame(view=view))
        assert math.isnan(value) or math.isfinite(value)


# Poses that between them exercise every metric: a metric that is NaN on all those
# meant for its view measures nothing (a wrong joint name, a broken formula).
_POSES: list[dict[str, Any]] = [
    {"view": "front"},
    {"view": "side"},
    {"view": "side", "posture": "prone"},
    {"view": "front", "shoulder_deg": 90.0},
    {"view": "side", "knee_deg": 90.0, "hip_deg": 90.0},
    {"view": "front", "left_knee_deg": 90.0, "left_hip_deg": 90.0},
]


@pytest.mark.parametrize("name", sorted(METRICS))
def test_every_metric_measures_a_person_in_its_view(name: str) -> None:
    view = METRICS[name].view
    poses = [p for p in _POSES if view in ("any", p["view"])]
    assert poses
    values = [compute_metric(name, make_frame(**p)) for p in poses]
    assert any(math.isfinite(v) for v in values), (name, values)


# (metric, frame arguments, expected value, tolerance)
VALUES: list[Any] = [
    pytest.param("trunk_lean_deg", {"view": "side"}, 0.0, TOL_DEG, id="upright"),
    pytest.param(
        "trunk_lean_deg",
        {"view": "side", "trunk_pitch_deg": 30.0},
        30.0,
        TOL_DEG,
        id="lean-30",
    ),
    pytest.param(
        "trunk_lean_deg",
        {"view": "side", "posture": "prone"},
        80.0,
        TOL_DEG,
        id="prone",
    ),
    pytest.param(
        "trunk_forward_deg",
        {"view": "side", "trunk_pitch_deg": 20.0},
        20.0,
        TOL_DEG,
        id="forward-right",
    ),
    pytest.param(
        "trunk_forward_deg",
        {"view": "side", "facing": -1, "trunk_pitch_deg": 20.0},
        20.0,
        TOL_DEG,
        id="forward-facing-left",
    ),
    pytest.param(
        "trunk_forward_deg",
        {"view": "side", "trunk_pitch_deg": -15.0},
        -15.0,
        TOL_DEG,
        id="leaning-back",
    ),
    pytest.param(
        "elbow_drift_deg",
        {"view": "side", "shoulder_deg": 40.0},
        40.0,
        TOL_DEG,
        id="elbow-drift",
    ),
    pytest.param(
        "elbow_drift_deg",
        {"view": "side", "left_shoulder_deg": 50.0},
        50.0,
        TOL_DEG,
        id="elbow-drift-worse-side",
    ),
    pytest.param(
        "elbow_drift_deg",
        {"view": "side", "left_shoulder_deg": 50.0, "_side": "right"},
        10.0,
        TOL_DEG,
        id="elbow-drift-one-side",
    ),
    pytest.param(
        "upper_arm_forward_deg",
        {"view": "side", "arm_plane": "sagittal", "shoulder_deg": 30.0},
        30.0,
        TOL_DEG,
        id="upper-arm-forward",
    ),
    pytest.param(
        "upper_arm_forward_deg",
        {"view": "side", "facing": -1, "arm_plane": "sagittal", "shoulder_deg": 30.0},
        30.0,
        TOL_DEG,
        id="upper-arm-forward-facing-left",
    ),
    # Against gravity, not the trunk: leaning back 12 deg brings a 15-deg arm to 27.
    pytest.param(
        "upper_arm_forward_deg",
        {
            "view": "side",
            "arm_plane": "sagittal",
            "shoulder_deg": 15.0,
            "trunk_pitch_deg": -12.0,
        },
        27.0,
        TOL_DEG,
        id="upper-arm-forward-leaning-back",
    ),
    pytest.param(
        "upper_arm_forward_deg",
        {"view": "side", "arm_plane": "sagittal", "trunk_pitch_deg": 20.0},
        -10.0,
        TOL_DEG,
        id="upper-arm-behind-leaning-forward",
    ),
    pytest.param(
        "body_line_deg",
        {"view": "side", "posture": "prone", "hip_deg": 160.0},
        20.0,
        TOL_DEG,
        id="body-line",
    ),
    pytest.param(
        "hip_sag_deg",
        {"view": "side", "posture": "prone", "hip_deg": 160.0, "neck_deg": 0.0},
        None,
        None,
        id="hip-sag-sign",
    ),
    pytest.param(
        "hip_height_ratio", {"view": "side"}, 2.0, TOL_RATIO, id="standing-side"
    ),
    pytest.param(
        "hip_height_ratio", {"view": "front"}, 2.0, TOL_RATIO, id="standing-front"
    ),
    pytest.param(
        "hip_height_ratio",
        {"view": "side", "posture": "seated"},
        1.0,
        TOL_RATIO,
        id="seated",
    ),
    pytest.param(
        "hip_height_ratio",
        {"view": "front", "posture": "seated"},
        1.0,
        TOL_RATIO,
        id="seated-front",
    ),
    pytest.param(
        "wrist_height_ratio",
        {"view": "front", "shoulder_deg": 90.0, "elbow_deg": 180.0},
        0.0,
        TOL_RATIO,
        id="arms-level",
    ),
    pytest.param(
        "wrist_height_ratio",
        {"view": "front", "shoulder_deg": 0.0, "elbow_deg": 180.0},
        -(0.186 + 0.146) / 0.29,
        TOL_RATIO,
        id="arms-down",
    ),
    pytest.param(
        "ankle_lift_ratio",
        {"view": "front", "left_knee_deg": 90.0},
        1.0,
        TOL_RATIO,
        id="foot-up",
    ),
    pytest.param("ankle_lift_ratio", {"view": "front"}, 0.0, TOL_RATIO, id="feet-down"),
    pytest.param(
        "knee_lift_ratio",
        {"view": "side", "left_hip_deg": 90.0, "left_knee_deg": 90.0},
        1.0,
        TOL_RATIO,
        id="knee-up",
    ),
    pytest.param("heel_lift_ratio", {"view": "side"}, 0.0, 0.05, id="heels-flat"),
    pytest.param(
        "heel_lift_ratio", {"view": "side", "ankle_deg": 150.0}, 0.6, 0.1, id="tiptoe"
    ),
    pytest.param(
        "arm_symmetry_deg",
        {"view": "front", "left_shoulder_deg": 90.0, "right_shoulder_deg": 60.0},
        30.0,
        TOL_DEG,
        id="asymmetry",
    ),
    pytest.param(
        "stance_width_ratio",
        {"view": "front", "hip_abd_deg": 20.0},
        None,
        None,
        id="stance-wider",
    ),
    pytest.param(
        "shoulder_tilt_deg",
        {"view": "front", "trunk_roll_deg": 12.0},
        12.0,
        TOL_DEG,
        id="shoulder-tilt",
    ),
    pytest.param("hip_tilt_deg", {"view": "front"}, 0.0, TOL_DEG, id="hips-level"),
    pytest.param(
        "knee_valgus_ratio",
        {"view": "front", "hip_abd_deg": 10.0},
        None,
        None,
        id="valgus-grows",
    ),
    pytest.param(
        "neck_flexion_deg",
        {"view": "side", "neck_deg": 60.0},
        None,
        None,
        id="neck-flexion-grows",
    ),
]


@pytest.mark.parametrize(("name", "kwargs", "expected", "tol"), VALUES)
def test_metric_values(
    name: str, kwargs: dict[str, Any], expected: float | None, tol: float | None
) -> None:
    kwargs = dict(kwargs)
    side = kwargs.pop("_side", None)
    value = compute_metric(name, make_frame(**kwargs), side)
    if expected is not None:
        assert value == pytest.approx(expected, abs=tol)
        return
    # Qualitative cases: compare with the neutral pose.
    if name == "hip_sag_deg":  # the magnitude; the sign has its own test
        assert abs(value) == pytest.approx(20.0, abs=TOL_DEG)
    elif name == "stance_width_ratio":
        assert value > compute_metric(name, make_frame(view="front")) + 0.5
    elif name == "knee_valgus_ratio":
        caved = compute_metric(
            name, make_frame(view="front", hip_abd_deg=10.0, knee_in=0.05)
        )
        assert value == pytest.approx(0.0, abs=0.02)  # straight legs, however wide
        assert caved == pytest.approx(0.05 / 0.14, abs=0.03)  # 0.05 H in, hips 0.14 H
    elif name == "neck_flexion_deg":
        assert value > compute_metric(name, make_frame(view="side")) + 20.0


def test_hip_sag_sign_follows_the_face() -> None:
    # A straight plank with the hips moved toward the floor (image down, where the face
    # points) or away from it: opposite signs, whichever way the person faces.
    sk = Skeleton.BLAZEPOSE_33
    for facing in (1, -1):
        plank = make_frame(view="side", facing=facing, posture="prone", hip_deg=180.0)
        assert compute_metric("hip_sag_deg", plank) == pytest.approx(0.0, abs=TOL_DEG)
        for shift, sign in ((0.04, 1.0), (-0.04, -1.0)):
            xyz = plank.xyz.copy()
            for n in ("left_hip", "right_hip"):
                xyz[sk.index(n), 1] += shift
            moved = PoseFrame(xyz, plank.visibility, 0)
            assert compute_metric("hip_sag_deg", moved) * sign > 5.0


@pytest.mark.parametrize(("facing", "far"), [(1, "right"), (-1, "left")])
def test_a_side_metric_reads_the_nearer_side_when_both_are_as_visible(
    facing: int, far: str
) -> None:
    """A straight plank seen from either side, both sides reported fully visible, the
    far hip put 0.06 higher (a guessed, hidden joint): the body line is read on the
    side nearer the camera (smaller z), straight. Visibility alone read the left
    side, the far one when the person faces left (26 deg)."""
    sk = Skeleton.BLAZEPOSE_33
    plank = make_frame(
        view="side", facing=facing, posture="prone", hip_deg=180.0, far_visibility=1.0
    )
    xyz = plank.xyz.copy()
    xyz[sk.index(f"{far}_hip"), 1] -= 0.06
    guessed = PoseFrame(xyz, plank.visibility, 0)
    assert compute_metric("body_line_deg", guessed) == pytest.approx(0.0, abs=TOL_DEG)


def test_knee_over_toe_judges_the_front_leg() -> None:
    # A lunge: the front knee over the ankle, the back knee far ahead of its toes.
    frame = make_frame(
        view="side",
        left_knee_deg=90.0,
        left_hip_deg=95.0,
        right_knee_deg=90.0,
        shin_pitch_deg=0.0,
    )
    assert compute_metric("knee_over_toe_ratio", frame) < 0.1
    pushed = make_frame(
        view="side",
        left_knee_deg=90.0,
        left_hip_deg=95.0,
        right_knee_deg=90.0,
        shin_pitch_deg=60.0,
    )
    assert compute_metric("knee_over_toe_ratio", pushed) > 0.3


@pytest.mark.parametrize(
    ("name", "hidden"),
    [
        pytest.param(
            "trunk_lean_deg",
            ("left_shoulder", "right_shoulder"),
            id="trunk-no-shoulders",
        ),
        pytest.param(
            "hip_height_ratio", ("left_knee", "right_knee"), id="hip-height-no-knees"
        ),
        pytest.param(
            "knee_valgus_ratio", ("left_ankle", "right_ankle"), id="valgus-no-ankles"
        ),
        pytest.param(
            "wrist_height_ratio", ("left_wrist", "right_wrist"), id="no-wrists"
        ),
        pytest.param(
            "trunk_forward_deg", ("nose", "left_heel", "right_heel"), id="no-facing"
        ),
    ],
)
def test_missing_joints_give_nan(name: str, hidden: tuple[str, ...]) -> None:
    view = "side" if METRICS[name].view == "side" else "front"
    assert not math.isnan(compute_metric(name, make_frame(view=view)))
    assert math.isnan(compute_metric(name, make_frame(view=view, hidden=hidden)))


def test_low_visibility_counts_as_missing() -> None:
    frame = make_frame(view="front")
    vis = frame.visibility.copy()
    vis[:] = 0.2
    faint = PoseFrame(frame.xyz, vis, 0)
    assert math.isnan(compute_metric("trunk_lean_deg", faint))
    assert not math.isnan(
        compute_metric("trunk_lean_deg", Body(faint, min_visibility=0.1))
    )


def test_one_visible_side_is_enough_for_midpoints() -> None:
    frame = make_frame(
        view="side", trunk_pitch_deg=25.0, hidden=("right_shoulder", "right_hip")
    )
    assert compute_metric("trunk_lean_deg", frame) == pytest.approx(25.0, abs=TOL_DEG)


def test_metrics_are_invariant_to_distance_and_position() -> None:
    near = make_frame(view="side", knee_deg=100.0, hip_deg=90.0, height=0.8)
    far = make_frame(
        view="side", knee_deg=100.0, hip_deg=90.0, height=0.4, center_x=0.3
    )
    for name in (
        "hip_height_ratio",
        "trunk_lean_deg",
        "wrist_height_ratio",
        "elbow_drift_deg",
        "upper_arm_forward_deg",
    ):
        assert compute_metric(name, far) == pytest.approx(
            compute_metric(name, near), abs=1e-3
        )


def test_works_on_other_skeletons() -> None:
    frame = make_frame(view="side", trunk_pitch_deg=20.0, skeleton=Skeleton.OPENPOSE_18)
    assert compute_metric("trunk_lean_deg", frame) == pytest.approx(20.0, abs=TOL_DEG)
    # OpenPose has no heels or toes.
    assert math.isnan(compute_metric("heel_lift_ratio", frame))


def test_compute_metric_errors() -> None:
    with pytest.raises(
        KeyError,
        match="unknown metric 'knee_angle'; valid metrics: knee_valgus_ratio, ",
    ):
        compute_metric("knee_angle", make_frame())
    with pytest.raises(
        ValueError, match="side must be 'left', 'right' or None, got 'both'"
    ):
        compute_metric("trunk_lean_deg", make_frame(), "both")


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({"view": "front"}, "front", id="front"),
        pytest.param({"view": "side"}, "side", id="side"),
        pytest.param(
            {"view": "side", "hidden": ("right_shoulder",)}, "side", id="one-shoulder"
        ),
        pytest.param(
            {"view": "front", "hidden": ("left_hip", "right_hip")}, None, id="no-hips"
        ),
    ],
)
def test_detect_view(kwargs: dict[str, Any], expected: str | None) -> None:
    assert detect_view(make_frame(**kwargs)) == expected


def test_detect_view_oblique() -> None:
    frame = make_frame(view="front")
    xyz = frame.xyz.copy()
    sk = Skeleton.BLAZEPOSE_33
    mid = (xyz[sk.index("left_shoulder"), 0] + xyz[sk.index("right_shoulder"), 0]) / 2
    for n in ("left_shoulder", "right_shoulder"):
        xyz[sk.index(n), 0] = mid + (xyz[sk.index(n), 0] - mid) * 0.5
    assert detect_view(PoseFrame(xyz, frame.visibility, 0)) == "oblique"
    assert np.isfinite(xyz).all()


@pytest.mark.parametrize(
    "hidden",
    [
        pytest.param((), id="whole-body"),
        pytest.param(("right_shoulder", "right_hip"), id="one-side"),
        pytest.param(("left_shoulder", "right_shoulder"), id="no-shoulders"),
    ],
)
def test_body_answers_again_what_it_answered_first(hidden: tuple[str, ...]) -> None:
    """A Body works each point and length out once: asked again (and after every
    metric), it gives what a fresh Body gives."""
    frame = make_frame(view="side", trunk_pitch_deg=20.0, hidden=hidden)
    body = Body(frame)
    for name in METRICS:
        compute_metric(name, body)
    fresh = Body(frame)
    for part in ("shoulder", "hip", "ear", "knee"):
        got, expected = body.mid(part), fresh.mid(part)
        assert (got is None) == (expected is None)
        if expected is not None:
            assert got is not None and got.tolist() == expected.tolist()
    got_torso, expected_torso = body.torso_length(), fresh.torso_length()
    assert got_torso == expected_torso or math.isnan(got_torso) == math.isnan(
        expected_torso
    )
    assert [compute_metric(n, body) for n in METRICS] == pytest.approx(
        [compute_metric(n, Body(frame)) for n in METRICS], nan_ok=True, abs=0
    )


def test_in_frame_mask_keeps_the_margin_and_drops_missing_points() -> None:
    edge = 1.02
    xy = np.array(
        [
            [0.5, 0.5],
            [-0.02, edge],
            [-0.0201, 0.5],
            [0.5, 1.0201],
            [math.nan, 0.5],
            [0.5, math.inf],
            [-math.inf, 0.2],
            [1.0, 0.0],
        ]
    )
    inside = [True, True, False, False, False, False, False, True]
    assert in_frame_mask(xy).tolist() == inside
