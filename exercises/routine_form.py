"""A whole performance of a flowing form scored against a routine, move by move.

    score = score_form(get_routine_draft.spec, timestamps_ms, features)
    score.score, score.sections     # 0-100 for the whole, and each move's

A flowing form (tai chi) has no rest between its moves, so the live engine's round
counters (rest -> turning point -> rest) do not apply. Here the whole performance is
aligned at once with the whole routine:

1. The routine's reference, every section's rows on the recognition channels, one
   after the other, each section stretched to `RATE_HZ` rows per second of its
   standard time (`pace_s`), so long moves weigh as much as they last.
2. The performance, resampled evenly in time to the same rate over its own length.
3. Banded DTW (`exercises.alignment.dtw_align`, each channel in its tolerance) of the
   performance against the reference from end to end: a performance done slower,
   faster or unevenly is followed; one that leaves moves out has to pass through them.
4. Each section is scored on the frames aligned with it (`exercises.scoring.
   score_trajectory` against the section's own reference on its own channels: the
   scores are the live engine's, 100 = on the reference, about 60 at one tolerance
   off). A section given fewer than `MIN_FRAMES` frames is "not seen" and scores 0.
5. The whole: the mean of the sections' scores; `tempo` is the performance's length
   over the routine's.

Core module: stdlib and numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from exercises.alignment import dtw_align
from exercises.routine import RoutineSpec
from exercises.routine_features import feature_column
from exercises.scoring import resample_in_time, score_trajectory

__all__ = [
    "BAND_FRAC",
    "MIN_FRAMES",
    "RATE_HZ",
    "FormScore",
    "SectionFormScore",
    "score_form",
]

F32 = npt.NDArray[np.float32]

RATE_HZ: Final[float] = 4.0
BAND_FRAC: Final[float] = 0.3
MIN_FRAMES: Final[int] = 3


@dataclass(frozen=True, slots=True)
class SectionFormScore:
    """One section of a form: its score (0 when not seen), the span of the
    performance aligned with it (ms) and whether it was seen."""

    section_id: str
    score: float
    start_ms: int
    end_ms: int
    seen: bool


@dataclass(frozen=True, slots=True)
class FormScore:
    """A performance against a routine: the whole score (mean of the sections'),
    each section's, the alignment's mean cost (tolerances per step) and the tempo
    (the performance's duration over the routine's standard one)."""

    score: float
    sections: tuple[SectionFormScore, ...]
    cost: float
    tempo: float


def _reference(
    routine: RoutineSpec, channels: tuple[str, ...]
) -> tuple[F32, F32, list[int]]:
    """The routine's rows on `channels`, its per-row tolerances (R, K) and the
    section index of each row."""
    rows, tols, owner = [], [], []
    for i, s in enumerate(routine.sections):
        n = max(MIN_FRAMES, round(s.pace_s * RATE_HZ))
        values = s.values(channels)
        grid = np.linspace(0.0, 1.0, n)
        t = np.asarray(s.reference.t, np.float64)
        rows.append(
            np.stack(
                [np.interp(grid, t, values[:, k]) for k in range(len(channels))], 1
            )
        )
        tols.append(np.tile(s.tolerance(channels), (n, 1)))
        owner += [i] * n
    ref = np.ascontiguousarray(np.concatenate(rows), np.float32)
    return ref, np.ascontiguousarray(np.concatenate(tols), np.float32), owner


def score_form(
    routine: RoutineSpec,
    timestamps_ms: npt.NDArray[np.int64],
    features: F32,
) -> FormScore:
    """Score a whole performance against a routine (module docstring).

    Args:
        routine: The form.
        timestamps_ms: (T,) int64, increasing.
        features: (T, F) float32, every routine feature per frame
            (`exercises.routine_authoring.form_features`); NaN = not seen.

    Returns:
        `FormScore`; a performance with nobody seen scores 0 in every section.

    Raises:
        ValueError: shapes that do not match.
    """
    ts = np.asarray(timestamps_ms, np.int64)
    if features.ndim != 2 or len(features) != len(ts) or len(ts) < 2:
        raise ValueError(
            f"expected (T, F) features with T = len(timestamps) >= 2, got "
            f"{features.shape} and {ts.shape}"
        )
    channels = routine.recognition
    cols = [feature_column(c) for c in channels]
    ref, scale, owner = _reference(routine, channels)
    duration_s = (ts[-1] - ts[0]) / 1000.0
    standard_s = sum(s.pace_s for s in routine.sections)
    n = max(MIN_FRAMES, round(duration_s * RATE_HZ))
    grid_ms = np.linspace(ts[0], ts[-1], n)
    query = resample_in_time(ts, np.ascontiguousarray(features[:, cols]), n)
    empty = np.isnan(query).all()
    al = None if empty else dtw_align(query, ref, band_frac=BAND_FRAC, scale=scale)
    out = []
    for i, s in enumerate(routine.sections):
        steps = [] if al is None else [q for q, r in al.path if owner[r] == i]
        frames = sorted(set(steps))
        if len(frames) < MIN_FRAMES:
            at = int(grid_ms[frames[0]]) if frames else int(ts[0])
            out.append(SectionFormScore(s.id, 0.0, at, at, False))
            continue
        lo, hi = grid_ms[frames[0]], grid_ms[frames[-1]]
        inside = (ts >= lo) & (ts <= hi)
        scols = [feature_column(c) for c in s.channels]
        values = np.ascontiguousarray(features[inside][:, scols])
        rs = score_trajectory(s.reference, s.channels, ts[inside], values, crop=False)
        score = 0.0 if math.isnan(rs.score) else float(rs.score)
        out.append(
            SectionFormScore(s.id, score, int(lo), int(hi), not math.isnan(rs.score))
        )
    whole = round(float(np.mean([x.score for x in out])), 1)
    cost = math.nan if al is None else float(al.cost)
    return FormScore(whole, tuple(out), cost, round(duration_s / standard_s, 3))
