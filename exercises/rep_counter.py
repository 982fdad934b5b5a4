"""The rep counter's state machine: frames in, counted repetitions out (see
`exercises.counting` for the method and the offline entry point).

Core module: stdlib and numpy, plus vision.types and exercises.*; no I/O.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from exercises.counter_params import COUNTER_NOMINAL_FPS, CountedRep, CounterParams
from exercises.periodicity import (
    FrameFeatures,
    Guide,
    SignalChoice,
    SignalSettings,
    choose_signal,
    frame_features,
    oriented_like,
    raw_signal,
    strength_of,
    template_guides,
)
from exercises.rep_ledger import RepLedger
from exercises.signal import Hysteresis, trimmed_range
from exercises.spec import ExerciseSpec
from vision.types import PoseFrame, Skeleton

__all__ = ["COUNTER_NOMINAL_FPS", "CountedRep", "CounterParams", "RepCounter"]

F64 = npt.NDArray[np.float64]

_PACE_LIMIT: Final[float] = 3.0
"""A template's slowest repetition considered, in template paces."""
_HARMONIC_REACH: Final[float] = 2.0
"""The first signal is trusted once lags of this many of its periods are searched."""
_LED_RANGE: Final[float] = 1.5
"""A counter led by another's period considers periods within this factor of it."""
_LED_ADOPT_PERIODS: Final[float] = 2.0
"""Periods of footage a led counter needs (the period is known already)."""
_STABLE_REFITS: Final[int] = 3
"""Refits in a row that must agree on a signal (or `evidence` / its periodicity)."""
_SAME_PACE: Final[float] = 1.5
"""Periods within this factor are one pace (else a harmonic, or a new pace)."""


@dataclass(frozen=True, slots=True)
class _Model:
    """The signal being counted and how (periods in frames); `levels`: fixed
    hysteresis levels (low, high) of the sign-adjusted raw signal instead of levels
    relative to its running range."""

    choice: SignalChoice
    period: float
    floor: float
    levels: tuple[float, float] | None = None


class RepCounter:
    """Counts repetitions frame by frame (see the module docstring).

    Attributes:
        count: Repetitions so far.
        reps: Each counted repetition.
        period_frames: Period of the counted signal (NaN while none is counted).
        source: The counted signal ("" while none).
    """

    def __init__(
        self,
        skeleton: Skeleton = Skeleton.BLAZEPOSE_33,
        *,
        params: CounterParams | None = None,
        guides: tuple[Guide, ...] = (),
        pace_s: float | None = None,
        half_cycle: bool = False,
        min_rep_s: float = 0.0,
        fps_hint: float = COUNTER_NOMINAL_FPS,
        led: bool = False,
    ) -> None:
        """
        Args:
            skeleton: Joint layout of the frames that will be pushed.
            params: Settings; `CounterParams()` by default.
            guides: What a template knows about its channels (`template_guides`); their
                values come with each frame (`push(frame, channels)`).
            pace_s: The template's time per repetition: the period assumed until the
                signal shows its own (and, times 3, the slowest considered).
            half_cycle: Count on reaching the far end (a two-phase cycle).
            min_rep_s: A repetition spanning fewer frames than this (its frames
                from leaving rest to being back, times the frame interval; counted
                relative to its range, the share of that time a raised cosine
                spends past the near level) is jitter, not counted.
            fps_hint: Frame rate assumed until the timestamps show it.
            led: Count only at the period another counter gives (`follow_period`:
                a class following an instructor), nothing until it is given.
        """
        self.skeleton = skeleton
        self.params = params or CounterParams()
        if pace_s is not None and not pace_s > 0:
            raise ValueError(f"pace_s must be > 0, got {pace_s}")
        if not fps_hint > 0:
            raise ValueError(f"fps_hint must be > 0, got {fps_hint}")
        self.guides = tuple(guides)
        self.pace_s = pace_s
        self.half_cycle = half_cycle
        self.min_rep_s = float(min_rep_s)
        self.fps_hint = float(fps_hint)
        self.led = led
        self._lead_s: float | None = None
        self._lead_source = ""
        self.reset()

    @classmethod
    def for_template(
        cls,
        spec: ExerciseSpec,
        skeleton: Skeleton = Skeleton.BLAZEPOSE_33,
        *,
        elder_mode: bool = False,
        params: CounterParams | None = None,
        partial: bool = False,
        min_rep_s: float | None = None,
    ) -> RepCounter:
        """A counter that knows a rep template's channels, rest end, least movement,
        pace (elder pace in elder mode) and shortest repetition (`min_rep_s` when the
        template has none). `partial`: until a signal shows its period, a repetition
        reaching only the template's partial turning point counts."""
        pace = spec.pace_s
        if elder_mode and spec.elder.pace_s is not None:
            pace = max(pace, spec.elder.pace_s)
        return cls(
            skeleton,
            params=params,
            guides=template_guides(spec, elder_mode=elder_mode, partial=partial),
            pace_s=pace,
            half_cycle=len(spec.cycle) == 2,
            min_rep_s=spec.min_rep_s or min_rep_s or 0.0,
        )

    def reset(self) -> None:
        """Forget everything (a new set or a new subject)."""
        self._fps = self.fps_hint
        self._settings = self._settings_for(self._fps)
        self._capacity = capacity = 2 * max(self._frames(self.params.window_s), 64)
        self._coords = np.full((capacity, 26), np.nan)  # x, y of 13 body joints
        self._angles = np.full((capacity, 4), np.nan)
        self._guide_values = np.full((capacity, len(self.guides)), np.nan)
        self._valid = np.zeros(capacity, np.bool_)
        self._ts = np.zeros(capacity, np.int64)
        self._raw = np.full(capacity, np.nan)
        self._smooth = np.full(capacity, np.nan)
        self._z = np.full(capacity, np.nan)
        self._size = 0
        self._first = 0  # frame number of row 0
        self._segment = 0  # row where the counted stretch began
        self._machine = Hysteresis()
        self._seen_ms = -1  # time of the last frame with the counted signal
        self._ema = math.nan
        self._model: _Model | None = self._prior()
        self._candidate: tuple[str, float] | None = None
        self._stable = 0
        self._next_refit = self._refit_every()
        self.reps: list[CountedRep] = []
        self._ledger = RepLedger()  # what was counted, by frame numbers

    @property
    def count(self) -> int:
        return len(self.reps)

    @property
    def period_frames(self) -> float:
        return math.nan if self._model is None else self._model.period

    @property
    def source(self) -> str:
        return "" if self._model is None else self._model.choice.source

    @property
    def period_s(self) -> float | None:
        """Period of the counted signal in seconds once a signal is trusted (its
        period measured, not a template's pace); else None."""
        model = self._model
        if model is None or model.choice.strength == 0.0:
            return None
        return model.period / self._fps

    def follow(self, lead: RepCounter) -> None:
        """Count what `lead` counts (a led counter, e.g. a participant copying an
        instructor): the same kind of signal, at periods within `_LED_RANGE` of its
        period, once two periods of footage show it; nothing while `lead` has not
        trusted a signal."""
        period_s = lead.period_s
        source = lead.source if period_s is not None else ""
        if (period_s, source) == (self._lead_s, self._lead_source):
            return
        self._lead_s, self._lead_source = period_s, source
        self._settings = self._settings_for(self._fps)

    @property
    def under_way(self) -> bool:
        """A repetition has left rest and passed the far level, not back yet."""
        return self._machine.out

    @property
    def oldest_frame(self) -> int:
        """The oldest frame number a repetition counted from now on can start at (a
        new signal is counted over the last `window_s` again)."""
        return self._first + max(0, self._size - self._frames(self.params.window_s))

    # --- settings in frames ------------------------------------------------------

    def _frames(self, seconds: float) -> int:
        return max(1, round(seconds * self._fps))

    def _refit_every(self) -> int:
        # Once a signal is confirmed, its choice changes rarely: look less often.
        confirmed = self._model is not None and self._model.choice.strength > 0.0
        seconds = self.params.refit_s * (4.0 if confirmed else 1.0)
        return max(2, self._frames(seconds))

    def _settings_for(self, fps: float) -> SignalSettings:
        p = self.params
        longest = p.max_period_s
        if self.pace_s is not None:
            longest = min(longest, _PACE_LIMIT * self.pace_s)
        shortest = max(2, round(p.min_period_s * fps))
        if self._lead_s is not None:
            shortest = max(shortest, round(self._lead_s / _LED_RANGE * fps))
            longest = min(longest, self._lead_s * _LED_RANGE)
        return SignalSettings(
            min_period=shortest,
            max_period=max(2 * shortest, round(longest * fps)),
            num_components=p.num_components,
            first_peak_fraction=p.first_peak_fraction,
            guide_strength=p.guide_strength,
            range_floor=p.range_floor,
            threshold=p.threshold,
            min_body_range=p.min_body_range,
            min_angle_range_deg=p.min_angle_range_deg,
            sources=(self._lead_source,) if self._lead_source else (),
        )

    def _prior(self) -> _Model | None:
        """Until a template's channel shows its own period, it is counted between the
        template's rest and turning thresholds, as the session's phases count."""
        if not self.guides or self.pace_s is None:
            return None
        g = self.guides[0]
        if g.rest is None or g.turn is None:
            return None
        choice = SignalChoice(
            source=f"guide:{g.name}",
            period=self.pace_s * self._fps,
            strength=0.0,
            sign=g.sign,
            floor=g.min_range,
            moving=True,
            guide=0,
        )
        return _Model(
            choice, choice.period, g.min_range, (g.sign * g.rest, g.sign * g.turn)
        )

    # --- frames ------------------------------------------------------------------

    def push(
        self, frame: PoseFrame, channels: Mapping[str, float] | None = None
    ) -> list[CountedRep]:
        """Add one frame (and the template channels' values at it, as the session
        computes them; missing ones are NaN). Returns the repetitions counted with it.

        A frame whose timestamp is not after the previous one is ignored.

        Raises:
            TypeError: not a PoseFrame.
            ValueError: a frame of another skeleton.
        """
        if not isinstance(frame, PoseFrame):
            raise TypeError(f"expected a PoseFrame, got {type(frame).__name__}")
        if frame.skeleton is not self.skeleton:
            raise ValueError(
                f"counter is for {self.skeleton.value}, "
                f"got a {frame.skeleton.value} frame"
            )
        ts = int(frame.timestamp_ms)
        if self._size and ts <= self._ts[self._size - 1]:
            return []  # a repeated frame adds nothing
        f = frame_features(
            frame.xyz[None],
            frame.visibility[None],
            self.skeleton,
            self.params.min_joint_fraction,
        )
        guide_values = np.array(
            [
                math.nan if channels is None else channels.get(g.name, math.nan)
                for g in self.guides
            ],
            np.float64,
        )
        return self._push_row(
            f.coords[0], f.angles[0], bool(f.valid[0]), guide_values, ts
        )

    def _push_row(
        self, coords: F64, angles: F64, valid: bool, guide_values: F64, ts: int
    ) -> list[CountedRep]:
        if self._size == self._capacity:
            self._compact()
        row = self._size
        self._coords[row], self._angles[row] = coords, angles
        self._guide_values[row] = guide_values
        self._valid[row], self._ts[row] = valid, ts
        self._size += 1
        if self._size <= self._refit_every():
            self._measure_fps()  # the first frames show the rate the prior needs
        out = self._advance(row) if self._model is not None else []
        self._next_refit -= 1
        if self._next_refit <= 0:
            out += self._refit()
            self._next_refit = self._refit_every()
        return out

    def finish(self) -> list[CountedRep]:
        """The set is over: while no signal has shown its period yet, a last choice on
        everything kept (two periods suffice now that no more footage will come)."""
        model = self._model
        if self._size == 0 or (model is not None and model.choice.strength > 0):
            return []
        return self._refit(final=True)

    def _compact(self) -> None:
        keep = self._capacity // 2
        drop = self._size - keep
        buffers: tuple[npt.NDArray[np.generic], ...] = (
            *(self._coords, self._angles, self._guide_values, self._valid),
            *(self._ts, self._raw, self._smooth, self._z),
        )
        for buf in buffers:
            buf[:keep] = buf[drop : self._size]
        self._first += drop
        self._size = keep
        self._segment = max(0, self._segment - drop)

    # --- conditioning and counting -------------------------------------------------

    def _advance(self, row: int, *, raw_ready: bool = False) -> list[CountedRep]:
        """Condition row causally and step the hysteresis (module docstring, steps 2
        and 3); the rep it counts, if any. `raw_ready`: the raw signal of the rows
        being replayed is in `_raw` already."""
        model = self._model
        assert model is not None
        choice = model.choice
        if not raw_ready:
            raw = math.nan
            if self._valid[row]:
                raw = float(
                    raw_signal(
                        choice,
                        self._coords[row : row + 1],
                        self._angles[row : row + 1],
                        self._guide_values[row : row + 1],
                    )[0]
                )
            self._raw[row] = raw
        raw = float(self._raw[row])
        self._smooth[row] = math.nan
        self._z[row] = math.nan
        if math.isnan(raw):
            return []
        ts = int(self._ts[row])
        if 0 <= self._seen_ms < ts - 1000 * self.params.max_gap_s:
            self._machine.reset()  # a repetition this interrupted does not count
        self._seen_ms = ts
        if model.levels is not None:
            return self._step(row, choice.sign * raw, *model.levels, model.period)
        p = self.params
        period = max(model.period, 2.0)
        width = max(1, round(p.detrend_periods * period))
        history = self._raw[max(self._segment, row - 4 * int(period) - 1) : row + 1]
        history = history[np.isfinite(history)][-width:]
        if history.size < width:
            # The first period of a counted stretch: its mean over the stretch's
            # first `width` frames (replays have them; live rows always have history).
            ahead = self._raw[self._segment : self._segment + 4 * int(period)]
            ahead = ahead[np.isfinite(ahead)][:width]
            if ahead.size > history.size:
                history = ahead
        detrended = raw - float(history.mean())
        alpha = 1.0 - math.exp(-1.0 / max(p.smooth_periods * period, 1e-6))
        self._ema = (
            detrended
            if math.isnan(self._ema)
            else self._ema + alpha * (detrended - self._ema)
        )
        self._smooth[row] = self._ema
        span = max(2, round(p.range_periods * period))
        recent = self._smooth[max(0, row - 2 * span) : row + 1]
        recent = recent[np.isfinite(recent)][-span:]
        low, high = trimmed_range(recent, p.range_tail, span)
        half = max(high - low, model.floor) / 2.0
        sign = choice.sign
        y = sign * self._ema
        centre = sign * (high + low) / 2.0
        self._z[row] = (y - centre) / half
        return self._step(
            row, y, centre - p.threshold * half, centre + p.threshold * half, period
        )

    def _step(
        self, row: int, y: float, low: float, high: float, period: float
    ) -> list[CountedRep]:
        """One hysteresis step; the rep it counts, if any and not counted yet
        (`exercises.rep_ledger`)."""
        frame_no = self._first + row
        closed = self._machine.step(frame_no, y, low, high)
        if self.half_cycle:
            if not self._machine.rose:
                return []
            start, turn, end = self._machine.started, frame_no, frame_no
        elif closed is None:
            return []
        else:
            start, turn, end = closed
        if end > start and self.min_rep_s > 0:
            # Its time against the least rep time (past relative levels: a cosine's).
            t0, t1 = (self._ts[max(0, f - self._first)] for f in (start, end))
            fixed = self._model is not None and self._model.levels is not None
            share = 1.0 if fixed else 1 - math.acos(self.params.threshold) / math.pi
            least_ms = 1e3 * self.min_rep_s * share
            if (t1 - t0) * (end - start + 1) < least_ms * (end - start):
                return []  # faster than any repetition: jitter
        seen = self._valid[max(0, start - self._first) : max(0, end - self._first + 1)]
        frames = int(np.count_nonzero(seen))
        limits = [self.params.max_rep_periods * period]
        typical = self._ledger.typical_frames()
        if typical is not None:  # the set's typical repetition is known
            limits.append(self.params.max_rep_durations * typical)
        if any(0 < most < frames for most in limits):
            return []  # frames with a person far over the counted pace: a transition
        if self._ledger.counted(start, turn, end, period):
            return []  # counted already (or the same movement read twice)
        return [self._count(start, turn, end, frames)]

    def _count(self, start: int, turn: int, end: int, frames: int) -> CountedRep:
        self._ledger.add(start, turn, end, frames)
        ms = [int(self._ts[max(0, f - self._first)]) for f in (start, turn, end)]
        assert self._model is not None
        fixed = self._model.levels is not None
        rep = CountedRep(len(self.reps) + 1, ms[0], ms[1], ms[2], start, end, fixed)
        self.reps.append(rep)
        return rep

    def _replay(self, from_row: int) -> list[CountedRep]:
        """Count over rows from `from_row` again with the current signal (the machine
        restarted there); repetitions counted already are not counted again."""
        self._machine, self._seen_ms, self._ema = Hysteresis(), -1, math.nan
        self._segment = from_row
        self._ledger.new_reading()
        model = self._model
        assert model is not None
        rows = slice(from_row, self._size)
        raw = raw_signal(
            model.choice,
            self._coords[rows],
            self._angles[rows],
            self._guide_values[rows],
        )
        self._raw[rows] = np.where(self._valid[rows], raw, np.nan)
        self._smooth[rows] = math.nan
        out: list[CountedRep] = []
        for row in range(from_row, self._size):
            out += self._advance(row, raw_ready=True)
        return out

    # --- choosing the signal -------------------------------------------------------

    def _window(self) -> tuple[int, FrameFeatures, F64]:
        start = max(0, self._size - self._frames(self.params.window_s))
        end = self._size
        features = FrameFeatures(
            self._coords[start:end], self._angles[start:end], self._valid[start:end]
        )
        return start, features, self._guide_values[start:end]

    def _measure_fps(self) -> None:
        steps = np.diff(self._ts[max(0, self._size - 600) : self._size])
        steps = steps[steps > 0]
        if steps.size >= 2:
            fps = 1000.0 / float(np.median(steps))
            if abs(fps - self._fps) > 0.05 * self._fps:
                self._fps = fps
                self._settings = self._settings_for(fps)
                if self._model is not None and self._model.choice.strength == 0.0:
                    self._model = self._prior()

    def _refit(self, *, final: bool = False) -> list[CountedRep]:
        """Re-choose the signal on the window (module docstring, steps 1 and 4)."""
        self._measure_fps()
        if self.led and self._lead_s is None:
            return []  # the period to count at is not known yet
        start, features, guide_values = self._window()
        choice = choose_signal(features, guide_values, self.guides, self._settings)
        p = self.params
        needed = p.adopt_periods if self._lead_s is None else _LED_ADOPT_PERIODS
        if (
            choice is None
            or not choice.moving
            or choice.strength < p.min_strength
            or int(features.valid.sum()) < (2.0 if final else needed) * choice.period
        ):
            self._candidate = None
            return []
        # A choice must hold over `_STABLE_REFITS` refits in a row (short windows
        # mistake a harmonic or a fidget for the period).
        previous = self._candidate
        same = (
            previous is not None
            and previous[0] == choice.source
            and abs(choice.period - previous[1]) <= 0.15 * choice.period
        )
        self._stable = self._stable + 1 if same else 1
        self._candidate = (choice.source, choice.period)
        # Weaker periodicity must hold longer before it is trusted (unless the
        # period is known from the counter leading this one).
        needed = max(_STABLE_REFITS, math.ceil(p.evidence / choice.strength))
        needed = 1 if self._lead_s is not None else needed
        if not final and self._stable < needed:
            return []
        model = self._model
        if not final and not self._sees_fundamental(features, choice, model):
            return []
        if final and model is not None and choice.guide < 0:
            # At the end of a set a template's unconfirmed channel is kept rather than
            # traded for a weakly periodic other signal seen over two periods.
            return []
        if model is not None and choice.source == model.choice.source:
            confirmed = model.choice.strength > 0.0
            self._model = _Model(
                dataclasses.replace(model.choice, strength=choice.strength),
                choice.period,
                choice.floor,
            )
            # A template's channel confirmed, or a pace markedly faster than the one
            # counted (every other repetition was missed): count what was missed.
            shorter = choice.period * _SAME_PACE < model.period
            return self._replay(start) if shorter or not confirmed else []
        if model is not None:
            current = strength_of(model.choice, features, guide_values, self._settings)
            ratio = choice.period / model.period
            # The counted signal moves at another period than the body's dominant
            # movement (a harmonic was counted): switch; else only a clearly more
            # periodic signal replaces it.
            agrees = 1 / _SAME_PACE < ratio < _SAME_PACE
            if agrees and choice.strength < p.switch_ratio * current:
                # Keep counting this signal, at the period of the dominant movement.
                self._model = dataclasses.replace(model, period=choice.period)
                return []
        self._model = _Model(self._oriented(choice, start), choice.period, choice.floor)
        return self._replay(start)

    def _sees_fundamental(
        self, features: FrameFeatures, choice: SignalChoice, model: _Model | None
    ) -> bool:
        """Whether the window is long enough to tell the chosen period from a
        harmonic of the movement (a joint moving twice per repetition): the first
        signal trusted waits until the lags searched reach `_HARMONIC_REACH` times
        its period (or the slowest period considered)."""
        if self._lead_s is not None or (
            model is not None and model.choice.strength > 0.0
        ):
            return True
        reach = min(self._settings.max_period, features.valid.shape[0] // 2) - 1
        longest = self._settings.max_period - 1
        return bool(reach >= min(_HARMONIC_REACH * choice.period, longest))

    def _oriented(self, choice: SignalChoice, start: int) -> SignalChoice:
        """A free signal replacing a counted one keeps which end is rest: it is
        oriented like the counted signal over the frames both cover."""
        model = self._model
        if model is None or choice.guide >= 0:
            return choice
        rows = slice(start, self._size)
        new = raw_signal(
            choice, self._coords[rows], self._angles[rows], self._guide_values[rows]
        )
        return oriented_like(choice, new, self._z[rows])
