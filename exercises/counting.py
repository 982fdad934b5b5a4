"""Template-free repetition counting for any periodic movement (an exercise without a
template, an instructor's free movement in a group session).

Core module: stdlib and numpy (plus `vision.geometry` for joint angles). The small
signal pieces (moving averages, Gaussian smoothing, autocorrelation, hysteresis) are
written here with numpy instead of importing scipy: the core keeps to
stdlib/numpy/numba, and each piece is a few lines whose edge behaviour we want to
control (no padding artefacts at the ends of a recording, no warnings on gaps).

How a count is made (`count_repetitions`; `StreamingRepCounter` runs the same analysis
on a sliding window):

1. Features per frame: x, y of 13 body joints (nose, shoulders, elbows, wrists, hips,
   knees, ankles) centred on their mean and divided by their RMS radius, so position in
   the image and distance to the camera do not count as movement; plus the elbow,
   shoulder, hip and knee angles (left/right averaged). A frame with fewer than half of
   those joints visible is a gap: it is bridged for the analysis and never counts.
2. Candidate signals: the leading principal components of the joint coordinates and
   the four angles, each freed of slow drift.
3. Period: for every candidate, the autocorrelation's first strong peak in
   [min_period_frames, max_period_frames]; its strength is the peak-to-trough height of
   the autocorrelation. The most periodic candidate is the signal.
4. Conditioning: drift removed over 1.5 periods, smoothed over ~0.1 period, then
   rescaled by its local range (running min/max over +-1.5 periods) to about [-1, 1];
   where the local range is small (standing still) a floor relative to the typical
   range keeps noise from being blown up.
5. Counting with hysteresis: a repetition is a full out-and-back cycle from the rest
   end of the range: the signal leaves rest (below -threshold), reaches the other end
   (above +threshold) and comes back. Without a template, rest is the end where the
   signal dwells (pauses between repetitions, standing before and after), i.e. the
   repetitions' excursions form the long tail of the signal's distribution (the sign
   of its skewness). A half cycle at the start or the end of a recording (getting into
   position, stopping mid-way) never counts.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from vision import config
from vision.geometry import angle_triples, joint_angles_array
from vision.types import PoseFrame, PoseWindow, Skeleton

__all__ = [
    "COUNTER_NOMINAL_FPS",
    "COUNTER_REFIT_S",
    "CounterParams",
    "Guide",
    "RepCount",
    "StreamingRepCounter",
    "count_repetitions",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
Bool = npt.NDArray[np.bool_]

_BODY_JOINTS = (
    "nose",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
# (left, right) triples whose angles are averaged into one signal each.
_ANGLES = (
    (
        ("left_shoulder", "left_elbow", "left_wrist"),
        ("right_shoulder", "right_elbow", "right_wrist"),
    ),
    (
        ("left_hip", "left_shoulder", "left_elbow"),
        ("right_hip", "right_shoulder", "right_elbow"),
    ),
    (
        ("left_shoulder", "left_hip", "left_knee"),
        ("right_shoulder", "right_hip", "right_knee"),
    ),
    (
        ("left_hip", "left_knee", "left_ankle"),
        ("right_hip", "right_knee", "right_ankle"),
    ),
)


COUNTER_NOMINAL_FPS: Final[float] = 30.0
"""Frame rate `CounterParams`' frame counts are meant for."""
COUNTER_REFIT_S: Final[float] = 0.5
"""`StreamingRepCounter.for_frame_rate` re-chooses the signal this often."""


@dataclass(frozen=True, slots=True)
class CounterParams:
    """Settings of the template-free counter. Times are in frames, so they assume a
    steady frame rate; the defaults suit 25-30 fps.

    Attributes:
        min_period_frames: Fastest repetition considered (12 frames = 0.4 s at 30 fps).
        max_period_frames: Slowest repetition considered (also capped at half the
            recording, since a period needs two cycles to be seen).
        num_components: Principal components of the joint coordinates offered as
            candidate signals (besides the four joint angles).
        first_peak_fraction: The period is the first autocorrelation peak at least this
            strong relative to the strongest one, so multiples of the period lose.
        detrend_periods: Window of the drift removal, in periods.
        smooth_periods: Gaussian smoothing (standard deviation), in periods.
        range_periods: Half-window of the running min/max that normalises the signal.
        range_floor: Floor of the local range relative to its 90th percentile.
        min_body_range: Floor of the local range of a principal-component signal, in
            body radii (RMS distance of the joints from their centre): smaller
            movements are pose jitter, not repetitions.
        min_angle_range_deg: The same floor for an angle signal, in degrees.
        threshold: Hysteresis level in the normalised signal, which spans about [-1, 1].
        min_joint_fraction: A frame with fewer visible body joints is a gap.
        guide_strength: A `Guide` channel at least this periodic, relative to the most
            periodic candidate, is the one counted (the template says it carries the
            movement); 1 = only when it is the most periodic.
    """

    min_period_frames: int = 12
    max_period_frames: int = 300
    num_components: int = 5
    first_peak_fraction: float = 0.7
    detrend_periods: float = 1.5
    smooth_periods: float = 0.12
    range_periods: float = 1.5
    range_floor: float = 0.4
    threshold: float = 0.3
    min_joint_fraction: float = 0.5
    min_body_range: float = 0.5
    min_angle_range_deg: float = 30.0
    guide_strength: float = 0.8

    def __post_init__(self) -> None:
        if not 2 <= self.min_period_frames <= self.max_period_frames:
            raise ValueError(
                "need 2 <= min_period_frames <= max_period_frames, got "
                f"{self.min_period_frames}, {self.max_period_frames}"
            )
        if self.num_components < 1:
            raise ValueError(f"num_components must be >= 1, got {self.num_components}")
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), got {self.threshold}")
        if not 0.0 < self.guide_strength <= 1.0:
            raise ValueError(
                f"guide_strength must be in (0, 1], got {self.guide_strength}"
            )
        for name in ("detrend_periods", "range_periods", "range_floor"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")


@dataclass(frozen=True, slots=True, eq=False)
class RepCount:
    """Result of `count_repetitions`.

    Attributes:
        count: Number of complete repetitions.
        rep_bounds: (start_frame, end_frame) of each repetition, in window frames: the
            last frame at one end of the range before the cycle, the first frame back.
        period_frames: Estimated period in frames (NaN when none could be estimated).
        signal: (T,) float32, the normalised signal that was counted (about [-1, 1],
            oriented so a repetition goes up and back down); NaN in gaps.
        source: Which candidate the signal is: "pc0".."pcN" or an angle name.
    """

    count: int
    rep_bounds: list[tuple[int, int]]
    period_frames: float
    signal: F32
    source: str = ""


@dataclass(frozen=True, slots=True, eq=False)
class Guide:
    """Prior knowledge of the movement (from an exercise template) for
    `count_repetitions`.

    Attributes:
        name: Channel name (e.g. "elbow", "hip_height_ratio").
        values: (T,) float, the channel per frame of the window; NaN where unknown.
        sign: +1 if a repetition takes the channel up from rest and back, -1 if down.
        min_range: Smallest excursion (in the channel's unit) that is a repetition.
    """

    name: str
    values: npt.NDArray[np.floating]
    sign: float
    min_range: float

    def __post_init__(self) -> None:
        if self.sign not in (1.0, -1.0):
            raise ValueError(f"sign must be +1 or -1, got {self.sign}")
        if not self.min_range > 0:
            raise ValueError(f"min_range must be > 0, got {self.min_range}")


# --- small signal pieces (numpy) ----------------------------------------------------


def _moving_mean(x: F64, half: int) -> F64:
    """Centred moving mean over +-half samples; the window shrinks at the ends."""
    n = x.shape[0]
    cs = np.concatenate([np.zeros((1, *x.shape[1:])), np.cumsum(x, axis=0)])
    idx = np.arange(n)
    lo = np.clip(idx - half, 0, n)
    hi = np.clip(idx + half + 1, 0, n)
    width = (hi - lo).astype(np.float64)
    if x.ndim > 1:
        width = width[:, None]
    out: F64 = (cs[hi] - cs[lo]) / width
    return out


def _smooth(x: F64, sigma: float) -> F64:
    """Gaussian smoothing of (T,) with weights renormalised at the ends."""
    n = x.shape[0]
    if sigma < 0.5 or n < 2:
        return x.copy()
    radius = min(math.ceil(3.0 * sigma), n - 1)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    num = np.convolve(x, kernel)[radius : radius + n]
    den = np.convolve(np.ones(n), kernel)[radius : radius + n]
    out: F64 = num / den
    return out


def _running_range(x: F64, half: int) -> tuple[F64, F64]:
    """Running (min, max) over +-half samples, the window clipped at the ends."""
    padded = np.pad(x, half, mode="edge")
    view = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    return view.min(axis=1), view.max(axis=1)


def _autocorrelation(x: F64, max_lag: int) -> F64:
    """Biased autocorrelation of a zero-mean (T,) signal, 1 at lag 0 (0 if flat)."""
    n = x.shape[0]
    nfft = 1 << math.ceil(math.log2(max(2 * n, 2)))
    spec = np.fft.rfft(x, nfft)
    acov = np.fft.irfft(spec.real**2 + spec.imag**2, nfft)[: max_lag + 1]
    if not acov[0] > 0:
        return np.zeros(max_lag + 1)
    out: F64 = acov / acov[0]
    return out


def _period(
    acf: F64, min_lag: int, max_lag: int, first_fraction: float
) -> tuple[int, float]:
    """(lag, strength) of the first autocorrelation peak whose peak-to-trough strength
    is >= first_fraction of the strongest; (-1, 0.0) when there is no peak."""
    hi = min(max_lag, acf.shape[0] - 2)
    lags = np.arange(max(min_lag, 1), hi + 1)
    if lags.size == 0:
        return -1, 0.0
    is_peak = (acf[lags] >= acf[lags - 1]) & (acf[lags] >= acf[lags + 1])
    peaks = lags[is_peak]
    if peaks.size == 0:
        return -1, 0.0
    troughs = np.minimum.accumulate(acf)[peaks - 1]
    strength = (acf[peaks] - troughs) / 2.0
    best = float(strength.max())
    if not best > 0:
        return -1, 0.0
    first = int(np.argmax(strength >= first_fraction * best))
    return int(peaks[first]), float(strength[first])


class _Hysteresis:
    """Cycles low (<= -threshold) -> high (>= threshold) -> low, one sample at a time.

    A cycle must start from low: an excursion already under way when counting starts
    does not count. `step` returns (last low frame before, highest frame, first low
    frame after) when a cycle closes."""

    __slots__ = ("last_low", "peak", "peak_value", "state", "threshold")

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.state = (
            0  # 0 unknown, 1 low, 2 high (came from low), 3 high (origin unknown)
        )
        self.last_low = self.peak = 0
        self.peak_value = -math.inf

    def step(self, t: int, v: float) -> tuple[int, int, int] | None:
        closed = None
        if self.state == 2 and v > self.peak_value:
            self.peak, self.peak_value = t, v
        if v <= -self.threshold:
            if self.state == 2:
                closed = (self.last_low, self.peak, t)
            self.state = 1
            self.last_low = t
        elif v >= self.threshold and self.state in (0, 1):
            self.state = 2 if self.state == 1 else 3
            self.peak, self.peak_value = t, v
        return closed


def _hysteresis(z: F64, ok: Bool, threshold: float) -> list[tuple[int, int, int]]:
    """Every closed cycle of `_Hysteresis` over the valid samples of z."""
    machine = _Hysteresis(threshold)
    reps = []
    for t in np.flatnonzero(ok).tolist():
        closed = machine.step(t, float(z[t]))
        if closed is not None:
            reps.append(closed)
    return reps


# --- features ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Layout:
    """Rows of the body joints and angle triples of one skeleton."""

    joints: npt.NDArray[np.int64]
    triples: npt.NDArray[np.int64]

    @classmethod
    def of(cls, skeleton: Skeleton) -> _Layout:
        joints = np.array([skeleton.index(n) for n in _BODY_JOINTS], np.int64)
        triples = angle_triples(skeleton, [t for pair in _ANGLES for t in pair])
        return cls(joints, triples)


def _frame_features(
    xyz: F32, visibility: F32, layout: _Layout, params: CounterParams
) -> tuple[F64, F64, Bool]:
    """(T, J, 3), (T, J) -> coordinates (T, 2M), angles (T, 4) degrees, valid (T,).

    Invalid frames and missing joints are NaN."""
    xy = xyz[:, layout.joints, :2].astype(np.float64)
    vis = visibility[:, layout.joints]
    present = np.isfinite(xy).all(axis=2) & (vis >= config.MIN_VISIBILITY)
    n_present = present.sum(axis=1)
    ok = n_present >= params.min_joint_fraction * layout.joints.shape[0]
    weights = present[..., None].astype(np.float64)
    xy0 = np.where(present[..., None], xy, 0.0)
    denom = np.maximum(n_present, 1)[:, None]
    centre = (xy0 * weights).sum(axis=1) / denom
    dev = np.where(present[..., None], xy0 - centre[:, None, :], 0.0)
    radius = np.sqrt((dev**2).sum(axis=(1, 2)) / np.maximum(n_present, 1))
    ok &= radius > 0
    coords = dev / np.where(radius > 0, radius, 1.0)[:, None, None]
    coords = np.where(present[..., None] & ok[:, None, None], coords, np.nan)
    coords = coords.reshape(xy.shape[0], -1)

    lr = joint_angles_array(
        np.ascontiguousarray(xyz), np.ascontiguousarray(visibility), layout.triples
    ).astype(np.float64)
    pairs = lr.reshape(lr.shape[0], -1, 2)
    finite = np.isfinite(pairs)
    total = np.where(finite, pairs, 0.0).sum(axis=2)
    count = finite.sum(axis=2)
    angles = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    angles[~ok] = np.nan
    return coords, angles, ok


def _bridge(x: F64) -> F64:
    """Fill NaN per column by linear interpolation (held flat beyond the ends)."""
    out = x.copy()
    t = np.arange(x.shape[0])
    for c in range(x.shape[1]):
        good = np.isfinite(x[:, c])
        if not good.any():
            out[:, c] = 0.0
        elif not good.all():
            out[:, c] = np.interp(t, t[good], x[good, c])
    return out


# --- analysis ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Analysis:
    count: int
    reps: list[tuple[int, int, int]]
    period: float
    z: F64
    source: str
    strength: float = 0.0
    # The fitted signal, for causal replay: raw = coords . direction (principal
    # component) or angles[:, angle_index]; z = sign * normalised(raw).
    direction: F64 | None = None
    angle_index: int = -1
    sign: float = 1.0
    floor: float = 1.0
    moving: bool = False


_ANGLE_NAMES = ("elbow", "shoulder", "hip", "knee")
# Below this |skewness| a signal gives no hint of which end is rest.
_SYMMETRIC_SKEW = 0.2
# A longer-period candidate at least this periodic (relative) is the fundamental.
_FUNDAMENTAL_STRENGTH = 0.8


# |correlation| with a guide above which a free signal takes the guide's orientation.
_GUIDE_CORRELATION = 0.3


def _analyze(
    coords: F64,
    angles: F64,
    ok: Bool,
    params: CounterParams,
    guides: tuple[Guide, ...] = (),
) -> _Analysis:
    """The counting pipeline of the module docstring on precomputed features."""
    n = ok.shape[0]
    nothing = _Analysis(0, [], math.nan, np.full(n, np.nan), "")
    if ok.sum() < 2 * params.min_period_frames:
        return nothing
    max_lag = min(params.max_period_frames, n // 2)
    drift_half = max(1, max_lag // 2)

    coords = _bridge(coords)
    coords -= _moving_mean(coords, drift_half)
    centred = coords[ok] - coords[ok].mean(axis=0)
    # Right singular vectors of the valid frames = principal directions.
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    k = min(params.num_components, vt.shape[0])
    candidates: dict[str, F64] = {f"pc{i}": coords @ vt[i] for i in range(k)}
    for i, name in enumerate(_ANGLE_NAMES):
        column = angles[:, i]
        if np.isfinite(column[ok]).sum() >= 2 * params.min_period_frames:
            filled = _bridge(column[:, None])[:, 0]
            candidates[name] = filled - _moving_mean(filled, drift_half)
    guided: dict[str, Guide] = {}
    for guide in guides:
        column = np.asarray(guide.values, np.float64)
        if column.shape != (n,):
            raise ValueError(f"guide {guide.name!r} must be ({n},), got {column.shape}")
        if np.isfinite(column[ok]).sum() >= 2 * params.min_period_frames:
            filled = _bridge(np.where(ok, column, np.nan)[:, None])[:, 0]
            key = f"guide:{guide.name}"
            candidates[key] = filled - _moving_mean(filled, drift_half)
            guided[key] = guide

    found: list[tuple[str, int, float]] = []
    for name, signal in candidates.items():
        valid = signal[ok]
        sd = float(valid.std())
        if not sd > 0:
            continue
        z = np.where(ok, (signal - valid.mean()) / sd, 0.0)
        lag, strength = _period(
            _autocorrelation(z, max_lag),
            params.min_period_frames,
            max_lag,
            params.first_peak_fraction,
        )
        if lag > 0:
            found.append((name, lag, strength))
    if not found:
        return nothing
    source, period, strength = max(found, key=lambda f: f[2])
    from_guides = [f for f in found if f[0] in guided]
    best_guide = max(from_guides, key=lambda f: f[2]) if from_guides else None
    if best_guide is not None and best_guide[2] >= params.guide_strength * strength:
        # The template's channel goes out and back once per repetition.
        source, period, strength = best_guide
    else:
        # The body's movement repeats when all of it does: a nearly as periodic
        # signal whose period is a multiple of the best one's shows the whole
        # repetition (some joints move twice per repetition, e.g. the wrists' x in a
        # front raise).
        for name, lag, other in found:
            ratio = lag / period
            if (
                other >= _FUNDAMENTAL_STRENGTH * strength
                and lag > period
                and abs(ratio - round(ratio)) <= 0.15
            ):
                source, period, strength = name, lag, other

    raw = candidates[source]
    period = _local_period(raw, ok, period, strength, params)
    signal = raw - _moving_mean(raw, max(1, int(params.detrend_periods * period) // 2))
    signal = _smooth(signal, params.smooth_periods * period)
    low, high = _running_range(signal, max(1, int(params.range_periods * period)))
    spread = high - low
    typical = float(np.percentile(spread[ok], 90))
    # Below a movement size no repetition is real (pose jitter while standing still).
    if source in guided:
        least = guided[source].min_range
    elif source in _ANGLE_NAMES:
        least = params.min_angle_range_deg
    else:
        least = params.min_body_range
    floor = max(params.range_floor * typical, least)
    spread = np.maximum(spread, floor)
    z = (signal - (high + low) / 2.0) / (spread / 2.0)

    if source in guided:
        sign = guided[source].sign
    elif best_guide is not None:
        # Orient the free signal like the template's channel, if they move together.
        reference = guided[best_guide[0]].sign * candidates[best_guide[0]][ok]
        a = z[ok] - z[ok].mean()
        b = reference - reference.mean()
        denom = float(np.sqrt(np.dot(a, a) * np.dot(b, b)))
        corr = float(np.dot(a, b)) / denom if denom > 0 else 0.0
        if abs(corr) >= _GUIDE_CORRELATION:
            sign = 1.0 if corr > 0 else -1.0
        else:
            sign = _orientation(z[ok], period, params)
    else:
        sign = _orientation(z[ok], period, params)
    z = sign * z
    reps = _hysteresis(z, ok, params.threshold)
    z = np.where(ok, z, np.nan)
    return _Analysis(
        len(reps),
        reps,
        float(period),
        z,
        source,
        strength,
        direction=vt[int(source[2:])].copy() if source.startswith("pc") else None,
        angle_index=_ANGLE_NAMES.index(source) if source in _ANGLE_NAMES else -1,
        sign=sign,
        floor=floor,
        moving=typical >= least,
    )


# Pace changes: the period is the lower quartile of the local periods (windows of
# _LOCAL_WINDOW global periods) when that is this much shorter than the global one.
_LOCAL_WINDOW = 4.0
_LOCAL_SHORTER = 0.8


def _local_period(
    raw: F64, ok: Bool, period: int, strength: float, params: CounterParams
) -> int:
    """The period to condition with when the pace changes within the recording.

    The global autocorrelation favours the slowest stretch (or a multiple of the
    period); conditioning with too long a period smooths the faster repetitions away.
    Every window of `_LOCAL_WINDOW` periods (hop: one period) estimates its own period
    among lags up to 1.5 global periods; if their lower quartile is markedly shorter,
    it is used instead (slower repetitions still count: the detrend and range windows
    then span at least about one of them)."""
    n = raw.shape[0]
    width = int(_LOCAL_WINDOW * period)
    if width >= n or period < 2 * params.min_period_frames:
        return period
    local = []
    for start in range(0, n - width + 1, max(1, period)):
        seg_ok = ok[start : start + width]
        if seg_ok.mean() < 0.5:
            continue
        seg = raw[start : start + width]
        valid = seg[seg_ok]
        sd = float(valid.std())
        if not sd > 0:
            continue
        z = np.where(seg_ok, (seg - valid.mean()) / sd, 0.0)
        max_lag = min(int(1.5 * period), width // 2)
        lag, local_strength = _period(
            _autocorrelation(z, max_lag),
            params.min_period_frames,
            max_lag,
            params.first_peak_fraction,
        )
        # Only windows at least as periodic as the whole recording (not idle noise).
        if lag > 0 and local_strength >= strength:
            local.append(lag)
    if len(local) < 2:
        return period
    quartile = float(np.percentile(local, 25))
    return int(quartile) if quartile < _LOCAL_SHORTER * period else period


def _orientation(z: F64, period: float, params: CounterParams) -> float:
    """+1 if the high end of z is the excursion, -1 if the low end is.

    Rest is the end where the signal dwells, so the excursions of the repetitions form
    the long tail of its distribution (the sign of its skewness). A near-symmetric
    signal (continuous repetitions) gives no such hint; then rest is where the recording
    starts and ends (the first and last quarter period)."""
    centred = z - z.mean()
    sd = float(centred.std())
    skew = float(np.mean(centred**3)) / sd**3 if sd > 0 else 0.0
    if abs(skew) < _SYMMETRIC_SKEW:
        edge = max(1, int(0.25 * period))
        ends = float(np.concatenate([centred[:edge], centred[-edge:]]).mean())
        if ends != 0.0:
            return 1.0 if ends < 0 else -1.0
    return -1.0 if skew < 0 else 1.0


def _check_window(
    poses: PoseWindow | F32, visibility: F32 | None, skeleton: Skeleton
) -> tuple[F32, F32, Skeleton]:
    if isinstance(poses, PoseWindow):
        if visibility is not None:
            raise ValueError("pass visibility only with an xyz array, not a PoseWindow")
        return poses.xyz, poses.visibility, poses.skeleton
    if not isinstance(poses, np.ndarray):
        raise TypeError(
            "poses must be a PoseWindow or a (T, J, 3) array, "
            f"got {type(poses).__name__}"
        )
    j = skeleton.num_joints
    if poses.ndim != 3 or poses.shape[1:] != (j, 3):
        raise ValueError(
            f"xyz must be (T, {j}, 3) for {skeleton.value}, got {poses.shape}"
        )
    xyz = np.ascontiguousarray(poses, np.float32)
    if visibility is None:
        vis = np.where(np.isfinite(xyz).all(axis=2), 1.0, 0.0).astype(np.float32)
    else:
        if not isinstance(visibility, np.ndarray) or visibility.shape != xyz.shape[:2]:
            raise ValueError(
                f"visibility must be {xyz.shape[:2]}, "
                f"got {getattr(visibility, 'shape', type(visibility).__name__)}"
            )
        vis = np.ascontiguousarray(visibility, np.float32)
    return xyz, vis, skeleton


def count_repetitions(
    poses: PoseWindow | F32,
    visibility: F32 | None = None,
    *,
    skeleton: Skeleton = Skeleton.BLAZEPOSE_33,
    params: CounterParams | None = None,
    guides: tuple[Guide, ...] = (),
) -> RepCount:
    """Count the repetitions of whatever periodic movement a window shows.

    Args:
        poses: A PoseWindow, or xyz (T, J, 3) float32 in image coordinates (NaN = joint
            missing; a frame of NaN = nobody in view).
        visibility: (T, J) float32 in [0, 1], only with an xyz array; default: 1 where
            the joint is finite.
        skeleton: Joint layout of an xyz array (a PoseWindow carries its own).
        params: Counter settings (`CounterParams()` by default).
        guides: What a template knows (`Guide`): each guide channel is a candidate
            signal with a known rest end; one nearly as periodic as the best candidate
            is counted, otherwise the best candidate is counted
            oriented like the guide it correlates with (see
            `CounterParams.guide_strength`).

    Returns:
        `RepCount`; a window with too few valid frames (under two fastest periods) or no
        periodic movement counts 0 with period NaN.

    Raises:
        TypeError, ValueError: malformed input (the message says what was expected).
    """
    params = params or CounterParams()
    xyz, vis, skeleton = _check_window(poses, visibility, skeleton)
    coords, angles, ok = _frame_features(xyz, vis, _Layout.of(skeleton), params)
    result = _analyze(coords, angles, ok, params, tuple(guides))
    return RepCount(
        count=result.count,
        rep_bounds=[(start, end) for start, _, end in result.reps],
        period_frames=result.period,
        signal=result.z.astype(np.float32),
        source=result.source,
    )


# Turning points closer than this (in periods) are one movement read two ways.
_SAME_REP_PERIODS = 0.75


class StreamingRepCounter:
    """Live template-free counting: `push(frame) -> bool` says whether a repetition was
    completed (and `count` went up) with this frame.

    Every `refit_every` frames the analysis of `count_repetitions` runs on the most
    recent `window_frames` frames (default 2.5 slowest periods) to choose the signal,
    its period and which end is rest. A choice is adopted only when it is confident:
    a real movement (see `CounterParams.min_body_range`), periodicity strength >=
    `min_strength`, three periods seen and, for the first choice, the same period on
    two refits in a row (short windows mistake a harmonic for the period). The
    repetitions that analysis found are counted then, so the first count waits for
    about three repetitions, which are reported together. Between refits each frame is
    processed causally: the chosen signal minus its trailing mean over 1.5 periods,
    smoothed exponentially (~0.1 period), scaled by its trailing range over 3 periods,
    then the hysteresis of `count_repetitions`; a repetition is reported when the
    movement is back at rest. A repetition whose turning point is less than 0.75 period
    after the last counted one is the same movement read differently (e.g. by a new
    choice) and is not counted again.

    Live counts are less accurate than `count_repetitions` on the whole set, which sees
    the future of every frame: prefer it for the set's final figure.

    Attributes:
        count: Repetitions so far.
        period_frames: Period of the adopted signal (NaN until one is adopted).
    """

    def __init__(
        self,
        skeleton: Skeleton = Skeleton.BLAZEPOSE_33,
        *,
        params: CounterParams | None = None,
        window_frames: int | None = None,
        refit_every: int = 15,
        min_strength: float = 0.4,
    ) -> None:
        self.skeleton = skeleton
        self.params = params or CounterParams()
        default_window = int(2.5 * self.params.max_period_frames)
        self.window_frames = default_window if window_frames is None else window_frames
        if self.window_frames < 4 * self.params.min_period_frames:
            raise ValueError(
                f"window_frames must be >= {4 * self.params.min_period_frames}, "
                f"got {self.window_frames}"
            )
        if refit_every < 1:
            raise ValueError(f"refit_every must be >= 1, got {refit_every}")
        self.refit_every = refit_every
        self.min_strength = min_strength
        self._layout = _Layout.of(skeleton)
        capacity = 2 * self.window_frames
        self._coords = np.empty((capacity, 2 * self._layout.joints.shape[0]))
        self._angles = np.empty((capacity, len(_ANGLE_NAMES)))
        self._ok = np.zeros(capacity, np.bool_)
        self._raw = np.empty(capacity)  # adopted signal, NaN in gaps
        self._smoothed = np.empty(capacity)  # detrended + smoothed, NaN in gaps
        self.reset()

    @classmethod
    def for_frame_rate(
        cls,
        fps: float,
        skeleton: Skeleton = Skeleton.BLAZEPOSE_33,
        *,
        window_frames: int | None = None,
    ) -> StreamingRepCounter:
        """A counter for frames arriving at `fps` (a live screen on a CPU may see 4-10
        a second): `CounterParams`' periods, which are in frames and suit
        `COUNTER_NOMINAL_FPS`, and the refit interval (`COUNTER_REFIT_S`) scaled to
        it; at least 3 frames for the fastest repetition."""
        base = CounterParams()
        scale = fps / COUNTER_NOMINAL_FPS
        min_period = max(3, round(base.min_period_frames * scale))
        max_period = max(4 * min_period, round(base.max_period_frames * scale))
        params = CounterParams(
            min_period_frames=min_period, max_period_frames=max_period
        )
        return cls(
            skeleton,
            params=params,
            window_frames=window_frames,
            refit_every=max(2, round(COUNTER_REFIT_S * fps)),
        )

    def reset(self) -> None:
        """Forget everything (a new set or a new subject)."""
        self._size = 0  # rows used in the buffers
        self._first = 0  # absolute frame number of buffer row 0
        self._model: _Analysis | None = None
        self._machine = _Hysteresis(self.params.threshold)
        self._ema = math.nan
        self._candidate_period = math.nan
        self._last_peak = -(2**62)
        self.count = 0
        self.period_frames = math.nan

    def push(self, frame: PoseFrame) -> bool:
        """Add one frame; True if a repetition completed with it.

        Raises:
            TypeError: not a PoseFrame.
            ValueError: a frame of another skeleton.
        """
        if not isinstance(frame, PoseFrame):
            raise TypeError(f"expected a PoseFrame, got {type(frame).__name__}")
        if frame.skeleton is not self.skeleton:
            raise ValueError(
                f"counter is for {self.skeleton.value}, "
                f"got a {frame.skeleton.value} frame"
            )
        coords, angles, ok = _frame_features(
            frame.xyz[None], frame.visibility[None], self._layout, self.params
        )
        if self._size == self._ok.shape[0]:
            # Keep the newest window at the front; amortised O(1) per frame.
            keep = self.window_frames
            for buf in (
                self._coords,
                self._angles,
                self._ok,
                self._raw,
                self._smoothed,
            ):
                buf[:keep] = buf[-keep:]
            self._first += self._size - keep
            self._size = keep
        row = self._size
        self._coords[row] = coords[0]
        self._angles[row] = angles[0]
        self._ok[row] = ok[0]
        self._size += 1
        new = 0
        if self._model is not None:
            new += self._advance(row)
        if (self._first + self._size) % self.refit_every == 0:
            new += self._refit()
        self.count += new
        return new > 0

    def _raw_value(self, row: int) -> float:
        model = self._model
        assert model is not None
        if not self._ok[row]:
            return math.nan
        if model.direction is not None:
            values = self._coords[row]
            finite = np.isfinite(values)
            return float(np.dot(np.where(finite, values, 0.0), model.direction))
        return float(self._angles[row, model.angle_index])

    def _advance(self, row: int, count: bool = True) -> int:
        """Condition row causally and step the hysteresis; 1 if a repetition closed."""
        model = self._model
        assert model is not None
        raw = self._raw_value(row)
        self._raw[row] = raw
        self._smoothed[row] = math.nan
        if math.isnan(raw):
            return 0
        period = model.period
        start = max(0, row - 4 * int(period) - 1)
        history = self._raw[start : row + 1]
        history = history[np.isfinite(history)][-max(1, int(1.5 * period)) :]
        detrended = raw - float(history.mean())
        tau = max(self.params.smooth_periods * period, 1e-9)
        alpha = 1.0 - math.exp(-1.0 / tau)
        self._ema = (
            detrended
            if math.isnan(self._ema)
            else self._ema + alpha * (detrended - self._ema)
        )
        self._smoothed[row] = self._ema
        recent = self._smoothed[max(0, row - 6 * int(period) - 1) : row + 1]
        recent = recent[np.isfinite(recent)][
            -max(1, int(2 * self.params.range_periods * period)) :
        ]
        low, high = float(recent.min()), float(recent.max())
        spread = max(high - low, model.floor)
        z = model.sign * (self._ema - (high + low) / 2.0) / (spread / 2.0)
        closed = self._machine.step(self._first + row, z)
        if (
            count
            and closed is not None
            and closed[1] >= self._last_peak + _SAME_REP_PERIODS * period
        ):
            self._last_peak = closed[1]
            return 1
        return 0

    def _refit(self) -> int:
        """Re-choose the signal on the window; adopt it if confident and replay."""
        start = max(0, self._size - self.window_frames)
        ok = self._ok[start : self._size]
        result = _analyze(
            self._coords[start : self._size].copy(),
            self._angles[start : self._size],
            ok,
            self.params,
        )
        if (
            math.isnan(result.period)
            or not result.moving
            or result.strength < self.min_strength
            or int(ok.sum()) < 3 * result.period
        ):
            self._candidate_period = math.nan
            return 0
        if self._model is None:
            # The first choice must hold over two refits: early, short windows mistake
            # a harmonic for the period.
            prev = self._candidate_period
            self._candidate_period = result.period
            if not abs(result.period - prev) <= 0.15 * result.period:
                return 0
        previous = self._model
        if previous is not None:
            # Keep which end is rest: orient the new signal like the one it replaces
            # (over the frames both cover), or counts would shift by half a period.
            old = previous.sign * self._smoothed[start : self._size]
            both = np.isfinite(old) & np.isfinite(result.z)
            if both.sum() > 2:
                a = old[both] - old[both].mean()
                b = result.z[both] - result.z[both].mean()
                if float(np.dot(a, b)) < 0:
                    z = -result.z
                    result = dataclasses.replace(
                        result,
                        sign=-result.sign,
                        z=z,
                        reps=_hysteresis(z, ok, self.params.threshold),
                    )
        self._model = result
        self.period_frames = result.period
        # Resume the causal conditioning and hysteresis in the state this signal has
        # now, without counting: the offline repetitions below are the better record.
        self._machine = _Hysteresis(self.params.threshold)
        self._ema = math.nan
        self._raw[: self._size] = math.nan
        self._smoothed[: self._size] = math.nan
        # Six periods cover the trailing windows (4.5) and the last excursion.
        for row in range(max(start, self._size - int(6 * result.period)), self._size):
            self._advance(row, count=False)
        offset = self._first + start
        new = 0
        for _, peak, _ in result.reps:
            if offset + peak >= self._last_peak + _SAME_REP_PERIODS * result.period:
                self._last_peak = offset + peak
                new += 1
        return new


@dataclass(frozen=True, slots=True, eq=False)
class PoseFeatures:
    """What the counter reads from each frame (see `pose_features`)."""

    coords: F64
    angles: F64
    valid: Bool


def pose_features(
    window: PoseWindow, params: CounterParams | None = None
) -> PoseFeatures:
    """Per frame: body joint x, y centred and scaled by their RMS radius (T, 26), the
    elbow/shoulder/hip/knee angles in degrees, left/right averaged (T, 4), and whether
    the frame shows enough of the body (T,); NaN where missing."""
    params = params or CounterParams()
    coords, angles, ok = _frame_features(
        window.xyz, window.visibility, _Layout.of(window.skeleton), params
    )
    return PoseFeatures(coords, angles, ok)
