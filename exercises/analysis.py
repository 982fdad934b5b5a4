"""Offline analysis of a recorded pose track: every frame through a `Session`.

    result = analyze(window, get_spec("squat"))
    result.reps, result.summary, result.events

Used by the `movecoach analyze` command, the rep-counting benchmark and session review.
Core module: no I/O (the caller loads the track).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from exercises.events import CueIssued, Event, MoveCompleted, RepCompleted
from exercises.metrics import METRICS, detect_view
from exercises.session import Session, SessionOptions, SessionSummary
from exercises.spec import ExerciseSpec, FormRule, get_spec
from vision.types import PoseFrame, PoseWindow

__all__ = [
    "Analysis",
    "ChannelTrace",
    "FrameJudgement",
    "analyze",
    "channel_trace",
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
    """

    channels: tuple[str, ...]
    timestamp_ms: npt.NDArray[np.int64]
    values: npt.NDArray[np.float32]


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
) -> Analysis:
    """Run one session over a whole pose track.

    Args:
        window: The subject's frames (any skeleton the template's joints exist in);
            frames repeating the previous timestamp are skipped.
        spec: The template, or a built-in template id.
        elder_mode: As in `Session`.
        options: As in `Session`.

    Returns:
        `Analysis` with all events, the reps and the summary.

    Raises:
        UnknownExerciseError: `spec` is an unknown id.
        ValueError: the skeleton lacks joints the template needs.
    """
    spec = _spec(spec)
    session = Session(
        spec, elder_mode=elder_mode, skeleton=window.skeleton, options=options
    )
    keep, skipped = _frames(window)
    events: list[Event] = []
    for t in keep:
        events += session.feed(window[t])
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
    *,
    image_aspect: float = 1.0,
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
    options = SessionOptions(image_aspect=image_aspect, smoothing=False)
    session = Session(spec, skeleton=frame.skeleton, options=options)
    session.feed(frame)
    values = session.values
    scaled = frame
    if image_aspect != 1.0:
        scale = np.array([image_aspect, 1.0, image_aspect], np.float32)
        scaled = PoseFrame(
            frame.xyz * scale, frame.visibility, frame.timestamp_ms, frame.skeleton
        )
    view = detect_view(scaled)
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
