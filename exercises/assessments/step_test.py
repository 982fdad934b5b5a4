# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""2-minute step test (Rikli & Jones): knee lifts in place for 2 minutes.

The score is the number of times the **right** knee reaches the target height, midway
between the kneecap and the iliac crest (top of the hip bone), measured on the person
standing. We count both knees and report both; the score is the right knee's.

Rules:

- Heights are measured up from the floor (the lower ankle, i.e. the stance foot) in
  torso lengths (shoulder midpoint to hip midpoint), so stepping closer to or away from
  the camera does not change them.
- **Target** per knee, from the standing frames of the ready hold and countdown:
  knee height + `TARGET_FRACTION` x (hip height - knee height). The landmarks give the
  knee joint and the hip joint, not the kneecap and the iliac crest: with standard
  proportions (knee joint 0.285, kneecap ~0.29, hip joint 0.53, iliac crest ~0.60 of
  stature) the midpoint of kneecap and crest lies at ~0.65 of the way from the knee
  joint to the hip joint.
- A lift **counts** when the knee reaches the target; the next lift counts only after
  the knee came back down below `REARM_FRACTION` of the way to the target.
- A lift that got past `ATTEMPT_FRACTION` of the way but fell short and came back down
  is rejected ("below_target") with a spoken reminder: the manual asks the tester to
  remind the person to lift the knees to the mark.
- No halfway rule at the end (the manual has none for this test).

Core module: stdlib, numpy, vision.{types,config} and exercises.*.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final, Unpack

from exercises.assessments.counter import RepGate, RepOutcome
from exercises.assessments.data import ProtocolInfo, protocol_info, protocol_texts
from exercises.assessments.events import AssessmentTimerStarted
from exercises.assessments.protocol import (
    AssessmentSession,
    SessionOptions,
    median,
    side_angle,
)
from exercises.events import Event, LocalizedText
from exercises.metrics import Body

__all__ = [
    "ATTEMPT_FRACTION",
    "KNEE_STRAIGHT_DEG",
    "REARM_FRACTION",
    "TARGET_FRACTION",
    "KneeLiftCounter",
    "LiftOutcome",
    "StepMeasure",
    "StepTestSession",
    "measure_steps",
]

TEST_ID: Final[str] = "step_test_2min"
SIDES: Final[tuple[str, str]] = ("left", "right")
SCORED_SIDE: Final[str] = "right"

TARGET_FRACTION: Final[float] = 0.65
"""Target height as a fraction of the way from the knee joint to the hip joint (see
the module docstring; ~+-0.05 from individual proportions, ~2 cm)."""

REARM_FRACTION: Final[float] = 0.3
"""The knee is back down when below this fraction of the way to the target."""

ATTEMPT_FRACTION: Final[float] = 0.5
"""A lift past this fraction of the way that misses the target is reported."""

KNEE_STRAIGHT_DEG: Final[float] = 160.0
"""Standing straight for the calibration: both knees at least this straight."""

TEXTS: Final[dict[str, LocalizedText]] = protocol_texts(TEST_ID)
INFO: Final[ProtocolInfo] = protocol_info(TEST_ID)
DURATION_MS: Final[int] = INFO.duration_ms or 0


@dataclass(frozen=True, slots=True)
class StepMeasure:
    """What one frame shows (heights above the floor in torso lengths; NaN = unseen).

    Attributes:
        knee_height: Per side.
        hip_height: Per side.
        knee_deg: Knee angle per side.
    """

    knee_height: dict[str, float]
    hip_height: dict[str, float]
    knee_deg: dict[str, float]


def measure_steps(body: Body) -> StepMeasure | None:
    """Knee and hip heights of one frame; None without an ankle, both knees or torso."""
    torso = body.torso_length()
    ankles = [body.xy(f"{s}_ankle") for s in SIDES]
    floors = [float(a[1]) for a in ankles if a is not None]
    if not torso > 0 or not floors:
        return None
    floor = max(floors)  # image y grows downward: the stance foot is the lowest ankle

    def height(name: str) -> float:
        p = body.xy(name)
        return math.nan if p is None else (floor - float(p[1])) / torso

    knees = {s: height(f"{s}_knee") for s in SIDES}
    if not all(math.isfinite(v) for v in knees.values()):
        return None
    return StepMeasure(
        knees,
        {s: height(f"{s}_hip") for s in SIDES},
        {s: side_angle(body, s, ("hip", "knee", "ankle")) for s in SIDES},
    )


LiftOutcome = RepOutcome
"""COUNTED, or BELOW_TARGET: a lift that fell short."""


@dataclass
class KneeLiftCounter:
    """Knee lifts of one side reaching `target` (heights in torso lengths above the
    floor; `rest` is the standing knee height), counted on the way to the target."""

    rest: float
    target: float
    gate: RepGate = field(init=False)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rest) and math.isfinite(self.target)) or not (
            self.target > self.rest
        ):
            raise ValueError(
                f"need finite rest < target, got rest={self.rest}, target={self.target}"
            )
        # Standing at the start: the first lift counts.
        self.gate = RepGate(REARM_FRACTION, ATTEMPT_FRACTION, 1.0, armed=True)

    @property
    def count(self) -> int:
        return self.gate.count

    @property
    def short(self) -> int:
        return self.gate.short

    def fraction(self, knee_height: float) -> float:
        """0 at the standing knee height, 1 at the target."""
        return (knee_height - self.rest) / (self.target - self.rest)

    def update(self, knee_height: float) -> LiftOutcome | None:
        return self.gate.update(self.fraction(knee_height))


class StepTestSession(AssessmentSession[StepMeasure]):
    """The 2-minute step test at the kiosk (camera in front, whole body seen).

    Options: those of `AssessmentSession` (subject, timing, min_visibility).
    """

    info = INFO
    texts = TEXTS

    def __init__(
        self,
        **options: Unpack[SessionOptions],
    ) -> None:
        super().__init__(**options)
        self.counters: dict[str, KneeLiftCounter] = {}

    @property
    def targets(self) -> dict[str, float]:
        """Target knee height per side (torso lengths above the floor), once running."""
        return {s: c.target for s, c in self.counters.items()}

    def _measure(self, body: Body) -> StepMeasure | None:
        return measure_steps(body)

    def _is_ready(self, m: StepMeasure) -> bool:
        return all(
            m.knee_deg[s] >= KNEE_STRAIGHT_DEG and m.hip_height[s] > m.knee_height[s]
            for s in SIDES
        ) and abs(m.knee_height["left"] - m.knee_height["right"]) < 0.1 * max(
            m.knee_height.values()
        )

    def _start(
        self,
        t0_ms: int,
        calibration: list[StepMeasure],
        ts: int,
        events: list[Event],
    ) -> None:
        self.counters = {}
        for s in SIDES:
            knee = median(m.knee_height[s] for m in calibration)
            hip = median(m.hip_height[s] for m in calibration)
            target = knee + TARGET_FRACTION * (hip - knee)
            self.counters[s] = KneeLiftCounter(knee, target)
        events.append(AssessmentTimerStarted(ts, TEST_ID, t0_ms, DURATION_MS))

    def _step(self, m: StepMeasure | None, ts: int, events: list[Event]) -> None:
        if m is None:
            return None
        for s in SIDES:
            c = self.counters[s]
            outcome = c.update(m.knee_height[s])
            self._report(outcome, c.count, s, "below_target", ts, events)
        return None

    def _score(
        self, end_ms: int, ts: int, events: list[Event]
    ) -> tuple[float, dict[str, float], tuple[str, ...], int]:
        per_side = {s: float(c.count) for s, c in self.counters.items()}
        return per_side.get(SCORED_SIDE, 0.0), per_side, (), DURATION_MS

    def _summary(self, value: float, per_side: dict[str, float]) -> LocalizedText:
        n = int(value)
        return {
            "en": f"Time! Your right knee reached the target {n} "
            f"time{'s' if n != 1 else ''}.",
            "zh-CN": f"时间到！您的右膝{n}次抬到了目标高度。",
        }
