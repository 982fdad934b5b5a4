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
5. Counting with hysteresis: a repetition is a full out-and-back cycle: the signal
   leaves one end of its range (below -threshold), reaches the other end (above
   +threshold) and comes back. Which end is "rest" is unknown without a template, so
   cycles are counted for both readings and the smaller count is kept: a half cycle at
   the start or the end of a recording (getting into position, stopping mid-way) never
   counts.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from vision import config
from vision.geometry import angle_triples, joint_angles_array
from vision.types import PoseFrame, PoseWindow, Skeleton

__all__ = [
    "CounterParams",
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
        threshold: Hysteresis level in the normalised signal, which spans about [-1, 1].
        min_joint_fraction: A frame with fewer visible body joints is a gap.
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


def _hysteresis(z: F64, ok: Bool, threshold: float) -> list[tuple[int, int, int]]:
    """Cycles low (<= -threshold) -> high (>= threshold) -> low, skipping gaps; each as
    (last low frame before, highest frame, first low frame after). A cycle must start
    from low: an excursion already under way at the start does not count."""
    reps: list[tuple[int, int, int]] = []
    state = 0  # 0 unknown, 1 low, 2 high (came from low), 3 high (origin unknown)
    last_low = peak = 0
    for t in np.flatnonzero(ok).tolist():
        v = z[t]
        if state == 2 and v > z[peak]:
            peak = t
        if v <= -threshold:
            if state == 2:
                reps.append((last_low, peak, t))
            state = 1
            last_low = t
        elif v >= threshold and state in (0, 1):
            state = 2 if state == 1 else 3
            peak = t
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


_ANGLE_NAMES = ("elbow", "shoulder", "hip", "knee")


def _analyze(coords: F64, angles: F64, ok: Bool, params: CounterParams) -> _Analysis:
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

    best: tuple[str, int, float] | None = None
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
        if lag > 0 and (best is None or strength > best[2]):
            best = (name, lag, strength)
    if best is None:
        return nothing
    source, period, _ = best

    raw = candidates[source]
    signal = raw - _moving_mean(raw, max(1, int(params.detrend_periods * period) // 2))
    signal = _smooth(signal, params.smooth_periods * period)
    low, high = _running_range(signal, max(1, int(params.range_periods * period)))
    spread = high - low
    floor = params.range_floor * float(np.percentile(spread[ok], 90))
    spread = np.maximum(spread, floor if floor > 0 else 1.0)
    z = (signal - (high + low) / 2.0) / (spread / 2.0)

    up = _hysteresis(z, ok, params.threshold)
    down = _hysteresis(-z, ok, params.threshold)
    # A tie keeps the reading whose excursions point along the longer tail (rest is
    # where the signal dwells).
    tail = float(np.mean((z[ok] - z[ok].mean()) ** 3))
    if len(down) < len(up) or (len(down) == len(up) and tail < 0):
        reps, z = down, -z
    else:
        reps = up
    z = np.where(ok, z, np.nan)
    return _Analysis(len(reps), reps, float(period), z, source)


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
) -> RepCount:
    """Count the repetitions of whatever periodic movement a window shows.

    Args:
        poses: A PoseWindow, or xyz (T, J, 3) float32 in image coordinates (NaN = joint
            missing; a frame of NaN = nobody in view).
        visibility: (T, J) float32 in [0, 1], only with an xyz array; default: 1 where
            the joint is finite.
        skeleton: Joint layout of an xyz array (a PoseWindow carries its own).
        params: Counter settings (`CounterParams()` by default).

    Returns:
        `RepCount`; a window with too few valid frames (under two fastest periods) or no
        periodic movement counts 0 with period NaN.

    Raises:
        TypeError, ValueError: malformed input (the message says what was expected).
    """
    params = params or CounterParams()
    xyz, vis, skeleton = _check_window(poses, visibility, skeleton)
    coords, angles, ok = _frame_features(xyz, vis, _Layout.of(skeleton), params)
    result = _analyze(coords, angles, ok, params)
    return RepCount(
        count=result.count,
        rep_bounds=[(start, end) for start, _, end in result.reps],
        period_frames=result.period,
        signal=result.z.astype(np.float32),
        source=result.source,
    )


@dataclass(slots=True)
class _Buffer:
    coords: deque[F64] = field(default_factory=deque)
    angles: deque[F64] = field(default_factory=deque)
    ok: deque[bool] = field(default_factory=deque)


class StreamingRepCounter:
    """Live template-free counting: `push(frame) -> bool` says whether a repetition was
    completed with this frame.

    The analysis of `count_repetitions` is re-run on a sliding window of the most recent
    frames (`window_frames`, default 2.5 slowest periods) every `update_every` frames;
    a repetition found there is counted once, when its cycle closes, identified by the
    absolute frame of its turning point. A repetition is therefore reported when the
    movement returns (typically half a period after its turning point), and reported up
    to `update_every - 1` frames late.
    """

    def __init__(
        self,
        skeleton: Skeleton = Skeleton.BLAZEPOSE_33,
        *,
        params: CounterParams | None = None,
        window_frames: int | None = None,
        update_every: int = 1,
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
        if update_every < 1:
            raise ValueError(f"update_every must be >= 1, got {update_every}")
        self.update_every = update_every
        self._layout = _Layout.of(skeleton)
        self.reset()

    def reset(self) -> None:
        """Forget everything (a new set or a new subject)."""
        self._buffer = _Buffer()
        self._frames_seen = 0
        self._last_peak = -(10**9)
        self.count = 0
        self.period_frames = math.nan

    def push(self, frame: PoseFrame) -> bool:
        """Add one frame; True if a repetition completed (`self.count` went up).

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
        buf = self._buffer
        buf.coords.append(coords[0])
        buf.angles.append(angles[0])
        buf.ok.append(bool(ok[0]))
        if len(buf.ok) > self.window_frames:
            buf.coords.popleft()
            buf.angles.popleft()
            buf.ok.popleft()
        self._frames_seen += 1
        if self._frames_seen % self.update_every:
            return False
        offset = self._frames_seen - len(buf.ok)
        result = _analyze(
            np.array(buf.coords), np.array(buf.angles), np.array(buf.ok), self.params
        )
        if not math.isnan(result.period):
            self.period_frames = result.period
        min_gap = 0.5 * result.period if not math.isnan(result.period) else 0.0
        new = 0
        for _, peak, _ in result.reps:
            if offset + peak > self._last_peak + min_gap:
                self._last_peak = offset + peak
                new += 1
        self.count += new
        return new > 0
