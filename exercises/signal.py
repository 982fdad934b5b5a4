"""One-dimensional signal pieces shared by the rep counter, template authoring and the
assessments: gap bridging, smoothing, running range, periodicity and hysteresis cycles.

Every function takes a float array of samples at a steady rate (frames) and keeps NaN
semantics explicit: NaN marks a missing sample, `bridge_gaps` is the one place that
fills it, and the rest expect finite input unless they say otherwise. Windows are in
samples; windows shrink (or are renormalised) at the ends of a recording rather than
padding with invented values, so the first and last repetitions are not distorted.

Core module: stdlib and numpy only (each piece is a few lines whose edge behaviour we
control; scipy is not a core dependency).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = [
    "Cycle",
    "Hysteresis",
    "acf_period",
    "autocorrelation",
    "bridge_gaps",
    "correlation",
    "gaussian_smooth",
    "hysteresis_cycles",
    "moving_mean",
    "repeats_at",
    "running_range",
    "short_gaps_seen",
    "smoothed_span",
    "trimmed_range",
]

F64 = npt.NDArray[np.float64]
Bool = npt.NDArray[np.bool_]


def bridge_gaps(x: npt.ArrayLike, *, hold_ends: bool = True) -> F64:
    """NaN samples filled by linear interpolation, per column.

    Args:
        x: (T,) or (T, K) samples, NaN = missing.
        hold_ends: Before the first and after the last finite sample, hold those
            values (True) or leave NaN (False: nothing is invented beyond what was
            seen).

    Returns:
        float64 array of x's shape; a column with no finite sample stays all NaN.
    """
    arr = np.asarray(x, np.float64)
    out = arr.copy()
    cols = out.reshape(out.shape[0], -1)
    t = np.arange(cols.shape[0])
    for c in range(cols.shape[1]):
        good = np.isfinite(cols[:, c])
        if good.all() or not good.any():
            continue
        cols[:, c] = np.interp(t, t[good], cols[good, c])
        if not hold_ends:
            first, last = np.flatnonzero(good)[[0, -1]]
            cols[:first, c] = np.nan
            cols[last + 1 :, c] = np.nan
    return out


def short_gaps_seen(ok: Bool, longest: int) -> Bool:
    """`ok` ((T,) or (C, T): along the last axis) with every run of at most `longest`
    False samples between two True ones set True: gaps a linear bridge spans well
    (a frame or two lost now and then), for signals bridged there (`bridge_gaps`)."""
    ok = np.asarray(ok, np.bool_)
    if longest < 1 or ok.all():
        return ok.copy()
    width = ok.shape[-1] + 2  # each row between two False edges
    padded = np.zeros((*ok.shape[:-1], width), np.bool_)
    padded[..., 1:-1] = ok
    edges = np.diff(np.concatenate([[True], padded.ravel(), [True]]).astype(np.int8))
    starts, stops = np.flatnonzero(edges == -1), np.flatnonzero(edges == 1)
    inner = (
        (starts % width != 0)  # not the left edge ...
        & ((stops - 1) % width != width - 1)  # ... nor the right one ...
        & (starts // width == (stops - 1) // width)  # ... of one row
        & (stops - starts <= longest)
    )
    lengths = (stops - starts)[inner]
    first = np.repeat(starts[inner], lengths)
    steps = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    flat = padded.ravel()
    flat[first + steps] = True
    return padded[..., 1:-1].copy()


def moving_mean(x: F64, half: int) -> F64:
    """Centred moving mean over +-half samples along axis 0; the window shrinks at the
    ends. x: (T,) or (T, K), finite."""
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


def gaussian_smooth(x: F64, sigma: float) -> F64:
    """Gaussian smoothing of a finite (T,) signal, standard deviation `sigma` samples,
    weights renormalised at the ends (no padding); sigma < 0.5 returns a copy."""
    n = x.shape[0]
    if sigma < 0.5 or n < 2:
        return np.array(x, np.float64)
    radius = min(math.ceil(3.0 * sigma), n - 1)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    num = np.convolve(x, kernel)[radius : radius + n]
    den = np.convolve(np.ones(n), kernel)[radius : radius + n]
    out: F64 = num / den
    return out


def running_range(x: F64, half: int) -> tuple[F64, F64]:
    """Centred running (min, max) of a finite (T,) signal over +-half samples, the
    window clipped at the ends."""
    padded = np.pad(x, half, mode="edge")
    view = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    return view.min(axis=1), view.max(axis=1)


def trimmed_range(x: F64, tail: float, span: int) -> tuple[float, float]:
    """(low, high) of the last values of a finite signal, `x` (at most `span` of
    them): the k-th smallest and k-th largest, k = floor(tail * span), so that a few
    frames unlike the rest (a glitch, one deeper excursion) do not set the range;
    the extremes while `x` holds fewer than `span` values (the first movement of a
    stretch sets it) or while k is 0."""
    k = int(tail * span)
    if k == 0 or x.shape[0] < span:
        return float(x.min()), float(x.max())
    ends = np.partition(x, (k, x.shape[0] - 1 - k))
    return float(ends[k]), float(ends[x.shape[0] - 1 - k])


def autocorrelation(x: F64, max_lag: int) -> F64:
    """Biased autocorrelation of a zero-mean finite (T,) signal, or of each row of
    (C, T) signals, for lags 0..max_lag: 1 at lag 0 (all 0 for a flat signal). Rows
    get the numbers each gets alone (the FFTs and the scaling are row by row)."""
    n = x.shape[-1]
    nfft = 1 << math.ceil(math.log2(max(2 * n, 2)))
    spec = np.fft.rfft(x, nfft)
    acov = np.fft.irfft(spec.real**2 + spec.imag**2, nfft)[..., : max_lag + 1]
    scale = acov[..., :1]
    out: F64 = np.divide(acov, scale, out=np.zeros_like(acov), where=scale > 0)
    return out


def repeats_at(x: F64, ok: Bool, lag: int, period: int, max_lag: int) -> bool:
    """Whether a (T,) signal's autocorrelation over the frames `ok` (standardised
    there) reaches, within 15 % of `lag`, at least its value at its own `period`:
    it repeats at that longer lag too, so its period is structure within one
    repetition (two bumps each, a rest between them), not the repetition."""
    valid = x[ok]
    sd = float(valid.std())
    hi = min(int(1.15 * lag) + 1, max_lag)
    if not sd > 0 or int(0.85 * lag) > hi:
        return False
    acf = autocorrelation(np.where(ok, (x - valid.mean()) / sd, 0.0), max_lag)
    return bool(acf[int(0.85 * lag) : hi + 1].max() >= acf[period])


def acf_period(
    acf: F64, min_lag: int, max_lag: int, first_fraction: float
) -> tuple[int, float]:
    """The period a signal's autocorrelation shows: (lag, strength).

    Peaks of the autocorrelation in [min_lag, max_lag] are scored by their height above
    the lowest value before them (half the peak-to-trough height: 1 for a pure
    sinusoid). The period is the first peak at least `first_fraction` as strong as the
    strongest, so multiples of the period lose to it. (-1, 0.0) when there is no peak.
    """
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


class Cycle(NamedTuple):
    """One closed hysteresis cycle, in sample indices: where it started (the last
    sample at or below the low level before it rose, or if none was, the last of its
    lowest samples since the previous cycle), its highest sample, and the first sample
    back at or below the low level."""

    start: int
    turn: int
    end: int


class Hysteresis:
    """Cycles low -> high -> low of a signal fed one sample at a time.

    A cycle leaves the low level, reaches the high level and comes back to low; only
    then does `step` return it. The levels may move with every sample (thresholds
    relative to a running range): a cycle counts when the lowest sample since the
    previous cycle is at or below the low level *as it is when the high level is
    reached*, so a range that widens as the first repetition unfolds still sees where
    it started. A cycle must start from low: an excursion already under way when the
    signal starts (a repetition cut off at the start of a recording) does not count,
    and one still out when it ends never closes.
    """

    __slots__ = (
        "_left",
        "_peak",
        "_peak_value",
        "_start",
        "_state",
        "_trough",
        "_trough_value",
        "high",
        "low",
        "rose",
    )

    # states: unknown or low, high having come from low, high of unknown origin
    _WAITING, _HIGH, _HIGH_UNSEEN = 0, 1, 2

    def __init__(self, low: float = -math.inf, high: float = math.inf) -> None:
        self.low = float(low)
        self.high = float(high)
        self.reset()

    def reset(self) -> None:
        """Forget the state (the next cycle must start from low again)."""
        self._state = self._WAITING
        self._start = self._peak = self._trough = self._left = 0
        self._peak_value = -math.inf
        self._trough_value = math.inf
        self.rose = False

    @property
    def out(self) -> bool:
        """Whether a cycle that started from low is under way (past the high level)."""
        return self._state == self._HIGH

    @property
    def started(self) -> int:
        """Where the cycle under way started (meaningful while `out`)."""
        return self._start

    def step(
        self, t: int, v: float, low: float | None = None, high: float | None = None
    ) -> Cycle | None:
        """Feed sample `v` at index `t` with this sample's levels (default: the fixed
        ones); the cycle it closes, or None. NaN samples are ignored. `rose` tells
        whether this sample started a cycle (reached high from low)."""
        self.rose = False
        if math.isnan(v):
            return None
        lo = self.low if low is None else low
        hi = self.high if high is None else high
        if self._state == self._HIGH:
            if v > self._peak_value:
                self._peak, self._peak_value = t, v
            if v > lo:
                return None
            self._state = self._WAITING
            self._trough, self._trough_value = t, v
            self._left = t
            return Cycle(self._start, self._peak, t)
        if v <= self._trough_value:
            self._trough, self._trough_value = t, v
        if v <= lo:
            self._left = t
        if v >= hi:
            if self._trough_value <= lo:
                self._state = self._HIGH
                self._start = max(self._left, self._trough)
                self._peak, self._peak_value = t, v
                self.rose = True
            else:
                self._state = self._HIGH_UNSEEN
                self._trough, self._trough_value = t, math.inf
        return None


def hysteresis_cycles(
    z: F64, low: float, high: float, valid: Bool | None = None
) -> list[Cycle]:
    """Every closed cycle of `Hysteresis(low, high)` over the samples of z (those with
    `valid` True; NaN samples are skipped either way)."""
    if not low < high:
        raise ValueError(f"need low < high, got {low}, {high}")
    machine = Hysteresis(low, high)
    idx = np.flatnonzero(np.isfinite(z) if valid is None else valid & np.isfinite(z))
    out = []
    for t in idx.tolist():
        closed = machine.step(t, float(z[t]))
        if closed is not None:
            out.append(closed)
    return out


def correlation(a: F64, b: F64) -> float:
    """Pearson correlation of two signals of the same length (0 if either is flat)."""
    a = a - a.mean()
    b = b - b.mean()
    denom = float(np.sqrt(np.dot(a, a) * np.dot(b, b)))
    return float(np.dot(a, b)) / denom if denom > 0 else 0.0


def smoothed_span(x: F64, period: int) -> float:
    """Max minus min of a signal smoothed as the rep counter smooths it."""
    smooth = gaussian_smooth(x, 0.12 * period)
    return float(smooth.max() - smooth.min()) if smooth.size else 0.0
