"""The recent past of one session, frame by frame: capture times, channel values, the
side used and the view seen, as arrays indexed by a frame counter that never resets.

    trace = Trace(("knee", "hip"))
    idx = trace.append(timestamp_ms, [knee, hip], side="left", view="side")
    times, values = trace.window(start_idx, idx)       # (T,) int64, (T, K) float32
    trace.trim(keep_from=start_idx, lookback_ms=1000)  # forget what no rep needs

A buffer that slides: rows are dropped from the front and appended at the back of
preallocated arrays; when the back is reached, the rows still kept move to the front
(and the arrays double when they are more than half full), so appending is O(1)
amortized and every window is one contiguous slice.

Core module: stdlib and numpy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["Trace"]

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

_SIDES: Final[tuple[str | None, ...]] = (None, "left", "right", "both")
_VIEWS: Final[tuple[str | None, ...]] = (None, "front", "side", "oblique")
_INITIAL_ROWS: Final[int] = 256


def _codes(names: tuple[str | None, ...]) -> dict[str | None, int]:
    return {n: i for i, n in enumerate(names)}


_SIDE_CODE: Final[dict[str | None, int]] = _codes(_SIDES)
_VIEW_CODE: Final[dict[str | None, int]] = _codes(_VIEWS)


class Trace:
    """Per-frame rows of one session (see the module docstring).

    Args:
        keys: The K channel names, in column order.
        capacity: Rows preallocated (the arrays grow as needed).
    """

    def __init__(self, keys: Sequence[str], capacity: int = _INITIAL_ROWS) -> None:
        self.keys: tuple[str, ...] = tuple(keys)
        self._column: dict[str, int] = {k: i for i, k in enumerate(self.keys)}
        self._timestamp_ms: I64 = np.zeros(capacity, np.int64)
        self._values: F32 = np.zeros((capacity, len(self.keys)), np.float32)
        self._side = np.zeros(capacity, np.int8)
        self._view = np.zeros(capacity, np.int8)
        self._base = 0  # frame index of the first row kept
        self._lo = 0  # its slot
        self._hi = 0  # slot after the last row

    def __len__(self) -> int:
        """Rows kept."""
        return self._hi - self._lo

    @property
    def first_idx(self) -> int:
        """Frame index of the oldest row kept."""
        return self._base

    @property
    def next_idx(self) -> int:
        """Frame index the next `append` gets."""
        return self._base + self._hi - self._lo

    def column(self, key: str) -> int:
        """Column of channel `key` (KeyError when the trace does not keep it)."""
        return self._column[key]

    def append(
        self,
        timestamp_ms: int,
        values: Mapping[str, float],
        side: str | None,
        view: str | None,
    ) -> int:
        """Add one frame's row (channels missing from `values` are NaN); returns its
        frame index."""
        if self._hi == len(self._timestamp_ms):
            self._make_room()
        row = self._hi
        self._timestamp_ms[row] = timestamp_ms
        out = self._values[row]
        for k, key in enumerate(self.keys):
            out[k] = values.get(key, math.nan)
        self._side[row] = _SIDE_CODE[side]
        self._view[row] = _VIEW_CODE[view]
        self._hi = row + 1
        return self._base + row - self._lo

    def _make_room(self) -> None:
        kept = self._hi - self._lo
        capacity = len(self._timestamp_ms)
        if 2 * kept > capacity:
            capacity *= 2
        rows = slice(self._lo, self._hi)
        for name in ("_timestamp_ms", "_values", "_side", "_view"):
            old = getattr(self, name)
            new = np.zeros((capacity, *old.shape[1:]), old.dtype)
            new[:kept] = old[rows]
            setattr(self, name, new)
        self._lo, self._hi = 0, kept

    def _slot(self, idx: int) -> int:
        slot = self._lo + idx - self._base
        if not self._lo <= slot < self._hi:
            raise IndexError(
                f"frame {idx} is not in the trace (kept: {self._base}.."
                f"{self.next_idx - 1})"
            )
        return slot

    def timestamp_ms(self, idx: int) -> int:
        """Capture time of frame `idx`."""
        return int(self._timestamp_ms[self._slot(idx)])

    def side(self, idx: int) -> str | None:
        """The side recorded for frame `idx`."""
        return _SIDES[int(self._side[self._slot(idx)])]

    def window(self, start: int, end: int) -> tuple[I64, F32]:
        """Frames `start`..`end` (inclusive): (T,) int64 times and (T, K) float32
        values (views of the trace: copy before keeping them)."""
        rows = slice(self._slot(start), self._slot(end) + 1)
        return self._timestamp_ms[rows], self._values[rows]

    def views(self, start: int, end: int) -> list[str | None]:
        """The view seen in each of frames `start`..`end`."""
        rows = self._view[self._slot(start) : self._slot(end) + 1]
        return [_VIEWS[int(c)] for c in rows]

    def sides(self, start: int, end: int) -> list[str | None]:
        """The side recorded in each of frames `start`..`end`."""
        rows = self._side[self._slot(start) : self._slot(end) + 1]
        return [_SIDES[int(c)] for c in rows]

    def lead_in(self, idx: int, lookback_ms: int) -> int:
        """The oldest kept frame at most `lookback_ms` before frame `idx` (frames
        before `idx` back to that time, without a gap in the trace)."""
        slot = self._slot(idx)
        since = self._timestamp_ms[slot] - lookback_ms
        first = int(np.searchsorted(self._timestamp_ms[self._lo : slot], since))
        return self._base + first

    def trim(self, keep_from: int, lookback_ms: int) -> None:
        """Forget the frames before `keep_from` and its `lookback_ms` lead-in."""
        first = self.lead_in(keep_from, lookback_ms)
        self._lo += first - self._base
        self._base = first
