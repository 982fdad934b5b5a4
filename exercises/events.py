"""Events a session emits: small frozen dataclasses named in the past tense.

This module is the contract between the engine (`exercises.session`) and the edges
(`server/schemas.py` serializes any event generically: its class name becomes the wire
`type`, its fields the payload). Core module: stdlib only.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

__all__ = [
    "CueIssued",
    "Event",
    "HoldCompleted",
    "HoldProgressed",
    "LocalizedText",
    "MoveCompleted",
    "PhaseChanged",
    "Placement",
    "PlacementChanged",
    "RepCompleted",
    "Severity",
]

LocalizedText = dict[str, str]
"""Text a user reads or hears, by language tag: always both "en" and "zh-CN"."""


class Placement(enum.IntEnum):
    """Where the subject stands relative to what the exercise needs to see."""

    OK = 0
    NOT_VISIBLE = 1  # nobody in view
    STEP_BACK = 2  # required joints cut off by the frame edge
    STEP_CLOSER = 3  # too small to see the joints reliably
    TURN_SIDEWAYS = 4  # the template needs a side view
    FACE_CAMERA = 5  # the template needs a front view
    SHOW_JOINTS = 6  # required joints not visible for another reason


class Severity(enum.IntEnum):
    INFO = 0
    MINOR = 1
    MAJOR = 2
    SAFETY = 3


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every event; `timestamp_ms` is the frame's capture time."""

    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class PlacementChanged(Event):
    placement: Placement
    message: LocalizedText
    missing_joints: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PhaseChanged(Event):
    phase: str
    previous: str | None


@dataclass(frozen=True, slots=True)
class RepCompleted(Event):
    """One repetition: `score` 0-100 against the template, per-angle breakdown (0-100),
    range of motion per angle in degrees, and the ids of the cues raised during it.
    `partial` = it reached only the template's partial (shallower) turning point."""

    count: int
    score: float
    breakdown: dict[str, float]
    duration_ms: int
    range_of_motion_deg: dict[str, float]
    cue_ids: tuple[str, ...] = ()
    side: str | None = None
    partial: bool = False


@dataclass(frozen=True, slots=True)
class CueIssued(Event):
    cue_id: str
    severity: Severity
    message: LocalizedText
    value: float | None = None  # the metric's value that raised the cue


@dataclass(frozen=True, slots=True)
class HoldProgressed(Event):
    """Isometric holds: time in position so far against the target."""

    held_ms: int
    target_ms: int
    in_position: bool
    extra: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HoldCompleted(Event):
    """An isometric hold reached its target time (emitted once per session).

    `score` 0-100 is how close the held position stayed to the template's targets."""

    held_ms: int
    target_ms: int
    score: float


@dataclass(frozen=True, slots=True)
class MoveCompleted(Event):
    """One move of a sequence (e.g. a Baduanjin section's "raise" then "lower").

    `index` is the move's position in the sequence (0-based), `round` the 1-based round
    of the whole sequence it belongs to; a round's last move is followed by a
    `RepCompleted` whose score is the mean of its moves. `held_ms` is the time held at
    the move's end position when the move asks for a hold (0 otherwise)."""

    move_id: str
    index: int
    round: int
    name: LocalizedText
    score: float
    breakdown: dict[str, float]
    duration_ms: int
    held_ms: int = 0
