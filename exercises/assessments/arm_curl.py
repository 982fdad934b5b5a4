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

import math
from dataclasses import dataclass
from typing import Final, Literal, Unpack

from exercises.assessments.counter import RepGate, RepOutcome
from exercises.assessments.data import ProtocolInfo, protocol_info, protocol_texts
from exercises.assessments.events import AssessmentTimerStarted
from exercises.assessments.protocol import (
    AssessmentSession,
    SessionOptions,
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

TEXTS: Final[dict[str, LocalizedText]] = protocol_texts(TEST_ID)
INFO: Final[ProtocolInfo] = protocol_info(TEST_ID)
DURATION_MS: Final[int] = INFO.duration_ms or 0


def measure_elbows(body: Body) -> dict[str, float]:
    """Elbow angle per side in degrees (NaN where the arm is not seen)."""
    return {s: side_angle(body, s, ("shoulder", "elbow", "wrist")) for s in SIDES}


CurlOutcome = RepOutcome
"""COUNTED, or INCOMPLETE: a half curl."""


@dataclass
class CurlCounter(RepGate):
    """Full curls of one arm on its elbow angle in degrees (the rules of the module
    docstring; the angle falls from extended to flexed)."""

    rest: float = EXTENDED_DEG
    attempt: float = HALFWAY_DEG
    target: float = FLEXED_DEG

    @property
    def incomplete(self) -> int:
        """Half curls."""
        return self.short

    @property
    def over_halfway(self) -> bool:
        """The arm is more than halfway up now (the manual's rule at 30 s)."""
        return self.last < HALFWAY_DEG


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
        **options: Those of `AssessmentSession`.
    """

    info = INFO
    texts = TEXTS

    def __init__(
        self,
        *,
        arm: Arm = "right",
        **options: Unpack[SessionOptions],
    ) -> None:
        if arm not in ("left", "right", "both"):
            raise ValueError(f"arm must be 'left', 'right' or 'both', got {arm!r}")
        super().__init__(**options)
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
                self.counters[s].armed = True
        events.append(AssessmentTimerStarted(ts, TEST_ID, t0_ms, DURATION_MS))

    def _step(self, m: dict[str, float] | None, ts: int, events: list[Event]) -> None:
        if m is None:
            return None
        for s in self.sides:
            c = self.counters[s]
            self._report(c.update(m[s]), c.count, s, "incomplete", ts, events)
        return None

    def _score(
        self, end_ms: int, ts: int, events: list[Event]
    ) -> tuple[float, dict[str, float], tuple[str, ...], int]:
        flags: list[str] = []
        for s in self.sides:
            c = self.counters[s]
            if c.finish(c.over_halfway):
                flags.append("final_rep_over_halfway")
                self._counted(ts, c.count, s, events, end_ms)
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
