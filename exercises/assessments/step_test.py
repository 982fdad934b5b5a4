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

import enum
import math
from dataclasses import dataclass
from typing import Final

from exercises.assessments.protocol import (
    AssessmentCountChanged,
    AssessmentPhase,
    AssessmentRepRejected,
    AssessmentSession,
    AssessmentTimerStarted,
    PhaseTiming,
    ProtocolInfo,
    Subject,
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
DURATION_MS: Final[int] = 120_000
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

TEXTS: Final[dict[str, LocalizedText]] = {
    "instructions": {
        "en": "Two-minute step test. Stand up straight facing the screen, next to a "
        "wall or a chair for balance. When I say go, march in place, lifting each "
        "knee to the height shown, as many times as you can in two minutes. You may "
        "slow down or rest, but try to keep going.",
        "zh-CN": "2分钟原地踏步测试。请面对屏幕站直，旁边有墙或椅子可以扶。听到"
        "“开始”后，原地踏步，每次把膝盖抬到屏幕上标示的高度，2分钟内尽可能多做。"
        "可以放慢或稍作休息，但尽量坚持。",
    },
    "start_position": {
        "en": "Please stand up straight facing the screen, so the camera can see you "
        "from head to toe.",
        "zh-CN": "请面对屏幕站直，让摄像头能看到您的全身。",
    },
    "countdown": {"en": "Get ready.", "zh-CN": "准备。"},
    "go": {"en": "Go!", "zh-CN": "开始！"},
    "below_target": {
        "en": "Lift your knee a little higher.",
        "zh-CN": "膝盖再抬高一点。",
    },
}

INFO: Final[ProtocolInfo] = ProtocolInfo(
    test_id=TEST_ID,
    name={"en": "2-minute step test", "zh-CN": "2分钟原地踏步"},
    unit="steps",
    unit_label={"en": "steps", "zh-CN": "次"},
    duration_ms=DURATION_MS,
    camera_view="front",
    say={
        AssessmentPhase.INSTRUCTIONS: TEXTS["instructions"],
        AssessmentPhase.COUNTDOWN: TEXTS["countdown"],
        AssessmentPhase.RUNNING: TEXTS["go"],
    },
    start_position=TEXTS["start_position"],
)


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


class LiftOutcome(enum.IntEnum):
    COUNTED = 0
    BELOW_TARGET = 1


@dataclass
class KneeLiftCounter:
    """Knee lifts of one side reaching `target` (heights in torso lengths above the
    floor; `rest` is the standing knee height)."""

    rest: float
    target: float
    count: int = 0
    short: int = 0
    _armed: bool = True
    _attempt: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rest) and math.isfinite(self.target)) or not (
            self.target > self.rest
        ):
            raise ValueError(
                f"need finite rest < target, got rest={self.rest}, target={self.target}"
            )

    def fraction(self, knee_height: float) -> float:
        """0 at the standing knee height, 1 at the target."""
        return (knee_height - self.rest) / (self.target - self.rest)

    def update(self, knee_height: float) -> LiftOutcome | None:
        if not math.isfinite(knee_height):
            return None
        q = self.fraction(knee_height)
        if q <= REARM_FRACTION:
            short = self._attempt
            self._armed = True
            self._attempt = False
            if short:
                self.short += 1
                return LiftOutcome.BELOW_TARGET
            return None
        if not self._armed:
            return None
        if q >= 1.0:
            self._armed = False
            self._attempt = False
            self.count += 1
            return LiftOutcome.COUNTED
        if q >= ATTEMPT_FRACTION:
            self._attempt = True
        return None


class StepTestSession(AssessmentSession[StepMeasure]):
    """The 2-minute step test at the kiosk (camera in front, whole body seen).

    Args:
        subject: Age and sex for the norms.
        timing: Phase durations before the test.
        min_visibility: Joint visibility threshold.
    """

    info = INFO

    def __init__(
        self,
        *,
        subject: Subject | None = None,
        timing: PhaseTiming | None = None,
        min_visibility: float | None = None,
    ) -> None:
        super().__init__(subject=subject, timing=timing, min_visibility=min_visibility)
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
        elapsed = self._elapsed(ts)
        for s in SIDES:
            outcome = self.counters[s].update(m.knee_height[s])
            if outcome is LiftOutcome.COUNTED:
                events.append(
                    AssessmentCountChanged(
                        ts, TEST_ID, self.counters[s].count, s, elapsed
                    )
                )
            elif outcome is LiftOutcome.BELOW_TARGET:
                events.append(
                    AssessmentRepRejected(
                        ts,
                        TEST_ID,
                        "below_target",
                        s,
                        elapsed,
                        dict(TEXTS["below_target"]),
                    )
                )
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
