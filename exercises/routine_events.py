"""Events a routine session emits: small frozen dataclasses named in the past tense.

They subclass `exercises.events.Event` (a `timestamp_ms`), so the wire encodes them like
every other event (class name -> `type`, fields -> payload). A routine also emits the
shared `CueIssued` for spoken cues ("the other side now"). Core module: stdlib only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from exercises.events import Event, LocalizedText

__all__ = [
    "RestStarted",
    "RoundCompleted",
    "RoutineCompleted",
    "RoutinePaused",
    "RoutineResumed",
    "SectionCompleted",
    "SectionSkipped",
    "SectionStarted",
    "TempoChanged",
]


@dataclass(frozen=True, slots=True)
class SectionStarted(Event):
    """The routine moved to a section: announce it (`say` is the spoken transition).

    `pace_s` is the standard time of one round at the session's pace (elder pace
    included); `target_rounds` the standard repetitions (each side counts as a round
    where a section alternates)."""

    section_id: str
    index: int
    name: LocalizedText
    say: LocalizedText
    target_rounds: int
    pace_s: float


@dataclass(frozen=True, slots=True)
class RoundCompleted(Event):
    """One round of a section, recognised from the pose.

    Attributes:
        round: 1-based count within the section (may exceed the target).
        side: "left"/"right" for sections done to one side, else None.
        expected_side: The side the standard asks for at this round (alternating
            sections), else None; differs from `side` when the person did the other
            side (mirrored).
        turning_ms: When the round's turning point (the held extreme) was reached.
        score: 0-100 against the section's reference; `breakdown` per channel.
        duration_ms: From leaving the rest position to coming back to it.
        tempo_ratio: Time since the previous round's turning point over the
            standard round's (1 = on tempo, > 1 slower); None for a first round.
    """

    section_id: str
    index: int
    round: int
    side: str | None
    expected_side: str | None
    turning_ms: int
    score: float
    breakdown: dict[str, float]
    duration_ms: int
    tempo_ratio: float | None


@dataclass(frozen=True, slots=True)
class TempoChanged(Event):
    """The person's pace against the standard moved to "ahead" (faster), "on" or
    "behind" (slower); `ratio` is their recent round time over the standard's."""

    section_id: str
    tempo: str
    ratio: float
    message: LocalizedText


@dataclass(frozen=True, slots=True)
class SectionCompleted(Event):
    """A section ended (its rounds done, or the person moved on).

    `score` 0-100 is the mean of its rounds (NaN when none was done);
    `improvement` is the one thing to work on (None when nothing stood out), with
    `improvement_id` naming the section's cue it came from."""

    section_id: str
    index: int
    rounds: int
    target_rounds: int
    score: float
    improvement_id: str | None = None
    improvement: LocalizedText | None = None


@dataclass(frozen=True, slots=True)
class SectionSkipped(Event):
    """A section the person did not do: `reason` is "skipped" (asked for) or
    "not_seen" (they went on to a later section)."""

    section_id: str
    index: int
    reason: str


@dataclass(frozen=True, slots=True)
class RestStarted(Event):
    """A rest between sections; `say` announces what comes next."""

    duration_ms: int
    next_section_id: str
    say: LocalizedText


@dataclass(frozen=True, slots=True)
class RoutinePaused(Event):
    pass


@dataclass(frozen=True, slots=True)
class RoutineResumed(Event):
    paused_ms: int


@dataclass(frozen=True, slots=True)
class RoutineCompleted(Event):
    """The routine ended: the whole score (mean of the sections done), per-section
    scores and rounds by section id, and the ids of the sections not done."""

    routine_id: str
    score: float
    section_scores: dict[str, float] = field(default_factory=dict)
    section_rounds: dict[str, int] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()
