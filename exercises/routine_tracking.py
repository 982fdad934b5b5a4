"""Following a routine from the pose: per-section round counters, the section
classifier and a short feature history. The session (`exercises.routine_session`)
puts them together.

- `RoundCounter`: how far the person is from a section's rest pose toward its turning
  pose (a projection on the section's channels, in tolerances), with hysteresis: a
  round is rest -> turning pose -> rest. Where the section is done to a side, both
  sides are followed and the nearer one wins. Each finished round is a `Candidate`
  with its span, turning point (the middle of the stretch held near the extreme) and
  side.
- `SectionClassifier`: which section a candidate's movement was, by DTW
  (`exercises.alignment.dtw_align`) of its recognition channels against every
  section's reference round (both sides), in tolerances per step.

Core module: stdlib and numpy.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from exercises.alignment import dtw_align, resample
from exercises.routine import RoutineSpec, Section
from exercises.routine_features import FEATURE_NAMES, feature_column
from exercises.spec import Reference

__all__ = [
    "BAND_FRAC",
    "HELD_MS",
    "HIGH",
    "LOW",
    "MAX_PEAK",
    "MAX_RESIDUAL",
    "PLATEAU",
    "QUERY_SAMPLES",
    "REST_DWELL_MS",
    "Candidate",
    "Evidence",
    "FeatureHistory",
    "RoundCounter",
    "SectionClassifier",
    "best_runs",
    "mirrored_reference",
]

F32 = npt.NDArray[np.float32]

HIGH: Final[float] = 0.6
"""Progress (0 at rest, 1 at the standard's turning pose) that reaches the turn."""
LOW: Final[float] = 0.3
"""Progress back at rest; the gap to HIGH is the counter's hysteresis."""
MAX_RESIDUAL: Final[float] = 1.5
"""A pose counts as at the turn only within this many tolerances (root mean square
over the channels) of the line from the rest pose to the turning pose: a pose far to
the side of that line is another movement, whatever its projection."""
MAX_PEAK: Final[float] = 3.0
"""Progress beyond this (three times as far as the standard goes) is another movement
(standing up from a squat is not a heel raise): going on past it ends a round that
reached its turning point, like coming back to rest does (the preparation ends
holding the ball and flows into section 1's lift)."""
HELD_MS: Final[int] = 1000
"""A round that ends by going on past its turn must have stayed at it this long."""
PLATEAU: Final[float] = 0.1
"""The turning point is the middle of the stretch within this of the round's peak
progress (a held pose has a flat top; its middle is the hold's middle)."""
REST_DWELL_MS: Final[int] = 400
"""A round ends once progress stays at rest this long (a brief dip at the turn, like
the wrist circle of a punch, does not split it)."""
QUERY_SAMPLES: Final[int] = 40
BAND_FRAC: Final[float] = 0.3


@dataclass(frozen=True, slots=True)
class Candidate:
    """A round one counter saw: frames `start_frame`..`end_frame` (the history's
    frame numbers), the turning point's time and frame, the side (None for symmetric
    sections) and the peak progress."""

    section: int
    start_frame: int
    end_frame: int
    start_ms: int
    end_ms: int
    turning_ms: int
    turning_frame: int
    side: str | None
    peak: float


def mirrored_reference(reference: Reference, mirror: F32) -> Reference:
    """The reference done to the other side: `mirror` is its values mirrored,
    (R, F) float32 (`exercises.routine_features.mirror_features`)."""
    values = tuple(
        tuple(float(v) for v in mirror[:, k]) for k in range(mirror.shape[1])
    )
    return Reference(reference.t, reference.channels, values, reference.tolerance)


@dataclass(frozen=True, slots=True)
class Evidence:
    """A round of a later section waiting for the routine to move there: the
    candidate, its frames' times and features, and its reward (MAX_ROUND_COST - cost,
    set by the session)."""

    candidate: Candidate
    timestamps_ms: npt.NDArray[np.int64]
    features: F32
    reward: float


def best_runs(
    pending: Sequence[Evidence], overlap: float
) -> dict[int, tuple[float, list[Evidence]]]:
    """Per final section, the best run of `pending` rounds in routine order (sections
    never going back, no two rounds overlapping by more than `overlap` of the
    shorter): its summed reward and its rounds, by dynamic programming over the rounds
    in order of their ends."""
    rounds = sorted(pending, key=lambda e: e.candidate.end_ms)
    score: list[float] = []
    back: list[int] = []
    for i, e in enumerate(rounds):
        c = e.candidate
        prev, arg = 0.0, -1
        for j in range(i):
            q = rounds[j].candidate
            shared = q.end_ms - c.start_ms
            shorter = min(q.end_ms - q.start_ms, c.end_ms - c.start_ms)
            if (
                q.section <= c.section
                and shared <= overlap * shorter
                and score[j] > prev
            ):
                prev, arg = score[j], j
        score.append(e.reward + prev)
        back.append(arg)
    out: dict[int, tuple[float, list[Evidence]]] = {}
    for i, e in enumerate(rounds):
        s = e.candidate.section
        if s in out and out[s][0] >= score[i]:
            continue
        run, k = [], i
        while k >= 0:
            run.append(rounds[k])
            k = back[k]
        out[s] = (score[i], run[::-1])
    return out


class FeatureHistory:
    """The last `span_ms` of feature vectors, addressed by frame number."""

    def __init__(self, span_ms: int) -> None:
        self.span_ms = span_ms
        self._rows: deque[tuple[int, int, F32]] = deque()
        self.frame = -1

    def add(self, timestamp_ms: int, features: F32) -> int:
        """Store one frame; returns its frame number."""
        self.frame += 1
        self._rows.append((self.frame, timestamp_ms, features))
        while self._rows and self._rows[0][1] < timestamp_ms - self.span_ms:
            self._rows.popleft()
        return self.frame

    def window(self, first: int, last: int) -> tuple[npt.NDArray[np.int64], F32]:
        """Timestamps (T,) int64 and features (T, F) float32 of frames first..last
        that are still held (T may be 0)."""
        rows = [r for r in self._rows if first <= r[0] <= last]
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, len(FEATURE_NAMES)), np.float32)
        ts = np.array([r[1] for r in rows], np.int64)
        return ts, np.stack([r[2] for r in rows]).astype(np.float32)

    def clear(self) -> None:
        self._rows.clear()


class RoundCounter:
    """Rounds of one section from its rest and turning poses (see the module
    docstring). `update` returns a `Candidate` when a round ends."""

    def __init__(
        self, section: Section, index: int, *, high: float = HIGH, low: float = LOW
    ) -> None:
        if not 0.0 < low < high:
            raise ValueError(f"expected 0 < low < high, got low {low}, high {high}")
        self.section = section
        self.index = index
        self.high, self.low = high, low
        cols = [feature_column(c) for c in section.channels]
        self._cols = np.array(cols, np.int64)
        tol = section.tolerance(section.channels).astype(np.float64)
        self._weight = 1.0 / tol**2
        turning = section.turning_features()
        self._turning = np.array([c in turning for c in section.channels], bool)
        turn_row = round(section.turn_t * (len(section.reference.t) - 1))
        sides = [False] if section.sides == "none" else [False, True]
        self._axes: list[tuple[np.ndarray, np.ndarray, float]] = []
        for mirrored in sides:
            rows = section.values(section.channels, mirrored=mirrored).astype(
                np.float64
            )
            rest, turn = rows[0], rows[turn_row]
            d = turn - rest
            self._axes.append((rest, d, float(np.sum(d * d * self._weight))))
        self.reset()

    def reset(self) -> None:
        """Forget the round under way (after a pause or a long absence)."""
        self._waiting = True  # until the person is first seen at rest
        self._in_turn = False
        self._start: tuple[int, int] = (-1, 0)
        self._peak: list[tuple[int, int, float, int, float]] = []
        self._low_since: tuple[int, int] | None = None
        self.progress = math.nan
        self.side: str | None = None

    def _project(self, x: np.ndarray, k: int, mask: np.ndarray) -> float:
        rest, d, _ = self._axes[k]
        den = float(np.sum((d * d * self._weight)[mask]))
        if den <= 0.0:
            return math.nan
        return float(np.sum(((x - rest) * d * self._weight)[mask])) / den

    def _progress(self, features: F32) -> tuple[float, int, float, float]:
        """Progress toward the turning pose, the side (row of `_axes`), the residual
        off the rest-turn line (RMS tolerances) and the progress on the turning
        channels alone."""
        x = features[self._cols].astype(np.float64)
        ok = ~np.isnan(x)
        best, best_side, best_res = math.nan, 0, math.nan
        for k, (rest, d, _) in enumerate(self._axes):
            p = self._project(x, k, ok)
            if not math.isnan(p) and (math.isnan(best) or p > best):
                off = (x - rest - p * d)[ok] * np.sqrt(self._weight[ok])
                best, best_side, best_res = p, k, float(np.sqrt(np.mean(off * off)))
        turning = self._project(x, best_side, ok & self._turning)
        return best, best_side, best_res, turning

    def seen_turn(self, min_ms: int) -> bool:
        """Past the turning point for at least `min_ms` and already coming back from
        it (the extreme was seen whole, though the round has not ended)."""
        if not self._in_turn or not self._peak:
            return False
        top = max(r[2] for r in self._peak)
        held = self._peak[-1][1] - self._peak[0][1]
        return held >= min_ms and self._peak[-1][2] <= top - PLATEAU

    @property
    def in_turn(self) -> bool:
        """Past the turning pose and not yet back at rest."""
        return self._in_turn

    def _side_name(self, k: int) -> str | None:
        if self.section.sides == "none":
            return None
        return "right" if k == 1 else "left"

    def update(self, frame: int, timestamp_ms: int, features: F32) -> Candidate | None:
        """Feed one frame's features (F,) float32; a `Candidate` when a round ends."""
        p, k, residual, turning = self._progress(features)
        self.progress = p
        if math.isnan(p):
            return None
        if self._waiting:
            if p <= self.low:
                self._waiting = False
                self._start = (frame, timestamp_ms)
            return None
        if not self._in_turn:
            if p >= self.high and residual <= MAX_RESIDUAL:
                self._in_turn = True
                self._peak = [(frame, timestamp_ms, p, k, turning)]
                self.side = self._side_name(k)
            elif p <= self.low:
                self._start = (frame, timestamp_ms)
            return None
        at_rest = p <= self.low
        if not (at_rest or p > MAX_PEAK):
            self._low_since = None
            self._peak.append((frame, timestamp_ms, p, k, turning))
            return None
        if self._low_since is None:
            self._low_since = (frame, timestamp_ms)
        if timestamp_ms - self._low_since[1] < REST_DWELL_MS:
            return None
        if not at_rest:
            # it went on to another movement: the climb past the turn is not part of
            # this round's turning point, and the next round starts from rest again
            while len(self._peak) > 1 and self._peak[-1][2] > 1.0 + PLATEAU:
                self._peak.pop()
            self._waiting = True
            if self._peak[-1][1] - self._peak[0][1] < HELD_MS:
                # passing through on the way to something else is no round
                self._in_turn = False
                self._low_since = None
                self._peak = []
                return None
        return self.close(*self._low_since)

    def close(self, frame: int, timestamp_ms: int) -> Candidate | None:
        """End the round under way here (back at rest, or the person moved on past
        its turning point); None when no turning point was reached."""
        if not self._in_turn:
            return None
        top = max(self._peak, key=lambda r: r[2])
        peak = top[2]
        self._in_turn = False
        self._low_since = None
        side = [r for r in self._peak if r[3] == top[3] and not math.isnan(r[4])]
        top_turn = max(r[4] for r in side) if side else math.nan
        near = [r for r in side if r[4] >= top_turn - PLATEAU] or [top]
        turning_ms = (near[0][1] + near[-1][1]) // 2
        turning_frame = min(near, key=lambda r: abs(r[1] - turning_ms))[0]
        cand = Candidate(
            section=self.index,
            start_frame=self._start[0],
            end_frame=frame,
            start_ms=self._start[1],
            end_ms=timestamp_ms,
            turning_ms=int(turning_ms),
            turning_frame=int(turning_frame),
            side=self._side_name(top[3]),
            peak=float(peak),
        )
        self._peak = []
        self._start = (frame, timestamp_ms)
        return cand


class SectionClassifier:
    """DTW cost of a movement against every section's reference round on the
    routine's recognition channels (both sides of sided sections)."""

    def __init__(self, routine: RoutineSpec) -> None:
        self.channels = routine.recognition
        self._cols = np.array([feature_column(c) for c in self.channels], np.int64)
        self._refs: list[list[tuple[F32, F32]]] = []
        for section in routine.sections:
            scale = section.tolerance(self.channels)
            sides = [False] if section.sides == "none" else [False, True]
            self._refs.append(
                [(section.values(self.channels, mirrored=m), scale) for m in sides]
            )

    def costs(self, features: F32) -> F32:
        """(S,) float32 mean cost per step (in tolerances) of `features`, (T, F)
        float32, against each section; NaN where nothing was observed."""
        out = np.full(len(self._refs), np.nan, np.float32)
        if len(features) < 2:
            return out
        query = resample(np.ascontiguousarray(features[:, self._cols]), QUERY_SAMPLES)
        if np.isnan(query).all():
            return out
        for s, refs in enumerate(self._refs):
            costs = [
                dtw_align(query, ref, band_frac=BAND_FRAC, scale=scale).cost
                for ref, scale in refs
            ]
            out[s] = np.nanmin(costs) if not np.isnan(costs).all() else np.nan
        return out
