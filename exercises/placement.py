# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""Is the person where the camera can coach them? A verdict per frame, announced when
it changes and has held for a while (a sans-I/O part of `exercises.session.Session`).

    gate = PlacementGate(spec, skeleton, min_visibility=0.5, min_body_size=0.2,
                         debounce_ms=500)
    event = gate.update(picture, view, side, timestamp_ms)   # PlacementChanged | None

The verdict, in order: nobody seen (NOT_VISIBLE); required joints missing (STEP_BACK
when one is outside the picture or only legs and feet are missing, else SHOW_JOINTS
naming the body part); the person too small (STEP_CLOSER); the wrong view for the
template (TURN_SIDEWAYS, FACE_CAMERA); else OK. A sideless required joint ("knee") is
satisfied by either side: the side with fewer missing joints counts, the side in use
first on a tie. The first verdict is announced at once; a change only after it has
held for `debounce_ms`.

Repetitions are counted (`counting`) while the announced verdict is one that shows
the required joints, and also before it is announced on a frame that places the
person within `resume_within_ms` of the last counted frame or of the first frame: a
person not found on the camera's first frames, or out of place for a moment, is
counted from the frame that places them again. After longer (a title card, someone
walking in) the announcement's `debounce_ms` must pass first: a person appearing may
be mid-movement.

Coordinates are the picture's as normalised (x and y in [0, 1]): the in-picture checks
need them, not isotropic ones.

Core module: stdlib, numpy and exercises.*; no clocks, no I/O.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from exercises.events import LocalizedText, Placement, PlacementChanged
from exercises.metrics import in_frame_mask
from exercises.spec import ExerciseSpec
from vision.types import PoseFrame, Skeleton

__all__ = [
    "ACTIVE_PLACEMENTS",
    "PLACEMENT_MESSAGES",
    "PlacementGate",
]

ACTIVE_PLACEMENTS: Final[frozenset[Placement]] = frozenset(
    {
        Placement.OK,
        Placement.STEP_CLOSER,
        Placement.TURN_SIDEWAYS,
        Placement.FACE_CAMERA,
    }
)
"""Placements in which reps are counted (the others hide required joints)."""

PLACEMENT_MESSAGES: Final[dict[str, LocalizedText]] = {
    "ok": {"en": "Great, I can see you.", "zh-CN": "很好，我能看到您了。"},
    "not_visible": {
        "en": "Please step into view of the camera.",
        "zh-CN": "请走到摄像头前。",
    },
    "step_back_feet": {
        "en": "Step back a little, I can't see your feet.",
        "zh-CN": "请往后退一点，我看不到您的脚。",
    },
    "step_back": {
        "en": "Step back a little so your whole body is in the picture.",
        "zh-CN": "请往后退一点，让全身都在画面里。",
    },
    "step_closer": {"en": "Please come a little closer.", "zh-CN": "请再走近一点。"},
    "turn_sideways": {
        "en": "Please turn sideways to the camera.",
        "zh-CN": "请侧身对着摄像头。",
    },
    "face_camera": {"en": "Please face the camera.", "zh-CN": "请正面对着摄像头。"},
    "show_arms": {
        "en": "Make sure the camera can see your arms.",
        "zh-CN": "请让摄像头能看到您的手臂。",
    },
    "show_legs": {
        "en": "Make sure the camera can see your legs.",
        "zh-CN": "请让摄像头能看到您的腿。",
    },
    "show_head": {
        "en": "Make sure the camera can see your head.",
        "zh-CN": "请让摄像头能看到您的头部。",
    },
    "show_body": {
        "en": "I can't see all of you yet; please adjust your position.",
        "zh-CN": "我还看不到您的全身，请调整一下位置。",
    },
}
"""Every placement message, in both languages."""

_ARMS = ("shoulder", "elbow", "wrist", "pinky", "index", "thumb")
_LEGS = ("hip", "knee")
_FEET = ("ankle", "heel", "foot_index")
_SIDES = ("left", "right")


class PlacementGate:
    """The placement verdict of each frame, debounced (see the module docstring).

    Args:
        spec: The template (its required joints and view).
        skeleton: Joint layout of the frames.
        min_visibility: Joints below it are not seen.
        min_body_size: A person smaller than this (bounding-box side, image fraction)
            is asked to come closer.
        debounce_ms: A new verdict must hold this long before it is announced.
        resume_within_ms: A frame that places the person this soon after the last
            counted frame (or the first frame) is counted before the verdict is
            announced (module docstring); 0: never.

    Attributes:
        placement: The announced verdict; None before the first frame.
        counting: Whether repetitions are counted at the last frame (module
            docstring).
        missing_joints: Required joints `skeleton` does not have (the gate cannot be
            used until there are none).
    """

    def __init__(
        self,
        spec: ExerciseSpec,
        skeleton: Skeleton,
        *,
        min_visibility: float,
        min_body_size: float,
        debounce_ms: int,
        resume_within_ms: int = 0,
    ) -> None:
        self.view = spec.view
        self.skeleton = skeleton
        self.min_visibility = min_visibility
        self.min_body_size = min_body_size
        self.debounce_ms = debounce_ms
        self.resume_within_ms = resume_within_ms
        missing: list[str] = []
        self._fixed: list[int] = []
        self._sided: dict[str, list[tuple[str, int]]] = {s: [] for s in _SIDES}
        for name in spec.required_joints:
            if Skeleton.BLAZEPOSE_33.has(name):  # a full joint name
                if skeleton.has(name):
                    self._fixed.append(skeleton.index(name))
                else:
                    missing.append(name)
                continue
            for s in _SIDES:  # sideless: either side will do
                full = f"{s}_{name}"
                if skeleton.has(full):
                    self._sided[s].append((full, skeleton.index(full)))
                else:
                    missing.append(full)
        self.missing_joints = tuple(missing)
        self.placement: Placement | None = None
        self.counting = False
        self._pending: tuple[Placement, int] | None = None
        self._counted_ms: int | None = None  # the last counted frame's (or first) time

    def update(
        self, picture: PoseFrame, view: str | None, side: str | None, timestamp_ms: int
    ) -> PlacementChanged | None:
        """Judge one frame; the event when the announced verdict changes.

        Args:
            picture: The frame as the camera normalised it.
            view: The detected camera view ("front", "side", "oblique", None).
            side: The side in use, preferred when both sides miss as many joints.
            timestamp_ms: The frame's time.
        """
        verdict, missing, key = self.judge(picture, view, side)
        event = self._announce(verdict, missing, key, timestamp_ms)
        if self._counted_ms is None:
            self._counted_ms = timestamp_ms
        self.counting = self.placement in ACTIVE_PLACEMENTS or (
            verdict in ACTIVE_PLACEMENTS
            and timestamp_ms - self._counted_ms <= self.resume_within_ms
        )
        if self.counting:
            self._counted_ms = timestamp_ms
        return event

    def _announce(
        self, verdict: Placement, missing: tuple[str, ...], key: str, timestamp_ms: int
    ) -> PlacementChanged | None:
        if verdict == self.placement:
            self._pending = None
            return None
        if self.placement is not None:
            if self._pending is None or self._pending[0] != verdict:
                self._pending = (verdict, timestamp_ms)
            if timestamp_ms - self._pending[1] < self.debounce_ms:
                return None
        self.placement = verdict
        self._pending = None
        return PlacementChanged(
            timestamp_ms, verdict, dict(PLACEMENT_MESSAGES[key]), missing
        )

    def judge(
        self, frame: PoseFrame, view: str | None, side: str | None
    ) -> tuple[Placement, tuple[str, ...], str]:
        """This frame's verdict, the missing joints and the message key (no state)."""
        vis = frame.visibility >= self.min_visibility
        finite = np.isfinite(frame.xyz[:, :2]).all(axis=1)
        seen = vis & finite
        if not seen.any():
            return Placement.NOT_VISIBLE, (), "not_visible"

        inside = in_frame_mask(frame.xyz[:, :2].astype(np.float64))
        ok = (seen & inside).tolist()
        off_picture = (finite & ~inside).tolist()  # found, outside the picture
        names = self.skeleton.joint_names
        fixed_missing = [names[r] for r in self._fixed if not ok[r]]
        options = []
        for s in _SIDES:
            miss = [n for n, r in self._sided[s] if not ok[r]]
            options.append((len(miss), 0 if s == side else 1, s, fixed_missing + miss))
        missing = min(options)[3]
        if missing:
            rows = [self.skeleton.index(n) for n in missing]
            outside = any(off_picture[r] for r in rows)
            parts = {_part(n) for n in missing}
            if outside or parts <= {"feet", "legs"}:
                key = "step_back_feet" if parts & {"feet"} else "step_back"
                return Placement.STEP_BACK, tuple(missing), key
            key = f"show_{parts.pop()}" if len(parts) == 1 else "show_body"
            if key == "show_feet":
                key = "step_back_feet"
            return Placement.SHOW_JOINTS, tuple(missing), key
        xy = frame.xyz[seen, :2]
        size = float(max(np.ptp(xy[:, 0]), np.ptp(xy[:, 1])))
        if size < self.min_body_size:
            return Placement.STEP_CLOSER, (), "step_closer"
        if self.view == "side" and view == "front":
            return Placement.TURN_SIDEWAYS, (), "turn_sideways"
        if self.view == "front" and view == "side":
            return Placement.FACE_CAMERA, (), "face_camera"
        return Placement.OK, (), "ok"


def _part(joint: str) -> str:
    base = joint.split("_", 1)[1] if joint.startswith(("left_", "right_")) else joint
    if base in _ARMS:
        return "arms"
    if base in _LEGS:
        return "legs"
    if base in _FEET:
        return "feet"
    return "head"
