"""What a routine's rounds say back to the person: the tempo against the standard,
how far each turning pose fell short of the standard's, and the one thing to improve
in a section.

Core module: stdlib and numpy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

from exercises.events import LocalizedText
from exercises.routine import Section
from exercises.routine_features import (
    FEATURE_NAMES,
    FEATURES,
    feature_column,
    mirror_features,
)

__all__ = [
    "TEMPO_AHEAD",
    "TEMPO_BEHIND",
    "TEMPO_ROUNDS",
    "improvement_of",
    "tempo_of",
    "turn_deficits",
]

TEMPO_AHEAD: Final[float] = 0.75
"""Time between turning points over the standard round's below this: ahead (too
fast)."""
TEMPO_BEHIND: Final[float] = 1.4
TEMPO_ROUNDS: Final[int] = 3
"""The tempo is the median of this many recent rounds."""


def tempo_of(ratios: Sequence[float]) -> tuple[str, float]:
    """("ahead" | "on" | "behind", the recent ratio) from the rounds' tempo ratios."""
    recent = round(float(np.median(ratios[-TEMPO_ROUNDS:])), 3)
    if recent < TEMPO_AHEAD:
        return "ahead", recent
    if recent > TEMPO_BEHIND:
        return "behind", recent
    return "on", recent


def turn_deficits(
    section: Section, features: npt.NDArray[np.float32], mirrored: bool
) -> dict[str, float]:
    """Per cue of the section: how far the round's turning pose, (F,) float32
    features, fell short of the standard's, in tolerances (negative = beyond it).

    A right-side round is mirrored onto the left side the cues are written for; a
    symmetric section's cue on one arm reads both arms.
    """
    if mirrored:
        features = mirror_features(features[None], FEATURE_NAMES)[0]
    turn = section.values(FEATURE_NAMES)[
        round(section.turn_t * (len(section.reference.t) - 1))
    ]
    tol = section.tolerance(FEATURE_NAMES)
    out = {}
    for cue in section.cues:
        names = [cue.channel]
        mirror = FEATURES[cue.channel].mirror
        if (
            section.sides == "none"
            and mirror != cue.channel
            and mirror in section.channels
        ):
            names.append(mirror)
        sign = 1.0 if cue.want == "more" else -1.0
        values = [
            sign * (float(turn[k]) - float(features[k])) / float(tol[k])
            for k in (feature_column(n) for n in names)
        ]
        ok = [v for v in values if not math.isnan(v)]
        out[cue.id] = float(np.mean(ok)) if ok else math.nan
    return out


def improvement_of(
    section: Section,
    deficits: Sequence[Mapping[str, float]],
    tempo: str,
    messages: Mapping[str, LocalizedText],
) -> tuple[str | None, LocalizedText | None]:
    """The one thing to improve in a section: the cue whose mean deficit over the
    rounds is largest, when it reaches the cue's `min_deficit`; else going too fast;
    else nothing (None, None)."""
    best: tuple[float, str] | None = None
    for cue in section.cues:
        vals = [d[cue.id] for d in deficits if not math.isnan(d.get(cue.id, math.nan))]
        if not vals:
            continue
        mean = float(np.mean(vals))
        if mean >= cue.min_deficit and (best is None or mean > best[0]):
            best = (mean, cue.id)
    if best is not None:
        cue = next(c for c in section.cues if c.id == best[1])
        return cue.id, cue.say
    if tempo == "ahead":
        return "tempo_ahead", messages["tempo_ahead"]
    return None, None
