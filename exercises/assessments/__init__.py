"""Senior Fitness Test protocols at the kiosk (Rikli & Jones): timed, counted,
compared with age norms. Sans-I/O: `session.feed(frame) -> list[Event]`.

    from exercises.assessments import ChairStandSession, Subject, Sex
    session = ChairStandSession(subject=Subject(age_years=72, sex=Sex.FEMALE))
    for frame in frames:
        for event in session.feed(frame):
            ...
    session.result        # AssessmentResult

`SESSIONS` maps each test id to its session class; `create_assessment(test_id, ...)`
builds one by id. See docs/assessments.md.
"""

from __future__ import annotations

from typing import Any, Final

from exercises.assessments.arm_curl import ArmCurlSession
from exercises.assessments.chair_stand import (
    ChairStandCount,
    ChairStandCounter,
    ChairStandSession,
    count_chair_stands,
)
from exercises.assessments.data import ProtocolInfo
from exercises.assessments.events import (
    AssessmentCancelled,
    AssessmentCompleted,
    AssessmentCountChanged,
    AssessmentCountdownTicked,
    AssessmentCueIssued,
    AssessmentPhase,
    AssessmentPhaseChanged,
    AssessmentRepRejected,
    AssessmentResult,
    AssessmentTimerStarted,
)
from exercises.assessments.norms import (
    NORMS,
    AgeOutOfRangeError,
    Band,
    NormComparison,
    Sex,
    compare_to_norms,
)
from exercises.assessments.protocol import (
    AssessmentSession,
    PhaseTiming,
    Subject,
)
from exercises.assessments.single_leg_stance import SingleLegStanceSession
from exercises.assessments.step_test import StepTestSession

__all__ = [
    "NORMS",
    "SESSIONS",
    "AgeOutOfRangeError",
    "ArmCurlSession",
    "AssessmentCancelled",
    "AssessmentCompleted",
    "AssessmentCountChanged",
    "AssessmentCountdownTicked",
    "AssessmentCueIssued",
    "AssessmentPhase",
    "AssessmentPhaseChanged",
    "AssessmentRepRejected",
    "AssessmentResult",
    "AssessmentSession",
    "AssessmentTimerStarted",
    "Band",
    "ChairStandCount",
    "ChairStandCounter",
    "ChairStandSession",
    "NormComparison",
    "PhaseTiming",
    "ProtocolInfo",
    "Sex",
    "SingleLegStanceSession",
    "StepTestSession",
    "Subject",
    "compare_to_norms",
    "count_chair_stands",
    "create_assessment",
]

SESSIONS: Final[dict[str, type[AssessmentSession[Any]]]] = {
    cls.info.test_id: cls
    for cls in (
        ChairStandSession,
        ArmCurlSession,
        StepTestSession,
        SingleLegStanceSession,
    )
}
"""Every kiosk protocol by test id."""


def create_assessment(test_id: str, **options: Any) -> AssessmentSession[Any]:
    """Build the session of `test_id` with its keyword options (`subject`, `timing`,
    and per protocol e.g. `arm` for the arm curl, `max_s` for single-leg stance).

    Raises:
        KeyError: unknown test id (the message lists the valid ids).
    """
    try:
        cls = SESSIONS[test_id]
    except KeyError:
        raise KeyError(
            f"unknown assessment {test_id!r}; valid: {', '.join(SESSIONS)}"
        ) from None
    return cls(**options)
