"""Breathing for lung rehabilitation: paced breathing with arm movement (the arms rise
on the in-breath and come down on a longer out-breath). Programmes are data
(`programmes/*.toml`); a sans-I/O session gives the pace cues and measures the
person's actual rhythm from the arms, compared with the prescribed one.

    programme = builtin_programmes()["pursed_lip_breathing"]
    session = BreathingSession(programme, BreathingOptions(aspect_wh=16 / 9))
    events = session.feed(frame)          # -> list[Event]

See docs/breathing.md.
"""

from __future__ import annotations

from exercises.breathing.events import (
    BreathCued,
    BreathingCompleted,
    BreathingGuidanceChanged,
    BreathingStarted,
    BreathMeasured,
)
from exercises.breathing.programme import (
    PROGRAMMES_DIR,
    BreathingProgramme,
    ProgrammeError,
    builtin_programmes,
    programme_from_dict,
    programme_from_toml,
)
from exercises.breathing.rhythm import (
    ArmHeight,
    Breath,
    Move,
    MoveDetector,
    RhythmSummary,
    breaths_from_moves,
    detect_moves,
    summarise,
)
from exercises.breathing.session import BreathingOptions, BreathingSession

__all__ = [
    "PROGRAMMES_DIR",
    "ArmHeight",
    "Breath",
    "BreathCued",
    "BreathMeasured",
    "BreathingCompleted",
    "BreathingGuidanceChanged",
    "BreathingOptions",
    "BreathingProgramme",
    "BreathingSession",
    "BreathingStarted",
    "Move",
    "MoveDetector",
    "ProgrammeError",
    "RhythmSummary",
    "breaths_from_moves",
    "builtin_programmes",
    "detect_moves",
    "programme_from_dict",
    "programme_from_toml",
    "summarise",
]
