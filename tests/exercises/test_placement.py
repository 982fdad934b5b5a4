"""exercises/placement.py: the verdict of a frame, and its debounced announcement."""

from __future__ import annotations

from typing import Any

import pytest

from exercises.events import Placement, PlacementChanged
from exercises.placement import PLACEMENT_MESSAGES, PlacementGate
from tests.exercises.test_session import knee_spec
from tests.factories import make_frame, make_missing
from vision.types import PoseFrame, Skeleton

ANKLES = ["left_ankle", "right_ankle", "left_heel", "right_heel"]
ANKLES += ["left_foot_index", "right_foot_index"]


def gate(spec: Any = None, debounce_ms: int = 300) -> PlacementGate:
    return PlacementGate(
        spec or knee_spec(),
        Skeleton.BLAZEPOSE_33,
        min_visibility=0.5,
        min_body_size=0.2,
        debounce_ms=debounce_ms,
    )


@pytest.mark.parametrize(
    ("frame", "spec", "side", "verdict", "missing", "key"),
    [
        pytest.param(make_missing(0), None, None, "NOT_VISIBLE", (), "not_visible"),
        pytest.param(make_frame(0, view="side"), None, None, "OK", (), "ok"),
        pytest.param(
            make_frame(0, view="side", hidden=["left_ankle"]),
            None,
            None,
            "OK",  # the right leg is all there
            (),
            "ok",
            id="one-side-enough",
        ),
        pytest.param(
            make_frame(0, view="side", hidden=["left_ankle", "right_knee"]),
            None,
            "right",
            "STEP_BACK",  # legs only: step back; the side in use is named
            ("right_knee",),
            "step_back",
            id="tie-goes-to-the-side-in-use",
        ),
        pytest.param(
            make_frame(0, view="side", hidden=ANKLES),
            None,
            "left",
            "STEP_BACK",
            ("left_ankle",),
            "step_back_feet",
            id="feet",
        ),
        pytest.param(
            make_frame(0, view="side", hidden=["nose", "left_wrist"]),
            knee_spec(required_joints=["knee", "nose", "left_wrist"]),
            None,
            "SHOW_JOINTS",
            ("nose", "left_wrist"),
            "show_body",
            id="head-and-arm",
        ),
        pytest.param(
            make_frame(0, view="side", hidden=["left_wrist"]),
            knee_spec(required_joints=["knee", "left_wrist"]),
            None,
            "SHOW_JOINTS",
            ("left_wrist",),
            "show_arms",
            id="arm",
        ),
        pytest.param(
            make_frame(0, view="side", height=0.12),
            None,
            None,
            "STEP_CLOSER",
            (),
            "step_closer",
            id="far",
        ),
        pytest.param(
            make_frame(0, view="front"),
            None,
            None,
            "TURN_SIDEWAYS",
            (),
            "turn_sideways",
            id="front-for-a-side-template",
        ),
        pytest.param(
            make_frame(0, view="side"),
            knee_spec(view="front"),
            None,
            "FACE_CAMERA",
            (),
            "face_camera",
            id="side-for-a-front-template",
        ),
    ],
)
def test_verdicts(
    frame: PoseFrame,
    spec: Any,
    side: str | None,
    verdict: str,
    missing: tuple[str, ...],
    key: str,
) -> None:
    from exercises.metrics import detect_view

    g = gate(spec)
    assert g.judge(frame, detect_view(frame), side) == (
        Placement[verdict],
        missing,
        key,
    )


def test_the_first_verdict_at_once_then_changes_after_the_debounce() -> None:
    g = gate(debounce_ms=300)
    ok, feetless = make_frame(0, view="side"), make_frame(0, view="side", hidden=ANKLES)
    frames = [ok, feetless, feetless, ok, feetless, feetless, feetless, feetless, ok]
    out = []
    for i, f in enumerate(frames):
        event = g.update(f, "side", "left", i * 100)
        if event is not None:
            out.append((event.timestamp_ms, event.placement.name, event.missing_joints))
    assert out == [
        (0, "OK", ()),
        (700, "STEP_BACK", ("left_ankle",)),  # from 400 ms: the dip at 300 restarted it
    ]
    assert g.placement is Placement.STEP_BACK
    assert g.update(ok, "side", "left", 900) is None  # the change is pending


def test_the_event_says_it_in_both_languages() -> None:
    event = gate().update(make_missing(5), None, None, 5)
    assert event == PlacementChanged(
        5, Placement.NOT_VISIBLE, dict(PLACEMENT_MESSAGES["not_visible"]), ()
    )
    assert all(set(m) == {"en", "zh-CN"} for m in PLACEMENT_MESSAGES.values())


def test_missing_joints_of_another_skeleton_are_listed() -> None:
    g = PlacementGate(
        knee_spec(required_joints=["knee", "left_heel"]),
        Skeleton.COCO_17,
        min_visibility=0.5,
        min_body_size=0.2,
        debounce_ms=0,
    )
    assert g.missing_joints == ("left_heel",)


def test_counting_resumes_at_once_after_a_short_absence_not_after_a_long_one() -> None:
    """A placed frame counts before the verdict is announced when it comes within
    resume_within_ms of the last counted frame (or of the first frame); after a
    longer absence only once the announcement has held. Announced, a dip shorter
    than the debounce keeps counting."""
    g = PlacementGate(
        knee_spec(),
        Skeleton.BLAZEPOSE_33,
        min_visibility=0.5,
        min_body_size=0.2,
        debounce_ms=300,
        resume_within_ms=1000,
    )
    ok, feetless = make_frame(0, view="side"), make_frame(0, view="side", hidden=ANKLES)
    timeline = [(0, make_missing(0)), (100, make_missing(0)), (200, ok), (300, ok)]
    timeline += [(400, feetless), (500, ok), (600, ok), (700, ok), (800, ok)]
    seen = []
    for t, f in timeline:
        g.update(f, "side", "left", t)
        assert g.placement is not None
        seen.append((t, g.placement.name, g.counting))
    assert seen == [
        (0, "NOT_VISIBLE", False),
        (100, "NOT_VISIBLE", False),
        (200, "NOT_VISIBLE", True),  # found 200 ms after the first frame
        (300, "NOT_VISIBLE", True),
        (400, "NOT_VISIBLE", False),  # not placed, not announced
        (500, "NOT_VISIBLE", True),  # 200 ms after the last counted frame
        (600, "NOT_VISIBLE", True),
        (700, "NOT_VISIBLE", True),
        (800, "OK", True),  # OK held 300 ms (from 500): announced
    ]
    g.update(feetless, "side", "left", 900)
    assert g.counting  # announced OK: a dip shorter than the debounce keeps it
    for t in range(1000, 3200, 100):  # away 2.2 s
        g.update(make_missing(0), None, None, t)
    assert g.placement is Placement.NOT_VISIBLE and not g.counting
    g.update(ok, "side", "left", 3200)
    assert not g.counting  # back after more than resume_within_ms: wait for OK
    for t in (3300, 3400, 3500):
        g.update(ok, "side", "left", t)
    assert g.placement is Placement.OK and g.counting


def test_without_resume_within_counting_follows_the_announcement() -> None:
    g = gate(debounce_ms=300)
    g.update(make_missing(0), None, None, 0)
    g.update(make_frame(0, view="side"), "side", "left", 100)
    assert not g.counting
