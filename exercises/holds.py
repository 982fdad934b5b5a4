"""Holding a position: the hold timer of a hold template and the hold at the end of a
sequence's move (sans-I/O parts of `exercises.session.Session`).

    timer = HoldTimer(spec.hold, target_ms=30000, tick_ms=1000, debounce_ms=300)
    events = timer.step(values, timestamp_ms, usable=True)  # HoldProgressed, ...

Hold timer: time in position accumulates over every stretch in position. Entering or
leaving position counts once the change has held for `debounce_ms`, from the moment it
began (`HoldProgressed`, in_position true or false); while in position a
`HoldProgressed` follows every `tick_ms` held, and `HoldCompleted` once, when the total
reaches the target. The channels of the hold's target are collected while in position
for its score (`exercises.scoring.score_static`).

Move hold (`MoveHold`): a move that ends in a hold is over once its end phase has been
held for the move's `hold_s`, or has been left for `debounce_ms`.

Core module: stdlib and exercises.*; no clocks, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from exercises.events import Event, HoldCompleted, HoldProgressed
from exercises.scoring import RepScore, score_static
from exercises.spec import HoldSpec

__all__ = ["HoldTimer", "MoveHold"]


class HoldTimer:
    """Time held in position (see the module docstring).

    Args:
        hold: The template's hold (in-position conditions, target, tolerance).
        target_ms: Time to hold.
        tick_ms: Progress interval while held.
        debounce_ms: Entering and leaving position must hold this long.

    Attributes:
        in_position: The announced state.
        completed: The target was reached.
    """

    def __init__(
        self, hold: HoldSpec, *, target_ms: int, tick_ms: int, debounce_ms: int
    ) -> None:
        self.hold = hold
        self.target_ms = target_ms
        self.tick_ms = tick_ms
        self.debounce_ms = debounce_ms
        self.in_position = False
        self.completed = False
        self._pending_since: int | None = None
        self._total_ms = 0
        self._streak_start_ms = 0
        self._ticks = 0
        self._values: dict[str, list[float]] = {}

    def held_ms(self, timestamp_ms: int) -> int:
        """Total time in position up to `timestamp_ms`."""
        if self.in_position:
            return self._total_ms + timestamp_ms - self._streak_start_ms
        return self._total_ms

    def score(self) -> RepScore:
        """The held channels against the target (NaN before any were held)."""
        hold = self.hold
        return score_static(dict(hold.target), dict(hold.tolerance), self._values)

    def step(
        self, values: Mapping[str, float], timestamp_ms: int, usable: bool
    ) -> list[Event]:
        """Feed one frame's channel values (`usable`: the person is placed and in the
        template's position, so in-position can count)."""
        ts = timestamp_ms
        events: list[Event] = []
        raw_in = usable and all(
            c.holds(values.get(c.key, math.nan)) for c in self.hold.in_position
        )
        if raw_in != self.in_position:
            if self._pending_since is None:
                self._pending_since = ts
            if ts - self._pending_since >= self.debounce_ms:
                since = self._pending_since
                self._pending_since = None
                if raw_in:
                    self.in_position = True
                    self._streak_start_ms = since
                else:
                    self._total_ms += since - self._streak_start_ms
                    self.in_position = False
                held = self.held_ms(ts)
                self._ticks = held // self.tick_ms
                events.append(
                    HoldProgressed(
                        ts, held, self.target_ms, self.in_position, self._extra()
                    )
                )
        else:
            self._pending_since = None
        if not self.in_position:
            return events
        for name, _ in self.hold.target:
            self._values.setdefault(name, []).append(values.get(name, math.nan))
        held = self.held_ms(ts)
        ticks = held // self.tick_ms
        if ticks > self._ticks:
            self._ticks = ticks
            events.append(HoldProgressed(ts, held, self.target_ms, True, self._extra()))
        if not self.completed and held >= self.target_ms:
            self.completed = True
            s = self.score()
            events.append(
                HoldCompleted(
                    ts, held, self.target_ms, 0.0 if math.isnan(s.score) else s.score
                )
            )
        return events

    def _extra(self) -> dict[str, float]:
        if not self._values:
            return {}
        s = self.score()
        return {} if math.isnan(s.score) else {"score": s.score}


@dataclass(slots=True)
class MoveHold:
    """A sequence's move waiting at its end phase (see the module docstring).

    Attributes:
        move: The move's index.
        start_idx / end_idx: The move's frames (trace indices).
        entered_ms: When the end phase was reached.
        target_ms: The move's hold.
        held_ms: Held so far.
    """

    move: int
    start_idx: int
    end_idx: int
    entered_ms: int
    target_ms: float
    held_ms: int = 0
    _lost_since_ms: int | None = None

    def step(self, holds: bool, timestamp_ms: int, debounce_ms: int) -> bool:
        """Feed whether the end phase holds this frame; True once the hold is over."""
        if holds:
            self._lost_since_ms = None
            self.held_ms = timestamp_ms - self.entered_ms
            return self.held_ms >= self.target_ms
        if self._lost_since_ms is None:
            self._lost_since_ms = timestamp_ms
        return timestamp_ms - self._lost_since_ms >= debounce_ms
