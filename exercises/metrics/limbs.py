"""Leg and arm metrics: knees, stance, hip height, lifts, heels, elbows, wrists; each
`(body, side) -> float`, NaN when a joint it needs is missing, named by the registry
(`exercises.metrics.METRICS`).
"""

from __future__ import annotations

import numpy as np

from exercises.metrics.body import (
    _NAN,
    Body,
    _forward_deg,
    _max,
    _mean,
    _shin_length,
    _sides,
    angle_deg,
)

__all__ = [
    "ankle_lift_ratio",
    "arm_symmetry_deg",
    "elbow_drift_deg",
    "heel_lift_ratio",
    "hip_height_ratio",
    "knee_lift_ratio",
    "knee_over_toe_ratio",
    "knee_valgus_ratio",
    "stance_width_ratio",
    "upper_arm_forward_deg",
    "wrist_height_ratio",
]


def knee_valgus_ratio(body: Body, side: str | None) -> float:
    lh, rh = body.xy("left_hip"), body.xy("right_hip")
    if lh is None or rh is None:
        return _NAN
    span = abs(float(lh[0] - rh[0]))
    if span == 0.0:
        return _NAN
    mid = (float(lh[0]) + float(rh[0])) / 2.0
    out = []
    for s in _sides(side):
        hip, knee, ankle = (body.xy(f"{s}_{j}") for j in ("hip", "knee", "ankle"))
        if hip is None or knee is None or ankle is None:
            continue
        drop = float(ankle[1] - hip[1])
        if not drop > 0.0:
            continue
        # Where the straight hip-ankle line is at the knee's height.
        u = float(knee[1] - hip[1]) / drop
        line_x = float(hip[0]) + u * float(ankle[0] - hip[0])
        out.append((abs(line_x - mid) - abs(float(knee[0]) - mid)) / span)
    return _mean(out)


def knee_over_toe_ratio(body: Body, side: str | None) -> float:
    facing = body.facing()
    if facing == 0:
        return _NAN
    best: tuple[float, float] | None = None  # (ankle forwardness, ratio)
    for s in _sides(side):
        knee, toe, ankle = (
            body.xy(f"{s}_{j}") for j in ("knee", "foot_index", "ankle")
        )
        shin = _shin_length(body, s)
        if knee is None or toe is None or ankle is None or not shin > 0:
            continue
        ratio = float(knee[0] - toe[0]) * facing / shin
        ahead = float(ankle[0]) * facing
        if best is None or ahead > best[0]:
            best = (ahead, ratio)
    return _NAN if best is None else best[1]


def stance_width_ratio(body: Body, side: str | None) -> float:
    la, ra = body.xy("left_ankle"), body.xy("right_ankle")
    ls, rs = body.xy("left_shoulder"), body.xy("right_shoulder")
    if la is None or ra is None or ls is None or rs is None:
        return _NAN
    span = abs(float(ls[0] - rs[0]))
    return _NAN if span == 0.0 else abs(float(la[0] - ra[0])) / span


def hip_height_ratio(body: Body, side: str | None) -> float:
    out = []
    for s in _sides(side):
        hip, knee, ankle = (
            body.xy(f"{s}_hip"),
            body.xy(f"{s}_knee"),
            body.xy(f"{s}_ankle"),
        )
        if hip is None or knee is None or ankle is None:
            continue
        shin_drop = float(ankle[1] - knee[1])
        # A shin far from upright (lying, kneeling) gives no usable height scale.
        if not shin_drop > 0.5 * _shin_length(body, s):
            continue
        out.append(float(ankle[1] - hip[1]) / shin_drop)
    return _mean(out)


def _lift_ratio(body: Body, joint: str) -> float:
    a, b = body.xy(f"left_{joint}"), body.xy(f"right_{joint}")
    shin = _max([_shin_length(body, "left"), _shin_length(body, "right")])
    if a is None or b is None or not shin > 0:
        return _NAN
    return abs(float(a[1] - b[1])) / shin


def ankle_lift_ratio(body: Body, side: str | None) -> float:
    return _lift_ratio(body, "ankle")


def knee_lift_ratio(body: Body, side: str | None) -> float:
    return _lift_ratio(body, "knee")


def heel_lift_ratio(body: Body, side: str | None) -> float:
    out = []
    for s in _sides(side):
        heel, toe = body.xy(f"{s}_heel"), body.xy(f"{s}_foot_index")
        if heel is None or toe is None:
            continue
        n = float(np.hypot(*(toe - heel)))
        if n > 0.0:
            out.append(float(toe[1] - heel[1]) / n)
    return _mean(out)


def _shoulder_angle(body: Body, s: str) -> float:
    return angle_deg(
        body.xy(f"{s}_hip"), body.xy(f"{s}_shoulder"), body.xy(f"{s}_elbow")
    )


def elbow_drift_deg(body: Body, side: str | None) -> float:
    return _max([_shoulder_angle(body, s) for s in _sides(side)])


def upper_arm_forward_deg(body: Body, side: str | None) -> float:
    facing = body.facing()
    if facing == 0:
        return _NAN
    out = []
    for s in _sides(side):
        sh, el = body.xy(f"{s}_shoulder"), body.xy(f"{s}_elbow")
        if sh is None or el is None:
            continue
        d = el - sh
        if float(np.hypot(*d)) > 0.0:
            out.append(_forward_deg(d, facing, from_down=True))
    return _max(out)


def arm_symmetry_deg(body: Body, side: str | None) -> float:
    return abs(_shoulder_angle(body, "left") - _shoulder_angle(body, "right"))


def wrist_height_ratio(body: Body, side: str | None) -> float:
    torso = body.torso_length()
    if not torso > 0:
        return _NAN
    out = []
    for s in _sides(side):
        sh, wr = body.xy(f"{s}_shoulder"), body.xy(f"{s}_wrist")
        if sh is not None and wr is not None:
            out.append(float(sh[1] - wr[1]) / torso)
    return _mean(out)
