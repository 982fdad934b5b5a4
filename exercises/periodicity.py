"""Which signal of a pose track repeats, with what period: the rep counter's choice of
what to count (`exercises.counting` counts it).

1. Features per frame (`frame_features`): x, y of 13 body joints (nose, shoulders,
   elbows, wrists, hips, knees, ankles) centred on their mean and divided by their RMS
   radius, so position in the image, distance to the camera and a zooming camera do
   not count as movement; plus the elbow, shoulder, hip and knee angles (left/right
   averaged). A frame with fewer than half of those joints visible is a gap.
2. Candidates (`choose_signal`): the channels a template names (`Guide`: known
   direction and least movement), the leading principal components of the joint
   coordinates and the four angles, each bridged over gaps and freed of slow drift.
3. Period: for every candidate, the autocorrelation's first strong peak between the
   fastest and slowest repetition (`exercises.signal.acf_period`); the strength of a
   candidate is the height of that peak. A candidate whose whole span is under the
   least movement is left out, however periodic. The most periodic candidate wins,
   except that a template's channel nearly as periodic is preferred (the template
   says it carries the movement), and a nearly as periodic candidate whose period is
   a multiple of the winner's, or a longer lag at which the winner repeats at least
   as well (`exercises.signal.repeats_at`: two bumps per repetition with rests
   between), shows the whole repetition (some joints move twice per repetition).
4. Which end of the chosen signal is rest: a template channel's own direction; else
   the direction of the template channel it moves with; else the end where it
   clearly dwells (repetitions are the long tail of its distribution), else the end
   the window starts at (a set starts at rest; where it ends is not known yet).

Core module: stdlib and numpy (plus `vision.geometry` for joint triples, and the
feature and eigen kernels in `vision.kernels`; their slow twins: `tests/naive.py`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from exercises import signal
from exercises.spec import ExerciseSpec, Phase
from vision import config
from vision import kernels as _vk
from vision.geometry import angle_triples
from vision.types import Skeleton

__all__ = [
    "ANGLE_NAMES",
    "FrameFeatures",
    "Guide",
    "SignalChoice",
    "SignalSettings",
    "choose_signal",
    "frame_features",
    "oriented_like",
    "raw_signal",
    "strength_of",
    "template_guides",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
Bool = npt.NDArray[np.bool_]

# The body's joints every skeleton has: COCO-17's without the eyes and ears.
_BODY_JOINTS = tuple(
    n for n in Skeleton.COCO_17.joint_names if not n.endswith(("_eye", "_ear"))
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
ANGLE_NAMES: tuple[str, ...] = ("elbow", "shoulder", "hip", "knee")
"""The free angle candidates, in column order of `FrameFeatures.angles`."""

# Below this |skewness| a signal gives no hint of which end is rest; above the
# second, pauses at rest make it plain (below it, a window starting clearly at one
# end of the range, a quarter of it from the middle, says more).
_SYMMETRIC_SKEW = 0.2
_DWELLING_SKEW = 0.5
# A longer-period candidate at least this periodic (relative) is the fundamental.
_FUNDAMENTAL_STRENGTH = 0.8
# Periods within this log-ratio (about +-25 %) are the same repetition.
_SAME_PERIOD = 0.22
# |correlation| with a guide above which a free signal takes the guide's direction.
_GUIDE_CORRELATION = 0.3
# Least variance, as a share of the first component's, of a component that sets
# another period than the first's (`choose_signal`; 0.1-0.25 count alike in tests).
_MAIN_MOVEMENT_SHARE = 0.1
# Jacobi sweeps for the principal directions (they converge in under 10).
_JACOBI_SWEEPS = 50
# A template's least repetition range, in gaps between its rest and turning thresholds.
_LEAST_GAP = 0.5
# Pace changes: the period is the lower quartile of the local periods (windows of
# _LOCAL_WINDOW periods) when that is this much shorter than the global one.
_LOCAL_WINDOW = 4.0
_LOCAL_SHORTER = 0.8


@dataclass(frozen=True, slots=True)
class Guide:
    """A channel an exercise template says carries the repetition.

    Attributes:
        name: Channel name (an angle or metric of the template).
        sign: +1 if a repetition takes it up from rest and back, -1 if down.
        min_range: The least range (in the channel's unit) the counter normalises
            it by: smaller movements are scaled as if this big.
        rest / turn: The template's thresholds of its rest and turning phases on
            the channel (None if unknown).
    """

    name: str
    sign: float
    min_range: float
    rest: float | None = None
    turn: float | None = None

    def __post_init__(self) -> None:
        if self.sign not in (1.0, -1.0):
            raise ValueError(f"sign must be +1 or -1, got {self.sign}")
        if not self.min_range > 0:
            raise ValueError(f"min_range must be > 0, got {self.min_range}")


def _bound(phase: Phase, key: str) -> tuple[float | None, float | None]:
    for c in phase.conditions:
        if c.key == key:
            return c.min, c.max
    return None, None


def template_guides(
    spec: ExerciseSpec, *, elder_mode: bool = False, partial: bool = False
) -> tuple[Guide, ...]:
    """The channels of a rep template's cycle, with their direction and least range.

    A channel qualifies when the rest phase (the cycle's first) and the turning phase
    (its second) bound it from opposite sides (rest `min`, turn `max` or the reverse);
    its least repetition is half the gap between those thresholds. Empty for holds,
    sequences and cycles without such a channel. `partial`: a channel's turning
    threshold is the template's partial turning phase's, where it has one."""
    if spec.kind != "reps" or len(spec.cycle) < 2:
        return ()
    phases = spec.phases_for(elder_mode)
    rest, turn = phases[spec.cycle[0]], phases[spec.cycle[1]]
    shallow = None
    if partial and spec.partial is not None:
        shallow = {p.name: p for p in spec.partial.phases}.get(spec.cycle[1])
    out = []
    for cond in turn.conditions:
        rest_min, rest_max = _bound(rest, cond.key)
        lo, hi = _bound(shallow, cond.key) if shallow else (None, None)
        if rest_min is not None and cond.max is not None:
            gap = rest_min - cond.max
            at = cond.max if hi is None else hi
            out.append(Guide(cond.key, -1.0, _LEAST_GAP * gap, rest_min, at))
        elif rest_max is not None and cond.min is not None:
            gap = cond.min - rest_max
            at = cond.min if lo is None else lo
            out.append(Guide(cond.key, 1.0, _LEAST_GAP * gap, rest_max, at))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class SignalSettings:
    """How `choose_signal` chooses (periods in frames of the window)."""

    min_period: int
    max_period: int
    num_components: int
    first_peak_fraction: float
    guide_strength: float
    range_floor: float
    threshold: float
    min_body_range: float
    min_angle_range_deg: float
    sources: tuple[str, ...] = ()
    """The candidates considered (`SignalChoice.source` names); empty: all."""


@dataclass(frozen=True, slots=True, eq=False)
class FrameFeatures:
    """Per frame: coords (T, 26) normalised body x, y; angles (T, 4) degrees
    (`ANGLE_NAMES`); valid (T,) whether the frame shows enough of the body. NaN where
    missing."""

    coords: F64
    angles: F64
    valid: Bool


@dataclass(frozen=True, slots=True)
class _Layout:
    joints: npt.NDArray[np.int64]
    triples: npt.NDArray[np.int64]


_LAYOUTS: dict[Skeleton, _Layout] = {}


def _layout(skeleton: Skeleton) -> _Layout:
    if skeleton not in _LAYOUTS:
        joints = np.array([skeleton.index(n) for n in _BODY_JOINTS], np.int64)
        triples = angle_triples(skeleton, [t for pair in _ANGLES for t in pair])
        _LAYOUTS[skeleton] = _Layout(joints, triples)
    return _LAYOUTS[skeleton]


def frame_features(
    xyz: F32, visibility: F32, skeleton: Skeleton, min_joint_fraction: float = 0.5
) -> FrameFeatures:
    """Features of (T, J, 3) landmarks with (T, J) visibility (see the module doc).

    Raises:
        ValueError: xyz is not (T, J, 3) or visibility not (T, J) of the skeleton.
    """
    layout = _layout(skeleton)
    j = skeleton.num_joints
    if xyz.ndim != 3 or xyz.shape[1:] != (j, 3):
        raise ValueError(f"xyz must be (T, {j}, 3), got {xyz.shape}")
    if visibility.shape != xyz.shape[:2]:
        raise ValueError(f"visibility must be {xyz.shape[:2]}, got {visibility.shape}")
    t, m = xyz.shape[0], layout.joints.shape[0]
    coords = np.empty((t, 2 * m))
    angles = np.empty((t, layout.triples.shape[0] // 2))
    valid = np.empty(t, np.bool_)
    _vk._body_features(
        np.ascontiguousarray(xyz, np.float32),
        np.ascontiguousarray(visibility, np.float32),
        layout.joints,
        layout.triples,
        np.float32(config.MIN_VISIBILITY),
        float(min_joint_fraction * m),
        coords,
        angles,
        valid,
    )
    return FrameFeatures(coords, angles, valid)


@dataclass(frozen=True, slots=True, eq=False)
class SignalChoice:
    """The signal `choose_signal` chose.

    Attributes:
        source: "guide:<name>", "pc0".."pcN" or an angle name.
        period: Period in frames.
        strength: Its periodicity (autocorrelation peak height, 0..1).
        sign: +1 if a repetition takes the raw signal up from rest, -1 if down.
        floor: Least spread of the raw signal that is movement, not jitter.
        moving: Whether the window's typical spread is a movement the counter can
            count (at least `threshold` of the least range).
        guide: Index of the guide (source "guide:..."), else -1.
        angle: Index into `ANGLE_NAMES` (an angle source), else -1.
        direction: (26,) principal direction (a "pc" source), else None.
    """

    source: str
    period: float
    strength: float
    sign: float
    floor: float
    moving: bool
    guide: int = -1
    angle: int = -1
    direction: F64 | None = None


def raw_signal(choice: SignalChoice, coords: F64, angles: F64, guides: F64) -> F64:
    """The chosen signal's raw values over rows of features (NaN where missing);
    guides: (T, G) template channel values."""
    if choice.direction is not None:
        finite = np.isfinite(coords)
        out: F64 = np.where(finite, coords, 0.0) @ choice.direction
        return np.where(finite.any(axis=1), out, np.nan)
    if choice.guide >= 0:
        return np.asarray(guides[:, choice.guide], np.float64)
    return np.asarray(angles[:, choice.angle], np.float64)


def _bridged(columns: F64) -> F64:
    """`signal.bridge_gaps` of (T, K), called only on the columns with a gap: the
    rest (seen throughout, or never: joints a side view hides) come back as they are."""
    finite = np.isfinite(columns)
    gaps = np.flatnonzero(finite.any(axis=0) & ~finite.all(axis=0))
    out = np.array(columns, np.float64)
    if gaps.size:
        out[:, gaps] = signal.bridge_gaps(columns[:, gaps])
    return out


def _seen_columns(
    columns: F64, ok: Bool, half: int, least_finite: int
) -> list[F64 | None]:
    """Each column of (T, K) over the frames `ok`, bridged and freed of drift (a
    moving mean over +-half); None where fewer than `least_finite` of those frames
    show it or nothing bridges it. Column by column, as each alone, bit for bit."""
    out: list[F64 | None] = [None] * columns.shape[1]
    shown = np.flatnonzero(np.isfinite(columns[ok]).sum(axis=0) >= least_finite)
    if shown.size == 0:
        return out
    filled = signal.bridge_gaps(np.where(ok[:, None], columns[:, shown], np.nan))
    detrended = np.ascontiguousarray((filled - signal.moving_mean(filled, half)).T)
    complete = (np.count_nonzero(~np.isfinite(filled), axis=0) == 0).tolist()
    for k, column, whole in zip(shown.tolist(), detrended, complete, strict=True):
        if whole:
            out[k] = column
    return out


def _strengths(
    xs: F64, ok: Bool, settings: SignalSettings, max_lag: int
) -> list[tuple[int, float]]:
    """(lag, strength) of each row of xs (C, T): its autocorrelation's period over the
    frames `ok` ((T,); (C, T): each row's) and gaps of at most min_period // 4 (xs is
    bridged there), standardised there (`acf_period`). All rows at once: row-wise
    reductions and FFTs give each row the numbers it gets alone, and
    `_vk._acf_periods` is `signal.acf_period` row by row, bit for bit."""
    out = [(-1, 0.0)] * xs.shape[0]
    ok = signal.short_gaps_seen(ok, settings.min_period // 4)
    if ok.ndim == 1:
        valid = np.ascontiguousarray(xs[:, ok])
        sd, mean = valid.std(axis=1), valid.mean(axis=1)
    else:
        own = [x[o] for x, o in zip(xs, ok, strict=True)]
        sd, mean = np.array([v.std() for v in own]), np.array([v.mean() for v in own])
    rows = np.flatnonzero(sd > 0)
    if rows.size == 0:
        return out
    shown = ok if ok.ndim == 1 else ok[rows]
    z = np.where(shown, (xs[rows] - mean[rows, None]) / sd[rows, None], 0.0)
    acf = signal.autocorrelation(z, max_lag)
    lags = np.empty(rows.size, np.int64)
    strengths = np.empty(rows.size)
    _vk._acf_periods(
        acf,
        int(settings.min_period),
        int(max_lag),
        float(settings.first_peak_fraction),
        lags,
        strengths,
    )
    for i, row in enumerate(rows.tolist()):
        out[row] = (int(lags[i]), float(strengths[i]))
    return out


def _local_period(
    raw: F64, ok: Bool, period: int, strength: float, settings: SignalSettings
) -> int:
    """The period to condition with when the pace changes within the window: the
    lower quartile of the periods of windows of `_LOCAL_WINDOW` periods (at least as
    periodic as the whole) if markedly shorter than the global one (the global
    autocorrelation favours the slowest stretch)."""
    n = raw.shape[0]
    width = int(_LOCAL_WINDOW * period)
    if width >= n or period < 2 * settings.min_period:
        return period
    every = range(0, n - width + 1, max(1, period))
    starts = [s for s in every if ok[s : s + width].mean() >= 0.5]
    stretches = np.array([raw[s : s + width] for s in starts]).reshape(-1, width)
    seen = np.array([ok[s : s + width] for s in starts]).reshape(-1, width)
    found = _strengths(stretches, seen, settings, min(int(1.5 * period), width // 2))
    local = [lag for lag, st in found if lag > 0 and st >= strength]
    if len(local) < 2:
        return period
    quartile = float(np.percentile(local, 25))
    return int(quartile) if quartile < _LOCAL_SHORTER * period else period


def _orientation(z: F64, period: float) -> float:
    """+1 if the high end of z is the excursion, -1 if the low end is (module doc,
    step 4)."""
    centred = z - z.mean()
    sd = float(centred.std())
    skew = float(np.mean(centred**3)) / sd**3 if sd > 0 else 0.0
    if abs(skew) < _DWELLING_SKEW:
        edge = max(1, int(0.25 * period))
        start = float(centred[:edge].mean())
        spread = float(np.percentile(centred, 95) - np.percentile(centred, 5))
        if abs(start) >= 0.25 * spread or (abs(skew) < _SYMMETRIC_SKEW and start):
            return 1.0 if start < 0 else -1.0
    return -1.0 if skew < 0 else 1.0


def oriented_like(choice: SignalChoice, raw: F64, reference: F64) -> SignalChoice:
    """`choice` with the sign that makes its raw values (T,) move with `reference`
    (T,) (NaN = missing) over the frames both cover: a signal replacing a counted
    one keeps which end is rest. Unchanged for a template's channel or when nothing
    tells."""
    both = np.isfinite(raw) & np.isfinite(reference)
    if choice.guide >= 0 or both.sum() <= 2:
        return choice
    corr = signal.correlation(raw[both], reference[both])
    if corr == 0.0:
        return choice
    return dataclasses.replace(choice, sign=1.0 if corr > 0 else -1.0)


def _moves_with_guide(
    candidates: dict[str, F64], name: str, guided: dict[str, int], ok: Bool
) -> bool:
    """Whether a free candidate moves with one of the template's channels (the same
    movement read from another signal)."""
    return any(
        abs(signal.correlation(candidates[name][ok], candidates[g][ok]))
        >= _GUIDE_CORRELATION
        for g in guided
    )


def choose_signal(
    features: FrameFeatures,
    guide_values: F64,
    guides: tuple[Guide, ...],
    settings: SignalSettings,
) -> SignalChoice | None:
    """The most periodic signal of a window of features (see the module doc).

    Args:
        features: The window's features (T frames).
        guide_values: (T, G) the template channels named by `guides` (NaN = missing).
        guides: What the template knows about its channels.
        settings: Periods in frames, preferences and movement floors.

    Returns:
        The choice, or None when nothing in the window repeats (too few valid frames,
        no autocorrelation peak) or the template's channels are not seen.
    """
    ok = features.valid
    n = ok.shape[0]
    if ok.sum() < 2 * settings.min_period:
        return None
    max_lag = min(settings.max_period, n // 2)
    half = max(1, max_lag // 2)

    channels = np.concatenate([guide_values, features.angles], axis=1)
    seen = _seen_columns(channels, ok, half, 2 * settings.min_period)  # guides, angles
    guide_signals: dict[str, F64] = {}
    guided: dict[str, int] = {}
    for g, guide in enumerate(guides):
        d = seen[g]
        if d is not None:
            guide_signals[f"guide:{guide.name}"] = d
            guided[f"guide:{guide.name}"] = g
    if guides and not guided:
        # The template's channels are not seen (a table hides the legs of a seated
        # march): whatever else repeats is not this exercise, and nothing is counted.
        return None

    coords = np.nan_to_num(_bridged(features.coords), copy=False)
    coords -= signal.moving_mean(coords, half)
    shown = coords[ok]
    mean = shown.mean(axis=0)
    centred = shown - mean
    # Principal directions: eigenvectors of the (26, 26) scatter, largest first.
    values, vectors = _vk._symmetric_eigen(
        np.ascontiguousarray(centred.T @ centred), _JACOBI_SWEEPS
    )
    vt = vectors[:, np.argsort(-values, kind="stable")].T
    k = min(settings.num_components, vt.shape[0])
    deviation = coords - mean
    candidates: dict[str, F64] = {f"pc{i}": deviation @ vt[i] for i in range(k)}
    for i, name in enumerate(ANGLE_NAMES):
        d = seen[len(guides) + i]
        if d is not None:
            candidates[name] = d
    candidates.update(guide_signals)

    def least(name: str) -> float:
        if name in guided:
            return guides[guided[name]].min_range
        if name in ANGLE_NAMES:
            return settings.min_angle_range_deg
        return settings.min_body_range

    found = []
    names = [n for n in candidates if not settings.sources or n in settings.sources]
    stacked = np.array([candidates[c] for c in names]).reshape(len(names), n)
    periods = _strengths(stacked, ok, settings, max_lag)
    for name, (lag, strength) in zip(names, periods, strict=True):
        # A signal whose whole span (smoothed) is under the least movement cannot
        # move enough to count, however periodic (a faint harmonic of a joint).
        x = candidates[name]
        if lag > 0 and signal.smoothed_span(x[ok], lag) >= settings.threshold * least(
            name
        ):
            found.append((name, lag, strength))
    if guided and not any(name in guided for name, *_ in found):
        # The template's channel is there but does not repeat: whatever else does is
        # another movement (walking away, fidgeting), not this exercise.
        return None
    if guided:
        # Another signal may stand in for the template's channel only as a reading of
        # the same repetition: moving with it, at its period (not a harmonic).
        guide_periods = [lag for name, lag, _ in found if name in guided]
        found = [
            f
            for f in found
            if f[0] in guided
            or (
                any(abs(math.log(f[1] / lag)) <= _SAME_PERIOD for lag in guide_periods)
                and _moves_with_guide(candidates, f[0], guided, ok)
            )
        ]
    if not guided and "pc0" in names:
        # A faint component not repeating with the main movement is a detail of one
        # movement (an arm's arc bumps twice in the second), not the repetition.
        main = periods[names.index("pc0")][0]
        least_variance = _MAIN_MOVEMENT_SHARE * float(np.var(candidates["pc0"][ok]))
        found = [
            f
            for f in found
            if not f[0].startswith("pc")
            or float(np.var(candidates[f[0]][ok])) >= least_variance
            or (main > 0 and abs(math.log(f[1] / main)) <= _SAME_PERIOD)
        ]
    if not found:
        return None
    source, period, strength = max(found, key=lambda f: f[2])
    from_guides = [f for f in found if f[0] in guided]
    best_guide = max(from_guides, key=lambda f: f[2]) if from_guides else None
    if best_guide is not None and best_guide[2] >= settings.guide_strength * strength:
        source, period, strength = best_guide
    else:
        for name, lag, other in found:
            ratio = lag / period
            if (
                other >= _FUNDAMENTAL_STRENGTH * strength
                and lag > period
                and (
                    abs(ratio - round(ratio)) <= 0.15
                    or signal.repeats_at(candidates[source], ok, lag, period, max_lag)
                )
            ):
                source, period, strength = name, lag, other

    x = candidates[source]
    period = _local_period(x, ok, period, strength, settings)
    # The scale of the signal's movement: its typical local range.
    smooth = signal.gaussian_smooth(x, 0.12 * period)
    low, high = signal.running_range(smooth, max(1, int(1.5 * period)))
    typical = float(np.percentile((high - low)[ok], 90))
    floor = max(settings.range_floor * typical, least(source))

    if source in guided:
        sign = guides[guided[source]].sign
    elif best_guide is not None:
        reference = guides[guided[best_guide[0]]].sign * candidates[best_guide[0]][ok]
        corr = signal.correlation(x[ok], reference)
        if abs(corr) >= _GUIDE_CORRELATION:
            sign = 1.0 if corr > 0 else -1.0
        else:
            sign = _orientation(x[ok], period)
    else:
        sign = _orientation(x[ok], period)
    return SignalChoice(
        source=source,
        period=float(period),
        strength=float(strength),
        sign=sign,
        floor=floor,
        moving=typical >= settings.threshold * least(source),
        guide=guided.get(source, -1),
        angle=ANGLE_NAMES.index(source) if source in ANGLE_NAMES else -1,
        direction=vt[int(source[2:])].copy() if source.startswith("pc") else None,
    )


def strength_of(
    choice: SignalChoice,
    features: FrameFeatures,
    guide_values: F64,
    settings: SignalSettings,
) -> float:
    """How periodic an earlier choice's signal still is on a window (0 if not)."""
    ok = features.valid
    raw = raw_signal(choice, features.coords, features.angles, guide_values)
    if np.isfinite(raw[ok]).sum() < 2 * settings.min_period:
        return 0.0
    max_lag = min(settings.max_period, ok.shape[0] // 2)
    d = _seen_columns(raw[:, None], ok & np.isfinite(raw), max(1, max_lag // 2), 0)[0]
    if d is None:
        return 0.0
    return _strengths(d[None], ok & np.isfinite(raw), settings, max_lag)[0][1]
