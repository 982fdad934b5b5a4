"""Standing posture figures from landmarks averaged over a steady window, each with
its standard uncertainty.

    figures = measure_view(xyz, View.FRONT, aspect_wh=16 / 9)   # xyz: (T, J, 3)
    figures.figures["shoulder_tilt_deg"]   # Figure(value=1.8, uncertainty=0.3, ...)

Geometry (image coordinates made isotropic: x times the image's width / height, so one
unit is one image height across and down; y points down):

- Which landmark of a pair is the person's left is read from the picture, not from the
  model's labels: facing the camera the person's left is on the image's right, with the
  back to the camera on the image's left. A mislabelled pair therefore cannot flip a
  sign; a mirrored picture can (the kiosk sends frames unmirrored).
- Tilts (shoulders, pelvis, head) are the angle of the line through the pair against
  the image's horizontal, in degrees; positive = the person's LEFT side higher. The
  pelvis is the two hip landmarks (hip joint centres, not the iliac crests), the head
  the two ears.
- Distances are in percent of the body's height H, estimated from the ankles up to the
  shoulders: the shoulder line stands at 0.818 H and the ankles at 0.039 H (Drillis &
  Contini 1966, the segment proportions `tests/factories.py` also uses). Ankles rather
  than heels: in the shared footage BlazePose's heels are seen less and jitter more.
  `to_cm(figure, stature_cm)` turns them into centimetres when the person's stature
  is known.
- Shoulder-height difference: height of the left shoulder above the right, %H.
- Trunk lateral shift: the shoulders' midpoint minus the hips' midpoint, horizontally,
  %H; positive = the trunk shifted to the person's left.

Uncertainty (one standard uncertainty, 1 sigma): each figure is a smooth function
f of the mean landmark coordinates. It is linearised at the mean (central differences),
so every frame gives a linearised value g_t = J (x_t - mean); the uncertainty of the
figure of the mean is then sqrt(var(g) / n_eff), which is the propagation of the full
covariance of the landmark means (J Sigma J^T / n_eff). Frames of a video are not
independent (the model tracks, people sway slowly), so n_eff = n (1 - r) / (1 + r) with
r the lag-1 autocorrelation of g, clipped to [1, n].

That is the spread within the window only, and on real footage it is too small: two
steady seconds of the same person differ by 2-4 times more (slow sway, the model's
slowly wandering error). So each figure's uncertainty adds, in quadrature, its
`REPEATABILITY`: the between-capture standard deviation measured on real people
standing still. Not in it: a bias the model has for this person and this view, a camera
that is not level (it adds its roll to every tilt), and how differently the person
stands on another day (docs/posture.md).

Core module: stdlib and numpy.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

import numpy as np
import numpy.typing as npt

from vision.types import Skeleton

__all__ = [
    "DISTANCE_FIGURES",
    "FIGURES",
    "REPEATABILITY",
    "REQUIRED_JOINTS",
    "SHOULDER_OVER_ANKLE",
    "Figure",
    "View",
    "ViewMeasurement",
    "figure_values",
    "isotropic_xy",
    "measure_view",
    "stature",
    "to_cm",
]

F64 = npt.NDArray[np.float64]


class View(enum.StrEnum):
    """Which side of the person faces the camera."""

    FRONT = "front"
    BACK = "back"


FIGURES: Final[tuple[str, ...]] = (
    "shoulder_height_diff_pct",
    "shoulder_tilt_deg",
    "pelvic_tilt_deg",
    "trunk_shift_pct",
    "head_tilt_deg",
)
"""Every figure a view gives, in this order; `_pct` = percent of body height."""

DISTANCE_FIGURES: Final[frozenset[str]] = frozenset(
    {"shoulder_height_diff_pct", "trunk_shift_pct"}
)

SHOULDER_OVER_ANKLE: Final[float] = 0.818 - 0.039
"""Height of the shoulder line over the ankles as a fraction of stature (shoulder 0.818,
ankle 0.039: Drillis & Contini 1966, "Body segment parameters", New York University
report 1166-03)."""

REPEATABILITY: Final[Mapping[str, float]] = MappingProxyType(
    {
        "shoulder_height_diff_pct": 0.14,
        "shoulder_tilt_deg": 0.40,
        "pelvic_tilt_deg": 0.55,
        "trunk_shift_pct": 0.18,
        "head_tilt_deg": 0.45,
    }
)
"""Standard deviation between two captures of a person standing still, beyond each
window's own spread, in each figure's unit: sqrt(mean(d^2 / 2 - (u_a^2 + u_b^2) / 2))
over consecutive captures of the screen (1 s each, 15 fps, 360x640 portrait, person
about 390 px tall) on two performers standing before their first move in the shared
Baduanjin footage (s2_plaza_white 0-5.6 s, s6_bamboo_blue 0-7.3 s: 8 pairs), rounded
up. Re-measured after main's pose backend changed: 0.111, 0.317, 0.411, 0.135, 0.360;
and with the ONNX Runtime pipeline as the default backend (pruned landmark graph,
6 pairs): 0.136, 0.388, 0.436, 0.152, 0.316. Each figure keeps the largest of the
three, rounded up. `tests/exercises/posture/test_real.py`
re-measures it and checks a third performer (s3_plaza_pink) against it. A sharper
picture or a person filling more of it should do better; an elder who sways more,
worse."""

# Joints the figures need, in the order of the coordinate vector f takes.
_PAIRS: Final[tuple[tuple[str, str], ...]] = (
    ("left_shoulder", "right_shoulder"),
    ("left_hip", "right_hip"),
    ("left_ear", "right_ear"),
    ("left_ankle", "right_ankle"),
)
REQUIRED_JOINTS: Final[tuple[str, ...]] = tuple(n for p in _PAIRS for n in p)
_UNITS: Final[dict[str, str]] = {
    name: ("%H" if name in DISTANCE_FIGURES else "deg") for name in FIGURES
}
_STEP: Final[float] = 1e-6  # central-difference step, image heights


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured figure.

    Attributes:
        value: The figure of the averaged landmarks (deg or %H, see `unit`).
        uncertainty: One standard uncertainty (1 sigma) in the same unit.
        unit: "deg" or "%H" (percent of body height) or "cm".
    """

    value: float
    uncertainty: float
    unit: str


@dataclass(frozen=True, slots=True)
class ViewMeasurement:
    """The figures of one view over one steady window.

    Attributes:
        view: Front or back.
        figures: By name (`FIGURES`).
        n_frames: Frames averaged.
        n_effective: Independent frames they are worth (see the module docstring).
        start_ms: Timestamp of the window's first frame.
        end_ms: Timestamp of its last frame.
        body_height: Estimated stature in image heights (a sanity figure).
        window_uncertainty: Per figure, the part of the uncertainty that comes from
            the window's own spread (the rest is `REPEATABILITY`).
    """

    view: View
    figures: dict[str, Figure]
    n_frames: int
    n_effective: float
    start_ms: int
    end_ms: int
    body_height: float
    window_uncertainty: dict[str, float]


def isotropic_xy(
    xyz: npt.NDArray[np.floating], aspect_wh: float
) -> npt.NDArray[np.float64]:
    """x and y in image heights: (..., J, 3) normalised landmarks -> (..., J, 2)
    float64 with x multiplied by the image's width / height."""
    xy = np.asarray(xyz, np.float64)[..., :2].copy()
    xy[..., 0] *= float(aspect_wh)
    return xy


def _rows(skeleton: Skeleton) -> npt.NDArray[np.int64]:
    return np.array([skeleton.index(n) for n in REQUIRED_JOINTS], np.int64)


def _ordered(a: F64, b: F64, lateral: float) -> tuple[F64, F64]:
    """(the person's left point, their right point) of an unordered pair."""
    return (a, b) if lateral * (a[0] - b[0]) >= 0 else (b, a)


def _tilt_deg(left: F64, right: F64, lateral: float) -> float:
    # Positive when the left point is higher (smaller image y).
    return math.degrees(math.atan2(right[1] - left[1], lateral * (left[0] - right[0])))


def stature(coords: F64) -> float:
    """Estimated stature, image heights, of (16,) coordinates of `REQUIRED_JOINTS`
    (NaN when the shoulders or ankles are missing)."""
    p = coords.reshape(-1, 2)
    return float((p[6:8, 1].mean() - p[0:2, 1].mean()) / SHOULDER_OVER_ANKLE)


def figure_values(coords: F64, view: View) -> F64:
    """Every figure of one set of landmark coordinates.

    Args:
        coords: (16,) float64, the x, y (image heights) of `REQUIRED_JOINTS` in order.
        view: Which way the person faces.

    Returns:
        (5,) float64 in the order of `FIGURES`.
    """
    p = coords.reshape(-1, 2)
    lateral = 1.0 if view is View.FRONT else -1.0
    ls, rs = _ordered(p[0], p[1], lateral)
    lh, rh = _ordered(p[2], p[3], lateral)
    le, re = _ordered(p[4], p[5], lateral)
    height = stature(coords)
    shift = lateral * (0.5 * (ls[0] + rs[0]) - 0.5 * (lh[0] + rh[0]))
    return np.array(
        [
            100.0 * (rs[1] - ls[1]) / height,
            _tilt_deg(ls, rs, lateral),
            _tilt_deg(lh, rh, lateral),
            100.0 * shift / height,
            _tilt_deg(le, re, lateral),
        ]
    )


def _jacobian(f: Callable[[F64], F64], x0: F64) -> F64:
    cols = []
    for i in range(x0.size):
        e = np.zeros_like(x0)
        e[i] = _STEP
        cols.append((f(x0 + e) - f(x0 - e)) / (2 * _STEP))
    return np.stack(cols, axis=1)


def _n_effective(g: F64) -> float:
    """Independent samples a correlated series is worth (lag-1 autocorrelation)."""
    n = g.size
    d = g - g.mean()
    denom = float(d @ d)
    if n < 3 or denom <= 0.0:
        return float(n)
    r = float(d[1:] @ d[:-1]) / denom
    return float(np.clip(n * (1.0 - r) / (1.0 + r), 1.0, n))


def measure_view(
    xyz: npt.NDArray[np.floating],
    view: View,
    *,
    aspect_wh: float,
    timestamps_ms: npt.NDArray[np.integer] | None = None,
    skeleton: Skeleton = Skeleton.BLAZEPOSE_33,
    repeatability: Mapping[str, float] = REPEATABILITY,
) -> ViewMeasurement:
    """The posture figures of a steady window and their uncertainties.

    Args:
        xyz: (T, J, 3) float, normalised landmarks of the window (T >= 2); the required
            joints (shoulders, hips, ears, ankles) must be finite in every frame.
        view: Which way the person faces.
        aspect_wh: Width / height of the image the landmarks are normalised to.
        timestamps_ms: (T,) int, the frames' times (for start/end; default 0..T-1).
        skeleton: Joint layout of the rows.
        repeatability: Per figure, the between-capture term added in quadrature.

    Returns:
        The figures of the averaged landmarks, each with its standard uncertainty.

    Raises:
        ValueError: fewer than 2 frames, a wrong shape, or a required joint missing.
    """
    arr = np.asarray(xyz)
    if arr.ndim != 3 or arr.shape[1:] != (skeleton.num_joints, 3) or len(arr) < 2:
        raise ValueError(
            f"xyz must be (T >= 2, {skeleton.num_joints}, 3), got {arr.shape}"
        )
    x = isotropic_xy(arr[:, _rows(skeleton)], aspect_wh).reshape(len(arr), -1)
    if not np.isfinite(x).all():
        bad = sorted(
            {REQUIRED_JOINTS[i // 2] for i in np.flatnonzero(~np.isfinite(x).all(0))}
        )
        raise ValueError(f"required joints missing in the window: {', '.join(bad)}")
    mean = x.mean(axis=0)

    def f(c: F64) -> F64:
        return figure_values(c, view)

    values = f(mean)
    linear = (x - mean) @ _jacobian(f, mean).T  # (T, 5): g_t per figure
    figures = {}
    spread = {}
    n_eff_all = []
    for k, name in enumerate(FIGURES):
        g = linear[:, k]
        n_eff = _n_effective(g)
        n_eff_all.append(n_eff)
        spread[name] = math.sqrt(float(g.var(ddof=1)) / n_eff)
        u = math.hypot(spread[name], float(repeatability.get(name, 0.0)))
        figures[name] = Figure(float(values[k]), u, _UNITS[name])
    stamps = np.arange(len(arr)) if timestamps_ms is None else np.asarray(timestamps_ms)
    return ViewMeasurement(
        view=view,
        figures=figures,
        n_frames=len(arr),
        n_effective=float(min(n_eff_all)),
        start_ms=int(stamps[0]),
        end_ms=int(stamps[-1]),
        body_height=stature(mean),
        window_uncertainty=spread,
    )


def to_cm(figure: Figure, stature_cm: float) -> Figure:
    """A distance figure (%H) in centimetres for a person `stature_cm` tall.

    Raises:
        ValueError: the figure is not in %H, or the stature is not positive.
    """
    if figure.unit != "%H":
        raise ValueError(f"expected a figure in %H, got one in {figure.unit}")
    if not stature_cm > 0:
        raise ValueError(f"stature_cm must be > 0, got {stature_cm!r}")
    scale = stature_cm / 100.0
    return Figure(figure.value * scale, figure.uncertainty * scale, "cm")
