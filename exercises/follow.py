"""Follow the instructor: how well each participant keeps up (an in-step score 0-100
and the lag behind the instructor), their repetitions (template-free) and what they
fall short in (a sans-I/O part of `exercises.group.GroupSession`).

    scorer = FollowScorer(options, skeleton, elder_mode=True)
    angles = scorer.frame(poses, instructor_track_id, timestamp_ms)   # every frame
    scorer.feed(state, frame, angles[i], timestamp_ms, events)         # per follower

Each participant's joint angles over the last `follow_window_s` are compared with the
instructor's angles over the same span delayed by every lag from 0 to `max_lag_s` (a
participant copies what they saw a moment ago), by banded DTW
(`exercises.alignment.dtw_costs_batch`: the band lets each side speed up and slow down
a little within the window; the lag search covers the reaction delay). Left and right
may be mirrored (people facing the instructor copy the mirror image). The best lag's
cost (mean angle difference in tolerances) maps to 0-100 (`in_step_score`) and is
smoothed over `score_smoothing_s`. Angles the instructor barely moves count less, so
standing still while the instructor raises the arms does not score as in step on the
legs. Angles are measured on isotropic coordinates (`vision.geometry.isotropic`).

Events: `InStepScored` every `score_interval_ms` per participant, `FollowRepCounted`
per repetition of the participant's rep counter (`exercises.rep_counter`, template
free). The instructor's movement gives the period: the instructor has a counter of
their own, and a participant's counter counts only at periods near the one the
instructor's has trusted (so a joint moving twice per repetition, the wrists of arms
raised overhead, cannot be counted as two; until the instructor's period is known a
participant's repetitions wait, then those already done are counted at once). Faults
("arms_higher", "straighten_arms", "bend_knees", "follow_along") go to the
participant's state for the group cues.

Core module: stdlib, numpy, vision.{types,geometry} and exercises.*; no I/O.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

from exercises.alignment import dtw_costs_batch
from exercises.counting import StreamingRepCounter
from exercises.events import Event
from exercises.roster import ParticipantState
from vision.geometry import angle_triples, isotropic, joint_angles_array
from vision.types import PoseFrame, Poses, Skeleton

if TYPE_CHECKING:
    from exercises.group import GroupOptions

__all__ = [
    "COUNTER_RATE_SPAN_MS",
    "FOLLOW_ANGLES",
    "SCORE_EVERY_MS",
    "FollowRepCounted",
    "FollowScorer",
    "InStepScored",
    "in_step_score",
]

F32 = npt.NDArray[np.float32]

FOLLOW_ANGLES: Final[tuple[tuple[str, tuple[str, str, str]], ...]] = (
    ("left_elbow", ("left_shoulder", "left_elbow", "left_wrist")),
    ("right_elbow", ("right_shoulder", "right_elbow", "right_wrist")),
    ("left_shoulder", ("left_hip", "left_shoulder", "left_elbow")),
    ("right_shoulder", ("right_hip", "right_shoulder", "right_elbow")),
    ("left_hip", ("left_shoulder", "left_hip", "left_knee")),
    ("right_hip", ("right_shoulder", "right_hip", "right_knee")),
    ("left_knee", ("left_hip", "left_knee", "left_ankle")),
    ("right_knee", ("right_hip", "right_knee", "right_ankle")),
)
"""Angles compared in follow mode, (name, (joint, vertex, joint)); left/right pairs
adjacent so a mirror image is a column swap."""
_MIRROR: Final[npt.NDArray[np.int64]] = np.array([1, 0, 3, 2, 5, 4, 7, 6], np.int64)
_SHOULDERS: Final[tuple[int, int]] = (2, 3)
_ELBOWS: Final[tuple[int, int]] = (0, 1)
_KNEES: Final[tuple[int, int]] = (6, 7)

# Follow-mode fault thresholds (degrees): a participant is off when, at the moments the
# instructor does it, their angle differs this much on average after lag alignment.
_ARM_RAISED_DEG = 70.0  # instructor's shoulder angle counts as "arms up" above this
_ARM_SHORT_DEG = 20.0  # participant's shoulder this much lower: "arms higher"
_ARM_STRAIGHT_DEG = 150.0  # instructor's elbow counts as straight above this
_ELBOW_BENT_DEG = 30.0  # participant's elbow this much more bent: "straighten arms"
_KNEE_BENT_DEG = 150.0  # instructor's knee counts as bent below this
_KNEE_STIFF_DEG = 20.0  # participant's knee this much straighter: "bend knees"
_LOST_STEP_SCORE = 40.0  # a smoothed in-step score below this: "follow along"
COUNTER_RATE_SPAN_MS: Final[int] = 1000
"""A follower's rep counter is built once the session has this much footage, with
periods scaled from the frame rate measured over it."""
SCORE_EVERY_MS: Final[int] = 200
"""A participant's alignment is recomputed this often (the score is smoothed anyway)."""


@dataclass(frozen=True, slots=True)
class InStepScored(Event):
    """Follow mode: how well a participant keeps up with the instructor.

    Attributes:
        track_id: Whose.
        score: 0-100, smoothed; 100 = the instructor's movement, in time.
        lag_ms: How far behind the instructor they move (the best-matching delay).
    """

    track_id: int
    score: float
    lag_ms: int


@dataclass(frozen=True, slots=True)
class FollowRepCounted(Event):
    """Follow mode: a participant completed a repetition (template-free counter)."""

    track_id: int
    count: int
    in_step: float | None


@dataclass(slots=True)
class _Follower:
    angles: deque[tuple[int, F32]]  # (frame index, (K,) degrees)
    counter: StreamingRepCounter | None  # built once the frame rate is known
    early: list[PoseFrame] = field(default_factory=list)  # frames before that
    last_scored_ms: int | None = None
    last_emitted_ms: int | None = None
    raw_score: float | None = None


def in_step_score(cost: float, half_cost: float = 1.0) -> float:
    """Map a mean DTW cost (in tolerances) to 0-100: 100 at 0, 50 at `half_cost`.

    100 * 2^-(cost / half_cost)^2; NaN (nothing to compare) stays NaN.
    """
    if math.isnan(cost):
        return math.nan
    return float(100.0 * 2.0 ** (-((cost / half_cost) ** 2)))


class FollowScorer:
    """Follow-mode scoring of every participant (see the module docstring).

    Args:
        options: The group session's options (the follow ones).
        skeleton: Joint layout of the poses.
        elder_mode: A longer lag and a wider tolerance.
    """

    def __init__(
        self, options: GroupOptions, skeleton: Skeleton, *, elder_mode: bool
    ) -> None:
        o = self.options = options
        self.skeleton = skeleton
        self._triples = angle_triples(skeleton, [t for _, t in FOLLOW_ANGLES])
        self._tolerance = o.elder_tolerance_deg if elder_mode else o.tolerance_deg
        self._max_lag_s = o.elder_max_lag_s if elder_mode else o.max_lag_s
        self._followers: dict[int, _Follower] = {}
        self._instructor_angles: dict[int, F32] = {}
        self._frame_ts: deque[int] = deque()
        self._frame_index = -1
        self._lead = _Follower(deque(), None)  # the instructor's rep counter

    def frame(self, poses: Poses, instructor: int | None, timestamp_ms: int) -> F32:
        """Take one frame: every person's (N, K) angles in degrees, the instructor's
        kept for the comparison."""
        self._frame_index += 1
        self._frame_ts.append(timestamp_ms)
        self._trim_frames()
        square = isotropic(poses)
        angles = joint_angles_array(square.xyz, square.visibility, self._triples)
        ids = poses.track_ids.tolist()
        if instructor in ids:
            self._instructor_angles[self._frame_index] = angles[ids.index(instructor)]
            self._count(self._lead, poses[ids.index(instructor)], led=False)
        self._trim_instructor()
        return angles

    @property
    def instructor_reps(self) -> int:
        """The instructor's repetitions (with the current instructor)."""
        return 0 if self._lead.counter is None else self._lead.counter.count

    def instructor_changed(self) -> None:
        """Another person leads: the previous instructor's movement no longer
        counts."""
        self._instructor_angles.clear()
        self._lead = _Follower(deque(), None)

    def join(self, track_id: int) -> None:
        self._followers[track_id] = _Follower(deque(), None)

    def drop(self, track_id: int) -> None:
        self._followers.pop(track_id, None)

    def _frames_per_s(self) -> float:
        if len(self._frame_ts) < 2:
            return 30.0
        span = self._frame_ts[-1] - self._frame_ts[0]
        return 1000.0 * (len(self._frame_ts) - 1) / span if span > 0 else 30.0

    def _trim_frames(self) -> None:
        keep_ms = 1000.0 * (self.options.follow_window_s + self._max_lag_s + 1.0)
        while (
            len(self._frame_ts) > 2 and self._frame_ts[-1] - self._frame_ts[0] > keep_ms
        ):
            self._frame_ts.popleft()

    def _trim_instructor(self) -> None:
        oldest = self._frame_index - len(self._frame_ts) + 1
        for k in [k for k in self._instructor_angles if k < oldest]:
            del self._instructor_angles[k]

    def feed(
        self,
        state: ParticipantState,
        frame: PoseFrame,
        angles: F32,
        ts: int,
        events: list[Event],
    ) -> None:
        """One follower's frame (`angles`: their row of `frame`'s result); updates
        their state and appends this frame's `FollowRepCounted`/`InStepScored`."""
        f = self._followers[state.track_id]
        f.angles.append((self._frame_index, angles))
        oldest = self._frame_index - len(self._frame_ts) + 1
        while f.angles and f.angles[0][0] < oldest:
            f.angles.popleft()
        if self._count(f, frame):
            assert f.counter is not None
            # The counter may confirm several repetitions at once (it needs two
            # cycles to see a period): one event per repetition.
            for count in range(state.reps + 1, f.counter.count + 1):
                events.append(
                    FollowRepCounted(ts, state.track_id, count, _round(state.in_step))
                )
            state.reps = f.counter.count
        o = self.options
        step_ms = 1000.0 / max(self._frames_per_s(), 1e-6)
        previous = f.last_scored_ms
        if previous is not None and ts - previous < SCORE_EVERY_MS - step_ms / 2:
            return
        f.last_scored_ms = ts
        result = self._compare(f)
        if result is None:
            return
        cost, lag_frames, diffs = result
        score = in_step_score(cost, o.score_half_cost)
        if math.isnan(score):
            return
        # Smoothed over time (exponential, time constant score_smoothing_s).
        if state.in_step is None or previous is None:
            state.in_step = score
        else:
            a = 1.0 - math.exp(-((ts - previous) / 1000.0) / o.score_smoothing_s)
            state.in_step = (1 - a) * state.in_step + a * score
        f.raw_score = score
        state.in_step_total += score
        state.in_step_count += 1
        state.lag_ms = round(lag_frames * step_ms)
        self._follow_faults(state, diffs, ts)
        last = f.last_emitted_ms
        if last is None or ts - last >= o.score_interval_ms - step_ms / 2:
            f.last_emitted_ms = ts
            events.append(
                InStepScored(ts, state.track_id, round(state.in_step, 1), state.lag_ms)
            )

    def _count(self, f: _Follower, frame: PoseFrame, *, led: bool = True) -> bool:
        """Push `frame` to a rep counter (a participant's: `led` by the instructor's
        period); True if a rep completed.

        The template-free counter measures time in frames, and a live group screen on
        a CPU sees 4-10 frames a second, not 30: its frame-based periods are set from
        the frame rate measured over the first `COUNTER_RATE_SPAN_MS` of the session
        (frames until then are kept and pushed when the counter is built).
        """
        if f.counter is None:
            f.early.append(frame)
            span = self._frame_ts[-1] - self._frame_ts[0] if self._frame_ts else 0
            if span < COUNTER_RATE_SPAN_MS:
                return False
            f.counter = StreamingRepCounter.for_frame_rate(
                self._frames_per_s(),
                self.skeleton,
                window_frames=self.options.counter_window_frames,
                led=led,
            )
            frames, f.early = f.early, []
        else:
            frames = [frame]
        if led and self._lead.counter is not None:
            f.counter.follow(self._lead.counter)
        done = False
        for e in frames:
            done = f.counter.push(e) or done
        return done

    def _compare(self, f: _Follower) -> tuple[float, int, dict[str, float]] | None:
        """Best lag's cost, the lag (frames) and signed fault measures, or None."""
        o = self.options
        fps = self._frames_per_s()
        w = max(4, round(o.follow_window_s * fps))
        if len(f.angles) < w:
            return None
        end = self._frame_index
        mine = np.stack([a for _, a in list(f.angles)[-w:]])
        valid = ~np.isnan(mine).all(axis=1)
        if valid.mean() < o.min_valid_fraction:
            return None
        max_lag = round(self._max_lag_s * fps)
        if (
            self._frame_index - min(self._instructor_angles, default=end)
            < w + max_lag - 1
        ):
            return None  # not yet the whole lag range of the instructor to compare with
        step = max(1, round(o.lag_step_s * fps))
        lags = [lag for lag in range(0, max_lag + 1, step)]
        queries = np.full((len(lags), w, mine.shape[1]), np.nan, np.float32)
        usable = []
        for b, lag in enumerate(lags):
            rows = [
                self._instructor_angles.get(end - lag - w + 1 + k) for k in range(w)
            ]
            present = [r is not None for r in rows]
            if sum(present) < o.min_valid_fraction * w:
                continue
            usable.append(b)
            for k, r in enumerate(rows):
                if r is not None:
                    queries[b, k] = r
        if not usable:
            return None
        queries = np.ascontiguousarray(queries[usable])
        lag_frames = [lags[b] for b in usable]
        # The movement is compared on the angles the instructor moves (aligned by
        # DTW, plus their range of motion); the angles the instructor holds still
        # are compared directly (no timing to align), their mean difference adding
        # `static_weight` times as much. So the score does not depend on how many
        # angles happen to be still.
        seen = ~np.isnan(queries)
        top = np.where(seen, queries, -np.inf).max(axis=(0, 1))
        bottom = np.where(seen, queries, np.inf).min(axis=(0, 1))
        active = seen.any(axis=(0, 1)) & (top - bottom >= o.static_range_deg)
        lengths = np.full(len(usable), w, np.int64)
        best_cost, best_b, best_ref = math.inf, 0, mine
        for ref in (mine, mine[:, _MIRROR]):
            cost, b = self._lag_costs(queries, lengths, ref, active)
            if cost < best_cost:
                best_cost, best_b, best_ref = cost, b, ref
        if not math.isfinite(best_cost):
            return None
        return best_cost, lag_frames[best_b], _fault_measures(queries[best_b], best_ref)

    def _lag_costs(
        self,
        queries: F32,
        lengths: npt.NDArray[np.int64],
        ref: F32,
        active: npt.NDArray[np.bool_],
    ) -> tuple[float, int]:
        """Combined cost of the best lag and its index (inf when nothing compares)."""
        o = self.options
        tol = self._tolerance
        n_active = int(active.sum())
        static_w = o.static_weight
        if n_active:
            q = np.ascontiguousarray(queries[:, :, active])
            r = np.ascontiguousarray(ref[:, active], np.float32)
            if np.isnan(r).all():
                return math.inf, 0
            costs = dtw_costs_batch(
                q,
                lengths,
                r,
                band_frac=o.band_frac,
                scale=np.full(n_active, tol, np.float32),
            ).astype(np.float64)
            # DTW (and the choice of lag) can pair a still participant with the quiet
            # part of the instructor's window; the range of motion cannot be warped
            # away. Covering at least `rom_min_coverage` of the instructor's range
            # costs nothing here (smaller movements already cost in the DTW term);
            # less costs up to `rom_weight` (none at all).
            coverage = _spread(r[None]) / np.maximum(_spread(q), tol)  # (B, A)
            short = np.clip(1.0 - coverage / o.rom_min_coverage, 0.0, 1.0)
            costs = costs + o.rom_weight * np.nan_to_num(_nanmean_axis(short, axis=1))
        else:  # the instructor holds a pose: compare the pose itself
            costs = np.zeros(queries.shape[0])
            static_w = 1.0
        static = ~active
        held_cost = np.zeros(queries.shape[0])
        if static.any():
            held = _nanmean_axis(queries[:, :, static], axis=1)  # (B, S) held angle
            mine = ref[:, static].astype(np.float64)  # (W, S)
            diff = np.abs(mine[None] - held[:, None]) / tol  # (B, W, S)
            held_cost = np.nan_to_num(
                _nanmean_axis(_nanmean_axis(diff, axis=1), axis=1)
            )
        combined = costs + static_w * held_cost
        combined = np.where(np.isnan(combined), np.inf, combined)
        b = int(np.argmin(combined))
        return float(combined[b]), b

    def _follow_faults(
        self, state: ParticipantState, diffs: dict[str, float], ts: int
    ) -> None:
        if diffs.get("arm_shortfall", 0.0) > _ARM_SHORT_DEG:
            state.note_fault("arms_higher", ts)
        if diffs.get("elbow_bend", 0.0) > _ELBOW_BENT_DEG:
            state.note_fault("straighten_arms", ts)
        if diffs.get("knee_stiffness", 0.0) > _KNEE_STIFF_DEG:
            state.note_fault("bend_knees", ts)
        if state.in_step is not None and state.in_step < _LOST_STEP_SCORE:
            state.note_fault("follow_along", ts)


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)


def _pair_mean(a: F32, cols: tuple[int, int]) -> npt.NDArray[np.float64]:
    """Mean of two columns per row ignoring NaN (NaN when both are)."""
    x = a[:, list(cols)].astype(np.float64)
    n = (~np.isnan(x)).sum(axis=1)
    total = np.nansum(x, axis=1)
    return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def _spread(x: F32) -> npt.NDArray[np.float64]:
    """(B, T, K) -> (B, K): 5th to 95th percentile over time, NaN ignored (NaN when
    fewer than 3 samples)."""
    a = np.sort(np.asarray(x, np.float64), axis=1)  # NaN sort last
    n = (~np.isnan(a)).sum(axis=1)  # (B, K)
    lo_i = np.clip(np.floor(0.05 * (n - 1)).astype(np.int64), 0, None)
    hi_i = np.clip(np.ceil(0.95 * (n - 1)).astype(np.int64), 0, None)
    lo = np.take_along_axis(a, lo_i[:, None, :], axis=1)[:, 0]
    hi = np.take_along_axis(a, hi_i[:, None, :], axis=1)[:, 0]
    return np.where(n >= 3, hi - lo, np.nan)


def _nanmean_axis(x: npt.ArrayLike, axis: int) -> npt.NDArray[np.float64]:
    """nanmean without the all-NaN warning (NaN where nothing was observed)."""
    a = np.asarray(x, np.float64)
    n = (~np.isnan(a)).sum(axis=axis)
    total = np.nansum(a, axis=axis)
    return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def _mean_where(values: npt.NDArray[np.float64], mask: npt.NDArray[np.bool_]) -> float:
    v = values[mask & ~np.isnan(values)]
    return float(v.mean()) if v.size >= 3 else math.nan


def _fault_measures(instructor: F32, participant: F32) -> dict[str, float]:
    """Signed differences at the moments the instructor does something (degrees,
    positive = the participant falls short), frame-aligned at the chosen lag."""
    i_sh, p_sh = _pair_mean(instructor, _SHOULDERS), _pair_mean(participant, _SHOULDERS)
    i_el, p_el = _pair_mean(instructor, _ELBOWS), _pair_mean(participant, _ELBOWS)
    i_kn, p_kn = _pair_mean(instructor, _KNEES), _pair_mean(participant, _KNEES)
    with np.errstate(invalid="ignore"):
        out = {
            "arm_shortfall": _mean_where(i_sh - p_sh, i_sh > _ARM_RAISED_DEG),
            "elbow_bend": _mean_where(i_el - p_el, i_el > _ARM_STRAIGHT_DEG),
            "knee_stiffness": _mean_where(p_kn - i_kn, i_kn < _KNEE_BENT_DEG),
        }
    return {k: v for k, v in out.items() if not math.isnan(v)}
