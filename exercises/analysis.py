"""Offline analysis of a recorded pose track: every frame through a `Session`.

    result = analyze(window, get_spec("squat"))
    result.reps, result.summary, result.events

Used by the `movecoach analyze` command, the rep-counting benchmark and session review.
Core module: no I/O (the caller loads the track).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from exercises.events import CueIssued, Event, MoveCompleted, RepCompleted
from exercises.session import Session, SessionOptions, SessionSummary
from exercises.spec import ExerciseSpec, get_spec
from vision.types import PoseWindow

__all__ = ["Analysis", "ChannelTrace", "analyze", "channel_trace"]


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
