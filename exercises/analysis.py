"""Offline analysis of a recorded pose track: every frame through a `Session` and the
rep counter.

    result = analyze(window, get_spec("squat"))
    result.reps, result.summary, result.events

Repetitions come from the product's rep counter (`exercises.counting.RepCounter`, fed
each frame and the session's channel values, then `finish`), which the live session
will use too; each counted repetition is scored against the template's reference
from the session's channel trace (`score_counted_rep`). The session supplies the rest
(placement, phases, cues, holds, sequences). Used by the `movecoach analyze` command,
the benchmarks and session review. Core module: no I/O (the caller loads the track).
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from exercises.channels import sees
from exercises.counting import CountedRep, CounterParams, RepCounter, template_guides
from exercises.events import CueIssued, Event, MoveCompleted, RepCompleted, Severity
from exercises.faults import SURE_VIEWS
from exercises.metrics import METRICS, detect_view
from exercises.scoring import cost_to_score, score_trajectory
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
    "score_counted_rep",
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


def counted_span(
    spec: ExerciseSpec, threshold: float, *, elder_mode: bool = False
) -> tuple[float, float] | None:
    """The part of the reference a counted repetition covers, in normalised time.

    The counter cuts a repetition where the template's channel leaves its near
    hysteresis level, (1 - threshold) / 2 of the way from rest to the turning point,
    to where it is back past it (a two-phase template: until it passes the far level,
    (1 + threshold) / 2 of the way); the reference is cut at the same points of its
    own excursion. None when the reference lacks the template's channel."""
    ref = spec.reference
    guides = template_guides(spec, elder_mode=elder_mode)
    if ref is None or not guides or guides[0].name not in ref.channels:
        return None
    g = guides[0]
    v = g.sign * np.asarray(ref.values[ref.channels.index(g.name)], np.float64)
    excursion = (v - v[0]) / (v.max() - v[0]) if v.max() > v[0] else None
    if excursion is None:
        return None
    t = np.asarray(ref.t)
    turn = int(np.argmax(excursion))
    near = (1 - threshold) / 2
    left = np.flatnonzero(excursion[:turn] <= near)
    start = float(t[left[-1]]) if left.size else 0.0
    if len(spec.cycle) == 2:
        past = np.flatnonzero(excursion >= (1 + threshold) / 2)
        return (start, float(t[past[0]])) if past.size else None
    back = np.flatnonzero(excursion[turn:] <= near)
    return (start, float(t[turn + back[0]])) if back.size else None


def _rule_faults(
    spec: ExerciseSpec, trace: ChannelTrace, inside: npt.NDArray[np.bool_], elder: bool
) -> list[str]:
    """The form rules a stretch of the trace breaks: the rule's metric out of bounds
    for its `min_duration_ms` while its `during` phase holds ("rep" and
    "in_position": the whole stretch) and, when views were recorded, in the view its
    metric needs (a wrong cue is worse than none)."""
    ts = trace.timestamp_ms[inside]
    rows = trace.values[inside]
    views = [v for v, keep in zip(trace.views, inside, strict=False) if keep]
    phases = spec.phases_for(elder)
    out = []
    for rule in spec.rules:
        if rule.key not in trace.channels:
            continue
        column = rows[:, trace.channels.index(rule.key)]
        need = METRICS[rule.key].view if rule.key in METRICS else "any"
        run_start: int | None = None
        for i, value in enumerate(column.tolist()):
            row = dict(zip(trace.channels, rows[i].tolist(), strict=True))
            gated = bool(rule.during) and not any(
                d in ("rep", "in_position") or (d in phases and phases[d].holds(row))
                for d in rule.during
            )
            if not gated and need != "any" and views and views[i] not in SURE_VIEWS:
                continue  # an unsure view holds the run, as in `FormWatch`
            wrong_view = need != "any" and bool(views) and views[i] != need
            if gated or wrong_view or not rule.violated(value):
                run_start = None
                continue
            run_start = i if run_start is None else run_start
            if ts[i] - ts[run_start] >= rule.min_duration_ms:
                out.append(rule.id)
                break
    return out


def _seen_channels(
    spec: ExerciseSpec, trace: ChannelTrace, inside: npt.NDArray[np.bool_]
) -> tuple[str, ...]:
    """The reference channels meaningful in the view seen most in a stretch (all of
    them when none is), as the live session scores (`exercises.kinds.score_window`)."""
    assert spec.reference is not None
    views = Counter(v for v, k in zip(trace.views, inside, strict=False) if k and v)
    view = views.most_common(1)[0][0] if views else None
    seen = tuple(c for c in spec.reference.channels if sees(spec, c, view))
    return seen or spec.reference.channels


def score_counted_rep(
    spec: ExerciseSpec,
    rep: CountedRep,
    trace: ChannelTrace,
    session_events: tuple[Event, ...] = (),
    *,
    elder_mode: bool = False,
    rom_lookback_ms: int = 1000,
    threshold: float = CounterParams().threshold,
) -> RepCompleted:
    """A counted repetition as the session reports one: its channels between its
    start and end scored against the template's reference (`score_trajectory`, the
    reference cut where the counter cuts a repetition: `counted_span`), the range of
    motion of each angle (from `rom_lookback_ms` before its start), the form faults
    the session saw in it (cues and its own reps' faults within the span), and
    `partial` when no frame of it
    reached the template's turning phase. Its timestamp is when it was counted.

    Raises:
        ValueError: a template without a reference (holds).
    """
    if spec.reference is None:
        raise ValueError(f"exercise {spec.id!r} has no reference to score reps with")
    ts = trace.timestamp_ms
    inside = (ts >= rep.start_ms) & (ts <= rep.end_ms)
    ref = spec.reference
    channels = _seen_channels(spec, trace, inside)
    cols = [trace.channels.index(c) for c in channels]
    values = np.ascontiguousarray(trace.values[inside][:, cols])
    if inside.sum() >= 2:
        result = score_trajectory(
            ref,
            channels,
            ts[inside],
            values,
            span=counted_span(spec, threshold, elder_mode=elder_mode),
        )
        score = 0.0 if math.isnan(result.score) else result.score
        breakdown = result.breakdown
    else:
        score, breakdown = 0.0, {}
    lead = (ts >= rep.start_ms - rom_lookback_ms) & (ts <= rep.end_ms)
    rom = {}
    for a in spec.angles:
        col = trace.values[lead, trace.channels.index(a.name)]
        col = col[np.isfinite(col)]
        if col.size:
            rom[a.name] = round(float(col.max() - col.min()), 1)
    faults: dict[str, None] = dict.fromkeys(
        _rule_faults(spec, trace, inside, elder_mode)
    )
    side = None
    for e in session_events:
        if not rep.start_ms <= e.timestamp_ms <= rep.end_ms:
            continue
        if isinstance(e, RepCompleted):
            faults.update(dict.fromkeys(e.cue_ids))
            side = side or e.side
        elif isinstance(e, CueIssued):
            faults.setdefault(e.cue_id, None)
    turn = spec.phases_for(elder_mode)[spec.cycle[1]]
    rows = trace.values[inside]
    reached = any(
        turn.holds(dict(zip(trace.channels, row.tolist(), strict=True))) for row in rows
    )
    faults.pop("partial_rep", None)
    if not reached:
        faults.setdefault("partial_rep", None)
    return RepCompleted(
        rep.end_ms,
        count=rep.count,
        score=score,
        breakdown=breakdown,
        duration_ms=rep.end_ms - rep.start_ms,
        range_of_motion_deg=rom,
        cue_ids=tuple(faults),
        side=side,
        partial=not reached,
    )


def analyze(
    window: PoseWindow,
    spec: ExerciseSpec | str,
    *,
    elder_mode: bool = False,
    options: SessionOptions | None = None,
    counter_params: CounterParams | None = None,
) -> Analysis:
    """Run one session and the rep counter over a whole pose track.

    Args:
        window: The subject's frames (any skeleton the template's joints exist in);
            frames repeating the previous timestamp are skipped.
        spec: The template, or a built-in template id.
        elder_mode: As in `Session`.
        options: As in `Session`.
        counter_params: The rep counter's settings (its defaults otherwise).

    Returns:
        `Analysis` with all events, the reps and the summary. For a rep template the
        reps are the counter's (`score_counted_rep`), reported where it counted them,
        in place of the session's own.

    Raises:
        UnknownExerciseError: `spec` is an unknown id.
        ValueError: the skeleton lacks joints the template needs.
    """
    spec = _spec(spec)
    options = options or SessionOptions()
    session = Session(
        spec, elder_mode=elder_mode, skeleton=window.skeleton, options=options
    )
    counter = (
        RepCounter.for_template(
            spec, window.skeleton, elder_mode=elder_mode, params=counter_params
        )
        if spec.kind == "reps" and spec.reference is not None
        else None
    )
    keep, skipped = _frames(window)
    events: list[Event] = []
    counted: list[tuple[int, CountedRep]] = []  # (index into events, rep)
    rows: list[list[float]] = []
    views: list[str | None] = []
    names: tuple[str, ...] = ()
    for t in keep:
        frame = window[t]
        events += session.feed(frame)
        values = session.values
        if not names:
            names = tuple(values)
        rows.append([values.get(n, math.nan) for n in names])
        if counter is not None:
            square = isotropic(frame)
            views.append(detect_view(square))
            pushed = counter.push(square, values)
            counted += [(len(events), r) for r in pushed]
    summary = session.summary()
    if counter is None:
        return Analysis(
            exercise_id=spec.id,
            events=tuple(events),
            reps=tuple(e for e in events if isinstance(e, RepCompleted)),
            moves=tuple(e for e in events if isinstance(e, MoveCompleted)),
            cues=tuple(e for e in events if isinstance(e, CueIssued)),
            summary=summary,
            skipped_frames=skipped,
        )
    counted += [(len(events), r) for r in counter.finish()]
    trace = ChannelTrace(
        channels=names,
        timestamp_ms=np.asarray([int(window.timestamp_ms[t]) for t in keep], np.int64),
        values=np.asarray(rows, np.float32).reshape(len(rows), len(names)),
        views=tuple(views),
    )
    session_events = tuple(events)
    reps = [
        score_counted_rep(
            spec,
            rep,
            trace,
            session_events,
            elder_mode=elder_mode,
            rom_lookback_ms=options.rom_lookback_ms,
            threshold=counter.params.threshold,
        )
        for _, rep in counted
    ]
    # The counter's reps replace the session's, each where it was counted.
    merged: list[Event] = []
    at = 0
    for i, e in enumerate(session_events):
        while at < len(counted) and counted[at][0] <= i:
            merged.append(reps[at])
            at += 1
        if not isinstance(e, RepCompleted):
            merged.append(e)
    merged += reps[at:]
    return Analysis(
        exercise_id=spec.id,
        events=tuple(merged),
        reps=tuple(reps),
        moves=tuple(e for e in merged if isinstance(e, MoveCompleted)),
        cues=tuple(e for e in merged if isinstance(e, CueIssued)),
        summary=_summary_with(summary, reps),
        skipped_frames=skipped,
    )


def _summary_with(summary: SessionSummary, reps: list[RepCompleted]) -> SessionSummary:
    """The session's summary with the counted reps' totals."""
    scores = [r.score for r in reps]
    faults: Counter[str] = Counter(f for r in reps for f in r.cue_ids)
    return dataclasses.replace(
        summary,
        reps=len(reps),
        mean_score=round(sum(scores) / len(scores), 1) if scores else None,
        best_score=max(scores) if scores else None,
        worst_score=min(scores) if scores else None,
        mean_rep_duration_ms=(
            sum(r.duration_ms for r in reps) / len(reps) if reps else None
        ),
        faults_by_id={**summary.faults_by_id, **dict(faults)},
        partial_reps=sum(1 for r in reps if r.partial),
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
