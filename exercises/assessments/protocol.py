"""The common shape of a timed fitness assessment: a sans-I/O state machine.

    session = ChairStandSession(subject=Subject(age_years=72, sex=Sex.FEMALE))
    events = session.feed(frame)        # -> list[Event]; time is frame.timestamp_ms
    session.result                      # AssessmentResult once the test is over

Phases, driven only by frame timestamps:

1. INSTRUCTIONS (from the first frame): the kiosk speaks `say`. It lasts at least
   `PhaseTiming.instructions_ms` and until the person has held the protocol's start
   position (seated, arm extended, standing still ...) for `ready_hold_ms`. Someone
   not in it after the instructions hears how to get into it ("start_position" cue),
   every `READY_REMINDER_MS`.
2. COUNTDOWN: `countdown_ms` (3 s) with one `AssessmentCountdownTicked` per whole second
   left ("3", "2", "1"). Frames in the start position here (and the ready frames just
   before) calibrate the protocol (seated hip height, standing knee height ...).
3. RUNNING: starts exactly `countdown_ms` after the countdown began ("Go!"); that
   instant is `t0`. Timed tests (30 s, 120 s) cover [t0, t0 + duration] inclusive:
   the frame at or after the end closes the test; a frame after the end is not counted.
   Open-ended trials (single-leg stance) end when their own rule says so.
4. RESULT: `AssessmentCompleted` with the score, per-side scores, the norm comparison
   (when the subject's age and sex are known) and a plain explanation.

`stop(timestamp_ms)` ends a running test early (staff button, stream ended): the score
so far is reported with the flag "stopped_early"; before RUNNING it cancels the test.
Frames without the needed joints neither count nor move the clock's rules; when more
than `TRACKING_GAP_FRACTION` of the running frames lacked them the result is flagged
"tracking_gaps".

The protocols are data where they are data (`data.py`: `protocols.toml`; `norms.py`:
`norms.toml`) and share one rep counter (`counter.RepGate`).

Core module: stdlib, numpy, vision.{types,config} and exercises.*.
"""

from __future__ import annotations

import abc
import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar, Final, Generic, TypedDict, TypeVar

import numpy as np
import numpy.typing as npt

from exercises.assessments.counter import RepOutcome
from exercises.assessments.data import NO_NORMS, ProtocolInfo, tick_text
from exercises.assessments.events import (
    AssessmentCancelled,
    AssessmentCompleted,
    AssessmentCountChanged,
    AssessmentCountdownTicked,
    AssessmentCueIssued,
    AssessmentPhase,
    AssessmentPhaseChanged,
    AssessmentRepRejected,
    AssessmentResult,
)
from exercises.assessments.norms import NORMS, NormComparison, Sex, compare_to_norms
from exercises.events import Event, LocalizedText
from exercises.metrics.body import Body, angle_deg
from vision import config
from vision.clock import VideoClock
from vision.geometry import isotropic
from vision.types import PoseFrame

__all__ = [
    "NO_NORMS",
    "READY_REMINDER_MS",
    "TRACKING_GAP_FRACTION",
    "AssessmentSession",
    "PhaseTiming",
    "SessionOptions",
    "Subject",
]

F64 = npt.NDArray[np.float64]

READY_REMINDER_MS: Final[int] = 5000
"""After the instructions, a person not in the start position hears how to get into it,
then again every this many ms (`AssessmentCueIssued` "start_position")."""

TRACKING_GAP_FRACTION: Final[float] = 0.2
"""Share of running frames without the needed joints above which a result is flagged
"tracking_gaps": a fifth of a 30 s test unseen can hide several repetitions."""


# --- inputs -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Subject:
    """Who is tested; only what the norms need.

    Attributes:
        age_years: Age in whole years.
        sex: Which norm table; None = no norm comparison.
    """

    age_years: int
    sex: Sex | None = None


@dataclass(frozen=True, slots=True)
class PhaseTiming:
    """Durations of the phases before the test.

    Attributes:
        instructions_ms: Minimum time for the spoken instructions.
        ready_hold_ms: The start position must be held this long to start the countdown.
        countdown_ms: "3, 2, 1, go"; one tick per whole second left.
    """

    instructions_ms: int = 8000
    ready_hold_ms: int = 1000
    countdown_ms: int = 3000

    def __post_init__(self) -> None:
        for name in ("instructions_ms", "ready_hold_ms", "countdown_ms"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an int >= 0, got {value!r}")


# --- geometry shared by the protocols ------------------------------------------------


def side_angle(body: Body, side: str, joints: tuple[str, str, str]) -> float:
    """Angle at the middle joint of `side`_a, `side`_b, `side`_c."""
    a, b, c = (body.xy(f"{side}_{j}") for j in joints)
    return angle_deg(a, b, c)


def point_segment_distance(p: F64, a: F64, b: F64) -> float:
    """Image distance from point `p` to the segment a-b."""
    ab = b - a
    denom = float(np.dot(ab, ab))
    t = 0.0 if denom == 0.0 else max(0.0, min(1.0, float(np.dot(p - a, ab)) / denom))
    return float(np.hypot(*(p - (a + t * ab))))


def median(values: Iterable[float]) -> float:
    """Median of the finite values; NaN when there are none."""
    finite = [v for v in values if math.isfinite(v)]
    return statistics.median(finite) if finite else math.nan


class SessionOptions(TypedDict, total=False):
    """The options every protocol session takes (`AssessmentSession.__init__`); a
    protocol's own come first in its signature, then `**options`."""

    subject: Subject | None
    timing: PhaseTiming | None
    min_visibility: float | None


# --- the session base ---------------------------------------------------------------

M = TypeVar("M")


class AssessmentSession(abc.ABC, Generic[M]):
    """Base of every protocol session: phases, countdown, timing, result and norms.

    A protocol names its `info` and `texts` (from `protocols.toml`) and implements
    `_measure` (what one frame shows, or None), `_is_ready`
    (the start position), `_start` (calibrate from the start-position frames, arm the
    counters), `_step` (one running frame) and `_score`.

    Args:
        subject: Age and sex for the norms (None: no norm comparison).
        timing: Phase durations before the test.
        min_visibility: Joint visibility threshold (default
            `vision.config.MIN_VISIBILITY`).
    """

    info: ClassVar[ProtocolInfo]
    texts: ClassVar[Mapping[str, LocalizedText]]

    def __init__(
        self,
        *,
        subject: Subject | None = None,
        timing: PhaseTiming | None = None,
        min_visibility: float | None = None,
    ) -> None:
        self.subject = subject
        self.timing = timing if timing is not None else PhaseTiming()
        self.min_visibility = (
            config.MIN_VISIBILITY if min_visibility is None else float(min_visibility)
        )
        self._phase: AssessmentPhase | None = None
        self._clock = VideoClock()
        self._phase_ts = 0
        self._ready_since: int | None = None
        self._reminded_at: int | None = None
        self._calibration: list[M] = []
        self._countdown_start = 0
        self._seconds_left: int | None = None
        self._t0: int | None = None
        self._running_frames = 0
        self._unmeasured_frames = 0
        self._result: AssessmentResult | None = None

    # --- public state ---------------------------------------------------------------

    @property
    def phase(self) -> AssessmentPhase | None:
        """Current phase; None before the first frame."""
        return self._phase

    @property
    def result(self) -> AssessmentResult | None:
        """The result once the test is over (RESULT phase), else None."""
        return self._result

    @property
    def started_at_ms(self) -> int | None:
        """The "go" instant, once running."""
        return self._t0

    # --- driving ----------------------------------------------------------------------

    def feed(self, frame: PoseFrame) -> list[Event]:
        """Process one frame.

        Args:
            frame: The person at `frame.timestamp_ms` (PoseFrame.missing when nobody).

        Returns:
            The events this frame caused, in order (possibly none). Frames after the
            result are ignored.

        Raises:
            ValueError: timestamp not after the previous frame's.
        """
        ts = self._clock.advance(int(frame.timestamp_ms))
        events: list[Event] = []
        if self._phase is None:
            self._enter(AssessmentPhase.INSTRUCTIONS, ts, events)
        if self._phase is AssessmentPhase.RESULT:
            return events
        m = self._measure(Body(isotropic(frame), self.min_visibility))
        ready = m is not None and self._is_ready(m)
        if self._phase is AssessmentPhase.INSTRUCTIONS:
            self._instructions(m, ready, ts, events)
        if self._phase is AssessmentPhase.COUNTDOWN:
            self._countdown(m, ready, ts, events)
        if self._phase is AssessmentPhase.RUNNING:
            self._running(m, ts, events)
        return events

    def stop(self, timestamp_ms: int) -> list[Event]:
        """End the test now (staff stopped it, the video ended).

        Running: the score so far becomes the result, flagged "stopped_early". Before
        running: `AssessmentCancelled` and no result. After the result: nothing.
        """
        ts = int(timestamp_ms)
        last = self._clock.last_ms
        if last is not None and ts < last:  # the stop may come with the last frame's
            raise ValueError(
                f"timestamps must not go back: got {ts} ms after {last} ms"
            )
        self._clock.last_ms = ts
        events: list[Event] = []
        if self._phase is AssessmentPhase.RUNNING:
            self._finish(ts, ts, events, ("stopped_early",))
        elif self._phase is not AssessmentPhase.RESULT:
            phase = (self._phase or AssessmentPhase.INSTRUCTIONS).key
            self._phase = AssessmentPhase.RESULT
            events.append(AssessmentCancelled(ts, self.info.test_id, phase))
        return events

    # --- phases -------------------------------------------------------------------

    def _enter(self, phase: AssessmentPhase, ts: int, events: list[Event]) -> None:
        previous = self._phase.key if self._phase is not None else None
        self._phase = phase
        self._phase_ts = ts
        say = dict(self.info.say.get(phase, {}))
        events.append(
            AssessmentPhaseChanged(ts, self.info.test_id, phase.key, previous, say)
        )

    def _instructions(
        self, m: M | None, ready: bool, ts: int, events: list[Event]
    ) -> None:
        if ready and m is not None:
            if self._ready_since is None:
                self._ready_since = ts
                self._calibration = []
            self._calibration.append(m)
        else:
            self._ready_since = None
            self._calibration = []
            if ts - self._phase_ts >= self.timing.instructions_ms and (
                self._reminded_at is None or ts - self._reminded_at >= READY_REMINDER_MS
            ):
                self._reminded_at = ts
                self._cue(ts, "start_position", events)
        if (
            self._ready_since is not None
            and ts - self._phase_ts >= self.timing.instructions_ms
            and ts - self._ready_since >= self.timing.ready_hold_ms
        ):
            self._countdown_start = ts
            self._enter(AssessmentPhase.COUNTDOWN, ts, events)

    def _countdown(
        self, m: M | None, ready: bool, ts: int, events: list[Event]
    ) -> None:
        end = self._countdown_start + self.timing.countdown_ms
        if ts >= end:
            self._t0 = end
            self._enter(AssessmentPhase.RUNNING, ts, events)
            self._start(end, list(self._calibration), ts, events)
            return
        if ready and m is not None and ts > self._countdown_start:
            self._calibration.append(m)
        seconds_left = math.ceil((end - ts) / 1000.0)
        if seconds_left != self._seconds_left:
            self._seconds_left = seconds_left
            events.append(
                AssessmentCountdownTicked(
                    ts, self.info.test_id, seconds_left, tick_text(seconds_left)
                )
            )

    def _running(self, m: M | None, ts: int, events: list[Event]) -> None:
        assert self._t0 is not None
        duration = self.info.duration_ms
        end = None if duration is None else self._t0 + duration
        if end is None or ts <= end:
            if self._clock_running():
                self._running_frames += 1
                if m is None:
                    self._unmeasured_frames += 1
            finished = self._step(m, ts, events)
            if finished is not None and self._phase is AssessmentPhase.RUNNING:
                self._finish(ts, finished, events, ())
                return
        if end is not None and ts >= end:
            self._finish(ts, end, events, ())

    def _finish(
        self, ts: int, end_ms: int, events: list[Event], flags: tuple[str, ...]
    ) -> None:
        assert self._t0 is not None
        value, per_side, own_flags, duration_ms = self._score(end_ms, ts, events)
        all_flags = list(own_flags) + list(flags)
        if (
            self._running_frames
            and self._unmeasured_frames / self._running_frames > TRACKING_GAP_FRACTION
        ):
            all_flags.append("tracking_gaps")
        norm = self._norm(value)
        if norm is not None and norm.note is not None:
            all_flags.append("age_outside_norms")
        explanation = dict(norm.explanation) if norm is not None else self._no_norm()
        if norm is not None and norm.note is not None:
            explanation = {k: f"{v} {norm.note[k]}" for k, v in explanation.items()}
        summary = self._summary(value, per_side)
        self._result = AssessmentResult(
            test_id=self.info.test_id,
            value=value,
            unit=self.info.unit,
            per_side=per_side,
            percentile=None if norm is None else norm.percentile,
            band=None if norm is None else norm.band,
            explanation=explanation,
            flags=tuple(dict.fromkeys(all_flags)),
            duration_ms=duration_ms,
            norm=norm,
            summary=summary,
        )
        previous = AssessmentPhase.RUNNING.key
        self._phase = AssessmentPhase.RESULT
        events.append(
            AssessmentPhaseChanged(
                ts, self.info.test_id, AssessmentPhase.RESULT.key, previous, summary
            )
        )
        events.append(AssessmentCompleted(ts, self._result))

    def _norm(self, value: float) -> NormComparison | None:
        s = self.subject
        if s is None or s.sex is None or self.info.test_id not in NORMS:
            return None
        return compare_to_norms(
            self.info.test_id, value, s.age_years, s.sex, clamp_age=True
        )

    def _no_norm(self) -> LocalizedText:
        return dict(NO_NORMS)

    def _elapsed(self, ts: int) -> int:
        assert self._t0 is not None
        return ts - self._t0

    # --- events a protocol emits while running ----------------------------------------

    def _counted(
        self, ts: int, count: int, side: str | None, events: list[Event], at: int
    ) -> None:
        """A repetition counted at `at` (ms; the frame's time, or the end of the test
        for the final rep), reported with the frame at `ts`."""
        events.append(
            AssessmentCountChanged(
                ts, self.info.test_id, count, side, self._elapsed(at)
            )
        )

    def _rejected(
        self, ts: int, reason: str, side: str | None, events: list[Event]
    ) -> None:
        """An attempt that does not count; `reason` is also the key of its text."""
        events.append(
            AssessmentRepRejected(
                ts,
                self.info.test_id,
                reason,
                side,
                self._elapsed(ts),
                dict(self.texts[reason]),
            )
        )

    def _cue(self, ts: int, cue_id: str, events: list[Event]) -> None:
        """A protocol reminder; `cue_id` is also the key of its text."""
        events.append(
            AssessmentCueIssued(ts, self.info.test_id, cue_id, dict(self.texts[cue_id]))
        )

    def _report(
        self,
        outcome: RepOutcome | None,
        count: int,
        side: str | None,
        short_reason: str,
        ts: int,
        events: list[Event],
    ) -> None:
        """A rep counter's outcome: counted, or a short rep rejected for
        `short_reason`."""
        if outcome is RepOutcome.COUNTED:
            self._counted(ts, count, side, events, ts)
        elif outcome is RepOutcome.SHORT:
            self._rejected(ts, short_reason, side, events)

    # --- protocol hooks -------------------------------------------------------------

    def _clock_running(self) -> bool:
        """Whether the measured time runs now (frames unseen then are tracking gaps)."""
        return True

    @abc.abstractmethod
    def _measure(self, body: Body) -> M | None:
        """What this frame shows for the protocol; None when the joints are missing."""

    @abc.abstractmethod
    def _is_ready(self, m: M) -> bool:
        """Whether the person is in the start position."""

    @abc.abstractmethod
    def _start(
        self, t0_ms: int, calibration: list[M], ts: int, events: list[Event]
    ) -> None:
        """Running begins at `t0_ms` (the frame at `ts` is processed by `_step` next);
        `calibration` holds the start-position frames of the ready hold and the
        countdown."""

    @abc.abstractmethod
    def _step(self, m: M | None, ts: int, events: list[Event]) -> int | None:
        """One running frame; return the end time (ms) when the trial ends by its own
        rule (single-leg stance), else None."""

    @abc.abstractmethod
    def _score(
        self, end_ms: int, ts: int, events: list[Event]
    ) -> tuple[float, dict[str, float], tuple[str, ...], int]:
        """Close the test at `end_ms`: (score, per-side scores, flags, measured ms)."""

    @abc.abstractmethod
    def _summary(self, value: float, per_side: dict[str, float]) -> LocalizedText:
        """The short spoken result."""
