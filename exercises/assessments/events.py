"""What an assessment tells the kiosk: its phase, the events it emits and its result.

Core module: stdlib and exercises.{events,assessments.norms}.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from exercises.assessments.norms import Band, NormComparison
from exercises.events import Event, LocalizedText

__all__ = [
    "AssessmentCancelled",
    "AssessmentCompleted",
    "AssessmentCountChanged",
    "AssessmentCountdownTicked",
    "AssessmentCueIssued",
    "AssessmentPhase",
    "AssessmentPhaseChanged",
    "AssessmentRepRejected",
    "AssessmentResult",
    "AssessmentTimerStarted",
]


class AssessmentPhase(enum.IntEnum):
    """Where an assessment is."""

    INSTRUCTIONS = 0
    COUNTDOWN = 1
    RUNNING = 2
    RESULT = 3

    @property
    def key(self) -> str:
        """Lower-case name used on the wire and as a text key ("countdown")."""
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class AssessmentPhaseChanged(Event):
    """The assessment moved to `phase`; `say` is what the kiosk speaks now."""

    test_id: str
    phase: str
    previous: str | None
    say: LocalizedText


@dataclass(frozen=True, slots=True)
class AssessmentCountdownTicked(Event):
    """One second of the countdown: `seconds_left` is 3, 2, 1."""

    test_id: str
    seconds_left: int
    say: LocalizedText


@dataclass(frozen=True, slots=True)
class AssessmentTimerStarted(Event):
    """The measured time runs from `started_at_ms` (the "go" instant for timed tests,
    the lift-off for single-leg stance); `limit_ms` is the test's length or cap."""

    test_id: str
    started_at_ms: int
    limit_ms: int


@dataclass(frozen=True, slots=True)
class AssessmentCountChanged(Event):
    """A repetition counted: `count` is the new total of `side` (None = whole body)."""

    test_id: str
    count: int
    side: str | None
    elapsed_ms: int


@dataclass(frozen=True, slots=True)
class AssessmentRepRejected(Event):
    """An attempt that does not count, and why ("incomplete", "hands_used",
    "below_target"); `message` may be spoken."""

    test_id: str
    reason: str
    side: str | None
    elapsed_ms: int
    message: LocalizedText


@dataclass(frozen=True, slots=True)
class AssessmentCueIssued(Event):
    """A protocol reminder to speak now ("arms_crossed", "hands_on_hips")."""

    test_id: str
    cue_id: str
    message: LocalizedText


@dataclass(frozen=True, slots=True)
class AssessmentResult:
    """The outcome of one assessment.

    Attributes:
        test_id: Which protocol.
        value: The score (stands, curls, steps, seconds).
        unit: Its unit.
        per_side: Scores per side where the protocol has sides ("left"/"right"): both
            arms' curls, both knees' lifts, the stance leg's time. Empty otherwise.
        percentile: Estimated percentile for age and sex (1-99), None without norms.
        band: Below, within or above the normal range (a str enum: "below",
            "normal", "above"); None without norms.
        explanation: Plain-language result, en and zh-CN.
        flags: Protocol remarks for staff, e.g. "hands_used", "stopped_early",
            "final_rep_over_halfway", "tracking_gaps", "touched_down".
        duration_ms: Measured time (the test's length for timed tests).
        norm: The full norm comparison (age group, range, source), or None.
        summary: The short sentence spoken when the result appears.
    """

    test_id: str
    value: float
    unit: str
    per_side: dict[str, float]
    percentile: float | None
    band: Band | None
    explanation: LocalizedText
    flags: tuple[str, ...]
    duration_ms: int
    norm: NormComparison | None = None
    summary: LocalizedText = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AssessmentCompleted(Event):
    """The test is over; `result` is final."""

    result: AssessmentResult


@dataclass(frozen=True, slots=True)
class AssessmentCancelled(Event):
    """`stop()` before the test started: there is no result."""

    test_id: str
    phase: str
