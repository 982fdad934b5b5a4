"""Offline analysis of a recorded pose track: every frame through a `Session`, then
its `finish`.

    result = analyze(window, get_spec("squat"))
    result.reps, result.summary, result.events

The events are exactly those of a live session fed the same frames and finished at
the end (repetitions from the session's rep counter, `exercises.rep_counter`). Used
by the `movecoach analyze` command, the benchmarks and session review. Core module:
no I/O (the caller loads the track).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from exercises.counter_params import CounterParams
from exercises.events import CueIssued, Event, MoveCompleted, RepCompleted, Severity
from exercises.kinds import counted_span
from exercises.metrics import METRICS, detect_view
from exercises.scoring import cost_to_score
from exercises.session import Session, SessionOptions, SessionSummary
from exercises.spec import ExerciseSpec, FormRule, get_spec
from vision.geometry import isotropic
from vision.types import PoseFrame, PoseWindow

__all__ = [
    "Analysis",
    "ChannelTrace",
    "FrameJudgement",
    "analyze",
    "channel_trace",
    "counted_span",
    "form_is_bad",
    "judge_frame",
]


@dataclass(frozen=True, slots=True)
class Analysis:
    """What a session made of a whole track.

    Attributes:
        exercise_id: The template used.
        events: Every event, in order.
        reps: The `RepCompleted` events.
        moves: The `MoveCompleted` events (sequences).
        cues: The `CueIssued` events.
        summary: The session's summary after the last frame.
        skipped_frames: Frames dropped for repeating the previous timestamp.
    """

    exercise_id: str
    events: tuple[Event, ...]
    reps: tuple[RepCompleted, ...]
    moves: tuple[MoveCompleted, ...]
    cues: tuple[CueIssued, ...]
    summary: SessionSummary
    skipped_frames: int = 0


@dataclass(frozen=True, slots=True, eq=False)
class ChannelTrace:
    """A template's channels frame by frame.

    Attributes:
        channels: Names (every angle and metric the template reads).
        timestamp_ms: (T,) int64.
        values: (T, K) float32, NaN where missing or while counting was gated.
        views: The camera view detected per frame ("front", "side", "oblique" or
            None); empty when not recorded.
    """

    channels: tuple[str, ...]
    timestamp_ms: npt.NDArray[np.int64]
    values: npt.NDArray[np.float32]
    views: tuple[str | None, ...] = ()


def _spec(spec: ExerciseSpec | str) -> ExerciseSpec:
    return get_spec(spec) if isinstance(spec, str) else spec


def _frames(window: PoseWindow) -> tuple[list[int], int]:
    """Indices of frames with strictly increasing timestamps (windows may repeat)."""
    keep: list[int] = []
    last: int | None = None
    for t in range(len(window)):
        ts = int(window.timestamp_ms[t])
        if last is not None and ts <= last:
            continue
        keep.append(t)
        last = ts
    return keep, len(window) - len(keep)


def analyze(
    window: PoseWindow,
    spec: ExerciseSpec | str,
    *,
    elder_mode: bool = False,
    options: SessionOptions | None = None,
    counter_params: CounterParams | None = None,
) -> Analysis:
    """Run one session over a whole pose track.

    Args:
        window: The subject's frames (any skeleton the template's joints exist in);
            frames repeating the previous timestamp are skipped.
        spec: The template, or a built-in template id.
        elder_mode: As in `Session`.
        options: As in `Session`.
        counter_params: The rep counter's settings (its defaults otherwise).

    Returns:
        `Analysis` with all events (the session's, then its `finish`'s), the reps
        and the summary.

    Raises:
        UnknownExerciseError: `spec` is an unknown id.
        ValueError: the skeleton lacks joints the template needs.
    """
    spec = _spec(spec)
    session = Session(
        spec,
        elder_mode=elder_mode,
        skeleton=window.skeleton,
        options=options,
        counter_params=counter_params,
    )
    keep, skipped = _frames(window)
    events: list[Event] = []
    for t in keep:
        events += session.feed(window[t])
    events += session.finish()
    return Analysis(
        exercise_id=spec.id,
        events=tuple(events),
        reps=tuple(e for e in events if isinstance(e, RepCompleted)),
        moves=tuple(e for e in events if isinstance(e, MoveCompleted)),
        cues=tuple(e for e in events if isinstance(e, CueIssued)),
        summary=session.summary(),
        skipped_frames=skipped,
    )


def channel_trace(
    window: PoseWindow,
    spec: ExerciseSpec | str,
    *,
    elder_mode: bool = False,
    options: SessionOptions | None = None,
) -> ChannelTrace:
    """The template's angles and metrics over a track, as the session sees them
    (smoothed, side-resolved): for plots in session review and for scoring a whole
    track against a reference."""
    spec = _spec(spec)
    session = Session(
        spec, elder_mode=elder_mode, skeleton=window.skeleton, options=options
    )
    keep, _ = _frames(window)
    rows: list[list[float]] = []
    names: tuple[str, ...] = ()
    for t in keep:
        session.feed(window[t])
        values = session.values
        if not names:
            names = tuple(values)
        rows.append([values.get(n, float("nan")) for n in names])
    return ChannelTrace(
        channels=names,
        timestamp_ms=np.asarray([int(window.timestamp_ms[t]) for t in keep], np.int64),
        values=np.asarray(rows, np.float32).reshape(len(rows), len(names)),
    )


@dataclass(frozen=True, slots=True)
class FrameJudgement:
    """What a template's phases and form rules make of one still frame.

    Attributes:
        values: Every angle and metric the template reads (NaN when missing or when
            the required joints are not in view).
        view: The camera view detected ("front", "side", "oblique" or None).
        phase: The cycle phase the frame is in (see `judge_frame`); None for a
            template without a cycle or without the values to tell.
        faults: Ids of the form rules the frame breaks, in template order.
    """

    values: dict[str, float]
    view: str | None
    phase: str | None
    faults: tuple[str, ...]


def _phase_margin(spec: ExerciseSpec, name: str, values: dict[str, float]) -> float:
    """How far inside (> 0) or outside (< 0) a phase's conditions the values are, in
    units of each channel's gap between the phases that bound it (the band the
    session's hysteresis spans); the worst condition counts."""
    phases = spec.phases_for(False)
    margins = []
    for cond in phases[name].conditions:
        value = values.get(cond.key, math.nan)
        if math.isnan(value):
            return -math.inf
        bounds = [
            v
            for p in phases.values()
            for c in p.conditions
            if c.key == cond.key
            for v in (c.min, c.max)
            if v is not None
        ]
        gap = (max(bounds) - min(bounds)) if len(bounds) > 1 else 0.0
        gap = gap if gap > 0 else 1.0
        if cond.min is not None:
            margins.append((value - cond.min) / gap)
        if cond.max is not None:
            margins.append((cond.max - value) / gap)
    return min(margins) if margins else -math.inf


def _rule_applies(rule: FormRule, phase: str | None, view: str | None) -> bool:
    """A rule's `during` and view gates for a still frame: "rep" and "in_position"
    describe the set, not the pose, so they hold; a phase must be the frame's phase;
    a metric meant for one view needs that view (a wrong cue is worse than none)."""
    during = not rule.during or any(
        d in ("rep", "in_position") or d == phase for d in rule.during
    )
    need = METRICS[rule.key].view if rule.key in METRICS else "any"
    return during and (need == "any" or need == view)


def judge_frame(
    spec: ExerciseSpec | str,
    frame: PoseFrame,
) -> FrameJudgement:
    """A template's phase logic and form rules on one still frame.

    The frame goes through a fresh `Session` (placement, side choice and channel values
    exactly as live; no smoothing history). Its phase is the cycle phase whose
    conditions it meets or, in the gap the template leaves between phases, the one it
    is nearest to meeting relative to that gap. A form rule fires when its gates hold
    (`during` phase, view) and its metric is out of bounds; a frame has no duration, so
    `min_duration_ms` is not applied.

    Raises:
        UnknownExerciseError: `spec` is an unknown id.
        ValueError: the skeleton lacks joints the template needs.
    """
    spec = _spec(spec)
    options = SessionOptions(smoothing=False)
    session = Session(spec, skeleton=frame.skeleton, options=options)
    session.feed(frame)
    values = session.values
    view = detect_view(isotropic(frame))
    phase = None
    names = list(dict.fromkeys(spec.cycle))
    if names:
        margins = {n: _phase_margin(spec, n, values) for n in names}
        best = max(names, key=lambda n: margins[n])
        phase = best if margins[best] > -math.inf else None
    faults = tuple(
        r.id
        for r in spec.rules
        if _rule_applies(r, phase, view) and r.violated(values.get(r.key, math.nan))
    )
    return FrameJudgement(values, view, phase, faults)


def form_is_bad(
    analysis: Analysis,
    spec: ExerciseSpec,
    *,
    least_severity: Severity = Severity.MINOR,
    band_tolerances: float = 1.0,
) -> bool:
    """One verdict on a set's form, the same rule for every template.

    A rep is bad when a form rule of at least `least_severity` fired in it (or it was
    partial), or when its score is below that of a rep staying `band_tolerances` of
    the template's tolerance bands off its reference on average
    (`exercises.scoring.cost_to_score`). The set is bad when at least half its reps
    are; a set with no counted rep is bad when such a rule fired at all.
    """
    levels = {r.id: r.severity for r in spec.rules}

    def faulty(ids: tuple[str, ...] | list[str]) -> bool:
        return any(levels.get(i, Severity.MINOR) >= least_severity for i in ids)

    if not analysis.reps:
        return faulty(list(analysis.summary.faults_by_id))
    cut = cost_to_score(band_tolerances)
    bad = [faulty(r.cue_ids) or r.score < cut for r in analysis.reps]
    return 2 * sum(bad) >= len(bad)
