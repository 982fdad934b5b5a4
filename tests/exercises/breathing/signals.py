"""Synthetic arm-height signals with known rhythms, and frames that carry them."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tests.factories import make_frame
from vision.types import PoseFrame

__all__ = ["arm_frames", "breathing_signal"]

DOWN, UP = -1.0, 0.0  # arms hanging; raised level with the shoulders


def breathing_signal(
    breaths: Sequence[tuple[float, float, float, float]],
    *,
    lead_s: float = 1.0,
    tail_s: float = 2.0,
    dt_s: float = 0.04,
    eased: bool = False,
    low: float = DOWN,
    high: float = UP,
) -> tuple[np.ndarray, np.ndarray]:
    """(times_ms, values): rest for `lead_s`, then per breath (rise_s, top_hold_s,
    fall_s, bottom_rest_s), then rest for `tail_s`. Ramps are straight lines, or
    half-cosines (`eased`)."""
    knots = [(0.0, low), (lead_s, low)]
    t = lead_s
    for rise, hold, fall, rest in breaths:
        knots += [(t + rise, high), (t + rise + hold, high)]
        t += rise + hold
        knots += [(t + fall, low), (t + fall + rest, low)]
        t += fall + rest
    knots.append((t + tail_s, low))
    times = np.arange(0.0, t + tail_s, dt_s)
    kt = np.array([k[0] for k in knots])
    kv = np.array([k[1] for k in knots])
    if not eased:
        return times * 1000.0, np.interp(times, kt, kv)
    out = np.empty_like(times)
    for n, x in enumerate(times):
        i = min(int(np.searchsorted(kt, x, side="right")), len(kt) - 1)
        t0, t1, v0, v1 = kt[i - 1], kt[i], kv[i - 1], kv[i]
        u = 0.0 if t1 == t0 else (x - t0) / (t1 - t0)
        out[n] = v0 + (v1 - v0) * (1 - math.cos(math.pi * u)) / 2
    return times * 1000.0, out


def arm_frames(
    times_ms: Sequence[float] | np.ndarray,
    values: Sequence[float] | np.ndarray,
    **kw: object,
) -> list[PoseFrame]:
    """Frames of a person whose straight arms are at the given heights: the arm
    height -cos(shoulder angle) (0 = level with the shoulders). Front view with a
    sideways raise by default; pass `view="side", arm_plane="sagittal"` for a front
    raise seen from the side, `posture="seated"` to sit."""
    out = []
    for t, v in zip(times_ms, values, strict=True):
        angle = math.degrees(math.acos(max(-1.0, min(1.0, -float(v)))))
        out.append(
            make_frame(round(t), shoulder_deg=angle, elbow_deg=180.0, **kw)  # type: ignore[arg-type]
        )
    return out
