# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""A paced breathing session with arm movement: a sans-I/O state machine.

    session = BreathingSession(programme, BreathingOptions(aspect_wh=16 / 9))
    events = session.feed(frame)      # -> list[Event]; time is frame.timestamp_ms
    session.summary                   # RhythmSummary once completed

Time runs from the first frame, t0:

- t0: `BreathingStarted` (instructions and the schedule) and the first guidance.
- t0 + lead-in, then every breath: `BreathCued` "inhale", and `inhale_ms` later
  "exhale", `cycles` times. A frame past several due cues carries each of them, in
  order, with its due time in `at_ms`.
- Every frame: the arm height (`rhythm.ArmHeight`) goes into a `MoveDetector`; each
  breath seen (a rise then a fall, its top after the first in-breath cue) is reported
  by `BreathMeasured`.
- After the last out-breath has ended and `settle_ms` more have passed, or on `stop`:
  `BreathingCompleted` with the summary (`rhythm.summarise`).

Guidance ("ok", "not_visible", "show_arms") is announced when it changes and a new
verdict has lasted `guidance_debounce_ms` (the first at once).

The image's aspect (width / height) is an option until `PoseFrame` carries it.

Core module: stdlib and numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from exercises.breathing.events import (
    BreathCued,
    BreathingCompleted,
    BreathingGuidanceChanged,
    BreathingStarted,
    BreathMeasured,
)
from exercises.breathing.programme import BreathingProgramme
from exercises.breathing.rhythm import (
    ArmHeight,
    Breath,
    Move,
    MoveDetector,
    RhythmSummary,
    breaths_from_moves,
    summarise,
)
from exercises.debounce import Debouncer
from exercises.events import Event, LocalizedText
from vision.clock import VideoClock
from vision.types import PoseFrame

__all__ = ["GUIDANCE_MESSAGES", "BreathingOptions", "BreathingSession"]

GUIDANCE_MESSAGES: Final[dict[str, LocalizedText]] = {
    "ok": {"en": "Good, I can see your arms.", "zh-CN": "很好，我能看到您的双臂。"},
    "not_visible": {
        "en": "Please sit or stand in front of the camera.",
        "zh-CN": "请坐或站在摄像头前。",
    },
    "show_arms": {
        "en": "Make sure the camera can see your arms and shoulders.",
        "zh-CN": "请让摄像头能看到您的双臂和肩膀。",
    },
}


@dataclass(frozen=True, slots=True)
class BreathingOptions:
    """Settings of one session.

    Attributes:
        aspect_wh: Width / height of the camera's images.
        pace_scale: Every in- and out-breath this many times the programme's (elder
            pace: 1.25 = a quarter slower).
        settle_ms: After the last out-breath, how long to wait for the arms to come to
            rest before the summary.
        guidance_debounce_ms: How long a new guidance verdict must last.
        min_visibility: Visibility from which a joint counts as seen.
    """

    aspect_wh: float = 1.0
    pace_scale: float = 1.0
    settle_ms: int = 2000
    guidance_debounce_ms: int = 1000
    min_visibility: float = 0.5

    def __post_init__(self) -> None:
        if not 0.5 <= self.pace_scale <= 3.0:
            raise ValueError(f"pace_scale must be 0.5 to 3, got {self.pace_scale}")
        if not self.aspect_wh > 0:
            raise ValueError(f"aspect_wh must be > 0, got {self.aspect_wh}")
        if self.settle_ms < 0:
            raise ValueError(f"settle_ms must be >= 0, got {self.settle_ms}")


class BreathingSession:
    """Feed frames, get events; see the module docstring."""

    def __init__(
        self, programme: BreathingProgramme, options: BreathingOptions | None = None
    ) -> None:
        self.programme = programme
        self.options = o = options or BreathingOptions()
        self.inhale_ms = round(programme.inhale_s * 1000 * o.pace_scale)
        self.exhale_ms = round(programme.exhale_s * 1000 * o.pace_scale)
        self.lead_in_ms = round(programme.lead_in_s * 1000)
        self._arms = ArmHeight(o.aspect_wh, o.min_visibility)
        self._detector = MoveDetector()
        self._moves: list[Move] = []
        self._reported = 0
        self._t0: int | None = None
        self._clock = VideoClock()
        self._cues_sent = 0
        self._guidance = Debouncer(o.guidance_debounce_ms)
        self.summary: RhythmSummary | None = None

    @property
    def period_ms(self) -> int:
        return self.inhale_ms + self.exhale_ms

    def cue_times_ms(self) -> list[tuple[int, int, str]]:
        """(due time, cycle, phase) of every cue, relative to the first frame."""
        out = []
        for k in range(self.programme.cycles):
            start = self.lead_in_ms + k * self.period_ms
            out.append((start, k + 1, "inhale"))
            out.append((start + self.inhale_ms, k + 1, "exhale"))
        return out

    def feed(self, frame: PoseFrame) -> list[Event]:
        """Take one frame; returns the events it caused.

        Raises:
            ValueError: the timestamp is not later than the previous frame's.
        """
        ts = self._clock.advance(int(frame.timestamp_ms))
        if self.summary is not None:
            return []
        events: list[Event] = []
        if self._t0 is None:
            self._t0 = ts
            p = self.programme
            events.append(
                BreathingStarted(
                    ts,
                    p.id,
                    dict(p.name),
                    dict(p.instructions),
                    self.lead_in_ms,
                    self.inhale_ms,
                    self.exhale_ms,
                    p.cycles,
                )
            )
        self._cue(ts, events)
        height = self._arms.update(frame)
        self._announce(self._verdict(frame, height), ts, events)
        move = self._detector.update(ts, height)
        if move is not None:
            self._moves.append(move)
            self._report(ts, events)
        end = self._t0 + self.lead_in_ms + self.programme.cycles * self.period_ms
        if ts >= end + self.options.settle_ms:
            self._complete(ts, events, stopped_early=False)
        return events

    def stop(self, timestamp_ms: int) -> list[Event]:
        """End now (staff button, stream ended): the summary of what was seen."""
        if self.summary is not None or self._t0 is None:
            return []
        events: list[Event] = []
        self._complete(int(timestamp_ms), events, stopped_early=True)
        return events

    # --- internals -------------------------------------------------------------

    def _cue(self, ts: int, events: list[Event]) -> None:
        assert self._t0 is not None
        cues = self.cue_times_ms()
        p = self.programme
        while self._cues_sent < len(cues) and self._t0 + cues[self._cues_sent][0] <= ts:
            due, cycle, phase = cues[self._cues_sent]
            inhale = phase == "inhale"
            events.append(
                BreathCued(
                    ts,
                    cycle,
                    phase,
                    self._t0 + due,
                    self.inhale_ms if inhale else self.exhale_ms,
                    dict(p.inhale_cue if inhale else p.exhale_cue),
                )
            )
            self._cues_sent += 1

    def _verdict(self, frame: PoseFrame, height: float) -> str:
        if math.isfinite(height):
            return "ok"
        seen = np.isfinite(frame.xyz[:, :2]).all(axis=1) & (
            frame.visibility >= self.options.min_visibility
        )
        return "show_arms" if seen.any() else "not_visible"

    def _announce(self, key: str, ts: int, events: list[Event]) -> None:
        if self._guidance.update(key, ts):
            events.append(
                BreathingGuidanceChanged(ts, key, dict(GUIDANCE_MESSAGES[key]))
            )

    def _breaths(self) -> list[Breath]:
        assert self._t0 is not None
        first_cue = self._t0 + self.lead_in_ms
        return [b for b in breaths_from_moves(self._moves) if b.top_ms >= first_cue]

    def _report(self, ts: int, events: list[Event]) -> None:
        breaths = self._breaths()
        for b in breaths[self._reported :]:
            self._reported += 1
            events.append(BreathMeasured(ts, self._reported, b))

    def _complete(self, ts: int, events: list[Event], *, stopped_early: bool) -> None:
        assert self._t0 is not None
        last = self._detector.finish()
        if last is not None:
            self._moves.append(last)
        self._report(ts, events)
        tops = [
            self._t0 + due for due, _, phase in self.cue_times_ms() if phase == "exhale"
        ]
        summary = summarise(
            self._breaths(),
            self.programme,
            pace_scale=self.options.pace_scale,
            cue_tops_ms=tops,
        )
        self.summary = summary
        events.append(
            BreathingCompleted(ts, summary, dict(self.programme.finish), stopped_early)
        )
