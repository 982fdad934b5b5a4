# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""30-second chair stand (Rikli & Jones): full stands from a chair in 30 s, arms
crossed.

Counting rules (docs/assessments.md has the reasoning):

- The signal is the **leg ratio** r = (ankle y - hip y) / (ankle y - knee y): the hip's
  height above the ankle in shin heights, from vertical image distances only. It does
  not depend on the distance to the camera, works from the side and from the front
  (vertical distances survive a front view; the knee angle does not), and survives the
  per-axis rescaling of the RepCount pose files. Seated (thigh level) r ~ 1; standing
  with straight legs r ~ 1 + thigh / shin ~ 2 (thigh and shank are both ~0.245 of
  stature, Drillis & Contini).
- A **full stand**: the knee angle (hip-knee-ankle in the image, straighter side) is at
  least `KNEE_STANDING_DEG` and the hips have risen `STANDING_FRACTION` of the way from
  the seat to standing height. It counts when reached, once per sit.
- **Back to seated** (re-arms the next stand): with a seated calibration (the kiosk's
  countdown), the hips are back within `SEATED_FRACTION` of the rise above the measured
  seat height. Without one (the RepCount squats used as a stand-in), the hips came down
  more than halfway (`HALFWAY_FRACTION`) from standing to the nominal seat height, and
  the bottom of that descent is taken as the seat.
- An attempt that rose past the middle of the seated and standing thresholds and sat
  back down without a full stand is reported as rejected ("incomplete"), not counted.
- **Hands**: the protocol wants the arms crossed on the chest. A wrist within
  `HAND_ON_KNEE_SHINS` shin lengths of the knee end of either thigh (its last third,
  where a palm on the knee puts the wrist) for `HAND_ON_KNEE_MIN_MS` while seated or
  rising flags the stand: a reminder is spoken, and the stand is rejected
  ("hands_used") unless `reject_hand_assisted` is off. A person who cannot rise
  without the arms scores 0, as the manual prescribes.
- **End of the 30 s**: a stand in progress counts if the hips are more than halfway up
  (the official rule), flagged "final_rep_over_halfway".

Core module: stdlib, numpy, vision.{types,config} and exercises.*.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Final, Unpack

import numpy as np

from exercises.assessments.counter import RepGate, RepOutcome
from exercises.assessments.data import ProtocolInfo, protocol_info, protocol_texts
from exercises.assessments.events import AssessmentTimerStarted
from exercises.assessments.protocol import (
    AssessmentSession,
    SessionOptions,
    median,
    point_segment_distance,
    side_angle,
)
from exercises.events import Event, LocalizedText
from exercises.metrics import Body
from vision.geometry import isotropic
from vision.types import PoseWindow

__all__ = [
    "HALFWAY_FRACTION",
    "HAND_ON_KNEE_MIN_MS",
    "HAND_ON_KNEE_SHINS",
    "KNEE_END_OF_THIGH",
    "KNEE_STANDING_DEG",
    "NOMINAL_SEAT_RATIO",
    "SEATED_FRACTION",
    "STANDING_FRACTION",
    "STANDING_LEG_RATIO",
    "ChairStandCount",
    "ChairStandCounter",
    "ChairStandMeasure",
    "ChairStandSession",
    "StandOutcome",
    "count_chair_stands",
    "measure_chair_stand",
]

TEST_ID: Final[str] = "chair_stand_30s"

KNEE_STANDING_DEG: Final[float] = 160.0
"""Knee straight enough for a full stand. Healthy standing knees read 170-180 degrees in
the image; 160 leaves room for landmark error and the slight flexion many elders
keep."""

STANDING_LEG_RATIO: Final[float] = 2.0
"""Hip height above the ankle with straight legs, in shin heights: 1 + thigh / shank,
and thigh ~ shank (0.245 vs 0.246 of stature, Drillis & Contini 1966)."""

NOMINAL_SEAT_RATIO: Final[float] = 1.0
"""Hip height above the ankle when seated on a standard 17-inch (43 cm) chair: the seat
is at about knee height, the thigh level, so the hip is one shin above the ankle."""

STANDING_FRACTION: Final[float] = 0.75
"""Share of the seat-to-standing rise the hips must cover (with the straight knee) for a
full stand; the remaining quarter absorbs landmark offsets and a slight forward lean."""

SEATED_FRACTION: Final[float] = 0.30
"""With a measured seat height: back within this share of the rise above it = seated."""

HALFWAY_FRACTION: Final[float] = 0.5
"""The manual's rule at 30 s ("more than halfway up counts"); without a seat
calibration, also how far down a return must reach to count as sitting."""

HAND_ON_KNEE_SHINS: Final[float] = 0.3
"""A wrist this close (in shin lengths, ~12 cm for an adult) to the knee end of a thigh
(its last third) is a hand on the knee: a palm on the kneecap puts the wrist on top of
the thigh a hand's length above the knee. Crossed on the chest the wrists are about a
shin away. An arm hanging beside the seat projects onto the hip end of the thigh in a
side view (depth is lost), about 0.4 shin from its last third: it is not a push, and a
hand pushing on the middle of the thigh cannot be told from it in one image."""

KNEE_END_OF_THIGH: Final[float] = 2.0 / 3.0
"""Where along the thigh (0 = hip, 1 = knee) the "knee end" starts."""

HAND_ON_KNEE_MIN_MS: Final[int] = 150
"""Hand-on-knee must persist this long: a push lasts most of a rise (~1 s), a wrist
swinging past the knee a frame or two."""

# Below this the shin is too short in the image to divide by (legs out of view, lying).
_MIN_SHIN_HEIGHT: Final[float] = 1e-3

TEXTS: Final[dict[str, LocalizedText]] = protocol_texts(TEST_ID)
INFO: Final[ProtocolInfo] = protocol_info(TEST_ID)
DURATION_MS: Final[int] = INFO.duration_ms or 0


@dataclass(frozen=True, slots=True)
class ChairStandMeasure:
    """What one frame shows.

    Attributes:
        leg_ratio: Hip height above the ankle in shin heights (see the module doc).
        knee_deg: Knee angle of the straighter visible leg, degrees (NaN if none).
        hands_on_knees: A wrist is on a knee or the lower thigh.
    """

    leg_ratio: float
    knee_deg: float
    hands_on_knees: bool


def measure_chair_stand(body: Body) -> ChairStandMeasure | None:
    """The chair-stand signals of one frame; None without hips, knees and ankles."""
    hip, knee, ankle = body.mid("hip"), body.mid("knee"), body.mid("ankle")
    if hip is None or knee is None or ankle is None:
        return None
    shin_height = float(ankle[1] - knee[1])
    if shin_height < _MIN_SHIN_HEIGHT:
        return None
    ratio = float(ankle[1] - hip[1]) / shin_height
    knees = [side_angle(body, s, ("hip", "knee", "ankle")) for s in ("left", "right")]
    knee_deg = max((k for k in knees if math.isfinite(k)), default=math.nan)
    return ChairStandMeasure(ratio, knee_deg, _hands_on_knees(body))


def _hands_on_knees(body: Body) -> bool:
    shins = []
    thighs = []
    for s in ("left", "right"):
        h, k, a = body.xy(f"{s}_hip"), body.xy(f"{s}_knee"), body.xy(f"{s}_ankle")
        if k is not None and a is not None:
            shins.append(float(np.hypot(*(k - a))))
        if h is not None and k is not None:
            thighs.append((h + KNEE_END_OF_THIGH * (k - h), k))
    if not shins or not thighs:
        return False
    limit = HAND_ON_KNEE_SHINS * float(np.mean(shins))
    for s in ("left", "right"):
        w = body.xy(f"{s}_wrist")
        if w is None:
            continue
        if any(point_segment_distance(w, a, b) < limit for a, b in thighs):
            return True
    return False


class StandOutcome(enum.IntEnum):
    """What a frame did to the count."""

    COUNTED = 0
    INCOMPLETE = 1  # rose past the middle, sat back down without a full stand
    HANDS_USED = 2  # a full stand pushed up with the hands (rejected)
    HANDS_DETECTED = 3  # hands on the knees/thighs for the first time in this stand
    HANDS_ASSISTED_COUNTED = 4  # a full stand with hands, counted (rejection off)


@dataclass
class ChairStandCounter:
    """Streaming full-stand counter (the rules of the module docstring).

    Args:
        seat_ratio: Measured seated leg ratio (the kiosk's calibration; the person is
            then taken to be seated at the start); None = no calibration (the seat is
            each descent's bottom, and counting starts after the first sit).
        reject_hand_assisted: Stands with hands on the knees do not count.
    """

    seat_ratio: float | None = None
    reject_hand_assisted: bool = True
    count: int = 0
    hand_assisted: int = 0
    incomplete: int = 0
    _gate: RepGate = field(init=False, repr=False)
    _low: float = math.inf
    _hands_since: int | None = None
    _hands_used: bool = False
    _last: ChairStandMeasure | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.seat_ratio is not None and not (
            math.isfinite(self.seat_ratio) and self.seat_ratio < STANDING_LEG_RATIO
        ):
            raise ValueError(
                f"seat_ratio must be a finite leg ratio below {STANDING_LEG_RATIO}, "
                f"got {self.seat_ratio}"
            )
        # The levels move with the seat: `update` gives them per frame. A seat
        # measured means the person was seen seated: the first stand counts even if
        # they rise on the very first frame.
        seated = self._seated_level()
        self._gate = RepGate(
            seated, seated, STANDING_LEG_RATIO, armed=self.seat_ratio is not None
        )

    @property
    def armed(self) -> bool:
        """Seated (or back down) and ready for the next stand."""
        return self._gate.armed

    def _seat(self) -> float:
        return self.seat_ratio if self.seat_ratio is not None else self._low

    def _seated_level(self) -> float:
        if self.seat_ratio is not None:
            rise = STANDING_LEG_RATIO - self.seat_ratio
            return self.seat_ratio + SEATED_FRACTION * rise
        return NOMINAL_SEAT_RATIO + HALFWAY_FRACTION * (
            STANDING_LEG_RATIO - NOMINAL_SEAT_RATIO
        )

    def _standing_level(self) -> float:
        seat = min(self._seat(), self._seated_level())
        return seat + STANDING_FRACTION * (STANDING_LEG_RATIO - seat)

    def progress(self, m: ChairStandMeasure) -> float:
        """How far up the hips are: 0 at the seat, 1 at standing height."""
        seat = min(self._seat(), self._seated_level())
        return (m.leg_ratio - seat) / (STANDING_LEG_RATIO - seat)

    def update(self, m: ChairStandMeasure | None, ts: int) -> list[StandOutcome]:
        """Feed one frame's measure (None = not visible: nothing changes)."""
        if m is None:
            return []
        self._last = m
        out: list[StandOutcome] = []
        r = m.leg_ratio
        self._low = min(self._low, r)
        seated = self._seated_level()
        was_armed = self._gate.armed
        if self._gate.settle(r, seated) is RepOutcome.SHORT:
            self.incomplete += 1
            out.append(StandOutcome.INCOMPLETE)
        if self._gate.armed and not was_armed:  # sat down: a new stand begins
            self._hands_since = None
            self._hands_used = False
        if not self._gate.armed:
            return out
        if m.hands_on_knees:
            if self._hands_since is None:
                self._hands_since = ts
            if not self._hands_used and ts - self._hands_since >= HAND_ON_KNEE_MIN_MS:
                self._hands_used = True
                out.append(StandOutcome.HANDS_DETECTED)
        else:
            self._hands_since = None
        standing = self._standing_level()
        straight = m.knee_deg >= KNEE_STANDING_DEG
        midway = (seated + standing) / 2.0
        if self._gate.rise(r, midway, standing, complete=straight) is not None:
            out.append(self._complete())
        return out

    def _complete(self) -> StandOutcome:
        self._low = math.inf
        if self._hands_used:
            self.hand_assisted += 1
            if self.reject_hand_assisted:
                return StandOutcome.HANDS_USED
            self.count += 1
            return StandOutcome.HANDS_ASSISTED_COUNTED
        self.count += 1
        return StandOutcome.COUNTED

    def finish(self) -> bool:
        """At the end of the test: count a stand more than halfway up (the manual's
        rule). Returns whether it counted."""
        m = self._last
        if m is None or (self._hands_used and self.reject_hand_assisted):
            return False
        if self._gate.finish(self.progress(m) > HALFWAY_FRACTION):
            self.count += 1
            return True
        return False


@dataclass(frozen=True, slots=True)
class ChairStandCount:
    """Result of `count_chair_stands`.

    Attributes:
        count: Full stands.
        stand_frames: Frame index at which each counted stand was reached.
        incomplete: Rejected half stands.
        hand_assisted: Stands with hands on the knees (counted or not, see the counter).
    """

    count: int
    stand_frames: tuple[int, ...]
    incomplete: int
    hand_assisted: int


def count_chair_stands(
    window: PoseWindow,
    *,
    seat_ratio: float | None = None,
    reject_hand_assisted: bool = True,
    min_visibility: float | None = None,
) -> ChairStandCount:
    """Count full stands in a recorded window with the live counter (no 30 s limit and
    no halfway rule at the end: a recording, not a test).

    Args:
        window: (T, J, 3) frames of one person.
        seat_ratio: Measured seated leg ratio, None = uncalibrated.
        reject_hand_assisted: See `ChairStandCounter`.
        min_visibility: Joints below it count as missing (default
            `vision.config.MIN_VISIBILITY`).
    """
    counter = ChairStandCounter(seat_ratio, reject_hand_assisted)
    frames: list[int] = []
    window = isotropic(window)
    for t in range(len(window)):
        frame = window[t]
        m = measure_chair_stand(Body(frame, min_visibility))
        for outcome in counter.update(m, int(frame.timestamp_ms)):
            if outcome in (StandOutcome.COUNTED, StandOutcome.HANDS_ASSISTED_COUNTED):
                frames.append(t)
    return ChairStandCount(
        counter.count, tuple(frames), counter.incomplete, counter.hand_assisted
    )


# Ready = seated: hips nearer the seat than standing height, hands off the knees.
_READY_MAX_RATIO: Final[float] = NOMINAL_SEAT_RATIO + HALFWAY_FRACTION * (
    STANDING_LEG_RATIO - NOMINAL_SEAT_RATIO
)


class ChairStandSession(AssessmentSession[ChairStandMeasure]):
    """The 30-second chair stand at the kiosk (camera from the side, whole body seen).

    Args:
        reject_hand_assisted: Stands pushed up with the hands do not count (the
            protocol); off = they count but the result is flagged "hands_used".
        **options: Those of `AssessmentSession`.
    """

    info = INFO
    texts = TEXTS

    def __init__(
        self,
        *,
        reject_hand_assisted: bool = True,
        **options: Unpack[SessionOptions],
    ) -> None:
        super().__init__(**options)
        self.reject_hand_assisted = reject_hand_assisted
        self.counter = ChairStandCounter(None, reject_hand_assisted)

    @property
    def count(self) -> int:
        return self.counter.count

    def _measure(self, body: Body) -> ChairStandMeasure | None:
        return measure_chair_stand(body)

    def _is_ready(self, m: ChairStandMeasure) -> bool:
        return m.leg_ratio <= _READY_MAX_RATIO and not m.hands_on_knees

    def _start(
        self,
        t0_ms: int,
        calibration: list[ChairStandMeasure],
        ts: int,
        events: list[Event],
    ) -> None:
        seat = median(m.leg_ratio for m in calibration)
        self.counter = ChairStandCounter(
            seat if math.isfinite(seat) else None, self.reject_hand_assisted
        )
        events.append(AssessmentTimerStarted(ts, TEST_ID, t0_ms, DURATION_MS))

    def _step(self, m: ChairStandMeasure | None, ts: int, events: list[Event]) -> None:
        for outcome in self.counter.update(m, ts):
            if outcome in (StandOutcome.COUNTED, StandOutcome.HANDS_ASSISTED_COUNTED):
                self._counted(ts, self.counter.count, None, events, ts)
            elif outcome is StandOutcome.HANDS_DETECTED:
                self._cue(ts, "arms_crossed", events)
            else:
                reason = (
                    "incomplete" if outcome is StandOutcome.INCOMPLETE else "hands_used"
                )
                self._rejected(ts, reason, None, events)
        return None

    def _score(
        self, end_ms: int, ts: int, events: list[Event]
    ) -> tuple[float, dict[str, float], tuple[str, ...], int]:
        flags: list[str] = []
        if self.counter.finish():
            flags.append("final_rep_over_halfway")
            self._counted(ts, self.counter.count, None, events, end_ms)
        if self.counter.hand_assisted:
            flags.append("hands_used")
        if self.counter.seat_ratio is None:
            flags.append("no_seat_calibration")
        return float(self.counter.count), {}, tuple(flags), DURATION_MS

    def _summary(self, value: float, per_side: dict[str, float]) -> LocalizedText:
        n = int(value)
        return {
            "en": f"Time! You did {n} full stand{'s' if n != 1 else ''}.",
            "zh-CN": f"时间到！您完成了{n}次完整的坐站。",
        }
