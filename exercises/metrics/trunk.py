"""Trunk, head and shoulder-girdle metrics (lean, line, sag, arch, twist, tilt, neck),
registered in `exercises.metrics.METRICS` with their units, views and descriptions.
Core module: stdlib and numpy only.
"""

from __future__ import annotations

import math

import numpy as np

from exercises.metrics.body import (
    _NAN,
    Body,
    _best_side,
    _forward_deg,
    _from_vertical_deg,
    angle_deg,
)

__all__ = [
    "back_arch_deg",
    "body_line_deg",
    "hip_sag_deg",
    "hip_tilt_deg",
    "neck_flexion_deg",
    "shoulder_elevation_ratio",
    "shoulder_tilt_deg",
    "torso_twist_deg",
    "trunk_forward_deg",
    "trunk_lean_deg",
]


def trunk_lean_deg(body: Body, side: str | None) -> float:
    s, h = body.mid("shoulder"), body.mid("hip")
    if s is None or h is None:
        return _NAN
    return _from_vertical_deg(s - h)


def trunk_forward_deg(body: Body, side: str | None) -> float:
    s, h = body.mid("shoulder"), body.mid("hip")
    facing = body.facing()
    if s is None or h is None or facing == 0:
        return _NAN
    return _forward_deg(s - h, facing)


def _line_side(body: Body, side: str | None) -> str | None:
    return side if side is not None else _best_side(body, ("shoulder", "hip", "ankle"))


def body_line_deg(body: Body, side: str | None) -> float:
    s = _line_side(body, side)
    if s is None:
        return _NAN
    bend = angle_deg(
        body.xy(f"{s}_shoulder"), body.xy(f"{s}_hip"), body.xy(f"{s}_ankle")
    )
    return 180.0 - bend


def hip_sag_deg(body: Body, side: str | None) -> float:
    s = _line_side(body, side)
    if s is None:
        return _NAN
    sh, hip, an = body.xy(f"{s}_shoulder"), body.xy(f"{s}_hip"), body.xy(f"{s}_ankle")
    bend = 180.0 - angle_deg(sh, hip, an)
    if math.isnan(bend) or sh is None or hip is None or an is None:
        return _NAN
    line = sh - an
    n = float(np.hypot(*line))
    if n == 0.0:
        return _NAN
    offset = (hip - an) - line * float(np.dot(hip - an, line)) / (n * n)
    # Sagging = hips drift the way the face points: to the floor in a plank or push-up,
    # to the wall in a wall push-up. Without a face, "down" in the image.
    toward = body.face_direction()
    if toward is None:
        toward = np.array([0.0, 1.0])
    return bend if float(np.dot(offset, toward)) >= 0.0 else -bend


def back_arch_deg(body: Body, side: str | None) -> float:
    facing = body.facing()
    if facing == 0:
        return _NAN
    s = side if side is not None else _best_side(body, ("shoulder", "hip", "knee"))
    if s is None:
        return _NAN
    sh, hip, kn = body.xy(f"{s}_shoulder"), body.xy(f"{s}_hip"), body.xy(f"{s}_knee")
    if sh is None or hip is None or kn is None:
        return _NAN
    return _forward_deg(hip - kn, facing) - _forward_deg(sh - hip, facing)


def torso_twist_deg(body: Body, side: str | None) -> float:
    pts = [
        body.xyz(n)
        for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")
    ]
    if any(p is None or not np.isfinite(p).all() for p in pts):
        return _NAN
    ls, rs, lh, rh = pts
    a = (rs - ls)[[0, 2]]  # type: ignore[operator]
    b = (rh - lh)[[0, 2]]  # type: ignore[operator]
    na, nb = float(np.hypot(*a)), float(np.hypot(*b))
    if na == 0.0 or nb == 0.0:
        return _NAN
    cos = max(-1.0, min(1.0, float(np.dot(a, b)) / (na * nb)))
    return math.degrees(math.acos(cos))


def _tilt_deg(body: Body, name: str) -> float:
    a, b = body.xy(f"left_{name}"), body.xy(f"right_{name}")
    if a is None or b is None:
        return _NAN
    d = a - b
    return math.degrees(math.atan2(abs(float(d[1])), abs(float(d[0]))))


def shoulder_tilt_deg(body: Body, side: str | None) -> float:
    return _tilt_deg(body, "shoulder")


def hip_tilt_deg(body: Body, side: str | None) -> float:
    return _tilt_deg(body, "hip")


def shoulder_elevation_ratio(body: Body, side: str | None) -> float:
    s, e = body.mid("shoulder"), body.mid("ear")
    torso = body.torso_length()
    if s is None or e is None or not torso > 0:
        return _NAN
    return float(s[1] - e[1]) / torso


def neck_flexion_deg(body: Body, side: str | None) -> float:
    s = side if side is not None else _best_side(body, ("ear", "shoulder", "hip"))
    if s is None:
        return _NAN
    return 180.0 - angle_deg(
        body.xy(f"{s}_hip"), body.xy(f"{s}_shoulder"), body.xy(f"{s}_ear")
    )
