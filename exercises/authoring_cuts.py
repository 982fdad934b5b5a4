"""Where a demonstration's repetitions are: rest-to-rest cycles of one joint angle
(step 1 of `exercises.authoring`), with `exercises.signal` doing the gap bridging,
smoothing and hysteresis.

Core module: stdlib and numpy, plus exercises.signal.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

from exercises.signal import Hysteresis, bridge_gaps, gaussian_smooth

__all__ = ["segment_reps"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

_LOW: Final[float] = 0.25
_HIGH: Final[float] = 0.75
_AT_REST: Final[float] = 0.08


def _edge_and_dwell(u: F64) -> bool:
    """Tie-break for `segment_reps`: is rest the low end of `u` (scaled 0..1)? The end
    both of the recording's ends are nearer to; when they disagree, the one its stiller
    end is at (a recording that starts or stops mid-repetition is moving there)."""
    k = max(3, u.size // 30)
    first, last = u[:k], u[-k:]
    first_low = float(np.median(first)) < 0.5
    last_low = float(np.median(last)) < 0.5
    if first_low == last_low:
        return first_low
    first_speed = float(np.mean(np.abs(np.diff(first))))
    last_speed = float(np.mean(np.abs(np.diff(last))))
    return first_low if first_speed < last_speed else last_low


def _cycles(z: F64) -> list[tuple[int, int]]:
    """Full cycles of `z` (0 = rest, 1 = turn) by `exercises.signal.Hysteresis`
    between LOW and HIGH, bounds pulled out to where z is still at rest (within
    AT_REST of its lowest between the neighbouring cycles). Half cycles at the ends
    do not count."""
    machine = Hysteresis(_LOW, _HIGH)
    closed = [c for t, v in enumerate(z.tolist()) if (c := machine.step(t, v))]
    if not closed:
        return []

    def rise(start: int) -> int:  # first sample at the turn after `start`
        return start + int(np.argmax(z[start:] >= _HIGH))

    first_low = int(np.argmax(z <= _LOW))
    unfinished = rise(machine.started) if machine.out else z.size
    out: list[tuple[int, int]] = []
    for i, c in enumerate(closed):
        up_t = rise(c.start)
        before_from = closed[i - 1].end if i else first_low
        after_to = rise(closed[i + 1].start) if i + 1 < len(closed) else unfinished
        before = z[before_from:up_t]
        after = z[c.end : after_to]
        start = before_from + int(np.flatnonzero(before <= before.min() + _AT_REST)[-1])
        end = c.end + int(np.flatnonzero(after <= after.min() + _AT_REST)[0])
        if end - start >= 3:
            out.append((start, end))
    return out


def segment_reps(angle: F32, period_frames: float) -> list[tuple[int, int]]:
    """Rest-to-rest cycles of one angle: (first frame, last frame) per repetition.

    The angle is scaled between its 5th and 95th percentiles; which end is rest is not
    known in advance (a curl rests at the large angle, a lateral raise at the small
    one). People stand still before the first repetition and after the last, so cut
    at the right end a recording shows one full cycle more than cut at the wrong one;
    the end giving more cycles is rest. On a tie (a recording that starts or stops
    mid-repetition), the end the recording's stiller end is at (`_edge_and_dwell`).
    See `_cycles` for what a cycle is.
    """
    filled = bridge_gaps(angle)
    if filled.size < 4 or not np.isfinite(filled).all():
        return []
    if not math.isfinite(period_frames):
        period_frames = 20.0
    x = gaussian_smooth(filled, 0.05 * period_frames)
    p5, p95 = (float(v) for v in np.percentile(x, [5, 95]))
    if p95 - p5 < 1e-6:
        return []
    u = (x - p5) / (p95 - p5)
    low_rest, high_rest = _cycles(u), _cycles(1.0 - u)
    if len(low_rest) != len(high_rest):
        return low_rest if len(low_rest) > len(high_rest) else high_rest
    return low_rest if _edge_and_dwell(u) else high_rest
