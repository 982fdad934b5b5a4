"""What the rep counter has counted, so that no repetition is counted twice.

A counter that replaces the signal it counts reads the frames already counted again
(`RepCounter._replay`). The new signal may turn at another point of the same
movement (another joint, the other end as rest), so a repetition it finds there is
the same one as before when either
- its turning point is within half a period of a counted one's, or
- it shares at least half of its frames with a counted repetition, and at least
  half of that one's, and that counted repetition has not already stood for another
  repetition of this reading (one movement is one repetition, but a counted
  repetition that spanned two, as when every other one was missed, lets the second
  be counted).

Core module: stdlib only; no I/O.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from statistics import median
from typing import Final

__all__ = ["RepLedger"]

_MIN_SEPARATION: Final[float] = 0.5
"""Turning points of counted repetitions are at least this many periods apart."""
_SAME_MOVEMENT: Final[float] = 0.5
"""Share of each repetition's frames two must share to be one movement."""
_LOOK_BACK: Final[int] = 8
"""Counted repetitions starting before a new one's end that may overlap it (one
reading's repetitions follow each other; a few readings overlap at most)."""


@dataclass(slots=True)
class _Entry:
    start: int
    turn: int
    end: int
    reading: int  # the reading this entry last stood for a repetition in


class RepLedger:
    """The counted repetitions' turning points and frame spans (frame numbers)."""

    def __init__(self) -> None:
        self._starts: list[int] = []  # sorted, parallel to _entries
        self._entries: list[_Entry] = []
        self._frames: list[int] = []  # frames with a person, in counting order
        self._reading = 0

    def __len__(self) -> int:
        return len(self._frames)

    def typical_frames(self) -> float | None:
        """Median frames with a person of the counted repetitions (None below two)."""
        return float(median(self._frames)) if len(self._frames) >= 2 else None

    def new_reading(self) -> None:
        """The frames are read again (another signal, or the same one from an
        earlier frame): every counted repetition may stand for one of this reading."""
        self._reading += 1

    def counted(self, start: int, turn: int, end: int, period: float) -> bool:
        """Whether the repetition start..turn..end was counted already (module
        docstring); the counted one it matches now stands for it in this reading."""
        j = bisect.bisect_right(self._starts, max(end, turn + period))
        near = self._entries[max(0, j - _LOOK_BACK) : j]
        for entry in near:
            if abs(turn - entry.turn) < _MIN_SEPARATION * period:
                entry.reading = self._reading
                return True
        for entry in reversed(near):
            shared = min(end, entry.end) - max(start, entry.start)
            longer = max(end - start, entry.end - entry.start)
            if (
                entry.reading != self._reading
                and longer > 0
                and shared >= _SAME_MOVEMENT * longer
            ):
                entry.reading = self._reading
                return True
        return False

    def add(self, start: int, turn: int, end: int, frames: int) -> None:
        """A repetition counted in the current reading."""
        j = bisect.bisect_right(self._starts, start)
        self._starts.insert(j, start)
        self._entries.insert(j, _Entry(start, turn, end, self._reading))
        self._frames.append(frames)
