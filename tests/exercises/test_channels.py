"""exercises/channels.py: angles on the right side, the best side's switching, short
segments, and the side a rep is credited to."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from exercises.channels import Channels, sees
from exercises.metrics import Body
from tests.exercises.test_session import knee_spec
from tests.factories import make_frame
from vision.geometry import joint_angles
from vision.types import PoseFrame, Skeleton


def channels(spec: Any = None, skeleton: Skeleton = Skeleton.BLAZEPOSE_33) -> Channels:
    return Channels(
        spec or knee_spec(), skeleton, min_segment=0.15, side_switch_margin=0.15
    )


def feed(c: Channels, frame: PoseFrame, may_switch: bool = True) -> dict[str, float]:
    raw = joint_angles(frame, c.triples)
    c.update_side(frame, raw, may_switch)
    values, _ = c.values(raw, Body(frame))
    return values


def test_the_best_side_is_the_visible_one_and_switches_between_reps() -> None:
    c = channels()
    assert c.side is None and c.has_best
    facing_right = make_frame(0, view="side", knee_deg=100.0, far_visibility=0.6)
    values = feed(c, facing_right)
    assert c.side == "left" and values["knee"] == pytest.approx(100.0, abs=0.5)
    turned = make_frame(0, view="side", knee_deg=120.0, facing=-1, far_visibility=0.6)
    feed(c, turned, may_switch=False)  # a rep under way: the side stays
    assert c.side == "left"
    feed(c, turned, may_switch=True)
    assert c.side == "right"
    # A side whose angles are lost gives way at once, rep or not.
    lost = make_frame(0, view="side", facing=-1, hidden=["right_knee"])
    feed(c, lost, may_switch=False)
    assert c.side == "left"


def test_with_both_sides_as_visible_the_side_nearer_the_camera_is_best() -> None:
    """Landmarks that report every joint alike (files without visibility, a model
    sure of both sides): the side nearer the camera (smaller z) is the one it sees.
    A turn takes over between reps once the other side has been nearer for a while,
    not on one frame. (Visibility alone kept the left side in every case.)"""
    facing_left = make_frame(0, view="side", facing=-1, far_visibility=1.0)
    fresh = channels()
    feed(fresh, facing_left)
    assert fresh.side == "right"

    c = channels()
    feed(c, make_frame(0, view="side", knee_deg=100.0, far_visibility=1.0))
    assert c.side == "left"
    turned = make_frame(0, view="side", knee_deg=120.0, facing=-1, far_visibility=1.0)
    feed(c, turned, may_switch=True)
    assert c.side == "left"  # one frame is not enough
    for _ in range(30):
        feed(c, turned, may_switch=False)  # a rep under way: the side stays
    assert c.side == "left"
    values = feed(c, turned, may_switch=True)
    assert c.side == "right" and values["knee"] == pytest.approx(120.0, abs=0.5)


def test_min_and_max_angles_take_a_side_per_frame() -> None:
    spec = knee_spec(
        angles={
            "knee": {"joints": ["hip", "knee", "ankle"], "side": "min"},
            "elbow": {"joints": ["shoulder", "elbow", "wrist"], "side": "both"},
        },
    )
    c = channels(spec)
    frame = make_frame(0, view="side", left_knee_deg=150.0, right_knee_deg=100.0)
    raw = joint_angles(frame, c.triples)
    values, active = c.values(raw, Body(frame))
    assert values["knee"] == pytest.approx(100.0, abs=0.5) and active == "right"
    assert c.trace_side(active) == "right"
    assert (
        c.rep_side(np.array([[150.0, 0.0], [95.0, 0.0]], np.float32), ["left", "right"])
        == "right"
    )
    assert c.metric_side is None  # no best side: metrics combine both


def test_an_angle_with_a_segment_too_short_is_nan() -> None:
    c = channels(
        knee_spec(angles={"knee": {"joints": ["hip", "knee", "ankle"], "side": "left"}})
    )
    frame = make_frame(0, view="side", knee_deg=100.0)
    xyz = frame.xyz.copy()
    s = Skeleton.BLAZEPOSE_33
    xyz[s.index("left_ankle")] = xyz[s.index("left_knee")] + [0.005, 0.005, 0.0]
    short = PoseFrame(xyz, frame.visibility, 0)
    assert not math.isnan(feed(c, frame)["knee"])
    assert math.isnan(feed(c, short)["knee"])


def test_joints_a_skeleton_lacks_are_listed() -> None:
    spec = knee_spec(
        angles={
            "knee": {"joints": ["hip", "knee", "ankle"], "side": "best"},
            "ankle": {"joints": ["knee", "ankle", "foot_index"], "side": "best"},
        }
    )
    c = channels(spec, Skeleton.COCO_17)
    assert sorted(c.missing_joints) == ["left_foot_index", "right_foot_index"]
    assert c.triples.shape == (0, 3)


@pytest.mark.parametrize(
    ("key", "view", "strict", "seen"),
    [
        pytest.param("knee_valgus_ratio", "front", True, True, id="own-view"),
        pytest.param("knee_valgus_ratio", "side", False, False, id="other-view"),
        pytest.param("knee_valgus_ratio", "oblique", False, True, id="oblique-scores"),
        pytest.param("knee_valgus_ratio", "oblique", True, False, id="oblique-no-cue"),
        pytest.param("trunk_lean_deg", "side", True, True, id="any-view-metric"),
        pytest.param("knee", None, True, True, id="angle-any-view"),
    ],
)
def test_sees(key: str, view: str | None, strict: bool, seen: bool) -> None:
    assert sees(knee_spec(), key, view, strict=strict) is seen
