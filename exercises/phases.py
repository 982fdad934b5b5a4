"""Phases and the cycle through them (a sans-I/O part of `exercises.session.Session`).

    cycle = PhaseCycle(phases, ("up", "down", "up"), confirm_frames=2,
                       max_rep_ms=30000)
    for out in cycle.step(values, idx, timestamp_ms):  # PhaseChanged | Advanced
        ...
    if cycle.expire(timestamp_ms): ...                 # the rep took too long
    done = cycle.complete(timestamp_ms)                # Completed | None

Phases: the first phase whose conditions hold for `confirm_frames` consecutive frames
becomes current (`PhaseChanged`). Between phases nothing changes: the gap the template
leaves between adjacent phases is the hysteresis. NaN values satisfy no condition, so
frames without a person never move the phase. A template's partial phases (a shallower
turning point) count as their full phase when the full one is not reached; a rep that
turned only there is partial.

The cycle (e.g. up -> down -> up): entering its first phase arms it; each next phase
in order is a step (`Advanced`, from the last frame in the phase left to the first
frame in the new one); the step into the last phase makes the round complete
(`complete` hands it over once the caller is ready, e.g. after a hold at the end of a
move). Re-entering the first phase midway starts over; a round lasting longer than
`max_rep_ms` from its start is abandoned. Frame indices are the caller's (a trace's).

Core module: stdlib and exercises.*; no clocks, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from exercises.events import PhaseChanged
from exercises.spec import Phase

__all__ = ["Advanced", "Completed", "PhaseCycle"]


@dataclass(frozen=True, slots=True)
class Advanced:
    """The person moved one step along the cycle, from `cycle[step]` to
    `cycle[step + 1]`.

    Attributes:
        step: Index of the phase left in the cycle.
        start_idx: The last frame in the phase left (the first frame in the new one
            when the phase left was never seen held).
        end_idx: The first frame in the new phase.
        timestamp_ms: When the new phase was confirmed.
    """

    step: int
    start_idx: int
    end_idx: int
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class Completed:
    """A round through the cycle.

    Attributes:
        start_idx: The last frame in the first phase.
        end_idx: The first frame in the last phase.
        period_ms: From the previous time the cycle started (or completed) to now.
        partial: A turning phase was reached only in its partial version.
    """

    start_idx: int
    end_idx: int
    period_ms: int
    partial: bool


class PhaseCycle:
    """Phase detection and the rep cycle (see the module docstring).

    Args:
        phases: The template's phases by name, in priority order.
        cycle: The phase names of one round, first to last.
        partial_phases: Shallower versions of turning phases, by the name of the phase
            they stand for.
        confirm_frames: Consecutive frames a new phase must hold.
        max_rep_ms: A round under way longer than this is abandoned.
    """

    def __init__(
        self,
        phases: Mapping[str, Phase],
        cycle: tuple[str, ...],
        *,
        partial_phases: Mapping[str, Phase] | None = None,
        confirm_frames: int = 2,
        max_rep_ms: int = 30000,
    ) -> None:
        self.phases = dict(phases)
        self.cycle = cycle
        self.partial_phases = dict(partial_phases or {})
        self.confirm_frames = confirm_frames
        self.max_rep_ms = max_rep_ms
        self.forget()

    def forget(self) -> None:
        """Start over: no phase, no round under way."""
        self.phase: str | None = None
        self.position = -1  # index into the cycle; -1 = not armed
        self._candidate: str | None = None
        self._candidate_count = 0
        self._candidate_at = (0, 0)  # (idx, timestamp_ms) of its first frame
        self._last_in_phase: tuple[int, int] | None = None  # (idx, timestamp_ms)
        self._rep_start: tuple[int, int] | None = None
        self._pending_end: int | None = None
        self._cycle_start_ms = 0
        self._partial_now: set[str] = set()
        self._partial = False

    @property
    def under_way(self) -> bool:
        """A round is under way (past its first step)."""
        return self.position >= 1

    @property
    def oldest_idx(self) -> int | None:
        """The oldest frame index a coming step or round still refers to."""
        kept = [p[0] for p in (self._last_in_phase, self._rep_start) if p is not None]
        return min(kept, default=None)

    def step(
        self, values: Mapping[str, float], idx: int, timestamp_ms: int
    ) -> list[PhaseChanged | Advanced]:
        """Feed one frame's channel values (empty: nothing holds).

        Returns:
            In order: the `PhaseChanged` when a new phase is confirmed, then the
            `Advanced` when that was the next step of the cycle.
        """
        ts = timestamp_ms
        holding = [name for name, ph in self.phases.items() if ph.holds(values)]
        partial = [
            name
            for name, ph in self.partial_phases.items()
            if name not in holding and ph.holds(values)
        ]
        if self.phase is not None and self.phase in holding:
            self._candidate, self._candidate_count = None, 0
            self._last_in_phase = (idx, ts)
            self._partial_now.discard(self.phase)
            return []
        if self.phase is not None and self.phase in partial:
            self._candidate, self._candidate_count = None, 0
            self._last_in_phase = (idx, ts)
            return []
        new = holding[0] if holding else (partial[0] if partial else None)
        if new is None:
            self._candidate, self._candidate_count = None, 0
            return []
        if new == self._candidate:
            self._candidate_count += 1
        else:
            self._candidate, self._candidate_count = new, 1
            self._candidate_at = (idx, ts)
        if self._candidate_count < self.confirm_frames:
            return []
        previous = self.phase
        self.phase = new
        self._candidate, self._candidate_count = None, 0
        if new in holding:
            self._partial_now.discard(new)
        else:
            self._partial_now.add(new)
        out: list[PhaseChanged | Advanced] = [PhaseChanged(ts, new, previous)]
        advanced = self._advance(new, previous, ts)
        if advanced is not None:
            out.append(advanced)
        self._last_in_phase = (idx, ts)
        return out

    def _advance(self, phase: str, previous: str | None, ts: int) -> Advanced | None:
        cycle, pos = self.cycle, self.position
        if previous is not None and previous in self._partial_now and pos >= 1:
            # Left a turning phase that never got past its partial version.
            self._partial = True
        if previous is not None:
            self._partial_now.discard(previous)
        last = len(cycle) - 1
        if pos == -1:
            if phase == cycle[0]:
                self.position = 0
                self._cycle_start_ms = ts
            return None
        if pos < last and phase == cycle[pos + 1]:
            first = self._candidate_at
            start = self._last_in_phase if self._last_in_phase is not None else first
            if pos == 0:
                self._rep_start = start
                self._partial = False
            self.position = pos + 1
            if self.position == last:
                self._pending_end = first[0]
            return Advanced(pos, start[0], first[0], ts)
        if phase == cycle[0] and pos > 0:
            self.position = 0
            self._cycle_start_ms = ts
            self._rep_start = None
        return None

    def expire(self, timestamp_ms: int) -> bool:
        """Abandon a round under way for longer than `max_rep_ms`; True if it was."""
        start = self._rep_start
        if self.position < 1 or start is None:
            return False
        if timestamp_ms - start[1] <= self.max_rep_ms:
            return False
        self.position = 0 if self.phase == self.cycle[0] else -1
        self._rep_start = None
        return True

    def complete(self, timestamp_ms: int) -> Completed | None:
        """The round whose last step was taken, once; None when there is none (or it
        was abandoned)."""
        end = self._pending_end
        if end is None:
            return None
        self._pending_end = None
        start = self._rep_start
        cycle = self.cycle
        self.position = 0 if cycle[-1] == cycle[0] else -1
        period_ms = timestamp_ms - self._cycle_start_ms
        self._cycle_start_ms = timestamp_ms
        self._rep_start = None
        partial, self._partial = self._partial, False
        if start is None:
            return None
        return Completed(start[0], end, period_ms, partial)
