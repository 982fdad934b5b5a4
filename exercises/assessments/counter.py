"""The one repetition counter of the assessments: a rep counts when the signal reaches
its target from rest, as the Senior Fitness Test manual counts curls, stands and knee
lifts (when reached, not when back down).

Levels are in the signal's units and may be fixed or given per sample (the chair
stand's standing height follows its seat). The signal rises from rest to target, or
falls when `target < rest` (the elbow angle of a curl); "past" below means in that
direction:

- at or before `rest`: back at rest; this arms the next rep;
- armed and at or past `target` (and `complete`, the protocol's other condition such
  as a straight knee): the rep is reached (`RepOutcome.COUNTED`), disarmed;
- armed and at or past `attempt` without reaching the target, then back at rest: a
  short rep (`RepOutcome.SHORT`, reported as rejected: "incomplete", "below_target").

Core module: stdlib only.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

__all__ = ["RepGate", "RepOutcome"]


class RepOutcome(enum.IntEnum):
    """What a sample did to the count."""

    COUNTED = 0
    SHORT = 1
    # The protocols' names for a short rep.
    INCOMPLETE = 1
    BELOW_TARGET = 1


@dataclass
class RepGate:
    """Reps of one signal (the rules of the module docstring).

    Attributes:
        rest: Back at rest at or below this.
        attempt: A rep that got at least this far and fell short is reported.
        target: The rep counts at or above this.
        armed: At rest since the last rep: the next one may count. A protocol that saw
            the start position arms it before the first sample.
        count: Reps reached.
        short: Short reps.
    """

    rest: float
    attempt: float
    target: float
    armed: bool = False
    count: int = 0
    short: int = 0
    _attempt: bool = field(default=False, init=False, repr=False)
    _last: float = field(default=math.nan, init=False, repr=False)

    @property
    def _sign(self) -> float:
        return -1.0 if self.target < self.rest else 1.0

    @property
    def last(self) -> float:
        """The last finite sample (NaN before one)."""
        return self._last

    def settle(self, v: float, rest: float | None = None) -> RepOutcome | None:
        """The rest half of `update`: arm at rest, reporting a short rep that ends."""
        if not math.isfinite(v):
            return None
        self._last = v
        if self._sign * (v - (self.rest if rest is None else rest)) > 0:
            return None
        short = self._attempt
        self.armed = True
        self._attempt = False
        if short:
            self.short += 1
            return RepOutcome.SHORT
        return None

    def rise(
        self,
        v: float,
        attempt: float | None = None,
        target: float | None = None,
        *,
        complete: bool = True,
    ) -> RepOutcome | None:
        """The rising half of `update`: count at the target, mark an attempt."""
        if not (self.armed and math.isfinite(v)):
            return None
        past = self._sign * v
        target = self.target if target is None else target
        if past >= self._sign * target and complete:
            self.armed = False
            self._attempt = False
            self.count += 1
            return RepOutcome.COUNTED
        if past >= self._sign * (self.attempt if attempt is None else attempt):
            self._attempt = True
        return None

    def update(self, v: float, *, complete: bool = True) -> RepOutcome | None:
        """Feed one sample at the fixed levels (NaN = not seen: nothing changes)."""
        settled = self.settle(v)
        return settled if settled is not None else self.rise(v, complete=complete)

    def finish(self, over_halfway: bool) -> bool:
        """At the end of a timed test: a rep under way counts if it is more than
        halfway (the manual's rule; the protocol judges `over_halfway`)."""
        if self.armed and over_halfway:
            self.armed = False
            self.count += 1
            return True
        return False
