"""The guided posture screen: exact event lists on synthetic standing poses."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest

from exercises.events import Event
from exercises.posture.events import (
    PostureGuidanceChanged,
    PostureHoldProgressed,
    PostureScreenCompleted,
    PostureStepChanged,
    PostureViewCaptured,
)
from exercises.posture.measures import View
from exercises.posture.screen import (
    GUIDANCE_MESSAGES,
    STEP_MESSAGES,
    PostureScreen,
    ScreenOptions,
    ScreenStep,
)
from tests.exercises.posture.factories import standing_frame, standing_frames
from vision.types import PoseFrame

ASPECT = 16 / 9
STEP_MS = 100


def _shape(events: Iterable[Event]) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for e in events:
        if isinstance(e, PostureStepChanged):
            out.append((e.timestamp_ms, "step", e.step))
        elif isinstance(e, PostureGuidanceChanged):
            out.append((e.timestamp_ms, "guidance", e.key, *e.missing_joints))
        elif isinstance(e, PostureViewCaptured):
            out.append((e.timestamp_ms, "captured", e.measurement.view.value))
        elif isinstance(e, PostureScreenCompleted):
            out.append((e.timestamp_ms, "completed", e.assessment.level.value))
        elif not isinstance(e, PostureHoldProgressed):
            raise AssertionError(f"unexpected event {e!r}")
    return out


def _feed(screen: PostureScreen, frames: Iterable[PoseFrame]) -> list[Event]:
    events: list[Event] = []
    for f in frames:
        events += screen.feed(f)
    return events


def _stand(start: int, duration: int, **kw: object) -> list[PoseFrame]:
    return list(standing_frames(start, duration, step_ms=STEP_MS, **kw))


def _screen(**kw: object) -> PostureScreen:
    return PostureScreen(ScreenOptions(aspect_wh=ASPECT, **kw))  # type: ignore[arg-type]


def test_front_then_back_exact_events() -> None:
    screen = _screen()
    frames = [PoseFrame.missing(t) for t in (0, 100, 200)]
    frames += _stand(300, 1100, shoulder_tilt_deg=3.0, pelvic_tilt_deg=-2.0)
    frames += _stand(1400, 600, view="side")
    frames += _stand(2000, 1100, view="back", shoulder_tilt_deg=3.0)
    events = _feed(screen, frames)
    assert _shape(events) == [
        (0, "step", "front"),
        (0, "guidance", "not_visible"),
        (800, "guidance", "ok"),  # in position from 300, announced after 500 ms
        (1300, "captured", "front"),  # 1000 ms steady from 300
        (1300, "step", "back"),
        (1400, "guidance", "turn_back"),
        (2500, "guidance", "ok"),
        (3000, "captured", "back"),
        (3000, "step", "done"),
        (3000, "completed", "borderline"),
    ]
    holds = [e for e in events if isinstance(e, PostureHoldProgressed)]
    assert [(h.view, h.steady_ms) for h in holds] == [
        *(("front", t) for t in range(0, 1001, 100)),
        *(("back", t) for t in range(0, 1001, 100)),
    ]
    assert all(h.target_ms == 1000 for h in holds)
    assert screen.step is ScreenStep.DONE
    assert screen.result is not None
    front, back = screen.result.views
    assert (front.view, back.view) == (View.FRONT, View.BACK)
    assert front.figures["shoulder_tilt_deg"].value == pytest.approx(3.0, abs=1e-3)
    assert back.figures["shoulder_tilt_deg"].value == pytest.approx(3.0, abs=1e-3)
    assert front.figures["pelvic_tilt_deg"].value == pytest.approx(-2.0, abs=1e-3)
    assert back.figures["pelvic_tilt_deg"].value == pytest.approx(0.0, abs=1e-3)
    assert screen.result.combined["pelvic_tilt_deg"].value == pytest.approx(
        -1.0, abs=1e-3
    )
    # Frames after the end change nothing.
    assert screen.feed(standing_frame(3100)) == []


def test_messages_are_bilingual_and_name_the_step() -> None:
    events = _feed(_screen(), _stand(0, 1100))
    step = events[0]
    assert isinstance(step, PostureStepChanged)
    assert step.message == STEP_MESSAGES["front"]
    guidance = [e for e in events if isinstance(e, PostureGuidanceChanged)]
    assert guidance[0].message == GUIDANCE_MESSAGES["ok"]
    for table in (STEP_MESSAGES, GUIDANCE_MESSAGES):
        for text in table.values():
            assert set(text) == {"en", "zh-CN"}
            assert all(v.strip() for v in text.values())


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        pytest.param({"arms": "up"}, ("guidance", "arms_down"), id="arms-raised"),
        pytest.param(
            {"floor_y": 1.06},
            ("guidance", "step_back", "left_ankle", "right_ankle"),
            id="feet-cut-off",
        ),
        pytest.param({"stature": 0.3}, ("guidance", "step_closer"), id="too-small"),
        pytest.param({"view": "side"}, ("guidance", "face_camera"), id="side-on"),
        pytest.param({"view": "back"}, ("guidance", "face_camera"), id="back-turned"),
    ],
)
def test_placement_guidance(kw: dict[str, object], expected: tuple[str, ...]) -> None:
    screen = _screen()
    events = _feed(screen, _stand(0, 2000, **kw))
    assert _shape(events) == [(0, "step", "front"), (0, *expected)]
    assert screen.step is ScreenStep.FRONT


def test_hidden_joints_are_named() -> None:
    frames = []
    for f in _stand(0, 300):
        vis = f.visibility.copy()
        vis[[7, 8]] = 0.1  # ears
        frames.append(PoseFrame(f.xyz, vis, f.timestamp_ms))
    events = _feed(_screen(), frames)
    assert _shape(events)[1] == (0, "guidance", "show_body", "left_ear", "right_ear")


def test_a_move_restarts_the_steady_second() -> None:
    frames = _stand(0, 600) + _stand(600, 1500, centre_x=0.53)
    events = _feed(_screen(views=(View.FRONT,)), frames)
    # The step sideways at 600 breaks the run: 1000 ms are counted again from there.
    assert _shape(events) == [
        (0, "step", "front"),
        (0, "guidance", "ok"),
        (1600, "captured", "front"),
        (1600, "step", "done"),
        (1600, "completed", "within"),
    ]
    holds = [e.steady_ms for e in events if isinstance(e, PostureHoldProgressed)]
    assert holds[:8] == [0, 100, 200, 300, 400, 500, 0, 100]


def test_someone_who_keeps_swaying_is_told_to_hold_still() -> None:
    frames = [
        standing_frame(t, centre_x=0.5 + 0.004 * (k % 6), aspect_wh=ASPECT)
        for k, t in enumerate(range(0, 4000, STEP_MS))
    ]
    screen = _screen()
    events = _feed(screen, frames)
    assert _shape(events) == [
        (0, "step", "front"),
        (0, "guidance", "ok"),
        (800, "guidance", "hold_still"),  # moving from 300 on
    ]
    assert screen.result is None


def test_the_back_view_waits_for_the_turn() -> None:
    screen = _screen()
    frames = _stand(0, 1100) + _stand(1100, 3000)  # never turns round
    events = _feed(screen, frames)
    assert _shape(events)[-2:] == [
        (1000, "step", "back"),
        (1100, "guidance", "turn_back"),
    ]
    assert screen.step is ScreenStep.BACK


def test_a_back_only_screen_takes_a_back_at_once() -> None:
    screen = _screen(views=(View.BACK,))
    events = _feed(screen, _stand(0, 1100, view="back", pelvic_tilt_deg=4.0))
    assert _shape(events) == [
        (0, "step", "back"),
        (0, "guidance", "ok"),
        (1000, "captured", "back"),
        (1000, "step", "done"),
        (1000, "completed", "borderline"),
    ]


def test_noisy_capture_still_completes_with_uncertainties() -> None:
    screen = _screen(views=(View.FRONT,), stature_cm=150.0)
    _feed(screen, _stand(0, 1100, noise_sd=0.001, seed=2, shoulder_tilt_deg=2.0))
    assert screen.result is not None
    fig = screen.result.combined["shoulder_tilt_deg"]
    assert fig.value == pytest.approx(2.0, abs=1.0)
    assert fig.uncertainty > 0.35
    cm = screen.result.figure_cm("shoulder_height_diff_pct")
    assert cm is not None and cm.unit == "cm"


@pytest.mark.parametrize("ts", [0, -5], ids=["same", "earlier"])
def test_time_must_move_forward(ts: int) -> None:
    screen = _screen()
    screen.feed(standing_frame(0))
    with pytest.raises(ValueError, match="timestamps must increase"):
        screen.feed(standing_frame(ts))


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        pytest.param({"views": ()}, "views", id="no-view"),
        pytest.param({"views": (View.FRONT, View.FRONT)}, "views", id="twice"),
        pytest.param({"aspect_wh": 0.0}, "aspect_wh", id="aspect"),
        pytest.param({"min_frames": 1}, "min_frames", id="frames"),
    ],
)
def test_bad_options_are_refused(kw: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ScreenOptions(**kw)  # type: ignore[arg-type]


def test_step_is_none_before_the_first_frame() -> None:
    assert _screen().step is None
    assert np.isnan(PoseFrame.missing(0).xyz).all()
