"""Factories for the assessment tests: poses of each protocol built on
`tests.factories.make_frame`, and timelines of piecewise-constant poses.

A scenario is a list of `(duration_s, pose)` segments; `frames(...)` renders one frame
per 1/fps with the segment's pose, so the frame at which a pose first appears (and so
an event's timestamp) follows from the segment durations alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from exercises.events import Event
from tests.factories import make_frame
from vision.types import PoseFrame, Skeleton

Pose = Callable[[int], PoseFrame]

_J = Skeleton.BLAZEPOSE_33


def with_joints(frame: PoseFrame, joints: Mapping[str, Sequence[float]]) -> PoseFrame:
    """A copy of `frame` with the image x, y of some joints replaced."""
    xyz = frame.xyz.copy()
    for name, xy in joints.items():
        xyz[_J.index(name), :2] = np.asarray(xy, np.float32)
    return PoseFrame(xyz, frame.visibility.copy(), frame.timestamp_ms, frame.skeleton)


def _v(x: float, y: float) -> np.ndarray:
    return np.array([x, y], np.float64)


def _xy(frame: PoseFrame, name: str) -> np.ndarray:
    return frame.xyz[_J.index(name), :2].astype(np.float64)


def _hand(frame: PoseFrame, side: str, wrist: np.ndarray) -> dict[str, np.ndarray]:
    return {
        f"{side}_wrist": wrist,
        f"{side}_index": wrist + _v(0.0, -0.01),
        f"{side}_pinky": wrist + _v(0.005, -0.01),
        f"{side}_thumb": wrist + _v(-0.005, -0.01),
    }


def frames(
    segments: Iterable[tuple[float, Pose]], *, fps: float = 10.0, start_ms: int = 0
) -> list[PoseFrame]:
    """One frame every 1000/fps ms; each segment's pose for `duration_s`."""
    out: list[PoseFrame] = []
    step_ms = 1000.0 / fps
    for duration_s, pose in segments:
        n = round(duration_s * fps)
        for _ in range(n):
            out.append(pose(start_ms + round(len(out) * step_ms)))
    return out


def feed_all(session: Any, frame_list: Iterable[PoseFrame]) -> list[Event]:
    """Every event of feeding the frames in order."""
    events: list[Event] = []
    for f in frame_list:
        events.extend(session.feed(f))
    return events


def nothing(ts: int) -> PoseFrame:
    """Nobody in view."""
    return PoseFrame.missing(ts)


# --- chair stand (side view) ------------------------------------------------------


def chair(
    rise: float,
    *,
    hands: str = "crossed",
    view: str = "side",
    noise: float = 0.0,
    seed: int | None = None,
) -> Pose:
    """Seated (rise 0: hip and knee 90 degrees) to standing (rise 1: 180), trunk
    upright. `hands`: "crossed" on the chest, "knees" (on the knees, pushing) or
    "hanging" (the factory's arms down)."""
    angle = 90.0 + 90.0 * rise
    rng = np.random.default_rng(seed)

    def pose(ts: int) -> PoseFrame:
        f = make_frame(
            ts,
            view=view,
            posture="seated",
            knee_deg=angle,
            hip_deg=angle,
            noise=noise,
            rng=rng,
        )
        if hands == "hanging":
            return f
        joints: dict[str, np.ndarray] = {}
        for side in ("left", "right"):
            hip, knee = _xy(f, f"{side}_hip"), _xy(f, f"{side}_knee")
            shoulder = _xy(f, f"{side}_shoulder")
            if hands == "crossed":
                wrist = hip + 0.65 * (shoulder - hip) + _v(0.02, 0.0)
                elbow = hip + 0.3 * (shoulder - hip) + _v(0.03, 0.0)
            elif hands == "knees":
                wrist = hip + 0.8 * (knee - hip) + _v(0.0, -0.015)
                elbow = wrist + _v(-0.05, -0.08)
            else:
                raise ValueError(f"hands must be crossed, knees or hanging: {hands}")
            joints |= _hand(f, side, wrist)
            joints[f"{side}_elbow"] = elbow
        return with_joints(f, joints)

    return pose


# --- arm curl (side view, seated) -------------------------------------------------


def curl(
    right_deg: float, left_deg: float | None = None, *, view: str = "side"
) -> Pose:
    """Seated, upper arms down, elbows at the given angles (left = right unless given);
    `left_deg=nan` hides the left arm (the far arm in a side view)."""

    def pose(ts: int) -> PoseFrame:
        left = right_deg if left_deg is None else left_deg
        hidden: tuple[str, ...] = ()
        if left != left:  # NaN
            hidden = ("left_elbow", "left_wrist")
            left = 170.0
        return make_frame(
            ts,
            view=view,
            posture="seated",
            shoulder_deg=0.0,
            right_elbow_deg=right_deg,
            left_elbow_deg=left,
            hidden=hidden,
        )

    return pose


# --- step test (front view) --------------------------------------------------------


def knees(
    left_flex: float = 0.0, right_flex: float = 0.0, *, height: float = 0.7
) -> Pose:
    """Standing, facing the camera; each thigh raised `*_flex` degrees from vertical
    (shin kept vertical, as in marching). `height`: body height in the image."""

    def pose(ts: int) -> PoseFrame:
        return make_frame(
            ts,
            view="front",
            height=height,
            left_hip_deg=180.0 - left_flex,
            left_knee_deg=180.0 - left_flex,
            right_hip_deg=180.0 - right_flex,
            right_knee_deg=180.0 - right_flex,
        )

    return pose


def knee_height_fraction(flex_deg: float) -> float:
    """How far a knee raised `flex_deg` gets from its standing height to the hip
    height: 1 - cos(flex) (a thigh rotating about the hip)."""
    return 1.0 - float(np.cos(np.radians(flex_deg)))


# --- single-leg stance (front view) ------------------------------------------------


def stance(
    *,
    left_knee: float = 180.0,
    right_knee: float = 180.0,
    hands: str = "hips",
    left_ankle_dy: float = 0.0,
) -> Pose:
    """Standing, facing the camera; a foot is lifted by bending that knee (the shin
    swings back, the ankle rises). `hands`: "hips" (hands on the hips, elbows out),
    "down" (arms hanging) or "out" (arms out for balance). `left_ankle_dy` moves the
    left ankle in the image (a landmark glitch)."""

    def pose(ts: int) -> PoseFrame:
        f = make_frame(
            ts, view="front", left_knee_deg=left_knee, right_knee_deg=right_knee
        )
        joints: dict[str, np.ndarray] = {}
        if left_ankle_dy:
            joints["left_ankle"] = _xy(f, "left_ankle") + _v(0.0, left_ankle_dy)
        if hands == "down":
            return with_joints(f, joints)
        for side in ("left", "right"):
            out = 1.0 if _xy(f, f"{side}_hip")[0] > _xy(f, "nose")[0] else -1.0
            hip, shoulder = _xy(f, f"{side}_hip"), _xy(f, f"{side}_shoulder")
            if hands == "hips":
                wrist = hip + _v(out * 0.03, -0.03)
                elbow = (shoulder + wrist) / 2.0 + _v(out * 0.08, 0.0)
            elif hands == "out":
                elbow = shoulder + _v(out * 0.12, 0.03)
                wrist = elbow + _v(out * 0.1, 0.0)
            else:
                raise ValueError(f"hands must be hips, down or out: {hands}")
            joints |= _hand(f, side, wrist)
            joints[f"{side}_elbow"] = elbow
        return with_joints(f, joints)

    return pose


# --- expected events -------------------------------------------------------------

TICKS = {
    3: {"en": "Three", "zh-CN": "三"},
    2: {"en": "Two", "zh-CN": "二"},
    1: {"en": "One", "zh-CN": "一"},
}


def opening_events(
    info: Any, *, countdown_at: int, go_at: int, timer: bool = True
) -> list[Event]:
    """The events every protocol emits up to "go" with a 3 s countdown: instructions,
    countdown with three ticks a second apart, running (and the timer for timed
    tests)."""
    from exercises.assessments import (
        AssessmentCountdownTicked,
        AssessmentPhase,
        AssessmentPhaseChanged,
        AssessmentTimerStarted,
    )

    tid = info.test_id
    out: list[Event] = [
        AssessmentPhaseChanged(
            0, tid, "instructions", None, info.say[AssessmentPhase.INSTRUCTIONS]
        ),
        AssessmentPhaseChanged(
            countdown_at,
            tid,
            "countdown",
            "instructions",
            info.say[AssessmentPhase.COUNTDOWN],
        ),
    ]
    out += [
        AssessmentCountdownTicked(countdown_at + 1000 * k, tid, 3 - k, TICKS[3 - k])
        for k in range(3)
    ]
    out.append(
        AssessmentPhaseChanged(
            go_at, tid, "running", "countdown", info.say[AssessmentPhase.RUNNING]
        )
    )
    if timer:
        out.append(AssessmentTimerStarted(go_at, tid, go_at, info.duration_ms))
    return out
