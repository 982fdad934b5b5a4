"""Closed registry of form metrics: `METRICS: dict[str, Metric]`.

Templates name metrics from this registry (never expressions): as phase or position
conditions, as scored channels of a reference trajectory, and in form rules. Each metric
reads one (smoothed) frame through a `Body` and returns a float, or NaN when a joint it
needs is missing (below the visibility threshold, or NaN).

Conventions:
- Image coordinates: x to the right, y *down*, both normalised to the image. Angles are
  measured in the image plane (the depth estimate is too noisy for form rules), so each
  metric states the camera view it is meaningful in (`Metric.view`); the session skips a
  metric whose view differs from the one it detects.
- Ratios divide image distances by a body length measured in the same frame (torso,
  shin), so they do not depend on how far the person stands from the camera.
- `side` picks one side ("left"/"right") for one-sided metrics; `None` combines both
  sides as each metric documents (mean, or the worse side for fault metrics).
- "Facing" is the horizontal direction the face points in a side view (+1 = image
  right, -1 = image left), from the nose against the ears, else from the feet, else
  from the nose against the shoulders.

Core module: stdlib and numpy only. Pure numpy on (J, 3) arrays: per-frame arrays are
far too small for numba to pay off.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from vision import config
from vision.types import PoseFrame, Skeleton

__all__ = [
    "METRICS",
    "VIEWS",
    "Body",
    "Metric",
    "compute_metric",
    "detect_view",
]

F64 = npt.NDArray[np.float64]

VIEWS: Final[tuple[str, ...]] = ("front", "side", "any")
"""Camera views a metric (or template) can need; "any" = meaningful in every view."""

_NAN = math.nan
# Joints whose coordinates fall this far outside [0, 1] count as out of the picture.
_FRAME_MARGIN = 0.02
# A shoulder span below this fraction of the torso is a side view, above _FRONT a front
# view (biacromial breadth is ~0.75 of the shoulder-hip distance in adults).
_SIDE_MAX_SPAN = 0.30
# Without ears or feet, a nose this far (in torso lengths) ahead of the shoulders says
# which way a side view faces.
_NOSE_AHEAD = 0.1
_FRONT_MIN_SPAN = 0.50


class Body:
    """Named access to one frame's joints for the metrics.

    A joint is usable when its coordinates are finite and its visibility is at least
    `min_visibility` (default `vision.config.MIN_VISIBILITY`).
    """

    __slots__ = ("_cache", "frame", "min_visibility", "skeleton")

    def __init__(self, frame: PoseFrame, min_visibility: float | None = None) -> None:
        self.frame = frame
        self.skeleton: Skeleton = frame.skeleton
        self.min_visibility = (
            config.MIN_VISIBILITY if min_visibility is None else float(min_visibility)
        )
        self._cache: dict[str, F64 | None] = {}

    def xyz(self, name: str) -> F64 | None:
        """(3,) float64 position, or None when missing (or not in the skeleton)."""
        if name in self._cache:
            return self._cache[name]
        point: F64 | None = None
        if self.skeleton.has(name):
            row = self.skeleton.index(name)
            p = self.frame.xyz[row].astype(np.float64)
            if (
                np.isfinite(p[:2]).all()
                and float(self.frame.visibility[row]) >= self.min_visibility
            ):
                point = p
        self._cache[name] = point
        return point

    def xy(self, name: str) -> F64 | None:
        """(2,) float64 image position, or None when missing."""
        p = self.xyz(name)
        return None if p is None else p[:2]

    def mid(self, name: str) -> F64 | None:
        """(2,) midpoint of left_<name> and right_<name>; the one visible side if only
        one is (in a side view the far joint is often hidden)."""
        a, b = self.xy(f"left_{name}"), self.xy(f"right_{name}")
        if a is None:
            return b
        if b is None:
            return a
        return (a + b) / 2.0

    def torso_length(self) -> float:
        """Image distance from the hips' midpoint to the shoulders' midpoint."""
        s, h = self.mid("shoulder"), self.mid("hip")
        if s is None or h is None:
            return _NAN
        return float(np.hypot(*(s - h)))

    def facing(self) -> int:
        """+1 facing image right, -1 image left, 0 unknown (side views only)."""
        nose, ear = self.xy("nose"), self.mid("ear")
        torso = self.torso_length()
        if nose is not None and ear is not None and torso > 0:
            dx = float(nose[0] - ear[0])
            if abs(dx) > 0.05 * torso:
                return 1 if dx > 0 else -1
        dx_sum = 0.0
        for s in ("left", "right"):
            heel, toe = self.xy(f"{s}_heel"), self.xy(f"{s}_foot_index")
            if heel is not None and toe is not None:
                dx_sum += float(toe[0] - heel[0])
        if dx_sum != 0.0:
            return 1 if dx_sum > 0 else -1
        # Without ears or feet: the nose is ahead of the shoulders (the head sits in
        # front of the shoulder joints seen from the side).
        shoulders = self.mid("shoulder")
        if nose is not None and shoulders is not None and torso > 0:
            dx = float(nose[0] - shoulders[0])
            if abs(dx) > _NOSE_AHEAD * torso:
                return 1 if dx > 0 else -1
        return 0

    def face_direction(self) -> F64 | None:
        """(2,) unit vector the face points along (ears to nose), None if unknown."""
        nose, ear = self.xy("nose"), self.mid("ear")
        if nose is None or ear is None:
            return None
        d = nose - ear
        n = float(np.hypot(*d))
        return None if n == 0.0 else d / n


def _angle(a: F64 | None, b: F64 | None, c: F64 | None) -> float:
    """Angle ABC at B in degrees (image plane); NaN if a point is missing."""
    if a is None or b is None or c is None:
        return _NAN
    u, v = a[:2] - b[:2], c[:2] - b[:2]
    nu, nv = float(np.hypot(*u)), float(np.hypot(*v))
    if nu == 0.0 or nv == 0.0:
        return _NAN
    cos = max(-1.0, min(1.0, float(np.dot(u, v)) / (nu * nv)))
    return math.degrees(math.acos(cos))


def _from_vertical_deg(v: F64) -> float:
    """Unsigned angle of an image vector from straight up, degrees in [0, 180]."""
    return math.degrees(math.atan2(abs(float(v[0])), -float(v[1])))


def _sides(side: str | None) -> tuple[str, ...]:
    return ("left", "right") if side is None else (side,)


def _finite(values: list[float]) -> list[float]:
    return [v for v in values if not math.isnan(v)]


def _mean(values: list[float]) -> float:
    ok = _finite(values)
    return sum(ok) / len(ok) if ok else _NAN


def _max(values: list[float]) -> float:
    ok = _finite(values)
    return max(ok) if ok else _NAN


def _best_side(body: Body, joints: tuple[str, ...]) -> str | None:
    """The side whose `joints` are all usable, preferring the more visible one."""
    best: tuple[float, str] | None = None
    for s in ("left", "right"):
        names = [f"{s}_{j}" for j in joints]
        if any(body.xy(n) is None for n in names):
            continue
        vis = sum(float(body.frame.visibility[body.skeleton.index(n)]) for n in names)
        if best is None or vis > best[0]:
            best = (vis, s)
    return None if best is None else best[1]


def _shin_length(body: Body, side: str) -> float:
    k, a = body.xy(f"{side}_knee"), body.xy(f"{side}_ankle")
    return _NAN if k is None or a is None else float(np.hypot(*(k - a)))


# --- the metrics -----------------------------------------------------------------


def _knee_valgus_ratio(body: Body, side: str | None) -> float:
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


def _trunk_lean_deg(body: Body, side: str | None) -> float:
    s, h = body.mid("shoulder"), body.mid("hip")
    if s is None or h is None:
        return _NAN
    return _from_vertical_deg(s - h)


def _trunk_forward_deg(body: Body, side: str | None) -> float:
    s, h = body.mid("shoulder"), body.mid("hip")
    facing = body.facing()
    if s is None or h is None or facing == 0:
        return _NAN
    v = s - h
    return math.degrees(math.atan2(float(v[0]) * facing, -float(v[1])))


def _line_side(body: Body, side: str | None) -> str | None:
    return side if side is not None else _best_side(body, ("shoulder", "hip", "ankle"))


def _body_line_deg(body: Body, side: str | None) -> float:
    s = _line_side(body, side)
    if s is None:
        return _NAN
    bend = _angle(body.xy(f"{s}_shoulder"), body.xy(f"{s}_hip"), body.xy(f"{s}_ankle"))
    return 180.0 - bend


def _hip_sag_deg(body: Body, side: str | None) -> float:
    s = _line_side(body, side)
    if s is None:
        return _NAN
    sh, hip, an = body.xy(f"{s}_shoulder"), body.xy(f"{s}_hip"), body.xy(f"{s}_ankle")
    bend = 180.0 - _angle(sh, hip, an)
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


def _elbow_drift_deg(body: Body, side: str | None) -> float:
    return _max(
        [
            _angle(body.xy(f"{s}_hip"), body.xy(f"{s}_shoulder"), body.xy(f"{s}_elbow"))
            for s in _sides(side)
        ]
    )


def _back_arch_deg(body: Body, side: str | None) -> float:
    facing = body.facing()
    if facing == 0:
        return _NAN
    s = side if side is not None else _best_side(body, ("shoulder", "hip", "knee"))
    if s is None:
        return _NAN
    sh, hip, kn = body.xy(f"{s}_shoulder"), body.xy(f"{s}_hip"), body.xy(f"{s}_knee")
    if sh is None or hip is None or kn is None:
        return _NAN
    trunk, thigh = sh - hip, hip - kn

    def forward(v: F64) -> float:
        return math.degrees(math.atan2(float(v[0]) * facing, -float(v[1])))

    return forward(thigh) - forward(trunk)


def _knee_over_toe_ratio(body: Body, side: str | None) -> float:
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


def _shoulder_angle(body: Body, s: str) -> float:
    return _angle(body.xy(f"{s}_hip"), body.xy(f"{s}_shoulder"), body.xy(f"{s}_elbow"))


def _arm_symmetry_deg(body: Body, side: str | None) -> float:
    return abs(_shoulder_angle(body, "left") - _shoulder_angle(body, "right"))


def _shoulder_elevation_ratio(body: Body, side: str | None) -> float:
    s, e = body.mid("shoulder"), body.mid("ear")
    torso = body.torso_length()
    if s is None or e is None or not torso > 0:
        return _NAN
    return float(s[1] - e[1]) / torso


def _torso_twist_deg(body: Body, side: str | None) -> float:
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


def _stance_width_ratio(body: Body, side: str | None) -> float:
    la, ra = body.xy("left_ankle"), body.xy("right_ankle")
    ls, rs = body.xy("left_shoulder"), body.xy("right_shoulder")
    if la is None or ra is None or ls is None or rs is None:
        return _NAN
    span = abs(float(ls[0] - rs[0]))
    return _NAN if span == 0.0 else abs(float(la[0] - ra[0])) / span


def _tilt_deg(body: Body, name: str) -> float:
    a, b = body.xy(f"left_{name}"), body.xy(f"right_{name}")
    if a is None or b is None:
        return _NAN
    d = a - b
    return math.degrees(math.atan2(abs(float(d[1])), abs(float(d[0]))))


def _shoulder_tilt_deg(body: Body, side: str | None) -> float:
    return _tilt_deg(body, "shoulder")


def _hip_tilt_deg(body: Body, side: str | None) -> float:
    return _tilt_deg(body, "hip")


def _hip_height_ratio(body: Body, side: str | None) -> float:
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


def _ankle_lift_ratio(body: Body, side: str | None) -> float:
    return _lift_ratio(body, "ankle")


def _knee_lift_ratio(body: Body, side: str | None) -> float:
    return _lift_ratio(body, "knee")


def _wrist_height_ratio(body: Body, side: str | None) -> float:
    torso = body.torso_length()
    if not torso > 0:
        return _NAN
    out = []
    for s in _sides(side):
        sh, wr = body.xy(f"{s}_shoulder"), body.xy(f"{s}_wrist")
        if sh is not None and wr is not None:
            out.append(float(sh[1] - wr[1]) / torso)
    return _mean(out)


def _heel_lift_ratio(body: Body, side: str | None) -> float:
    out = []
    for s in _sides(side):
        heel, toe = body.xy(f"{s}_heel"), body.xy(f"{s}_foot_index")
        if heel is None or toe is None:
            continue
        n = float(np.hypot(*(toe - heel)))
        if n > 0.0:
            out.append(float(toe[1] - heel[1]) / n)
    return _mean(out)


def _neck_flexion_deg(body: Body, side: str | None) -> float:
    s = side if side is not None else _best_side(body, ("ear", "shoulder", "hip"))
    if s is None:
        return _NAN
    return 180.0 - _angle(
        body.xy(f"{s}_hip"), body.xy(f"{s}_shoulder"), body.xy(f"{s}_ear")
    )


@dataclass(frozen=True, slots=True)
class Metric:
    """One named form metric.

    Attributes:
        name: Registry key, as templates write it.
        unit: "deg" or "ratio".
        view: Camera view it is meaningful in ("front", "side" or "any").
        description: What it measures and its sign.
        joints: Joints it reads (sideless names mean left and/or right).
        fn: (body, side) -> float; NaN when a needed joint is missing.
    """

    name: str
    unit: str
    view: str
    description: str
    joints: tuple[str, ...]
    fn: Callable[[Body, str | None], float]

    def __call__(self, body: Body, side: str | None = None) -> float:
        return float(self.fn(body, side))


def _m(
    name: str,
    unit: str,
    view: str,
    joints: tuple[str, ...],
    fn: Callable[[Body, str | None], float],
    description: str,
) -> tuple[str, Metric]:
    return name, Metric(name, unit, view, description, joints, fn)


METRICS: Final[dict[str, Metric]] = dict(
    [
        _m(
            "knee_valgus_ratio",
            "ratio",
            "front",
            ("hip", "knee", "ankle"),
            _knee_valgus_ratio,
            "How far the knees sit inside the straight hip-ankle lines, in hip spans: "
            "0 = in line, > 0 = caving in (valgus), < 0 = pushed out; both sides: the "
            "mean.",
        ),
        _m(
            "trunk_lean_deg",
            "deg",
            "any",
            ("shoulder", "hip"),
            _trunk_lean_deg,
            "Hips-to-shoulders line from vertical, unsigned: 0 upright, 90 horizontal "
            "(plank), forward in a side view, sideways in a front view.",
        ),
        _m(
            "trunk_forward_deg",
            "deg",
            "side",
            ("shoulder", "hip", "nose", "ear"),
            _trunk_forward_deg,
            "Signed trunk lean in the facing direction: > 0 forward, < 0 leaning back.",
        ),
        _m(
            "body_line_deg",
            "deg",
            "side",
            ("shoulder", "hip", "ankle"),
            _body_line_deg,
            "Unsigned bend at the hips of the shoulder-hip-ankle line (0 = straight).",
        ),
        _m(
            "hip_sag_deg",
            "deg",
            "side",
            ("shoulder", "hip", "ankle", "nose", "ear"),
            _hip_sag_deg,
            "Signed bend at the hips: > 0 hips sag toward where the face points (the "
            "floor in a plank, the wall in a wall push-up), < 0 hips piked up.",
        ),
        _m(
            "elbow_drift_deg",
            "deg",
            "side",
            ("hip", "shoulder", "elbow"),
            _elbow_drift_deg,
            "Upper arm away from the trunk line (angle hip-shoulder-elbow); both "
            "sides: the larger.",
        ),
        _m(
            "back_arch_deg",
            "deg",
            "side",
            ("shoulder", "hip", "knee", "nose", "ear"),
            _back_arch_deg,
            "Signed bend at the hip of a standing body: > 0 shoulders behind the "
            "knee-hip line (arching or leaning back), < 0 bending forward.",
        ),
        _m(
            "knee_over_toe_ratio",
            "ratio",
            "side",
            ("knee", "ankle", "foot_index"),
            _knee_over_toe_ratio,
            "How far the knee is ahead of the toes in the facing direction, in shin "
            "lengths (> 0 past the toes); both sides: the front leg (foot furthest "
            "forward, as in a lunge).",
        ),
        _m(
            "arm_symmetry_deg",
            "deg",
            "front",
            ("hip", "shoulder", "elbow"),
            _arm_symmetry_deg,
            "Difference between the left and right arm elevation (hip-shoulder-elbow).",
        ),
        _m(
            "shoulder_elevation_ratio",
            "ratio",
            "front",
            ("ear", "shoulder", "hip"),
            _shoulder_elevation_ratio,
            "Vertical ear-to-shoulder gap in torso lengths (~0.35 relaxed); smaller "
            "means the shoulders are shrugged up.",
        ),
        _m(
            "torso_twist_deg",
            "deg",
            "front",
            ("shoulder", "hip"),
            _torso_twist_deg,
            "Angle between the shoulder and hip lines seen from above (uses depth).",
        ),
        _m(
            "stance_width_ratio",
            "ratio",
            "front",
            ("ankle", "shoulder"),
            _stance_width_ratio,
            "Ankle span over shoulder span (1 = shoulder width).",
        ),
        _m(
            "shoulder_tilt_deg",
            "deg",
            "front",
            ("shoulder",),
            _shoulder_tilt_deg,
            "Shoulder line from horizontal, unsigned.",
        ),
        _m(
            "hip_tilt_deg",
            "deg",
            "front",
            ("hip",),
            _hip_tilt_deg,
            "Hip line from horizontal, unsigned (pelvic drop or hitch).",
        ),
        _m(
            "hip_height_ratio",
            "ratio",
            "any",
            ("hip", "knee", "ankle"),
            _hip_height_ratio,
            "Height of the hips above the ankles over the shin's vertical drop: ~2 "
            "standing, ~1 seated or thighs level; both sides: the mean. Uses vertical "
            "distances only, so it reads the same from the front and the side.",
        ),
        _m(
            "ankle_lift_ratio",
            "ratio",
            "any",
            ("knee", "ankle"),
            _ankle_lift_ratio,
            "Height difference of the two ankles in shin lengths (a foot off the "
            "floor).",
        ),
        _m(
            "knee_lift_ratio",
            "ratio",
            "any",
            ("knee", "ankle"),
            _knee_lift_ratio,
            "Height difference of the two knees in shin lengths (marching).",
        ),
        _m(
            "wrist_height_ratio",
            "ratio",
            "any",
            ("shoulder", "wrist", "hip"),
            _wrist_height_ratio,
            "Wrist height above the shoulder in torso lengths: ~-1.1 arms hanging, "
            "0 at shoulder height, ~+1 overhead; both sides: the mean.",
        ),
        _m(
            "heel_lift_ratio",
            "ratio",
            "side",
            ("heel", "foot_index"),
            _heel_lift_ratio,
            "Heel height above the toes over the foot length (sine of the foot's "
            "pitch): ~0 flat, ~0.5 on tiptoe; both sides: the mean.",
        ),
        _m(
            "neck_flexion_deg",
            "deg",
            "side",
            ("ear", "shoulder", "hip"),
            _neck_flexion_deg,
            "Head bent forward from the trunk line (180 - angle hip-shoulder-ear); "
            "~10-20 relaxed, larger with the chin tucked to the chest.",
        ),
    ]
)
"""Every metric a template may name."""


def compute_metric(
    name: str, frame: PoseFrame | Body, side: str | None = None
) -> float:
    """Value of one registered metric on one frame.

    Args:
        name: A key of `METRICS`.
        frame: The frame, or a `Body` built on it (reuse one across metrics).
        side: "left", "right", or None for both (see each metric's description).

    Returns:
        The value in the metric's unit, NaN when a needed joint is missing.

    Raises:
        KeyError: unknown metric (the message lists the valid names).
        ValueError: side is not "left", "right" or None.
    """
    metric = METRICS.get(name)
    if metric is None:
        raise KeyError(f"unknown metric {name!r}; valid metrics: {', '.join(METRICS)}")
    if side not in (None, "left", "right"):
        raise ValueError(f"side must be 'left', 'right' or None, got {side!r}")
    body = frame if isinstance(frame, Body) else Body(frame)
    return metric(body, side)


def detect_view(frame: PoseFrame | Body) -> str | None:
    """ "front", "side" or "oblique" from the shoulder span against the torso length;
    None when the shoulders or hips are missing."""
    body = frame if isinstance(frame, Body) else Body(frame)
    ls, rs = body.xy("left_shoulder"), body.xy("right_shoulder")
    torso = body.torso_length()
    if not torso > 0:
        return None
    if ls is None or rs is None:
        # One shoulder hidden behind the body: that is a side view.
        return "side" if (ls is not None or rs is not None) else None
    span = float(np.hypot(*(ls - rs))) / torso
    if span <= _SIDE_MAX_SPAN:
        return "side"
    if span >= _FRONT_MIN_SPAN:
        return "front"
    return "oblique"


def in_frame(xy: F64) -> bool:
    """Whether an image point lies inside the picture (with a small margin)."""
    return bool(
        -_FRAME_MARGIN <= xy[0] <= 1.0 + _FRAME_MARGIN
        and -_FRAME_MARGIN <= xy[1] <= 1.0 + _FRAME_MARGIN
    )
