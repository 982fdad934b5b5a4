"""What differs between the three kinds of template, chosen once per session
(`make_kind`): reps, a sequence of moves, or a hold (a sans-I/O part of
`exercises.session.Session`).

- reps: the rep counter (`exercises.rep_counter.RepCounter`, the one `movecoach
  analyze` counts with) is fed every frame and the template's channels; each
  repetition it counts is scored by DTW against the template's reference
  (`exercises.scoring`) over its frames, the reference cut where the counter cut the
  repetition (`counted_span`: the template's own thresholds until a signal showed its
  period, then the counter's levels relative to the range); a repetition no frame of
  which reached the turning phase is partial; the template's pace says how long a
  rep should take. The phase cycle still runs (phase events, rules `during` a phase)
  but counts nothing.
- sequence: the cycle chains the moves (the start phase of the first, then each move's
  end phase); each step is a move, scored against the move's own reference
  (`MoveCompleted`), after holding its end phase for the move's `hold_s` when it has
  one (holding only part of it costs up to half the move's score). A round of every
  move is a rep scored as the mean of its moves; its pace is not checked.
- hold: no cycle; the hold timer (`exercises.holds.HoldTimer`) runs on every frame and
  each fault counts once for the whole hold.

Core module: stdlib, numpy and exercises.*; no clocks, no I/O.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np

from exercises.channels import sees
from exercises.counter_params import CountedRep, CounterParams
from exercises.events import Event, MoveCompleted
from exercises.holds import HoldTimer, MoveHold
from exercises.periodicity import template_guides
from exercises.phases import Advanced, Completed
from exercises.rep_counter import RepCounter
from exercises.scoring import RepScore, phase_span, score_trajectory
from exercises.spec import ExerciseSpec, Phase, Reference
from exercises.trace import Trace
from vision.types import PoseFrame, Skeleton

__all__ = [
    "HoldKind",
    "RepsKind",
    "RoundScore",
    "SequenceKind",
    "SessionKind",
    "counted_span",
    "make_kind",
    "score_window",
]


@dataclass(frozen=True, slots=True)
class RoundScore:
    """A completed round as its kind scores it.

    Attributes:
        score: 0-100.
        breakdown: Per-channel scores.
        duration_ms: How long the movement took.
        expected_ms: How long it should have taken at the template's pace (0: the pace
            is not checked).
    """

    score: float
    breakdown: dict[str, float]
    duration_ms: int
    expected_ms: float


def counted_span(
    spec: ExerciseSpec, threshold: float, *, elder_mode: bool = False
) -> tuple[float, float] | None:
    """The part of the reference a repetition counted relative to its range covers,
    in normalised time.

    The counter cuts a repetition where the template's channel leaves its near
    hysteresis level, (1 - threshold) / 2 of the way from rest to the turning point,
    to where it is back past it (a two-phase template: until it passes the far level,
    (1 + threshold) / 2 of the way); the reference is cut at the same points of its
    own excursion. None when the reference lacks the template's channel."""
    ref = spec.reference
    guides = template_guides(spec, elder_mode=elder_mode)
    if ref is None or not guides or guides[0].name not in ref.channels:
        return None
    g = guides[0]
    v = g.sign * np.asarray(ref.values[ref.channels.index(g.name)], np.float64)
    if not v.max() > v[0]:
        return None
    excursion = (v - v[0]) / (v.max() - v[0])
    t = np.asarray(ref.t)
    turn = int(np.argmax(excursion))
    near = (1 - threshold) / 2
    left = np.flatnonzero(excursion[:turn] <= near)
    start = float(t[left[-1]]) if left.size else 0.0
    if len(spec.cycle) == 2:
        past = np.flatnonzero(excursion >= (1 + threshold) / 2)
        return (start, float(t[past[0]])) if past.size else None
    back = np.flatnonzero(excursion[turn:] <= near)
    return (start, float(t[turn + back[0]])) if back.size else None


def score_window(
    spec: ExerciseSpec,
    trace: Trace,
    reference: Reference,
    start: int,
    end: int,
    span: tuple[float, float] | None,
) -> RepScore:
    """Score frames `start`..`end` of `trace` against `reference`, on the channels
    meaningful in the view seen most in them (all of them when none is)."""
    times, values = trace.window(start, end)
    views = Counter(v for v in trace.views(start, end) if v)
    view = views.most_common(1)[0][0] if views else None
    channels = tuple(c for c in reference.channels if sees(spec, c, view))
    if not channels:
        channels = reference.channels
    cols = [trace.column(c) for c in channels]
    return score_trajectory(
        reference,
        channels,
        times.copy(),
        np.ascontiguousarray(values[:, cols]),
        span=span,
    )


class SessionKind:
    """The hooks a session calls; the defaults do nothing (see the module docstring).

    Attributes:
        cycle: The phase names of one round (empty: no cycle).
        moves_completed: Sequence moves completed.
    """

    cycle: tuple[str, ...] = ()
    moves_completed: int = 0
    counts_reps: bool = False
    """Repetitions come from `count` (faults are the rep's by time), not rounds."""

    @property
    def in_position(self) -> bool:
        """A hold is held (for rules `during` "in_position")."""
        return False

    @property
    def blocking(self) -> bool:
        """A completed round must wait (a move's hold is under way)."""
        return False

    @property
    def oldest_idx(self) -> int | None:
        """The oldest trace frame the kind still needs."""
        return None

    @property
    def under_way(self) -> bool:
        """A repetition is under way (for rules `during` "rep")."""
        return False

    def count(
        self, frame: PoseFrame, values: Mapping[str, float]
    ) -> list[tuple[Completed, RoundScore]]:
        """Per frame (trace row already appended): the repetitions counted with it,
        each with its frames and score."""
        return []

    def finish(self) -> list[tuple[Completed, RoundScore]]:
        """The set is over: repetitions confirmed only now."""
        return []

    @property
    def counted(self) -> tuple[CountedRep, ...]:
        """The repetitions `count` counted, as the counter timed them."""
        return ()

    def left_phase(self, timestamp_ms: int, events: list[Event]) -> None:
        """A new phase was confirmed."""

    def advanced(self, step: Advanced, events: list[Event]) -> None:
        """The cycle took a step."""

    def abandon(self) -> None:
        """The round under way is abandoned."""

    def step(
        self, values: Mapping[str, float], timestamp_ms: int, usable: bool
    ) -> list[Event]:
        """Per frame, after the cues (`usable`: placed and in position)."""
        return []

    def score_round(self, done: Completed) -> RoundScore | None:
        """A completed round's score; None when it does not count."""
        return None

    def count_faults(self, faults: Collection[str], counts: Counter[str]) -> None:
        """Faults seen so far this frame (counted per rep unless a kind says so)."""

    def held_ms(self, timestamp_ms: int) -> int:
        return 0

    @property
    def hold_target_ms(self) -> int | None:
        return None

    @property
    def hold_completed(self) -> bool:
        return False

    def hold_score(self) -> float | None:
        return None


class RepsKind(SessionKind):
    """The rep counter's repetitions, each scored (see the module docstring).

    Args:
        counter: The counter, fed from the session's first frame (its frame numbers
            are the trace's frame indices).
        phases: The template's phases (elder ones in elder mode).
        pace_ms: How long a whole repetition should take.
    """

    counts_reps = True

    def __init__(
        self,
        spec: ExerciseSpec,
        trace: Trace,
        phases: Mapping[str, Phase],
        *,
        counter: RepCounter,
        pace_ms: float,
        elder_mode: bool = False,
    ) -> None:
        assert spec.reference is not None, "a reps template has a reference"
        self.spec = spec
        self.reference = spec.reference
        self.trace = trace
        self.cycle = spec.cycle
        self.counter = counter
        self.pace_ms = pace_ms
        self.turn = phases[spec.cycle[1]]
        # Where the reference crosses the phase thresholds (reps the counter counts
        # between the template's thresholds), or the counter's range-relative levels.
        self.span = phase_span(self.reference, [phases[p] for p in self.cycle])
        self.ranged_span = counted_span(
            spec, counter.params.threshold, elder_mode=elder_mode
        )

    @property
    def oldest_idx(self) -> int | None:
        return self.counter.oldest_frame

    @property
    def under_way(self) -> bool:
        return self.counter.under_way

    def count(
        self, frame: PoseFrame, values: Mapping[str, float]
    ) -> list[tuple[Completed, RoundScore]]:
        return [self._scored(r) for r in self.counter.push(frame, values)]

    def finish(self) -> list[tuple[Completed, RoundScore]]:
        return [self._scored(r) for r in self.counter.finish()]

    @property
    def counted(self) -> tuple[CountedRep, ...]:
        return tuple(self.counter.reps)

    def _scored(self, rep: CountedRep) -> tuple[Completed, RoundScore]:
        trace = self.trace
        start = max(rep.start_frame, trace.first_idx)
        end = max(rep.end_frame, start)
        result = score_window(
            self.spec,
            trace,
            self.reference,
            start,
            end,
            self.span if rep.fixed else self.ranged_span,
        )
        _, rows = trace.window(start, end)
        reached = any(
            self.turn.holds(dict(zip(trace.keys, row.tolist(), strict=True)))
            for row in rows
        )
        duration = trace.timestamp_ms(end) - trace.timestamp_ms(start)
        return Completed(start, end, duration, not reached), RoundScore(
            0.0 if math.isnan(result.score) else result.score,
            result.breakdown,
            duration,
            self.pace_ms * (result.span[1] - result.span[0]),
        )


class SequenceKind(SessionKind):
    """Each step of the cycle is a move; a round of every move is a rep."""

    def __init__(
        self,
        spec: ExerciseSpec,
        trace: Trace,
        phases: Mapping[str, Phase],
        *,
        hold_debounce_ms: int,
    ) -> None:
        self.spec = spec
        self.trace = trace
        self.phases = phases
        self.hold_debounce_ms = hold_debounce_ms
        self.cycle = (spec.moves[0].start, *(m.end for m in spec.moves))
        self.spans = [
            phase_span(m.reference, [phases[m.start], phases[m.end]])
            for m in spec.moves
        ]
        self.moves_completed = 0
        self._rounds = 0  # completed
        self._round: list[MoveCompleted] = []
        self._hold: MoveHold | None = None

    @property
    def blocking(self) -> bool:
        return self._hold is not None

    @property
    def oldest_idx(self) -> int | None:
        return None if self._hold is None else self._hold.start_idx

    def left_phase(self, timestamp_ms: int, events: list[Event]) -> None:
        # A move that holds at its end is over once the person leaves for the next.
        self._finish_hold(timestamp_ms, events)

    def advanced(self, step: Advanced, events: list[Event]) -> None:
        if step.step == 0:
            self._round = []
        move = self.spec.moves[step.step]
        if move.hold_s > 0:
            self._hold = MoveHold(
                step.step,
                step.start_idx,
                step.end_idx,
                step.timestamp_ms,
                move.hold_s * 1000,
            )
            return
        self._emit(
            step.step, step.start_idx, step.end_idx, 0, step.timestamp_ms, events
        )

    def abandon(self) -> None:
        self._round = []
        self._hold = None

    def step(
        self, values: Mapping[str, float], timestamp_ms: int, usable: bool
    ) -> list[Event]:
        hold = self._hold
        if hold is None:
            return []
        end_phase = self.phases[self.spec.moves[hold.move].end]
        events: list[Event] = []
        if hold.step(end_phase.holds(values), timestamp_ms, self.hold_debounce_ms):
            self._finish_hold(timestamp_ms, events)
        return events

    def _finish_hold(self, timestamp_ms: int, events: list[Event]) -> None:
        hold = self._hold
        if hold is None:
            return
        self._hold = None
        self._emit(
            hold.move,
            hold.start_idx,
            hold.end_idx,
            hold.held_ms,
            timestamp_ms,
            events,
        )

    def _emit(
        self,
        index: int,
        start: int,
        end: int,
        held_ms: int,
        timestamp_ms: int,
        events: list[Event],
    ) -> None:
        move = self.spec.moves[index]
        result = score_window(
            self.spec, self.trace, move.reference, start, end, self.spans[index]
        )
        score = 0.0 if math.isnan(result.score) else result.score
        if move.hold_s > 0:
            # Holding only part of the requested time costs up to half the score.
            score = round(
                score * (0.5 + 0.5 * min(1.0, held_ms / (move.hold_s * 1000))), 1
            )
        took = self.trace.timestamp_ms(end) - self.trace.timestamp_ms(start)
        done = MoveCompleted(
            timestamp_ms,
            move_id=move.id,
            index=index,
            round=self._rounds + 1,
            name=dict(move.name),
            score=score,
            breakdown=result.breakdown,
            duration_ms=took + held_ms,
            held_ms=held_ms,
        )
        self.moves_completed += 1
        self._round.append(done)
        events.append(done)

    def score_round(self, done: Completed) -> RoundScore | None:
        moves, self._round = self._round, []
        if len(moves) != len(self.spec.moves):
            return None
        self._rounds += 1
        return RoundScore(
            round(sum(m.score for m in moves) / len(moves), 1),
            _mean_breakdown([m.breakdown for m in moves]),
            sum(m.duration_ms for m in moves),
            0.0,  # moves are paced by their holds, not checked for speed
        )


class HoldKind(SessionKind):
    """No cycle: the hold timer, and each fault counted once for the hold."""

    def __init__(
        self, spec: ExerciseSpec, *, elder_mode: bool, tick_ms: int, debounce_ms: int
    ) -> None:
        assert spec.hold is not None, "a hold template has [hold]"
        target_s = (
            spec.elder.hold_target_s
            if elder_mode and spec.elder.hold_target_s is not None
            else spec.hold.target_s
        )
        self.timer = HoldTimer(
            spec.hold,
            target_ms=round(target_s * 1000),
            tick_ms=tick_ms,
            debounce_ms=debounce_ms,
        )
        self._counted: set[str] = set()

    @property
    def in_position(self) -> bool:
        return self.timer.in_position

    def step(
        self, values: Mapping[str, float], timestamp_ms: int, usable: bool
    ) -> list[Event]:
        return self.timer.step(values, timestamp_ms, usable)

    def count_faults(self, faults: Collection[str], counts: Counter[str]) -> None:
        for rule_id in faults:
            if rule_id not in self._counted:
                self._counted.add(rule_id)
                counts[rule_id] += 1

    def held_ms(self, timestamp_ms: int) -> int:
        return self.timer.held_ms(timestamp_ms)

    @property
    def hold_target_ms(self) -> int | None:
        return self.timer.target_ms

    @property
    def hold_completed(self) -> bool:
        return self.timer.completed

    def hold_score(self) -> float | None:
        if not self.timer.hold.target:
            return None
        s = self.timer.score()
        return None if math.isnan(s.score) else s.score


def make_kind(
    spec: ExerciseSpec,
    *,
    trace: Trace,
    phases: Mapping[str, Phase],
    elder_mode: bool,
    min_rep_ms: int,
    pace_ms: float,
    hold_tick_ms: int,
    hold_debounce_ms: int,
    skeleton: Skeleton = Skeleton.BLAZEPOSE_33,
    count_partial: bool = True,
    counter_params: CounterParams | None = None,
) -> SessionKind:
    """The strategy for `spec.kind` ("reps", "sequence" or "hold"); a reps kind's
    counter counts `skeleton` frames, with `counter_params`, and counts reps reaching
    only the template's partial turning point when `count_partial`."""
    if spec.kind == "sequence":
        return SequenceKind(spec, trace, phases, hold_debounce_ms=hold_debounce_ms)
    if spec.kind == "hold":
        return HoldKind(
            spec,
            elder_mode=elder_mode,
            tick_ms=hold_tick_ms,
            debounce_ms=hold_debounce_ms,
        )
    counter = RepCounter.for_template(
        spec,
        skeleton,
        elder_mode=elder_mode,
        params=counter_params,
        partial=count_partial,
        min_rep_s=min_rep_ms / 1000,
    )
    return RepsKind(
        spec, trace, phases, counter=counter, pace_ms=pace_ms, elder_mode=elder_mode
    )


def _mean_breakdown(parts: list[dict[str, float]]) -> dict[str, float]:
    sums: dict[str, list[float]] = {}
    for p in parts:
        for k, v in p.items():
            sums.setdefault(k, []).append(v)
    return {k: round(sum(v) / len(v), 1) for k, v in sums.items()}
