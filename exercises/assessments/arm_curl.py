# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""30-second arm curl (Rikli & Jones): full curls of a hand weight in 30 s, seated.

The manual tests the dominant arm (women 5 lb / 2.3 kg, men 8 lb / 3.6 kg). We count
either arm or both, each on its own, and report per arm.

Counting rules (per arm; elbow angle = shoulder-elbow-wrist in the image, so the camera
must see the tested arm from the side: from the front the forearm points at the lens and
its angle is meaningless):

- **Extended**: elbow angle >= `EXTENDED_DEG`; this arms the next curl.
- **Full curl**: from extended to elbow angle <= `FLEXED_DEG`; counted when reached.
- A curl that got past halfway (`HALFWAY_DEG`) and went back to extended without
  reaching full flexion is a **half curl**: reported as rejected ("incomplete").
- **End of the 30 s**: a curl in progress counts if the arm is more than halfway up (the
  manual's rule), flagged "final_rep_over_halfway".

Core module: stdlib, numpy, vision.{types,config} and exercises.*.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Final, Literal

from exercises.assessments.protocol import (
    AssessmentCountChanged,
    AssessmentPhase,
    AssessmentRepRejected,
    AssessmentSession,
    AssessmentTimerStarted,
    PhaseTiming,
    ProtocolInfo,
    Subject,
    side_angle,
)
from exercises.events import Event, LocalizedText
from exercises.metrics import Body
from vision.geometry import isotropic
from vision.types import PoseWindow

__all__ = [
    "EXTENDED_DEG",
    "FLEXED_DEG",
    "HALFWAY_DEG",
    "ArmCurlSession",
    "CurlCounter",
    "CurlOutcome",
    "count_curls",
    "measure_elbows",
]

TEST_ID: Final[str] = "arm_curl_30s"
DURATION_MS: Final[int] = 30_000
SIDES: Final[tuple[str, str]] = ("left", "right")

EXTENDED_DEG: Final[float] = 150.0
"""Arm down and straight: a hanging arm reads 160-180 degrees; 150 allows for the
carrying angle and landmark error without accepting a bent arm."""

FLEXED_DEG: Final[float] = 60.0
"""Full flexion: the weight near the shoulder reads 20-50 degrees; 60 is clearly past
the 90 of a half curl."""

HALFWAY_DEG: Final[float] = (EXTENDED_DEG + FLEXED_DEG) / 2.0
"""Halfway up (105 degrees): the manual counts a final curl past halfway at 30 s, and a
curl that passed it but did not reach full flexion is a rejected half curl."""

TEXTS: Final[dict[str, LocalizedText]] = {
    "instructions": {
        "en": "Thirty-second arm curl. Sit on the chair, side-on to the screen, with "
        "the weight in your hand and your arm straight down. When I say go, curl the "
        "weight all the way up and lower it all the way down, as many times as you "
        "can in thirty seconds. Keep your upper arm still.",
        "zh-CN": "30秒手臂弯举测试。请侧身对着屏幕坐在椅子上，手握哑铃，手臂自然"
        "下垂伸直。听到“开始”后，把哑铃完全举起，再完全放下，30秒内尽可能多做"
        "几次。上臂保持不动。",
    },
    "start_position": {
        "en": "Please sit side-on to the screen with the arm you are testing straight "
        "down, so the camera can see it.",
        "zh-CN": "请侧对屏幕坐好，测试的手臂自然下垂伸直，让摄像头能看到它。",
    },
    "countdown": {"en": "Get ready.", "zh-CN": "准备。"},
    "go": {"en": "Go!", "zh-CN": "开始！"},
    "incomplete": {
        "en": "Curl all the way up and all the way down.",
        "zh-CN": "要完全举起，再完全放下。",
    },
}

INFO: Final[ProtocolInfo] = ProtocolInfo(
    test_id=TEST_ID,
    name={"en": "30-second arm curl", "zh-CN": "30秒手臂弯举"},
    unit="curls",
    unit_label={"en": "curls", "zh-CN": "次"},
    duration_ms=DURATION_MS,
    camera_view="side",
    say={
        AssessmentPhase.INSTRUCTIONS: TEXTS["instructions"],
        AssessmentPhase.COUNTDOWN: TEXTS["countdown"],
        AssessmentPhase.RUNNING: TEXTS["go"],
    },
    start_position=TEXTS["start_position"],
)


def measure_elbows(body: Body) -> dict[str, float]:
    """Elbow angle per side in degrees (NaN where the arm is not seen)."""
    return {s: side_angle(body, s, ("shoulder", "elbow", "wrist")) for s in SIDES}


class CurlOutcome(enum.IntEnum):
    COUNTED = 0
    INCOMPLETE = 1


@dataclass
class CurlCounter:
    """Full curls of one arm (the rules of the module docstring)."""

    count: int = 0
    incomplete: int = 0
    _armed: bool = False
    _attempt: bool = False
    _last_deg: float = math.nan

    def update(self, elbow_deg: float) -> CurlOutcome | None:
        """Feed one frame's elbow angle (NaN = not seen: nothing changes)."""
        if not math.isfinite(elbow_deg):
            return None
        self._last_deg = elbow_deg
        if elbow_deg >= EXTENDED_DEG:
            rejected = self._attempt
            self._armed = True
            self._attempt = False
            if rejected:
                self.incomplete += 1
                return CurlOutcome.INCOMPLETE
            return None
        if not self._armed:
            return None
        if elbow_deg <= FLEXED_DEG:
            self._armed = False
            self._attempt = False
            self.count += 1
            return CurlOutcome.COUNTED
        if elbow_deg < HALFWAY_DEG:
            self._attempt = True
        return None

    def arm(self) -> None:
        """The arm was seen extended (the start position): the next curl counts."""
        self._armed = True

    def finish(self) -> bool:
        """At the end of the test: count a curl more than halfway up."""
        if self._armed and self._last_deg < HALFWAY_DEG:
            self._armed = False
            self.count += 1
            return True
        return False


def count_curls(
    window: PoseWindow, min_visibility: float | None = None
) -> dict[str, int]:
    """Full curls per arm in a recorded window (no time limit, no halfway rule)."""
    counters = {s: CurlCounter() for s in SIDES}
    window = isotropic(window)
    for t in range(len(window)):
        angles = measure_elbows(Body(window[t], min_visibility))
        for s in SIDES:
            counters[s].update(angles[s])
    return {s: c.count for s, c in counters.items()}


Arm = Literal["left", "right", "both"]


class ArmCurlSession(AssessmentSession[dict[str, float]]):
    """The 30-second arm curl at the kiosk (camera side-on to the tested arm).

    Args:
        arm: The arm tested ("left"/"right", the dominant one per the manual) or
            "both" (each counted; the score is the better arm, flagged "both_arms").
        subject: Age and sex for the norms.
        timing: Phase durations before the test.
        min_visibility: Joint visibility threshold.
    """

    info = INFO

    def __init__(
        self,
        *,
        arm: Arm = "right",
        subject: Subject | None = None,
        timing: PhaseTiming | None = None,
        min_visibility: float | None = None,
    ) -> None:
        if arm not in ("left", "right", "both"):
            raise ValueError(f"arm must be 'left', 'right' or 'both', got {arm!r}")
        super().__init__(subject=subject, timing=timing, min_visibility=min_visibility)
        self.arm: Arm = arm
        self.sides: tuple[str, ...] = SIDES if arm == "both" else (arm,)
        self.counters = {s: CurlCounter() for s in self.sides}

    def _measure(self, body: Body) -> dict[str, float] | None:
        angles = measure_elbows(body)
        if not any(math.isfinite(angles[s]) for s in self.sides):
            return None
        return angles

    def _is_ready(self, m: dict[str, float]) -> bool:
        seen = [m[s] for s in self.sides if math.isfinite(m[s])]
        return bool(seen) and all(a >= EXTENDED_DEG for a in seen)

    def _start(
        self,
        t0_ms: int,
        calibration: list[dict[str, float]],
        ts: int,
        events: list[Event],
    ) -> None:
        self.counters = {s: CurlCounter() for s in self.sides}
        # The arms were seen extended in the start position: the first curl counts.
        for s in self.sides:
            if any(math.isfinite(m[s]) for m in calibration):
                self.counters[s].arm()
        events.append(AssessmentTimerStarted(ts, TEST_ID, t0_ms, DURATION_MS))

    def _step(self, m: dict[str, float] | None, ts: int, events: list[Event]) -> None:
        if m is None:
            return None
        elapsed = self._elapsed(ts)
        for s in self.sides:
            outcome = self.counters[s].update(m[s])
            if outcome is CurlOutcome.COUNTED:
                events.append(
                    AssessmentCountChanged(
                        ts, TEST_ID, self.counters[s].count, s, elapsed
                    )
                )
            elif outcome is CurlOutcome.INCOMPLETE:
                events.append(
                    AssessmentRepRejected(
                        ts, TEST_ID, "incomplete", s, elapsed, dict(TEXTS["incomplete"])
                    )
                )
        return None

    def _score(
        self, end_ms: int, ts: int, events: list[Event]
    ) -> tuple[float, dict[str, float], tuple[str, ...], int]:
        flags: list[str] = []
        for s in self.sides:
            if self.counters[s].finish():
                flags.append("final_rep_over_halfway")
                events.append(
                    AssessmentCountChanged(
                        ts, TEST_ID, self.counters[s].count, s, self._elapsed(end_ms)
                    )
                )
        per_side = {s: float(self.counters[s].count) for s in self.sides}
        if self.arm == "both":
            flags.append("both_arms")
        return max(per_side.values()), per_side, tuple(flags), DURATION_MS

    def _summary(self, value: float, per_side: dict[str, float]) -> LocalizedText:
        n = int(value)
        if self.arm == "both":
            left, right = int(per_side["left"]), int(per_side["right"])
            return {
                "en": f"Time! Left arm {left} curls, right arm {right} curls.",
                "zh-CN": f"时间到！左臂{left}次，右臂{right}次。",
            }
        arm_en = "left" if self.arm == "left" else "right"
        arm_zh = "左臂" if self.arm == "left" else "右臂"
        return {
            "en": f"Time! You did {n} full curl{'s' if n != 1 else ''} with your "
            f"{arm_en} arm.",
            "zh-CN": f"时间到！您的{arm_zh}完成了{n}次完整的弯举。",
        }
