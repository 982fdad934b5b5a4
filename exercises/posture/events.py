"""Events of the posture screen (`exercises.posture.screen`): small frozen dataclasses
named in the past tense, serialized generically on the wire like every engine event.

Core module: stdlib only.
"""

from __future__ import annotations

from dataclasses import dataclass

from exercises.events import Event, LocalizedText
from exercises.posture.measures import ViewMeasurement
from exercises.posture.report import PostureAssessment
from exercises.posture.result import PostureResult

__all__ = [
    "PostureGuidanceChanged",
    "PostureHoldProgressed",
    "PostureScreenCompleted",
    "PostureStepChanged",
    "PostureViewCaptured",
]


@dataclass(frozen=True, slots=True)
class PostureStepChanged(Event):
    """A new step of the screen: "front", "back" or "done"; `message` is the
    instruction to show and speak."""

    step: str
    message: LocalizedText


@dataclass(frozen=True, slots=True)
class PostureGuidanceChanged(Event):
    """Where the person stands against what the current step needs.

    `key` is one of "not_visible", "step_back", "step_closer", "show_body",
    "face_camera", "turn_back", "arms_down", "hold_still", "ok"; `missing_joints` names
    the joints that were not seen when that is the reason."""

    key: str
    message: LocalizedText
    missing_joints: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PostureHoldProgressed(Event):
    """In position: how long the person has stood still so far in this view."""

    view: str
    steady_ms: int
    target_ms: int


@dataclass(frozen=True, slots=True)
class PostureViewCaptured(Event):
    """One view measured over its steady window."""

    measurement: ViewMeasurement


@dataclass(frozen=True, slots=True)
class PostureScreenCompleted(Event):
    """All views captured: the figures and their plain-language reading."""

    result: PostureResult
    assessment: PostureAssessment
