"""The routine engine: a sans-I/O state machine that follows a person through a routine
from the pose alone.

    session = RoutineSession(get_routine("baduanjin"), RoutineOptions(image_aspect=...))
    events = session.feed(frame)     # -> list[Event]; time is frame.timestamp_ms
    session.pause(ts) / session.resume(ts) / session.skip(ts) / session.finish(ts)

Every frame goes through the feature tracker (`exercises.routine_features`) and the
round counter of each section from the one being done onward
(`exercises.routine_tracking`). A counter's finished round is classified against every
section (DTW on the recognition channels):
- a round of the section being done counts at once when that section is the best
  match or within `ACTIVE_MARGIN` of it (the routine's order is a prior);
- a round of a later section that is its own best match waits as evidence that the
  person moved on, worth `MAX_ROUND_COST - cost`. Sections can hold each other's
  movements (section 6 raises the arms overhead like section 1), so the evidence is
  weighed as a whole: the best run of waiting rounds in routine order (a small dynamic
  programme) moves the routine to its last section once it beats both staying (the
  current section's rounds meanwhile) and the best run ending elsewhere by
  `JUMP_MARGIN`, with at least `JUMP_ROUNDS` rounds (one, for the next section once
  the current one's target is reached; any, at `finish`). The sections in between
  are reported done or skipped and the run's rounds counted where they belong;
- a round matching nothing within `MAX_ROUND_COST` is ignored.

The guide (what is announced) runs at the standard's pace: when a section's target
rounds are done, `RestStarted` announces a rest, and after it `SectionStarted` the next
section. Rounds the person adds to the section they are still doing keep counting
until they move on; `SectionCompleted` comes when they do (or at `skip`/`finish`), with
the section's score and the one thing to improve.

Core module: stdlib and numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from exercises.events import CueIssued, Event, Severity
from exercises.routine import RoutineSpec, Section
from exercises.routine_events import (
    RestStarted,
    RoundCompleted,
    RoutineCompleted,
    RoutinePaused,
    RoutineResumed,
    SectionCompleted,
    SectionSkipped,
    SectionStarted,
    TempoChanged,
)
from exercises.routine_features import (
    FeatureTracker,
    feature_column,
    mirror_features,
)
from exercises.routine_feedback import improvement_of, tempo_of, turn_deficits
from exercises.routine_tracking import (
    HIGH,
    LOW,
    Candidate,
    Evidence,
    FeatureHistory,
    RoundCounter,
    SectionClassifier,
    best_runs,
    mirrored_reference,
)
from exercises.scoring import score_trajectory
from exercises.spec import Reference
from vision.clock import VideoClock
from vision.types import PoseFrame

__all__ = [
    "ABSENT_RESET_MS",
    "ACTIVE_MARGIN",
    "JUMP_MARGIN",
    "JUMP_ROUNDS",
    "MAX_ROUND_COST",
    "MIN_ROUND_MS",
    "MIN_TEMPO_RATIO",
    "RoutineOptions",
    "RoutinePosition",
    "RoutineSession",
    "RoutineTuning",
]

F32 = npt.NDArray[np.float32]

ACTIVE_MARGIN: Final[float] = 0.2
"""Classification cost (tolerances per step) by which the section being done may
trail the best match and still count."""
JUMP_ROUNDS: Final[int] = 2
JUMP_MARGIN: Final[float] = 0.5
"""Reward (MAX_ROUND_COST - cost, summed over rounds) by which the best run of later
rounds must beat both staying and the best run ending in another section."""
MAX_ROUND_COST: Final[float] = 2.0
MIN_ROUND_MS: Final[int] = 1000
MIN_TEMPO_RATIO: Final[float] = 0.25
"""A round shorter than this fraction of the standard's is a twitch, not a round."""
ABSENT_RESET_MS: Final[int] = 3000
"""Nobody in view this long: the round under way is forgotten."""
_HISTORY_MS: Final[int] = 60_000
_PENDING_MS: Final[int] = 60_000
_OVERLAP: Final[float] = 0.25
_SEEN_TURN_MS: Final[int] = 1000
_TEMPO_GAP: Final[float] = 2.5
"""Turning points further apart than this many standard rounds are not consecutive
rounds (a pause between them), so no tempo is taken from them."""


@dataclass(frozen=True, slots=True)
class RoutineTuning:
    """The engine's thresholds (the module constants are the defaults; the benchmark
    varies them to cross-validate)."""

    high: float = HIGH
    low: float = LOW
    active_margin: float = ACTIVE_MARGIN
    jump_margin: float = JUMP_MARGIN


@dataclass(frozen=True, slots=True)
class RoutineOptions:
    """Per-session settings: the picture's width / height (features are isotropic),
    elder pace, One-Euro smoothing of the landmarks, and the thresholds."""

    image_aspect: float = 1.0
    elder: bool = False
    smooth: bool = True
    tuning: RoutineTuning = field(default_factory=RoutineTuning)


@dataclass(frozen=True, slots=True)
class RoutinePosition:
    """Where the person is: the section being done and its rounds, the progress of the
    round under way (0 at rest, 1 at the turning pose), its side, the announced
    section, the tempo against the standard."""

    section_id: str
    index: int
    rounds: int
    target_rounds: int
    progress: float
    side: str | None
    guide_section_id: str
    tempo: str
    resting: bool
    paused: bool
    finished: bool


@dataclass(slots=True)
class _SectionState:
    rounds: list[RoundCompleted] = field(default_factory=list)
    deficits: list[dict[str, float]] = field(default_factory=list)
    tempo_ratios: list[float] = field(default_factory=list)
    tempo: str = "on"
    closed: bool = False


class RoutineSession:
    """Follows one person through a routine (see the module docstring)."""

    def __init__(
        self, routine: RoutineSpec, options: RoutineOptions | None = None
    ) -> None:
        self.routine = routine
        self.options = options or RoutineOptions()
        self._tracker = FeatureTracker(
            self.options.image_aspect, smooth=self.options.smooth
        )
        self._history = FeatureHistory(_HISTORY_MS)
        tuning = self.options.tuning
        self._counters = [
            RoundCounter(s, i, high=tuning.high, low=tuning.low)
            for i, s in enumerate(routine.sections)
        ]
        self._classifier = SectionClassifier(routine)
        self._refs: list[tuple[Reference, Reference]] = []
        for s in routine.sections:
            mirror = mirror_features(s.reference.array(), s.reference.channels)
            self._refs.append((s.reference, mirrored_reference(s.reference, mirror)))
        self._states = [_SectionState() for _ in routine.sections]
        self._pending: list[Evidence] = []
        self._active_rewards: list[tuple[int, float]] = []
        self._active = 0
        self._guide = 0
        self._started = False
        self._finished = False
        self._paused_at: int | None = None
        self._rest_until: int | None = None
        self._clock = VideoClock()
        self._last_seen_ms: int | None = None

    # --- inputs -----------------------------------------------------------------

    def feed(self, frame: PoseFrame) -> list[Event]:
        """One frame in, the events it caused out (deterministic given the frames).

        Raises:
            ValueError: a timestamp not after the previous one, or a skeleton without
                the COCO-17 joints.
        """
        ts = self._clock.advance(frame.timestamp_ms)
        events: list[Event] = []
        if self._finished:
            return events
        if not self._started:
            self._started = True
            events.append(self._section_started(ts, 0))
        if self._paused_at is not None:
            return events
        features = self._tracker.update(frame)
        fno = self._history.add(ts, features)
        if np.isnan(features).all():
            if (
                self._last_seen_ms is not None
                and ts - self._last_seen_ms > ABSENT_RESET_MS
            ):
                for c in self._counters:
                    c.reset()
                self._last_seen_ms = None
        else:
            self._last_seen_ms = ts
            for counter in self._counters[self._active :]:
                cand = counter.update(fno, ts, features)
                if cand is not None:
                    events += self._on_candidate(cand, ts)
                    if self._finished:
                        return events
        events += self._tick(ts)
        return events

    def pause(self, timestamp_ms: int) -> list[Event]:
        """Stop following (frames are ignored until `resume`)."""
        if self._paused_at is not None or self._finished:
            return []
        self._paused_at = timestamp_ms
        return [RoutinePaused(timestamp_ms)]

    def resume(self, timestamp_ms: int) -> list[Event]:
        """Follow again; the round that was under way is forgotten."""
        if self._paused_at is None:
            return []
        paused_ms = max(0, timestamp_ms - self._paused_at)
        self._paused_at = None
        if self._rest_until is not None:
            self._rest_until += paused_ms
        for c in self._counters:
            c.reset()
        return [RoutineResumed(timestamp_ms, paused_ms)]

    def skip(self, timestamp_ms: int) -> list[Event]:
        """Move on to the section after the announced one now."""
        if self._finished:
            return []
        events = self._close_active(timestamp_ms, reason="skipped")
        if self._guide > self._active:
            events.append(
                SectionSkipped(
                    timestamp_ms,
                    self.routine.sections[self._guide].id,
                    self._guide,
                    "skipped",
                )
            )
        nxt = max(self._guide, self._active) + 1
        if nxt >= len(self.routine.sections):
            return events + self._complete(timestamp_ms)
        self._active = self._guide = nxt
        self._rest_until = None
        self._pending = []
        self._active_rewards = []
        for c in self._counters:
            c.reset()
        events.append(self._section_started(timestamp_ms, nxt))
        return events

    def finish(self, timestamp_ms: int) -> list[Event]:
        """End the routine now: close the section under way, report the rest as not
        done, and the whole score."""
        if self._finished:
            return []
        events = self._consider_jump(timestamp_ms, final=True)
        if self._finished:
            return events
        counter = self._counters[self._active]
        if counter.seen_turn(_SEEN_TURN_MS):
            cand = counter.close(self._history.frame, timestamp_ms)
            if cand is not None:
                events += self._on_candidate(cand, timestamp_ms)
        if self._finished:
            return events
        events += self._close_active(timestamp_ms, reason="not_seen")
        return events + self._complete(timestamp_ms)

    # --- where the person is --------------------------------------------------------

    @property
    def position(self) -> RoutinePosition:
        section = self.routine.sections[self._active]
        state = self._states[self._active]
        counter = self._counters[self._active]
        return RoutinePosition(
            section_id=section.id,
            index=self._active,
            rounds=len(state.rounds),
            target_rounds=section.rounds,
            progress=counter.progress,
            side=counter.side if counter.in_turn else None,
            guide_section_id=self.routine.sections[self._guide].id,
            tempo=state.tempo,
            resting=self._rest_until is not None,
            paused=self._paused_at is not None,
            finished=self._finished,
        )

    def rounds(self) -> dict[str, int]:
        """Rounds counted so far by section id."""
        return {
            s.id: len(st.rounds)
            for s, st in zip(self.routine.sections, self._states, strict=True)
        }

    # --- internals ------------------------------------------------------------------

    def _section_started(self, ts: int, index: int) -> SectionStarted:
        s = self.routine.sections[index]
        return SectionStarted(
            ts,
            s.id,
            index,
            s.name,
            s.say,
            s.rounds,
            round(self.routine.pace_s(s, self.options.elder), 3),
        )

    def _tick(self, ts: int) -> list[Event]:
        if self._rest_until is None or ts < self._rest_until:
            return []
        self._rest_until = None
        if self._guide + 1 >= len(self.routine.sections):
            return []
        self._guide += 1
        return [self._section_started(ts, self._guide)]

    def _long_enough(self, cand: Candidate) -> bool:
        pace_ms = 1000.0 * self.routine.sections[cand.section].pace_s
        duration = cand.end_ms - cand.start_ms
        return duration >= max(MIN_ROUND_MS, MIN_TEMPO_RATIO * pace_ms)

    def _on_candidate(self, cand: Candidate, now: int) -> list[Event]:
        if not self._long_enough(cand):
            return []
        ts_arr, seg = self._history.window(cand.start_frame, cand.end_frame)
        if len(seg) < 3:
            return []
        costs = self._classifier.costs(seg)
        s = cand.section
        if np.isnan(costs[s]) or costs[s] > MAX_ROUND_COST:
            return []
        best = float(np.nanmin(costs))
        reward = MAX_ROUND_COST - float(costs[s])
        if s == self._active:
            if costs[s] > best + self.options.tuning.active_margin:
                return []
            self._active_rewards.append((cand.end_ms, reward))
            return self._accept(cand, ts_arr, seg, now)
        if s < self._active or costs[s] > best:
            return []
        self._pending.append(Evidence(cand, ts_arr, seg, reward))
        self._prune(now)
        return self._consider_jump(now, final=False)

    def _prune(self, now: int) -> None:
        keep = now - _PENDING_MS
        self._pending = [e for e in self._pending if e.candidate.end_ms >= keep]
        self._active_rewards = [(t, r) for t, r in self._active_rewards if t >= keep]

    def _consider_jump(self, now: int, *, final: bool) -> list[Event]:
        paths = best_runs(self._pending, _OVERLAP)
        if not paths:
            return []
        ranked = sorted(paths.values(), key=lambda v: -v[0])
        score, path = ranked[0]
        second = ranked[1][0] if len(ranked) > 1 else 0.0
        start = min(e.candidate.start_ms for e in self._pending)
        stay = sum(r for t, r in self._active_rewards if t > start)
        margin = self.options.tuning.jump_margin
        if score < stay + margin or (not final and score < second + margin):
            return []
        target = path[-1].candidate.section
        section = self.routine.sections[self._active]
        done = len(self._states[self._active].rounds) >= section.rounds
        quick = target == self._active + 1 and done
        if not (final or quick or len(path) >= JUMP_ROUNDS):
            return []
        return self._jump(path, now)

    def _move_to(self, target: int, now: int, before_ms: int) -> list[Event]:
        """Close the section being done and make `target` (later) the current one; a
        round of the closed section past its turning point before `before_ms` counts."""
        events: list[Event] = []
        counter = self._counters[self._active]
        held = counter.close(self._history.frame, now)
        if held is not None and held.turning_ms < before_ms and self._long_enough(held):
            ts_arr, seg = self._history.window(held.start_frame, held.end_frame)
            costs = self._classifier.costs(seg)
            active_margin = self.options.tuning.active_margin
            if costs[self._active] <= float(np.nanmin(costs)) + active_margin:
                events += self._accept(held, ts_arr, seg, now, announce=False)
        events += self._close_active(now, reason="not_seen")
        for i in range(self._active + 1, target):
            if not self._states[i].closed:
                events.append(
                    SectionSkipped(now, self.routine.sections[i].id, i, "not_seen")
                )
                self._states[i].closed = True
        if self._guide != target:
            events.append(self._section_started(now, target))
        self._active = self._guide = target
        self._rest_until = None
        return events

    def _jump(self, path: list[Evidence], now: int) -> list[Event]:
        events: list[Event] = []
        self._pending = []
        self._active_rewards = []
        for ev in path:
            if ev.candidate.section != self._active:
                events += self._move_to(
                    ev.candidate.section, now, ev.candidate.start_ms
                )
            events += self._accept(ev.candidate, ev.timestamps_ms, ev.features, now)
            if self._finished:
                break
        return events

    def _accept(
        self,
        cand: Candidate,
        ts_arr: npt.NDArray[np.int64],
        seg: F32,
        now: int,
        *,
        announce: bool = True,
    ) -> list[Event]:
        index = cand.section
        section = self.routine.sections[index]
        state = self._states[index]
        mirrored = cand.side == "right"
        reference = self._refs[index][1 if mirrored else 0]
        cols = [feature_column(c) for c in section.channels]
        rs = score_trajectory(
            reference, section.channels, ts_arr, np.ascontiguousarray(seg[:, cols])
        )
        duration_ms = cand.end_ms - cand.start_ms
        pace_ms = 1000.0 * self.routine.pace_s(section, self.options.elder)
        ratio: float | None = None
        if state.rounds:
            # the tempo is the time between turning points: the ends of a round are
            # where the counter saw rest, which depends on the person's range
            period = cand.turning_ms - state.rounds[-1].turning_ms
            if 0 < period <= _TEMPO_GAP * pace_ms:
                ratio = round(period / pace_ms, 3)
        n = len(state.rounds) + 1
        expected = None
        if section.sides == "alternate":
            expected = "left" if n % 2 == 1 else "right"
        event = RoundCompleted(
            now,
            section.id,
            index,
            n,
            cand.side,
            expected,
            cand.turning_ms,
            float(rs.score),
            dict(rs.breakdown),
            int(duration_ms),
            ratio,
        )
        state.rounds.append(event)
        _, turn_row = self._history.window(cand.turning_frame, cand.turning_frame)
        if len(turn_row):
            state.deficits.append(turn_deficits(section, turn_row[0], mirrored))
        events: list[Event] = [event]
        if expected is not None and cand.side is not None and cand.side != expected:
            events.append(
                CueIssued(
                    now,
                    "other_side",
                    Severity.MINOR,
                    self.routine.messages["other_side"],
                )
            )
        if ratio is not None:
            events += self._tempo(section, state, ratio, now)
        if announce and n == section.rounds:
            events += self._target_reached(index, now)
        return events

    def _tempo(
        self, section: Section, state: _SectionState, ratio: float, now: int
    ) -> list[Event]:
        state.tempo_ratios.append(ratio)
        tempo, recent = tempo_of(state.tempo_ratios)
        if tempo == state.tempo:
            return []
        state.tempo = tempo
        message = self.routine.messages[f"tempo_{tempo}"]
        return [TempoChanged(now, section.id, tempo, recent, message)]

    def _target_reached(self, index: int, now: int) -> list[Event]:
        if index + 1 >= len(self.routine.sections):
            events = self._close_active(now, reason="not_seen")
            return events + self._complete(now)
        if self._guide != index:
            return []
        section = self.routine.sections[index]
        rest_ms = round(1000 * self.routine.rest_after_s(section, self.options.elder))
        self._rest_until = now + rest_ms
        nxt = self.routine.sections[index + 1]
        return [RestStarted(now, rest_ms, nxt.id, self.routine.messages["rest"])]

    def _close_active(self, now: int, *, reason: str) -> list[Event]:
        index = self._active
        state = self._states[index]
        if state.closed:
            return []
        state.closed = True
        section = self.routine.sections[index]
        if not state.rounds:
            return [SectionSkipped(now, section.id, index, reason)]
        improvement_id, improvement = improvement_of(
            section, state.deficits, state.tempo, self.routine.messages
        )
        return [
            SectionCompleted(
                now,
                section.id,
                index,
                len(state.rounds),
                section.rounds,
                _mean_score(state.rounds),
                improvement_id,
                improvement,
            )
        ]

    def _complete(self, now: int) -> list[Event]:
        events: list[Event] = []
        for i in range(self._active + 1, len(self.routine.sections)):
            if not self._states[i].closed:
                self._states[i].closed = True
                events.append(
                    SectionSkipped(now, self.routine.sections[i].id, i, "not_seen")
                )
        scores: dict[str, float] = {}
        rounds: dict[str, int] = {}
        skipped = []
        for s, st in zip(self.routine.sections, self._states, strict=True):
            rounds[s.id] = len(st.rounds)
            if st.rounds:
                scores[s.id] = _mean_score(st.rounds)
            else:
                skipped.append(s.id)
        done = [v for v in scores.values() if not math.isnan(v)]
        whole = round(float(np.mean(done)), 1) if done else math.nan
        self._finished = True
        self._rest_until = None
        events.append(
            RoutineCompleted(
                now, self.routine.id, whole, scores, rounds, tuple(skipped)
            )
        )
        return events


def _mean_score(rounds: list[RoundCompleted]) -> float:
    """Mean round score, 1 decimal; NaN when no round could be scored."""
    scores = [r.score for r in rounds if not math.isnan(r.score)]
    return round(float(np.mean(scores)), 1) if scores else math.nan
