"""The rep counter: one method for any exercise, with or without a template, live or
over a recording (the same frames give the same count either way).

    counter = RepCounter.for_template(get_spec("squat"))     # or RepCounter() for any
    reps = counter.push(frame, channels)   # -> list[CountedRep], usually empty
    reps += counter.finish()               # the set is over
    count_repetitions(window, spec=...)    # the same, over a whole recording

How a repetition is counted:

1. What to count (`exercises.periodicity.choose_signal`, rerun every `refit_s`, every
   4 `refit_s` once confirmed, on the last `window_s` of frames): the channel a
   template names (its rest end known), or the most periodic of the body's principal
   movements and joint angles; its period comes from its own autocorrelation. With a
   template, another signal may stand in for its channel only when it moves with it
   at its period. A choice is trusted once the window holds `adopt_periods` periods
   and refits agree on it (weaker periodicity longer: `evidence`), and the first
   one only once the lags searched reach twice its period (so a harmonic, a joint
   moving twice per repetition, shows as one); the repetitions already in the window
   are then counted at once (a live screen shows the first ones together), none
   twice. A counter led by another (`RepCounter.follow`: a class copying an
   instructor) counts the leader's kind of signal at periods near the leader's.
2. Until then a template's channel is counted between the template's own rest and
   turning thresholds (as the session's phases count), from the first repetition.
3. Conditioning of a trusted signal, frame by frame and causal (each frame uses only
   frames before it): the signal minus its mean over the last `detrend_periods`
   periods (slow drift and level jumps at camera cuts go), smoothed exponentially
   over `smooth_periods` periods, then compared with its own range over the last
   `range_periods` periods (leaving out `range_tail` of those frames at each end, so
   that a glitch or one deeper excursion does not set it); a range below a floor
   (`range_floor` of the window's typical range, never below a template's half
   threshold gap, half a body radius or 30 degrees) counts as that floor, so standing
   still counts nothing.
4. Counting: hysteresis with levels at +-`threshold` of half that range around its
   middle (`exercises.signal.Hysteresis`): a repetition leaves rest, passes the far
   level and comes back past the near one (a template whose cycle has two phases,
   like sit-to-stand, counts on reaching the far end). A half repetition at the start
   or end of a set never counts; frames without a person are gaps that neither count
   nor break a repetition, unless longer than `max_gap_s`; a repetition shorter than
   the least repetition time (`min_rep_s`) is jitter, one whose frames with a person
   span more than `max_rep_periods` periods, or more than `max_rep_durations` times
   the median of the set's counted repetitions, is a transition (getting down to the
   floor or up from it, walking off), not a repetition.
5. A clearly more periodic signal, or one at another period than the counted one (a
   harmonic was counted), replaces it; a repetition is never counted twice (turning
   points within half a period are the same one). `finish` makes a last choice on
   everything kept when none was trusted yet (two periods suffice then).

Core module: stdlib and numpy, plus vision.{types,geometry} and exercises.*; no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from exercises.periodicity import Guide, frame_features, template_guides
from exercises.rep_counter import (
    COUNTER_NOMINAL_FPS,
    CountedRep,
    CounterParams,
    RepCounter,
)
from exercises.spec import ExerciseSpec
from vision.types import PoseFrame, PoseWindow, Skeleton

__all__ = [
    "COUNTER_NOMINAL_FPS",
    "CountedRep",
    "CounterParams",
    "Guide",
    "PoseFeatures",
    "RepCount",
    "RepCounter",
    "StreamingRepCounter",
    "count_repetitions",
    "pose_features",
    "template_guides",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class RepCount:
    """Result of `count_repetitions`.

    Attributes:
        count: Complete repetitions.
        reps: Each repetition.
        rep_bounds: (start_frame, end_frame) of each, in window frames.
        period_frames: Period of the counted signal in frames (NaN if none).
        signal: (T,) float32, the counted signal relative to its running range
            (about [-1, 1], a repetition goes up and back); NaN where not counted.
        source: The counted signal: "guide:<channel>", "pc0".., or an angle name.
    """

    count: int
    reps: tuple[CountedRep, ...]
    rep_bounds: list[tuple[int, int]]
    period_frames: float
    signal: F32
    source: str = ""


@dataclass(frozen=True, slots=True, eq=False)
class PoseFeatures:
    """What the counter reads from each frame (see `pose_features`)."""

    coords: F64
    angles: F64
    valid: npt.NDArray[np.bool_]


def pose_features(
    window: PoseWindow, params: CounterParams | None = None
) -> PoseFeatures:
    """Per frame: body joint x, y centred and scaled by their RMS radius (T, 26), the
    elbow/shoulder/hip/knee angles in degrees, left/right averaged (T, 4), and whether
    the frame shows enough of the body (T,); NaN where missing."""
    params = params or CounterParams()
    f = frame_features(
        window.xyz, window.visibility, window.skeleton, params.min_joint_fraction
    )
    return PoseFeatures(f.coords, f.angles, f.valid)


class StreamingRepCounter(RepCounter):
    """`RepCounter` for a live group screen following free movement: it answers
    whether a frame completed a repetition (`push(frame) -> bool`) and trusts a
    signal after `LIVE_ADOPT_PERIODS` periods (the first reps show sooner; counts on
    recordings are more accurate with the default, see benchmarks/repcount.py)."""

    LIVE_ADOPT_PERIODS: Final[float] = 3.0

    def __init__(
        self,
        skeleton: Skeleton = Skeleton.BLAZEPOSE_33,
        *,
        params: CounterParams | None = None,
        fps_hint: float = COUNTER_NOMINAL_FPS,
        led: bool = False,
    ) -> None:
        params = params or CounterParams(adopt_periods=self.LIVE_ADOPT_PERIODS)
        super().__init__(skeleton, params=params, fps_hint=fps_hint, led=led)

    @classmethod
    def for_frame_rate(
        cls,
        fps: float,
        skeleton: Skeleton = Skeleton.BLAZEPOSE_33,
        *,
        window_frames: int | None = None,
        led: bool = False,
    ) -> StreamingRepCounter:
        """A counter for frames arriving at about `fps` (the timestamps correct it);
        `window_frames` bounds the frames kept; `led`: it counts at the period
        another counter gives (`RepCounter.follow_period`)."""
        params = CounterParams(adopt_periods=cls.LIVE_ADOPT_PERIODS)
        if window_frames is not None:
            window_s = max(window_frames / fps, 2 * params.max_period_s)
            params = dataclasses.replace(params, window_s=window_s)
        return cls(skeleton, params=params, fps_hint=fps, led=led)

    def push(  # type: ignore[override]
        self, frame: PoseFrame, channels: Mapping[str, float] | None = None
    ) -> bool:
        return bool(super().push(frame, channels))


def _as_window(
    poses: PoseWindow | F32, visibility: F32 | None, skeleton: Skeleton
) -> PoseWindow:
    if isinstance(poses, PoseWindow):
        if visibility is not None:
            raise ValueError("pass visibility only with an xyz array, not a PoseWindow")
        return poses
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
    elif not isinstance(visibility, np.ndarray) or visibility.shape != xyz.shape[:2]:
        raise ValueError(
            f"visibility must be {xyz.shape[:2]}, "
            f"got {getattr(visibility, 'shape', type(visibility).__name__)}"
        )
    else:
        vis = np.ascontiguousarray(visibility, np.float32)
    ts = np.arange(xyz.shape[0], dtype=np.int64) * round(1000 / COUNTER_NOMINAL_FPS)
    return PoseWindow(xyz, vis, ts, skeleton)


def count_repetitions(
    poses: PoseWindow | F32,
    visibility: F32 | None = None,
    *,
    skeleton: Skeleton = Skeleton.BLAZEPOSE_33,
    spec: ExerciseSpec | None = None,
    channels: Mapping[str, npt.ArrayLike] | None = None,
    elder_mode: bool = False,
    params: CounterParams | None = None,
) -> RepCount:
    """Count the repetitions in a recording: every frame through a `RepCounter`,
    then `finish` (exactly what a live counter fed the same frames reports).

    Args:
        poses: A PoseWindow, or xyz (T, J, 3) float32 in image coordinates (NaN =
            joint missing) at `COUNTER_NOMINAL_FPS`.
        visibility: (T, J) float32 in [0, 1], only with an xyz array; default: 1
            where the joint is finite.
        skeleton: Joint layout of an xyz array (a PoseWindow carries its own).
        spec: A rep template, to count its channels (`RepCounter.for_template`).
        channels: The template channels per frame {name: (T,) values}, as the
            session computes them (`exercises.analysis.channel_trace`); missing
            names are NaN.
        elder_mode: The template's elder thresholds and pace.
        params: Counter settings.

    Returns:
        `RepCount`; nothing periodic counts 0 with period NaN.

    Raises:
        TypeError, ValueError: malformed input (the message says what was expected).
    """
    window = _as_window(poses, visibility, skeleton)
    n = len(window)
    if spec is not None:
        counter = RepCounter.for_template(
            spec, window.skeleton, elder_mode=elder_mode, params=params
        )
    else:
        counter = RepCounter(window.skeleton, params=params)
    columns: dict[str, F64] = {}
    for name, values in (channels or {}).items():
        column = np.asarray(values, np.float64)
        if column.shape != (n,):
            raise ValueError(f"channel {name!r} must be ({n},), got {column.shape}")
        columns[name] = column
    signal = np.full(n, np.nan, np.float32)
    # The features of all frames at once (the same numbers `push` computes per frame).
    f = frame_features(
        window.xyz,
        window.visibility,
        window.skeleton,
        counter.params.min_joint_fraction,
    )
    guides = (
        np.stack(
            [columns.get(g.name, np.full(n, np.nan)) for g in counter.guides], axis=1
        )
        if counter.guides
        else np.zeros((n, 0))
    )
    last: int | None = None
    frame_of: list[int] = []
    for t in range(n):
        ts = int(window.timestamp_ms[t])
        if last is not None and ts <= last:
            continue
        last = ts
        counter._push_row(f.coords[t], f.angles[t], bool(f.valid[t]), guides[t], ts)
        frame_of.append(t)
    counter.finish()
    for i, t in enumerate(frame_of):
        if i >= counter._first:
            signal[t] = counter._z[i - counter._first]
    reps = tuple(counter.reps)
    return RepCount(
        count=len(reps),
        reps=reps,
        rep_bounds=[(frame_of[r.start_frame], frame_of[r.end_frame]) for r in reps],
        period_frames=counter.period_frames,
        signal=signal,
        source=counter.source,
    )
