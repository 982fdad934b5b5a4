"""Rep scoring: a rep's channel trajectory against the template's reference by DTW.

Steps (`score_trajectory`):
1. Resample the observed rep uniformly in time to `QUERY_SAMPLES` rows (frame rate and
   pace drop out; DTW handles the rest of the timing).
2. Crop the reference to the part the observation covers. The session cuts a rep at
   the phase thresholds (the last frame still in the start phase, the first frame in
   the end phase), not at the rest positions the reference starts and ends with, so the
   reference is cut at the same thresholds (`phase_span`: where the reference itself
   leaves the start phase and reaches the end phase). When the phases cannot be judged
   on the reference's channels, it is cut where it best matches the observed first and
   last samples instead (start within [0, CROP_MAX], end within [1 - CROP_MAX, 1]).
   The turning point always stays in, so a shallow rep pays for missing depth.
3. `exercises.alignment.dtw_align` with the per-channel tolerance as scale finds the
   warping path. Along it, |observed - reference| / tolerance is averaged per reference
   row and per observed row, and the cost is the larger of the two means: every part of
   the standard movement counts equally (a missed turning point cannot hide behind
   many well-matched frames at rest), and so does every observed moment (extra
   movement costs too). The DTW's own per-step mean is the weaker of these.
4. Depth: warping can pair a shallow rep's bottom with the reference's slopes, so each
   channel that moves (reference excursion >= `DEPTH_MIN_TOLERANCES` tolerances) also
   pays for falling short of the reference's turning point, in tolerances; going
   further than the reference costs nothing here (form rules judge overshoot). A
   channel's cost is the larger of its shape cost (step 3) and its depth shortfall; the
   rep's cost is the mean over observed channels.
5. `cost_to_score`: 100 / (1 + (cost / COST_HALF) ** SCORE_POWER), monotone
   decreasing: cost 0 -> 100, cost 1 (one tolerance off on average, i.e. just at the
   edge of the band) -> ~86, cost 2 -> 50, cost 4 -> ~14.

Core module: stdlib and numpy (DTW kernels through `exercises.alignment`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from exercises.alignment import dtw_align
from exercises.spec import Phase, Reference

__all__ = [
    "BAND_FRAC",
    "COST_HALF",
    "CROP_MAX",
    "QUERY_SAMPLES",
    "REFERENCE_SAMPLES",
    "SCORE_POWER",
    "RepScore",
    "cost_to_score",
    "crop_reference",
    "depth_shortfall",
    "path_cost",
    "phase_span",
    "resample_in_time",
    "score_static",
    "score_trajectory",
]

F32 = npt.NDArray[np.float32]

COST_HALF: Final[float] = 2.0
"""Cost (in tolerances) that scores 50."""
SCORE_POWER: Final[float] = 2.6
"""Steepness of the fall-off; with COST_HALF = 2, cost 1 scores ~86."""
QUERY_SAMPLES: Final[int] = 40
REFERENCE_SAMPLES: Final[int] = 40
BAND_FRAC: Final[float] = 0.25
CROP_MAX: Final[float] = 0.35
DEPTH_MIN_TOLERANCES: Final[float] = 2.0
"""Channels whose reference moves less than this many tolerances have no depth term."""
_FINE: Final[int] = 201


@dataclass(frozen=True, slots=True)
class RepScore:
    """Score 0-100, per-channel scores (channels never observed are left out), the
    raw DTW cost (in tolerances) and the span of normalised reference time the
    observation was matched to (the pace check scales the expected duration by it)."""

    score: float
    breakdown: dict[str, float]
    cost: float
    span: tuple[float, float] = (0.0, 1.0)


def cost_to_score(cost: float) -> float:
    """Monotone map from a mean normalised cost (>= 0) to a 0-100 score; NaN -> NaN."""
    if math.isnan(cost):
        return math.nan
    return float(100.0 / (1.0 + (max(cost, 0.0) / COST_HALF) ** SCORE_POWER))


def resample_in_time(
    timestamps_ms: npt.NDArray[np.int64], values: F32, n: int = QUERY_SAMPLES
) -> F32:
    """Resample a trajectory to n rows evenly spaced in time.

    Args:
        timestamps_ms: (T,) int64, increasing.
        values: (T, K) float32; NaN = not observed (bridged linearly, NaN outside the
            observed span of a channel).
        n: Output rows.

    Returns:
        (n, K) float32.
    """
    t = np.asarray(timestamps_ms, np.float64)
    out = np.full((n, values.shape[1]), np.nan, np.float32)
    if t.size == 0:
        return out
    grid = np.linspace(t[0], t[-1], n) if t.size > 1 else np.full(n, t[0])
    for k in range(values.shape[1]):
        col = values[:, k].astype(np.float64)
        ok = ~np.isnan(col)
        if not ok.any():
            continue
        inside = (grid >= t[ok][0]) & (grid <= t[ok][-1])
        out[inside, k] = np.interp(grid[inside], t[ok], col[ok])
    return out


def _fine(reference: Reference, idx: list[int]) -> tuple[npt.NDArray[np.float64], F32]:
    s = np.linspace(0.0, 1.0, _FINE)
    rows = np.stack(
        [np.interp(s, reference.t, reference.values[i]) for i in idx], axis=1
    ).astype(np.float32)
    return s, rows


def _match(rows: F32, target: F32, scale: F32, lo: int, hi: int, last: bool) -> int:
    ok = ~np.isnan(target)
    if not ok.any():
        return hi if last else lo
    d = np.abs(rows[lo : hi + 1][:, ok] - target[ok]) / scale[ok]
    cost = d.mean(axis=1)
    best = float(cost.min())
    hits = np.flatnonzero(cost <= best + 1e-9)
    return lo + int(hits[-1] if last else hits[0])


def crop_reference(
    reference: Reference,
    channels: tuple[str, ...],
    first: F32,
    last: F32,
    n: int = REFERENCE_SAMPLES,
) -> tuple[F32, tuple[float, float]]:
    """The reference cut to where it best matches the observed first and last samples.

    Args:
        reference: The template's reference.
        channels: Channels to return, in this order (each must be in the reference).
        first, last: (K,) float32 observed values at the rep's ends; NaN = unknown.
        n: Rows of the result.

    Returns:
        (n, K) float32 reference rows from the matched start to the matched end, and
        that span of normalised time (start, end).
    """
    idx = [reference.channels.index(c) for c in channels]
    scale = np.array([reference.tolerance[i] for i in idx], np.float32)
    s, rows = _fine(reference, idx)
    cut = round(CROP_MAX * (_FINE - 1))
    i0 = _match(rows, first, scale, 0, cut, last=True)
    i1 = _match(rows, last, scale, _FINE - 1 - cut, _FINE - 1, last=False)
    grid = np.linspace(s[i0], s[i1], n)
    rows_out = np.ascontiguousarray(
        np.stack([np.interp(grid, s, rows[:, k]) for k in range(len(idx))], axis=1),
        np.float32,
    )
    return rows_out, (float(s[i0]), float(s[i1]))


def phase_span(reference: Reference, phases: list[Phase]) -> tuple[float, float] | None:
    """Normalised times where the reference leaves phases[0] and, having passed
    through phases[1:-1] in order, first reaches phases[-1].

    Only conditions on the reference's own channels are judged; None when a phase has
    none, or the reference never passes through the phases in order.
    """
    if len(phases) < 2:
        return None
    s = np.linspace(0.0, 1.0, _FINE)
    cols = {
        c: np.interp(s, reference.t, reference.values[i])
        for i, c in enumerate(reference.channels)
    }

    def holds(phase: Phase) -> npt.NDArray[np.bool_] | None:
        conds = [c for c in phase.conditions if c.key in cols]
        if not conds:
            return None
        ok = np.ones(_FINE, bool)
        for c in conds:
            v = cols[c.key]
            if c.min is not None:
                ok &= v >= c.min
            if c.max is not None:
                ok &= v <= c.max
        return ok

    masks = [holds(p) for p in phases]
    if any(m is None for m in masks):
        return None
    i = 0
    first_next = -1
    for k, mask in enumerate(masks[1:], start=1):
        hits = np.flatnonzero(mask[i:])  # type: ignore[index]
        if hits.size == 0:
            return None
        i += int(hits[0])
        if k == 1:
            first_next = i
    start_hits = np.flatnonzero(masks[0][:first_next])  # type: ignore[index]
    if start_hits.size == 0:
        return None
    return float(s[start_hits[-1]]), float(s[i])


def _crop_span(
    reference: Reference, channels: tuple[str, ...], span: tuple[float, float], n: int
) -> F32:
    idx = [reference.channels.index(c) for c in channels]
    grid = np.linspace(span[0], span[1], n)
    return np.ascontiguousarray(
        np.stack(
            [np.interp(grid, reference.t, reference.values[i]) for i in idx], axis=1
        ),
        np.float32,
    )


def score_trajectory(
    reference: Reference,
    channels: tuple[str, ...],
    timestamps_ms: npt.NDArray[np.int64],
    values: F32,
    *,
    crop: bool = True,
    span: tuple[float, float] | None = None,
) -> RepScore:
    """Score one observed rep against a reference.

    Args:
        reference: The template's reference trajectory.
        channels: The channels of `values`' columns (a subset of the reference's, in
            any order; the session leaves out channels the current view cannot see).
        timestamps_ms: (T,) int64 frame times of the rep.
        values: (T, K) float32 observed channel values; NaN = not observed.
        crop: Cut the reference to the observed span (see the module docstring).
        span: Where to cut it (from `phase_span`); None = match the observed ends.

    Returns:
        `RepScore`; score NaN when no channel was observed.
    """
    if values.ndim != 2 or values.shape[1] != len(channels):
        raise ValueError(
            f"values must be (T, {len(channels)}) float32, got {values.shape}"
        )
    query = resample_in_time(timestamps_ms, values.astype(np.float32))
    idx = [reference.channels.index(c) for c in channels]
    scale = np.array([reference.tolerance[i] for i in idx], np.float32)
    if crop and span is not None:
        ref = _crop_span(reference, channels, span, REFERENCE_SAMPLES)
    elif crop:
        ref, span = crop_reference(reference, channels, query[0], query[-1])
    else:
        span = (0.0, 1.0)
        ref = np.ascontiguousarray(reference.array()[:, idx])
    if np.isnan(query).all():
        return RepScore(math.nan, {}, math.nan, span)
    al = dtw_align(np.ascontiguousarray(query), ref, band_frac=BAND_FRAC, scale=scale)
    _, per_channel = path_cost(query, ref, scale, al.path)
    per_channel = np.maximum(per_channel, depth_shortfall(query, ref, scale))
    observed = per_channel[~np.isnan(per_channel)]
    cost = float(observed.mean()) if observed.size else math.nan
    breakdown = {
        c: round(cost_to_score(float(per_channel[k])), 1)
        for k, c in enumerate(channels)
        if not math.isnan(float(per_channel[k]))
    }
    return RepScore(round(cost_to_score(cost), 1), breakdown, cost, span)


def depth_shortfall(query: F32, reference: F32, scale: F32) -> npt.NDArray[np.float64]:
    """Per channel, how far the observed extreme falls short of the reference's
    turning point, in tolerances (see the module docstring, step 4).

    Args:
        query: (T, K) float32; NaN = not observed.
        reference: (R, K) float32, the (cropped) reference.
        scale: (K,) float32 tolerances.

    Returns:
        (K,) float64 >= 0; 0 for channels that barely move in the reference, NaN for
        channels never observed.
    """
    out = np.zeros(reference.shape[1], np.float64)
    for k in range(reference.shape[1]):
        q = query[:, k].astype(np.float64)
        q = q[~np.isnan(q)]
        if q.size == 0:
            out[k] = math.nan
            continue
        r = reference[:, k].astype(np.float64)
        start = r[0]
        turn = r[int(np.argmax(np.abs(r - start)))]
        if abs(turn - start) < DEPTH_MIN_TOLERANCES * float(scale[k]):
            continue
        if turn < start:
            out[k] = max(0.0, float(q.min()) - turn) / float(scale[k])
        else:
            out[k] = max(0.0, turn - float(q.max())) / float(scale[k])
    return out


def _row_means(
    costs: npt.NDArray[np.float64], rows: npt.NDArray[np.int64], n: int
) -> float:
    """Mean over rows 0..n-1 of the mean cost of the path steps on that row (NaN
    steps skipped; rows with no valid step left out)."""
    ok = ~np.isnan(costs)
    sums = np.bincount(rows[ok], weights=costs[ok], minlength=n)
    counts = np.bincount(rows[ok], minlength=n)
    seen = counts > 0
    if not seen.any():
        return math.nan
    return float((sums[seen] / counts[seen]).mean())


def path_cost(
    query: F32, reference: F32, scale: F32, path: npt.NDArray[np.int64]
) -> tuple[float, npt.NDArray[np.float64]]:
    """Cost of an alignment path, in tolerances (see the module docstring, step 3).

    Args:
        query: (T, K) float32; NaN = not observed.
        reference: (R, K) float32.
        scale: (K,) float32 tolerances.
        path: (P, 2) int64 (query row, reference row) pairs from `dtw_align`.

    Returns:
        The overall cost and (K,) per-channel costs (NaN for a channel never observed).
    """
    q = query[path[:, 0]].astype(np.float64)
    r = reference[path[:, 1]].astype(np.float64)
    d = np.abs(q - r) / scale.astype(np.float64)  # (P, K), NaN where unobserved
    valid = ~np.isnan(d)
    with np.errstate(invalid="ignore"):
        step = np.where(
            valid.any(axis=1),
            np.nansum(d, axis=1) / np.maximum(valid.sum(axis=1), 1),
            np.nan,
        )
    t_len, r_len = query.shape[0], reference.shape[0]

    def both(costs: npt.NDArray[np.float64]) -> float:
        a = _row_means(costs, path[:, 1], r_len)
        b = _row_means(costs, path[:, 0], t_len)
        if math.isnan(a) or math.isnan(b):
            return math.nan
        return max(a, b)

    per = np.array([both(d[:, k]) for k in range(d.shape[1])], np.float64)
    return both(step), per


def score_static(
    targets: dict[str, float],
    tolerance: dict[str, float],
    values: dict[str, list[float]],
) -> RepScore:
    """Score a held position: mean |value - target| / tolerance per channel, over the
    frames in position, mapped with `cost_to_score`.

    Args:
        targets: Target value per channel.
        tolerance: Tolerance per channel (same keys).
        values: Observed values per channel (NaN entries are skipped).
    """
    per: dict[str, float] = {}
    for name, target in targets.items():
        obs = [v for v in values.get(name, []) if not math.isnan(v)]
        if obs:
            per[name] = sum(abs(v - target) for v in obs) / len(obs) / tolerance[name]
    if not per:
        return RepScore(math.nan, {}, math.nan)
    cost = sum(per.values()) / len(per)
    return RepScore(
        round(cost_to_score(cost), 1),
        {k: round(cost_to_score(c), 1) for k, c in per.items()},
        cost,
    )
