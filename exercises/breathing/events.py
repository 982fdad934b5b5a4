"""Events of a breathing session (`exercises.breathing.session`): small frozen
dataclasses named in the past tense, serialized generically on the wire.

Core module: stdlib only.
"""

from __future__ import annotations

from dataclasses import dataclass

from exercises.breathing.rhythm import Breath, RhythmSummary
from exercises.events import Event, LocalizedText

__all__ = [
    "BreathCued",
    "BreathMeasured",
    "BreathingCompleted",
    "BreathingGuidanceChanged",
    "BreathingStarted",
]


@dataclass(frozen=True, slots=True)
class BreathingStarted(Event):
    """The session began: the instructions to show and speak, and the whole schedule
    (the page may animate the pace from it: the first in-breath is due at
    `timestamp_ms + lead_in_ms`)."""

    programme_id: str
    name: LocalizedText
    instructions: LocalizedText
    lead_in_ms: int
    inhale_ms: int
    exhale_ms: int
    cycles: int


@dataclass(frozen=True, slots=True)
class BreathCued(Event):
    """Breathe in (or out) now: `at_ms` is when it was due (the frame that carries
    it may come a little later), `duration_ms` how long the phase lasts, `cycle`
    1-based."""

    cycle: int
    phase: str
    at_ms: int
    duration_ms: int
    message: LocalizedText


@dataclass(frozen=True, slots=True)
class BreathMeasured(Event):
    """One breath seen in the arms (its period is known only in the summary)."""

    count: int
    breath: Breath


@dataclass(frozen=True, slots=True)
class BreathingGuidanceChanged(Event):
    """ "ok", "not_visible" or "show_arms", with the text to show."""

    key: str
    message: LocalizedText


@dataclass(frozen=True, slots=True)
class BreathingCompleted(Event):
    """The end: the person's rhythm against the programme's, and the closing words."""

    summary: RhythmSummary
    message: LocalizedText
    stopped_early: bool = False
