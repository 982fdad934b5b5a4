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

Layout: `body.py` (what a metric reads: `Body` and the shared geometry), one module per
family of metric functions (`trunk.py`, `limbs.py`), and the registry here. A new metric
is a function in its family's module plus one row of `METRICS`; nothing else names
metrics, so the registry stays closed.

Core module: stdlib and numpy only. Pure numpy on (J, 3) arrays: per-frame arrays are
far too small for numba to pay off.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from exercises.metrics.body import (
    _FRAME_MARGIN,
    _FRONT_MIN_SPAN,
    _SIDE_MAX_SPAN,
    F64,
    Body,
)
from exercises.metrics.limbs import (
    ankle_lift_ratio,
    arm_symmetry_deg,
    elbow_drift_deg,
    heel_lift_ratio,
    hip_height_ratio,
    knee_lift_ratio,
    knee_over_toe_ratio,
    knee_valgus_ratio,
    stance_width_ratio,
    upper_arm_forward_deg,
    wrist_height_ratio,
)
from exercises.metrics.trunk import (
    back_arch_deg,
    body_line_deg,
    hip_sag_deg,
    hip_tilt_deg,
    neck_flexion_deg,
    shoulder_elevation_ratio,
    shoulder_tilt_deg,
    torso_twist_deg,
    trunk_forward_deg,
    trunk_lean_deg,
)
from vision.types import PoseFrame

__all__ = [
    "METRICS",
    "VIEWS",
    "Body",
    "Metric",
    "compute_metric",
    "detect_view",
    "in_frame_mask",
]

VIEWS: Final[tuple[str, ...]] = ("front", "side", "any")
"""Camera views a metric (or template) can need; "any" = meaningful in every view."""


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
            knee_valgus_ratio,
            "How far the knees sit inside the straight hip-ankle lines, in hip spans: "
            "0 = in line, > 0 = caving in (valgus), < 0 = pushed out; both sides: the "
            "mean.",
        ),
        _m(
            "trunk_lean_deg",
            "deg",
            "any",
            ("shoulder", "hip"),
            trunk_lean_deg,
            "Hips-to-shoulders line from vertical, unsigned: 0 upright, 90 horizontal "
            "(plank), forward in a side view, sideways in a front view.",
        ),
        _m(
            "trunk_forward_deg",
            "deg",
            "side",
            ("shoulder", "hip", "nose", "ear"),
            trunk_forward_deg,
            "Signed trunk lean in the facing direction: > 0 forward, < 0 leaning back.",
        ),
        _m(
            "body_line_deg",
            "deg",
            "side",
            ("shoulder", "hip", "ankle"),
            body_line_deg,
            "Unsigned bend at the hips of the shoulder-hip-ankle line (0 = straight).",
        ),
        _m(
            "hip_sag_deg",
            "deg",
            "side",
            ("shoulder", "hip", "ankle", "nose", "ear"),
            hip_sag_deg,
            "Signed bend at the hips: > 0 hips sag toward where the face points (the "
            "floor in a plank, the wall in a wall push-up), < 0 hips piked up.",
        ),
        _m(
            "elbow_drift_deg",
            "deg",
            "side",
            ("hip", "shoulder", "elbow"),
            elbow_drift_deg,
            "Upper arm away from the trunk line (angle hip-shoulder-elbow); both "
            "sides: the larger.",
        ),
        _m(
            "upper_arm_forward_deg",
            "deg",
            "side",
            ("shoulder", "elbow", "nose", "ear"),
            upper_arm_forward_deg,
            "Upper arm from straight down, signed in the facing direction: > 0 elbow "
            "ahead of the shoulder, < 0 behind; both sides: the more forward.",
        ),
        _m(
            "back_arch_deg",
            "deg",
            "side",
            ("shoulder", "hip", "knee", "nose", "ear"),
            back_arch_deg,
            "Signed bend at the hip of a standing body: > 0 shoulders behind the "
            "knee-hip line (arching or leaning back), < 0 bending forward.",
        ),
        _m(
            "knee_over_toe_ratio",
            "ratio",
            "side",
            ("knee", "ankle", "foot_index"),
            knee_over_toe_ratio,
            "How far the knee is ahead of the toes in the facing direction, in shin "
            "lengths (> 0 past the toes); both sides: the front leg (foot furthest "
            "forward, as in a lunge).",
        ),
        _m(
            "arm_symmetry_deg",
            "deg",
            "front",
            ("hip", "shoulder", "elbow"),
            arm_symmetry_deg,
            "Difference between the left and right arm elevation (hip-shoulder-elbow).",
        ),
        _m(
            "shoulder_elevation_ratio",
            "ratio",
            "front",
            ("ear", "shoulder", "hip"),
            shoulder_elevation_ratio,
            "Vertical ear-to-shoulder gap in torso lengths (~0.35 relaxed); smaller "
            "means the shoulders are shrugged up.",
        ),
        _m(
            "torso_twist_deg",
            "deg",
            "front",
            ("shoulder", "hip"),
            torso_twist_deg,
            "Angle between the shoulder and hip lines seen from above (uses depth).",
        ),
        _m(
            "stance_width_ratio",
            "ratio",
            "front",
            ("ankle", "shoulder"),
            stance_width_ratio,
            "Ankle span over shoulder span (1 = shoulder width).",
        ),
        _m(
            "shoulder_tilt_deg",
            "deg",
            "front",
            ("shoulder",),
            shoulder_tilt_deg,
            "Shoulder line from horizontal, unsigned.",
        ),
        _m(
            "hip_tilt_deg",
            "deg",
            "front",
            ("hip",),
            hip_tilt_deg,
            "Hip line from horizontal, unsigned (pelvic drop or hitch).",
        ),
        _m(
            "hip_height_ratio",
            "ratio",
            "any",
            ("hip", "knee", "ankle"),
            hip_height_ratio,
            "Height of the hips above the ankles over the shin's vertical drop: ~2 "
            "standing, ~1 seated or thighs level; both sides: the mean. Uses vertical "
            "distances only, so it reads the same from the front and the side.",
        ),
        _m(
            "ankle_lift_ratio",
            "ratio",
            "any",
            ("knee", "ankle"),
            ankle_lift_ratio,
            "Height difference of the two ankles in shin lengths (a foot off the "
            "floor).",
        ),
        _m(
            "knee_lift_ratio",
            "ratio",
            "any",
            ("knee", "ankle"),
            knee_lift_ratio,
            "Height difference of the two knees in shin lengths (marching).",
        ),
        _m(
            "wrist_height_ratio",
            "ratio",
            "any",
            ("shoulder", "wrist", "hip"),
            wrist_height_ratio,
            "Wrist height above the shoulder in torso lengths: ~-1.1 arms hanging, "
            "0 at shoulder height, ~+1 overhead; both sides: the mean.",
        ),
        _m(
            "heel_lift_ratio",
            "ratio",
            "side",
            ("heel", "foot_index"),
            heel_lift_ratio,
            "Heel height above the toes over the foot length (sine of the foot's "
            "pitch): ~0 flat, ~0.5 on tiptoe; both sides: the mean.",
        ),
        _m(
            "neck_flexion_deg",
            "deg",
            "side",
            ("ear", "shoulder", "hip"),
            neck_flexion_deg,
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


def in_frame_mask(xy: F64) -> npt.NDArray[np.bool_]:
    """Whether each row of (N, 2) image points lies inside the picture, with a small
    margin (False where missing)."""
    within = (xy >= -_FRAME_MARGIN) & (xy <= 1.0 + _FRAME_MARGIN)
    return within[:, 0] & within[:, 1]
