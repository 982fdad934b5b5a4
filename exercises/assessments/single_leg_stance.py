# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""Single-leg stance, eyes open: seconds standing on one leg, hands on the hips.

Not part of the Senior Fitness Test (it has no norms there; see `norms`), but a common
balance screen in the same centres. The camera faces the person (both feet in view).

Rules:

- The **foot gap** is the lifted ankle's height above the stance ankle in shin lengths
  (vertical image distance / knee-ankle length), so it does not depend on the distance
  to the camera.
- The timer **starts** at the first frame of a lift (gap >= `LIFT_SHINS`) with the hands
  on the hips, once that has lasted `DEBOUNCE_MS` (the start time is the first frame,
  not the confirmation). Lifting without the hands on the hips gets a reminder.
- The trial **ends** at the first frame of
  - a touch-down: gap < `TOUCH_SHINS` (or the other foot lifted) for `DEBOUNCE_MS`;
  - the hands leaving the hips for `DEBOUNCE_MS` (when `require_hands_on_hips`);
  - or at `max_s` (60 s by default).
  The official rule ends the trial on any touch-down. Landmarks jitter by a few pixels
  and a single bad frame can put both ankles level, so a touch-down must persist
  `DEBOUNCE_MS` (200 ms, 6 frames at 30 fps) to count; the trial then ends at its first
  frame, so the debounce costs no time. The price: a tap shorter than 200 ms is not
  seen (staff can stop the test by hand). Touching the stance leg with the lifted foot
  and hopping on the stance foot are not detected.
- "Hands on hips" = each wrist within `HANDS_ON_HIPS_TORSO` torso lengths of its hip
  and the elbow bent (<= `HANDS_ON_HIPS_MAX_ELBOW_DEG`): a hanging arm's wrist is also
  near the hip, but its elbow is straight. Arms not seen count as unknown, never as off.
- No lift within `LIFT_TIMEOUT_MS` of "go": the result is 0 s, flagged
  "foot_not_lifted".

Core module: stdlib, numpy, vision.{types,config} and exercises.*.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Final, Unpack

import numpy as np

from exercises.assessments.data import ProtocolInfo, protocol_info, protocol_texts
from exercises.assessments.events import AssessmentTimerStarted
from exercises.assessments.protocol import (
    AssessmentSession,
    SessionOptions,
    side_angle,
)
from exercises.events import Event, LocalizedText
from exercises.metrics import Body

__all__ = [
    "DEBOUNCE_MS",
    "HANDS_ON_HIPS_MAX_ELBOW_DEG",
    "HANDS_ON_HIPS_TORSO",
    "LIFT_SHINS",
    "LIFT_TIMEOUT_MS",
    "TOUCH_SHINS",
    "SingleLegStanceSession",
    "StanceMeasure",
    "measure_stance",
]

TEST_ID: Final[str] = "single_leg_stance"

LIFT_SHINS: Final[float] = 0.15
"""A foot is off the floor when its ankle is this many shin lengths (~6 cm) above the
other; several times the ankles' landmark jitter (~1 cm)."""

TOUCH_SHINS: Final[float] = 0.08
"""Back on the floor: ankles level within ~3 cm. The gap between this and `LIFT_SHINS`
is the hysteresis."""

DEBOUNCE_MS: Final[int] = 200
"""A lift, a touch-down or hands off the hips must persist this long (see above)."""

HANDS_ON_HIPS_TORSO: Final[float] = 0.45
"""A hand on the iliac crest puts the wrist within about a third of a torso of the hip
joint landmark; 0.45 allows for wide hips and landmark error."""

HANDS_ON_HIPS_MAX_ELBOW_DEG: Final[float] = 135.0
"""Hands on hips bend the elbow to ~90-110 degrees; a hanging arm reads 160-180."""

LIFT_TIMEOUT_MS: Final[int] = 15_000
"""Give up waiting for the lift after this long."""

DEFAULT_MAX_S: Final[float] = 60.0

TEXTS: Final[dict[str, LocalizedText]] = protocol_texts(TEST_ID)
INFO: Final[ProtocolInfo] = protocol_info(TEST_ID)


@dataclass(frozen=True, slots=True)
class StanceMeasure:
    """What one frame shows.

    Attributes:
        foot_gap: (left ankle y - right ankle y) / shin length: > 0 = the left ankle is
            lower, i.e. the right foot is lifted.
        hands_on_hips: Both hands on the hips; None when the arms are not seen.
    """

    foot_gap: float
    hands_on_hips: bool | None


def measure_stance(body: Body) -> StanceMeasure | None:
    """The stance signals of one frame; None without both ankles and a shin."""
    la, ra = body.xy("left_ankle"), body.xy("right_ankle")
    if la is None or ra is None:
        return None
    shins = []
    for s, ankle in (("left", la), ("right", ra)):
        knee = body.xy(f"{s}_knee")
        if knee is not None:
            shins.append(float(np.hypot(*(knee - ankle))))
    shin = float(np.mean(shins)) if shins else 0.0
    if not shin > 0.0:
        return None
    return StanceMeasure(float(la[1] - ra[1]) / shin, _hands_on_hips(body))


def _hands_on_hips(body: Body) -> bool | None:
    torso = body.torso_length()
    if not torso > 0:
        return None
    for s in ("left", "right"):
        wrist, hip = body.xy(f"{s}_wrist"), body.xy(f"{s}_hip")
        elbow = side_angle(body, s, ("shoulder", "elbow", "wrist"))
        if wrist is None or hip is None or not math.isfinite(elbow):
            return None
        near = float(np.hypot(*(wrist - hip))) <= HANDS_ON_HIPS_TORSO * torso
        if not (near and elbow <= HANDS_ON_HIPS_MAX_ELBOW_DEG):
            return False
    return True


class _State(enum.IntEnum):
    WAITING = 0
    BALANCING = 1
    ENDED = 2


class SingleLegStanceSession(AssessmentSession[StanceMeasure]):
    """One single-leg stance trial (either leg; run it again for the other).

    Args:
        max_s: Cap of the trial in seconds.
        require_hands_on_hips: End the trial when the hands leave the hips.
        **options: Those of `AssessmentSession`.
    """

    info = INFO
    texts = TEXTS

    def __init__(
        self,
        *,
        max_s: float = DEFAULT_MAX_S,
        require_hands_on_hips: bool = True,
        **options: Unpack[SessionOptions],
    ) -> None:
        if not (math.isfinite(max_s) and max_s > 0):
            raise ValueError(f"max_s must be > 0, got {max_s!r}")
        super().__init__(**options)
        self.max_ms = round(max_s * 1000)
        self.require_hands_on_hips = require_hands_on_hips
        self._state = _State.WAITING
        self._lift_since: int | None = None
        self._hands_cue_for: int | None = None
        self._start_ms: int | None = None
        self._stance: str | None = None
        self._touch_since: int | None = None
        self._hands_off_since: int | None = None
        self._end_reason = ""

    @property
    def stance_side(self) -> str | None:
        """The leg stood on ("left"/"right") once the timer runs."""
        return self._stance

    def _hands_ok(self, m: StanceMeasure) -> bool:
        return not self.require_hands_on_hips or m.hands_on_hips is not False

    def _clock_running(self) -> bool:
        return self._state is _State.BALANCING

    def _measure(self, body: Body) -> StanceMeasure | None:
        return measure_stance(body)

    def _is_ready(self, m: StanceMeasure) -> bool:
        return abs(m.foot_gap) < TOUCH_SHINS and self._hands_ok(m)

    def _start(
        self,
        t0_ms: int,
        calibration: list[StanceMeasure],
        ts: int,
        events: list[Event],
    ) -> None:
        self._state = _State.WAITING

    def _lifted_height(self, m: StanceMeasure) -> float:
        return m.foot_gap if self._stance == "left" else -m.foot_gap

    def _step(
        self, m: StanceMeasure | None, ts: int, events: list[Event]
    ) -> int | None:
        if self._state is _State.WAITING:
            return self._wait(m, ts, events)
        if self._state is _State.BALANCING:
            return self._balance(m, ts)
        return None

    def _wait(
        self, m: StanceMeasure | None, ts: int, events: list[Event]
    ) -> int | None:
        assert self._t0 is not None
        if m is not None:
            lifted = abs(m.foot_gap) >= LIFT_SHINS
            if lifted and self._hands_ok(m):
                if self._lift_since is None:
                    self._lift_since = ts
                if ts - self._lift_since >= DEBOUNCE_MS:
                    self._state = _State.BALANCING
                    self._start_ms = self._lift_since
                    self._stance = "left" if m.foot_gap > 0 else "right"
                    limit = self.max_ms
                    events.append(
                        AssessmentTimerStarted(ts, TEST_ID, self._start_ms, limit)
                    )
                    return self._balance(m, ts)
            else:
                self._lift_since = None
            if lifted and not self._hands_ok(m):
                if self._hands_cue_for is None:
                    self._hands_cue_for = ts
                    self._cue(ts, "hands_on_hips", events)
            elif not lifted:
                self._hands_cue_for = None
        if ts - self._t0 >= LIFT_TIMEOUT_MS and self._lift_since is None:
            self._state = _State.ENDED
            self._end_reason = "foot_not_lifted"
            return ts
        return None

    def _balance(self, m: StanceMeasure | None, ts: int) -> int | None:
        assert self._start_ms is not None
        if m is not None:
            touching = self._lifted_height(m) < TOUCH_SHINS
            if touching:
                if self._touch_since is None:
                    self._touch_since = ts
            else:
                self._touch_since = None
            if self.require_hands_on_hips and m.hands_on_hips is False:
                if self._hands_off_since is None:
                    self._hands_off_since = ts
            elif m.hands_on_hips is not None:
                self._hands_off_since = None
        ends = [
            (since, reason)
            for since, reason in (
                (self._touch_since, "touched_down"),
                (self._hands_off_since, "hands_off_hips"),
            )
            if since is not None
        ]
        confirmed = [(s, r) for s, r in ends if ts - s >= DEBOUNCE_MS]
        if confirmed:
            since, reason = min(confirmed)
            return self._end(since, reason)
        cap = self._start_ms + self.max_ms
        if ts >= cap and not any(s < cap for s, _ in ends):
            return self._end(cap, "max_time_reached")
        return None

    def _end(self, end_ms: int, reason: str) -> int:
        self._state = _State.ENDED
        self._end_reason = reason
        return end_ms

    def _score(
        self, end_ms: int, ts: int, events: list[Event]
    ) -> tuple[float, dict[str, float], tuple[str, ...], int]:
        if self._start_ms is None or self._stance is None:
            reason = self._end_reason or "foot_not_lifted"
            return 0.0, {}, (reason,), 0
        held_ms = max(0, min(end_ms, self._start_ms + self.max_ms) - self._start_ms)
        seconds = round(held_ms / 1000.0, 1)
        flags = (self._end_reason,) if self._end_reason else ()
        return seconds, {self._stance: seconds}, flags, held_ms

    def _no_norm(self) -> LocalizedText:
        return dict(TEXTS["no_norms"])

    def _summary(self, value: float, per_side: dict[str, float]) -> LocalizedText:
        if not per_side:
            return {
                "en": "The foot was not lifted, so there is no time this round.",
                "zh-CN": "这次没有看到抬脚，所以没有成绩。",
            }
        side = next(iter(per_side))
        leg_en = "left" if side == "left" else "right"
        leg_zh = "左腿" if side == "left" else "右腿"
        return {
            "en": f"You stood on your {leg_en} leg for {value:.1f} seconds.",
            "zh-CN": f"您用{leg_zh}站立了{value:.1f}秒。",
        }
