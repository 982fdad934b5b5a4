# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""What counts as a fall (`exercises.falls`): the named thresholds, each with its
reasoning, the staff messages and the events. `exercises.falls` re-exports them.

Core module: stdlib.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from exercises.events import Event, LocalizedText

__all__ = [
    "CONFIRM_S",
    "DOWN_FRACTION",
    "DOWN_MIN_DEG",
    "DOWN_WITHIN_S",
    "DROP_MAX_S",
    "DROP_MIN_TORSO",
    "FALL_MESSAGES",
    "FLOOR_HIP_TORSO",
    "INTERVAL_HISTORY",
    "LYING_CONFIRM_S",
    "MAX_GAP_S",
    "MIN_VISIBILITY",
    "MISSED_FRAME_RATIO",
    "RECOVER_HIP_TORSO",
    "RECOVER_S",
    "REFERENCE_S",
    "RHYTHM_ANGLE_DEG",
    "RHYTHM_REVERSALS",
    "RHYTHM_SHOULDER_TORSO",
    "STANDING_HIP_TORSO",
    "UNSEEN_DROP_SPAN_S",
    "UNSEEN_MIN_S",
    "UPRIGHT_MAX_DEG",
    "FallCleared",
    "FallDetected",
    "FallState",
]

# --- thresholds ----------------------------------------------------------------------

UPRIGHT_MAX_DEG: Final[float] = 35.0
"""Torso (hips -> shoulders) within this of vertical is upright: standing, sitting,
kneeling. Standing trunk lean in daily activity and in squats stays under ~30-40 deg
near the top; 35 keeps a brisk forward lean from counting as 'not upright'."""

DOWN_MIN_DEG: Final[float] = 60.0
"""Torso at least this far from vertical is lying. Far from the upright limit (a gap
of 25 deg), so noise cannot flip a person between the two; a deep squat or a sit-to-
stand forward lean stays under ~50 deg."""

DROP_MIN_TORSO: Final[float] = 1.0
"""Hip drop, in upright torso lengths, that a fall must have. Standing hip height is
about 1.7 torso lengths (hips at ~0.53 of body height, torso ~0.3); a fall to the floor
drops the hips 1.3-1.7 after the trunk has left upright, a fall to sitting about 1.2."""

DROP_MAX_S: Final[float] = 1.0
"""...within this time from the last upright frame: falls take 0.5-1 s from loss of
balance to impact (hip speed 1.5-3 m/s, i.e. 3-6 torso lengths per second);
deliberately getting down to the floor takes several seconds, in stages."""

STANDING_HIP_TORSO: Final[float] = 1.3
"""The upright stance a fall starts from is standing: hips at least this many torso
lengths above the ankles (standing ~1.6-1.7, seated on a chair or bench ~0.8-1.0).
Lying back from a bench or a chair, or a sit-up's top position, is not a fall start.
Without visible ankles the stance is taken as standing."""

DOWN_WITHIN_S: Final[float] = 1.5
"""The lying (or floor) posture must be reached this soon after the drop (after missed
frames: timed to the last frame before them, see `UNSEEN_DROP_SPAN_S`)."""

UNSEEN_DROP_SPAN_S: Final[float] = 2.5
"""Missed frames: when frames of the person were missed (`MISSED_FRAME_RATIO`) and
they reappear down (lying, or on the floor) after last being seen not down, their hips
reached the new height at some moment between the last frame they were seen in and
this one, so the drop is timed up to that last frame (the least time it can have
taken) for `DROP_MAX_S` and `DOWN_WITHIN_S`, provided what was seen of it until then
went down at a fall's speed (`DROP_MIN_TORSO` per `DROP_MAX_S`: not someone kneeling
first); the whole span from the upright frame, unseen time included, is at most this.
Someone who reappears half-way (kneeling, leaning) gets no allowance: the rest of
their way down is seen. Measured offline (tests/exercises/fall_video.py: the group
screen's fall video through the real pose model and tracker, 4 phases of the frame
grid per rate): the model loses the falling man while he is tilted and re-finds him
lying, 1.33-2.0 s after he was last seen standing (or sinking) at 1.5 processed frames
per second, 2.0-2.5 s at 2 (re-finding takes it a frame or two); 2.5 s covers these.
At 1 frame per second it was 3-4 s: not covered. Getting down on purpose mostly takes
longer, in stages (kneel, sit, hands down; older adults 5 s or more), and the end
posture and `CONFIRM_S` still apply; but young people in the RepCount sit-up
sequences lie down within 1-2 s, and with just the wrong frames missed (every run of
1-3 missed frames tried at 1.5 and 2 frames per second) 2 of ~17,000 runs became an
alert that was not one before (runs at these rates that already alerted: ~200)."""

MISSED_FRAME_RATIO: Final[float] = 1.5
"""Frames of a person were missed when the time since their last frame is over this
many times their usual interval (the median of the last `INTERVAL_HISTORY`): the
server processes frames at a steady rate (1-4 a second on a kiosk), so a doubled
interval is a frame in which the model did not find them. Regular low-rate frames get
no allowance: each sees the person, so a descent in stages stays visible (a sit-up
sequence that starts with sitting down onto the mat within 1.5 s was an alert at 2
frames per second when every interval counted as unseen)."""

INTERVAL_HISTORY: Final[int] = 8
"""Intervals of the person's frames in the median (a few seconds at kiosk rates)."""

UNSEEN_MIN_S: Final[float] = 0.3
"""Intervals shorter than this are never unseen time: over ~3 frames a second see a
fall's drop (0.5-1 s) in several frames."""

FLOOR_HIP_TORSO: Final[float] = 0.35
"""Hips no higher than this many torso lengths above the ankles: sitting on the floor
(a fall onto the buttocks keeps the trunk upright). On a chair the hips are a shin's
length (~1.4 torso lengths) above the ankles."""

CONFIRM_S: Final[float] = 4.0
"""Time down without getting up before the alert: a stumble, a burpee or a quick sit
on the floor resolves within a couple of seconds; staff want to know within seconds
about a person who stays down."""

LYING_CONFIRM_S: Final[float] = 8.0
"""`CONFIRM_S` during a lying exercise (posture supine/prone): getting down onto the
mat quickly is then expected, so only a longer motionless stay down alerts."""

DOWN_FRACTION: Final[float] = 0.7
"""Share of the observed confirmation frames that must be down."""

RECOVER_S: Final[float] = 1.0
"""Upright (standing or seated, hips off the floor) this long clears a fall."""

RECOVER_HIP_TORSO: Final[float] = 0.8
"""Hips at least this many torso lengths above the ankles count as off the floor."""

RHYTHM_ANGLE_DEG: Final[float] = 25.0
RHYTHM_SHOULDER_TORSO: Final[float] = 0.3
"""Swings of the torso angle (sit-ups) or of the shoulders' height over the hips
(push-ups) at least this large are exercise movements; `RHYTHM_REVERSALS` of them
(one full cycle) during the confirmation window cancel the alert."""
RHYTHM_REVERSALS: Final[int] = 2

MAX_GAP_S: Final[float] = UNSEEN_DROP_SPAN_S
"""A person unseen (no frame with shoulders and hips) longer than this breaks the drop
sequence: what happened meanwhile is unknown (see `UNSEEN_DROP_SPAN_S`)."""

REFERENCE_S: Final[float] = 2.0
"""Upright torso length is the median over this much recent upright time."""

MIN_VISIBILITY: Final[float] = 0.5

FALL_MESSAGES: Final[dict[str, LocalizedText]] = {
    "detected": {
        "en": (
            "Possible fall: someone is down and has not got up. Please check on them."
        ),
        "zh-CN": "可能有人跌倒：有人倒地后没有起身，请立即查看。",
    },
    "cleared": {
        "en": "They are back up.",
        "zh-CN": "对方已经起身。",
    },
}


# --- events ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FallDetected(Event):
    """A person fell and has stayed down for the confirmation time (staff alert).

    Attributes:
        track_id: Who (the tracker's ID; -1 for a single-person detector).
        message: Staff alert text, en and zh-CN.
        fall_ms: When the drop was seen (the first frame down after it).
        drop_torso_lengths: Hip drop in upright torso lengths.
        drop_duration_ms: Time from the last upright frame to the drop.
    """

    track_id: int
    message: LocalizedText
    fall_ms: int
    drop_torso_lengths: float
    drop_duration_ms: int


@dataclass(frozen=True, slots=True)
class FallCleared(Event):
    """The person from a `FallDetected` is up again.

    Attributes:
        track_id: Who.
        message: en and zh-CN.
        down_ms: Time from the fall to getting up.
    """

    track_id: int
    message: LocalizedText
    down_ms: int


class FallState(enum.IntEnum):
    OK = 0
    PENDING = 1  # dropped and down; waiting `CONFIRM_S` for a recovery
    FALLEN = 2  # alert raised; waiting to see them up
