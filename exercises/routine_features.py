"""Closed registry of routine features: body-relative positions that survive any
camera scale, per axis or not.

A routine section names features from `FEATURES` (never expressions). Each is a
difference of two joint coordinates *along one axis*, divided by a body length, in
isotropic image coordinates (x times the image's width / height). So a feature does
not change when the person stands nearer or further, and the routine's references can
be built from keypoints whose two axes were scaled independently (min-max per axis),
once that clip's aspect is restored (`exercises.routine_reference`).

Conventions:
- "up" is positive (image y points down); "left" means the person's left, which is
  image right for a person facing a camera whose picture is not mirrored.
- The body length is the torso (mid-shoulder to mid-hip), taken as a high percentile
  over the last `SCALE_WINDOW_MS` so that bending forward (which shortens the torso
  in the picture) does not inflate the features.
- `body_rise` is the only feature with memory: the shoulders' height above where they
  stood over the last `RISE_WINDOW_MS` (heel raises lift the whole body, the ankles
  with it).
- Each feature has a mirror (`Feature.mirror`, `Feature.mirror_sign`): the same
  movement done to the other side swaps left and right and flips the sign of lateral
  features. Alternating sections store one side and mirror it for the other.

Core module: stdlib and numpy; the skeleton mapping by joint name from `vision.types`.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from vision import config
from vision.geometry import OneEuroSmoother
from vision.types import COCO_JOINT_NAMES, PoseFrame, Skeleton

__all__ = [
    "FEATURES",
    "FEATURE_NAMES",
    "RISE_RESET",
    "RISE_SETTLE_MS",
    "RISE_WINDOW_MS",
    "SCALE_PERCENTILE",
    "SCALE_WINDOW_MS",
    "Feature",
    "FeatureTracker",
    "compute_features",
    "feature_column",
    "mirror_features",
    "mirror_index",
    "mirror_joints",
    "torso_lengths",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

SCALE_WINDOW_MS: Final[int] = 10_000
SCALE_PERCENTILE: Final[float] = 90.0
RISE_WINDOW_MS: Final[int] = 8_000
RISE_PERCENTILE: Final[float] = 10.0
"""The baseline shoulder height is this percentile of the recent heights (low =
standing flat: the feet are flat at least a tenth of the time, even in a run of heel
raises)."""
RISE_RESET: Final[float] = 0.3
"""Shoulders this far (torso lengths) above the baseline are a new posture (standing
up from a squat), not a heel raise: the baseline starts again from there and follows
the climb for `RISE_SETTLE_MS`."""
RISE_SETTLE_MS: Final[int] = 1500

_J: Final[dict[str, int]] = {n: i for i, n in enumerate(COCO_JOINT_NAMES)}


@dataclass(frozen=True, slots=True)
class Feature:
    """One named feature.

    Attributes:
        name: Registry key.
        unit: "torso" (torso lengths) or "deg".
        description: What it measures and which way is positive.
        mirror: The feature the same movement to the other side shows up in.
        mirror_sign: -1 when the mirror flips its sign (lateral features), else 1.
    """

    name: str
    unit: str
    description: str
    mirror: str
    mirror_sign: float = 1.0


def _pair(stem: str, unit: str, description: str) -> tuple[Feature, Feature]:
    return (
        Feature(f"{stem}_left", unit, description.format(side="left"), f"{stem}_right"),
        Feature(
            f"{stem}_right", unit, description.format(side="right"), f"{stem}_left"
        ),
    )


_FEATURE_LIST: Final[tuple[Feature, ...]] = (
    *_pair(
        "wrist_height",
        "torso",
        "{side} wrist above the shoulders' midpoint (up +)",
    ),
    *_pair(
        "wrist_out",
        "torso",
        "{side} wrist sideways from the shoulders' midpoint, out to its own side +",
    ),
    *_pair(
        "elbow_height",
        "torso",
        "{side} elbow above the shoulders' midpoint (up +)",
    ),
    *_pair(
        "elbow_out",
        "torso",
        "{side} elbow sideways from the shoulders' midpoint, out to its own side +",
    ),
    *_pair("elbow_angle", "deg", "angle at the {side} elbow (180 = straight)"),
    Feature(
        "head_turn",
        "torso",
        "nose sideways from the ears' midpoint, toward the person's left +",
        "head_turn",
        -1.0,
    ),
    Feature("head_height", "torso", "nose above the hips' midpoint", "head_height"),
    Feature(
        "head_side",
        "torso",
        "nose sideways from the hips' midpoint, toward the person's left +",
        "head_side",
        -1.0,
    ),
    Feature(
        "trunk_side",
        "torso",
        "shoulders' midpoint sideways from the hips', toward the person's left +",
        "trunk_side",
        -1.0,
    ),
    Feature(
        "trunk_height",
        "torso",
        "shoulders' midpoint above the hips' (1 upright, less when bent)",
        "trunk_height",
    ),
    Feature("hip_height", "torso", "hips' midpoint above the ankles'", "hip_height"),
    Feature(
        "stance_width",
        "torso",
        "horizontal distance between the ankles",
        "stance_width",
    ),
    Feature(
        "body_rise",
        "torso",
        "shoulders' midpoint above where it stood over the last seconds (up +)",
        "body_rise",
    ),
)

FEATURES: Final[dict[str, Feature]] = {f.name: f for f in _FEATURE_LIST}
FEATURE_NAMES: Final[tuple[str, ...]] = tuple(FEATURES)
_ROW: Final[dict[str, int]] = {n: i for i, n in enumerate(FEATURE_NAMES)}


def mirror_index(names: tuple[str, ...]) -> tuple[npt.NDArray[np.int64], F32]:
    """For columns `names`: the column each one's mirror is in, and the sign.

    Raises:
        KeyError: a mirror is not among `names` (the message names it).
    """
    where = {n: i for i, n in enumerate(names)}
    idx = np.empty(len(names), np.int64)
    sign = np.empty(len(names), np.float32)
    for i, n in enumerate(names):
        f = FEATURES[n]
        if f.mirror not in where:
            raise KeyError(f"feature {n!r} needs its mirror {f.mirror!r} alongside it")
        idx[i] = where[f.mirror]
        sign[i] = f.mirror_sign
    return idx, sign


_SWAP_LR: Final[npt.NDArray[np.int64]] = np.array(Skeleton.COCO_17.mirror_rows)


def mirror_joints(xy: F64) -> F64:
    """The same pose done to the other side: (..., 17, 2) COCO joints with x flipped
    about 0 and left and right swapped."""
    out: F64 = xy[..., _SWAP_LR, :].copy()
    out[..., 0] *= -1.0
    return out


def mirror_features(values: F32, names: tuple[str, ...]) -> F32:
    """The same movement to the other side: (..., K) float32 over columns `names`."""
    idx, sign = mirror_index(names)
    out: F32 = np.ascontiguousarray(values[..., idx] * sign, np.float32)
    return out


def _coco_xy(frame: PoseFrame, image_aspect: float) -> F64:
    """(17, 2) isotropic COCO joints of a frame of any skeleton that names them; NaN
    where missing or below the visibility threshold."""
    sk = frame.skeleton
    rows = _COCO_ROWS[sk]
    xy = frame.xyz[rows, :2].astype(np.float64)
    xy[frame.visibility[rows] < config.MIN_VISIBILITY] = np.nan
    xy[:, 0] *= image_aspect
    return xy


_COCO_ROWS: Final[dict[Skeleton, npt.NDArray[np.int64]]] = {
    s: np.array([s.index(n) for n in COCO_JOINT_NAMES], np.int64)
    for s in Skeleton
    if all(s.has(n) for n in COCO_JOINT_NAMES)
}


def torso_lengths(xy: F64) -> F64:
    """(T,) torso length of (T, 17, 2) isotropic COCO joints; NaN where missing."""
    ms = (xy[:, _J["left_shoulder"]] + xy[:, _J["right_shoulder"]]) / 2
    mh = (xy[:, _J["left_hip"]] + xy[:, _J["right_hip"]]) / 2
    out: F64 = np.hypot(*(ms - mh).T)
    return out


def _angle_deg(a: F64, b: F64, c: F64) -> F64:
    u, v = a - b, c - b
    nu, nv = np.hypot(*u.T), np.hypot(*v.T)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.clip(np.einsum("ti,ti->t", u, v) / (nu * nv), -1.0, 1.0)
    out: F64 = np.degrees(np.arccos(cos))
    return out


def compute_features(xy: F64, scale: F64, rise_baseline_y: F64) -> F32:
    """Every registry feature, frame by frame.

    Args:
        xy: (T, 17, 2) float64 isotropic COCO-17 joints (image units, x times the
            width / height); NaN = missing.
        scale: (T,) float64 body length (torso) per frame.
        rise_baseline_y: (T,) float64 shoulders' midpoint height at rest (image y);
            NaN leaves `body_rise` NaN.

    Returns:
        (T, F) float32 in `FEATURE_NAMES` order; NaN where a joint is missing.
    """
    j = _J
    ms = (xy[:, j["left_shoulder"]] + xy[:, j["right_shoulder"]]) / 2
    mh = (xy[:, j["left_hip"]] + xy[:, j["right_hip"]]) / 2
    ma = (xy[:, j["left_ankle"]] + xy[:, j["right_ankle"]]) / 2
    me = (xy[:, j["left_ear"]] + xy[:, j["right_ear"]]) / 2
    nose = xy[:, j["nose"]]
    s = scale
    cols: dict[str, F64] = {}
    for side, out_sign in (("left", 1.0), ("right", -1.0)):
        w, e = xy[:, j[f"{side}_wrist"]], xy[:, j[f"{side}_elbow"]]
        sh = xy[:, j[f"{side}_shoulder"]]
        cols[f"wrist_height_{side}"] = (ms[:, 1] - w[:, 1]) / s
        cols[f"wrist_out_{side}"] = out_sign * (w[:, 0] - ms[:, 0]) / s
        cols[f"elbow_height_{side}"] = (ms[:, 1] - e[:, 1]) / s
        cols[f"elbow_out_{side}"] = out_sign * (e[:, 0] - ms[:, 0]) / s
        cols[f"elbow_angle_{side}"] = _angle_deg(sh, e, w)
    cols["head_turn"] = (nose[:, 0] - me[:, 0]) / s
    cols["head_height"] = (mh[:, 1] - nose[:, 1]) / s
    cols["head_side"] = (nose[:, 0] - mh[:, 0]) / s
    cols["trunk_side"] = (ms[:, 0] - mh[:, 0]) / s
    cols["trunk_height"] = (mh[:, 1] - ms[:, 1]) / s
    cols["hip_height"] = (ma[:, 1] - mh[:, 1]) / s
    cols["stance_width"] = (xy[:, j["left_ankle"], 0] - xy[:, j["right_ankle"], 0]) / s
    cols["body_rise"] = (rise_baseline_y - ms[:, 1]) / s
    out = np.stack([cols[n] for n in FEATURE_NAMES], axis=1).astype(np.float32)
    return np.ascontiguousarray(out)


class _Window:
    """Recent (timestamp_ms, value) pairs for a running percentile."""

    def __init__(self, span_ms: int) -> None:
        self.span_ms = span_ms
        self._items: deque[tuple[int, float]] = deque()

    def add(self, timestamp_ms: int, value: float) -> None:
        if not math.isnan(value):
            self._items.append((timestamp_ms, value))
        while self._items and self._items[0][0] < timestamp_ms - self.span_ms:
            self._items.popleft()

    def percentile(self, q: float) -> float:
        if not self._items:
            return math.nan
        return float(np.percentile([v for _, v in self._items], q))

    def clear(self) -> None:
        self._items.clear()


class FeatureTracker:
    """Frames in, feature vectors out: One-Euro smoothing (`vision.geometry`), the
    isotropic COCO joints, the running body length and shoulder baseline, then
    `compute_features`. Timestamps must increase (the smoother checks)."""

    def __init__(self, image_aspect: float = 1.0, *, smooth: bool = True) -> None:
        if not (math.isfinite(image_aspect) and image_aspect > 0):
            raise ValueError(f"image_aspect must be > 0, got {image_aspect!r}")
        self.image_aspect = float(image_aspect)
        self.smooth = smooth
        self._smoothers: dict[Skeleton, OneEuroSmoother] = {}
        self._scale = _Window(SCALE_WINDOW_MS)
        self._rise = _Window(RISE_WINDOW_MS)
        self._reset_ms: int | None = None

    def reset(self) -> None:
        self._smoothers.clear()
        self._scale.clear()
        self._rise.clear()
        self._reset_ms = None

    def update(self, frame: PoseFrame) -> F32:
        """(F,) float32 features of one frame (all NaN for nobody in view).

        Raises:
            ValueError: the skeleton lacks a COCO-17 joint, or time went backwards.
        """
        if frame.skeleton not in _COCO_ROWS:
            valid = ", ".join(s.value for s in _COCO_ROWS)
            raise ValueError(
                f"routine features need the COCO-17 joints; skeletons that have "
                f"them: {valid}; got {frame.skeleton.value}"
            )
        if self.smooth:
            smoother = self._smoothers.get(frame.skeleton)
            if smoother is None:
                smoother = OneEuroSmoother(frame.skeleton)
                self._smoothers[frame.skeleton] = smoother
            frame = smoother.update(frame)
        xy = _coco_xy(frame, self.image_aspect)[None]
        ts = frame.timestamp_ms
        self._scale.add(ts, float(torso_lengths(xy)[0]))
        ms_y = float(
            (xy[0, _J["left_shoulder"], 1] + xy[0, _J["right_shoulder"], 1]) / 2
        )
        # image y grows downward: standing flat is the *high* end of the heights
        self._rise.add(ts, ms_y)
        scale = self._scale.percentile(SCALE_PERCENTILE)
        baseline = self._rise.percentile(100.0 - RISE_PERCENTILE)
        settling = self._reset_ms is not None and ts - self._reset_ms < RISE_SETTLE_MS
        if (baseline - ms_y) > RISE_RESET * scale or (settling and ms_y < baseline):
            # a new posture: start the baseline again, and follow the rest of the
            # climb for a moment (standing up takes more than one frame)
            self._rise.clear()
            self._rise.add(ts, ms_y)
            baseline = ms_y
            if not settling:
                self._reset_ms = ts
        out: F32 = compute_features(xy, np.array([scale]), np.array([baseline]))[0]
        return out


def feature_column(name: str) -> int:
    """Column of a feature in `compute_features`' output."""
    return _ROW[name]
