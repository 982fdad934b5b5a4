"""What a metric reads: `Body`, named access to one frame's joints, and the small
geometry every metric family shares (image-plane angles, sides, NaN-aware means).

Core module: stdlib and numpy only.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from vision import config
from vision.types import PoseFrame, Skeleton

__all__ = ["Body", "angle_deg"]

F64 = npt.NDArray[np.float64]

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
# Sides whose mean visibilities are this close are as visible (the nearer one is seen).
_AS_VISIBLE = 0.15


class Body:
    """Named access to one frame's joints for the metrics.

    A joint is usable when its coordinates are finite and its visibility is at least
    `min_visibility` (default `vision.config.MIN_VISIBILITY`).
    """

    __slots__ = (
        "_cache",
        "_mids",
        "_points",
        "_torso",
        "_usable",
        "_xy",
        "frame",
        "min_visibility",
        "skeleton",
    )

    def __init__(self, frame: PoseFrame, min_visibility: float | None = None) -> None:
        self.frame = frame
        self.skeleton: Skeleton = frame.skeleton
        self.min_visibility = (
            config.MIN_VISIBILITY if min_visibility is None else float(min_visibility)
        )
        self._cache: dict[str, F64 | None] = {}
        self._points: F64 | None = None  # (J, 3) float64, on the first lookup
        self._usable: list[bool] = []
        # The metrics of a frame ask for the same points and lengths again and again
        # (the torso a dozen times): each is worked out once.
        self._xy: dict[str, F64 | None] = {}
        self._mids: dict[str, F64 | None] = {}
        self._torso: float | None = None

    def xyz(self, name: str) -> F64 | None:
        """(3,) float64 position, or None when missing (or not in the skeleton)."""
        if name in self._cache:
            return self._cache[name]
        if self._points is None:
            # Every joint at once: a metric reads a dozen of them (one numpy call per
            # joint cost more than the metrics' own arithmetic).
            points = self.frame.xyz.astype(np.float64)
            seen = self.frame.visibility.astype(np.float64) >= self.min_visibility
            self._usable = (np.isfinite(points[:, :2]).all(axis=1) & seen).tolist()
            self._points = points
        point: F64 | None = None
        if self.skeleton.has(name):
            row = self.skeleton.index(name)
            if self._usable[row]:
                point = self._points[row]
        self._cache[name] = point
        return point

    def xy(self, name: str) -> F64 | None:
        """(2,) float64 image position, or None when missing."""
        if name in self._xy:
            return self._xy[name]
        p = self.xyz(name)
        point = None if p is None else p[:2]
        self._xy[name] = point
        return point

    def mid(self, name: str) -> F64 | None:
        """(2,) midpoint of left_<name> and right_<name>; the one visible side if only
        one is (in a side view the far joint is often hidden)."""
        if name in self._mids:
            return self._mids[name]
        a, b = self.xy(f"left_{name}"), self.xy(f"right_{name}")
        point = b if a is None else a if b is None else (a + b) / 2.0
        self._mids[name] = point
        return point

    def torso_length(self) -> float:
        """Image distance from the hips' midpoint to the shoulders' midpoint."""
        if self._torso is None:
            s, h = self.mid("shoulder"), self.mid("hip")
            self._torso = _NAN if s is None or h is None else float(np.hypot(*(s - h)))
        return self._torso

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


def angle_deg(a: F64 | None, b: F64 | None, c: F64 | None) -> float:
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


def _forward_deg(v: F64, facing: int, *, from_down: bool = False) -> float:
    """Signed angle of an image vector from straight up (`from_down`: straight down),
    degrees in (-180, 180], positive toward the way a side view faces (`facing` +1
    image right, -1 image left; image y grows downward)."""
    vertical = float(v[1]) if from_down else -float(v[1])
    return math.degrees(math.atan2(float(v[0]) * facing, vertical))


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
    """The side whose `joints` are all usable, preferring the more visible one, or,
    when both are within `_AS_VISIBLE` (mean visibility), the nearer one (the smaller
    mean depth, BlazePose's z; as `exercises.channels` chooses a template's side)."""
    found: dict[str, tuple[float, float]] = {}
    for s in ("left", "right"):
        if any(body.xy(f"{s}_{j}") is None for j in joints):
            continue  # (also a joint the skeleton does not have)
        rows = [body.skeleton.index(f"{s}_{j}") for j in joints]
        vis = float(body.frame.visibility[rows].mean())
        found[s] = (vis, float(body.frame.xyz[rows, 2].mean()))
    if len(found) < 2:
        return next(iter(found), None)
    (vl, zl), (vr, zr) = found["left"], found["right"]
    if abs(vl - vr) <= _AS_VISIBLE and zl != zr and math.isfinite(zl - zr):
        return "left" if zl < zr else "right"
    return "right" if vr > vl else "left"


def _shin_length(body: Body, side: str) -> float:
    k, a = body.xy(f"{side}_knee"), body.xy(f"{side}_ankle")
    return _NAN if k is None or a is None else float(np.hypot(*(k - a)))
