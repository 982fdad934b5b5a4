"""Group sessions: everyone in view exercising together, tracked Poses in, events per
person out. A sans-I/O state machine like `Session`:

    group = GroupSession(mode="follow")                  # or "same_exercise", spec=...
    events = group.feed(tracked_poses)                    # -> list[Event]

Tracked `Poses` (track_ids from `vision.tracking.PoseTracker`) go in; out come:

- `ParticipantJoined` / `ParticipantLeft` (a track seen, or unseen for
  `GroupOptions.leave_after_ms`), `InstructorChanged` (`exercises.roster`);
- same-exercise mode: one `Session(spec)` per participant, each of its events wrapped
  in `ParticipantEvent(timestamp_ms, track_id, event)`;
- follow-the-instructor mode: per participant a live "in step" score 0-100
  (`InStepScored`, every `score_interval_ms`) and a template-free rep count
  (`FollowRepCounted`) (`exercises.follow`);
- `GroupCueIssued` when most participants share a problem (calm wording, en and
  zh-CN, rate-limited; `exercises.group_cues`); per-person cues stay in
  `ParticipantEvent`s for the screen;
- `FallDetected` / `FallCleared` for anyone in view (`exercises.falls`), first in the
  list.

The mode is chosen once, at construction: what a participant's frame goes to (their
own `Session`, or the follow scorer).

Core module: stdlib, numpy, vision.{types,geometry,config} and exercises.*.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

from exercises.cues import SLOW_DOWN
from exercises.events import CueIssued, Event, RepCompleted
from exercises.falls import FallMonitor
from exercises.follow import (
    FOLLOW_ANGLES,
    FollowRepCounted,
    FollowScorer,
    InStepScored,
    in_step_score,
)
from exercises.group_cues import (
    FOLLOW_CUES,
    GROUP_CUE_PREFIX,
    GroupCueGate,
    GroupCueIssued,
)
from exercises.roster import (
    InstructorChanged,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantState,
    Roster,
)
from exercises.session import Session, SessionSummary
from exercises.spec import ExerciseSpec
from vision.clock import VideoClock
from vision.types import PoseFrame, Poses, Skeleton

__all__ = [
    "FOLLOW_ANGLES",
    "FOLLOW_CUES",
    "GROUP_CUE_PREFIX",
    "FollowRepCounted",
    "GroupCueIssued",
    "GroupMode",
    "GroupOptions",
    "GroupSession",
    "InStepScored",
    "InstructorChanged",
    "ParticipantEvent",
    "ParticipantJoined",
    "ParticipantLeft",
    "ParticipantState",
    "ParticipantSummary",
    "in_step_score",
]

GroupMode = Literal["same_exercise", "follow"]


# --- events ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParticipantEvent(Event):
    """An event of one participant's own `Session` (same-exercise mode).

    Attributes:
        track_id: Whose.
        event: The session's event (`RepCompleted`, `CueIssued`, ...).
        event_type: Its class name (the wire carries it since `event` is flattened).
    """

    track_id: int
    event: Event
    event_type: str = field(default="")

    def __post_init__(self) -> None:
        if not self.event_type:
            object.__setattr__(self, "event_type", type(self.event).__name__)


# --- options --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupOptions:
    """Behaviour of a `GroupSession` (times in ms unless the name says s).

    Attributes:
        leave_after_ms: A participant unseen this long has left.
        instructor_lost_ms: An automatically chosen instructor unseen this long is
            replaced by the best placed person.
        score_interval_ms: `InStepScored` per participant at this interval.
        follow_window_s: Span of a participant's movement compared each time.
        max_lag_s: Longest delay behind the instructor still counted as in step
            (elder mode: `elder_max_lag_s`).
        lag_step_s: Lags tried between 0 and the maximum.
        band_frac: DTW band within the window (speeding up / slowing down).
        tolerance_deg: Angle difference worth one tolerance (elder mode:
            `elder_tolerance_deg`).
        static_range_deg: An angle the instructor moves less than this in the window is
            held: compared without alignment; the mean over held angles adds
            `static_weight` times its cost to the moving angles' cost.
        rom_weight, rom_min_coverage: A participant moving less than
            `rom_min_coverage` of the instructor's range of motion (per moving angle)
            gets up to `rom_weight` tolerances added to the DTW cost (still: all).
        score_half_cost: Mean cost (in tolerances) that scores 50.
        score_smoothing_s: Time constant of the in-step score's smoothing.
        min_valid_fraction: Frames of the window with the person seen, to score.
        counter_window_frames: Template-free counter window (None: its default).
        group_cue_fraction: Share of participants who must share a problem.
        group_cue_min_participants: ...and at least this many.
        group_cue_window_ms: A participant's problem counts this long.
        group_cue_cooldown_ms: At most one group cue per this interval.
        group_repeat_cooldown_ms: The same group cue not again within this.
        falls: Watch everyone for falls.
    """

    leave_after_ms: int = 6000
    instructor_lost_ms: int = 3000
    score_interval_ms: int = 1000
    follow_window_s: float = 2.0
    max_lag_s: float = 1.5
    elder_max_lag_s: float = 2.0
    lag_step_s: float = 0.1
    band_frac: float = 0.1
    tolerance_deg: float = 20.0
    elder_tolerance_deg: float = 25.0
    static_range_deg: float = 15.0
    static_weight: float = 0.5
    rom_weight: float = 2.0
    rom_min_coverage: float = 0.5
    score_half_cost: float = 1.0
    score_smoothing_s: float = 1.5
    min_valid_fraction: float = 0.5
    counter_window_frames: int | None = None
    group_cue_fraction: float = 0.6
    group_cue_min_participants: int = 2
    group_cue_window_ms: int = 10000
    group_cue_cooldown_ms: int = 15000
    group_repeat_cooldown_ms: int = 45000
    falls: bool = True

    def __post_init__(self) -> None:
        for name in (
            "follow_window_s",
            "lag_step_s",
            "tolerance_deg",
            "elder_tolerance_deg",
            "score_half_cost",
            "score_smoothing_s",
            "static_weight",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.max_lag_s < 0 or self.elder_max_lag_s < 0:
            raise ValueError("max_lag_s and elder_max_lag_s must be >= 0")
        if not 0 < self.group_cue_fraction <= 1:
            raise ValueError(
                f"group_cue_fraction must be in (0, 1], got {self.group_cue_fraction}"
            )


@dataclass(frozen=True, slots=True)
class ParticipantSummary:
    """One person's part in the session (`GroupSession.summary`).

    Attributes:
        track_id, number: As in `ParticipantJoined`.
        joined_ms / last_seen_ms: First and last frame they were part of it.
        present: Still in the session (not left).
        reps: Repetitions (the session's, or the template-free counter's).
        in_step_mean: Follow mode: mean of the (unsmoothed) in-step scores, 0-100.
        session: Same-exercise mode: their own `Session.summary()`.
    """

    track_id: int
    number: int
    joined_ms: int
    last_seen_ms: int
    present: bool
    reps: int
    in_step_mean: float | None
    session: SessionSummary | None


class _Mode(Protocol):
    """What a participant's frames go to, chosen once per session."""

    def frame(self, poses: Poses, instructor: int | None, timestamp_ms: int) -> None:
        """Every frame, before the participants'."""

    def join(self, track_id: int) -> None: ...

    def drop(self, track_id: int) -> None: ...

    def instructor_changed(self) -> None: ...

    def feed(
        self,
        state: ParticipantState,
        frame: PoseFrame,
        row: int,
        timestamp_ms: int,
        events: list[Event],
    ) -> None:
        """One participant's frame (`row`: theirs in this frame's poses)."""

    def session(self, track_id: int) -> Session | None: ...


class _SameExercise:
    """Each participant has their own `Session` of the template."""

    def __init__(
        self, spec: ExerciseSpec, skeleton: Skeleton, elder_mode: bool
    ) -> None:
        self.spec = spec
        self.skeleton = skeleton
        self.elder_mode = elder_mode
        self.sessions: dict[int, Session] = {}

    def frame(self, poses: Poses, instructor: int | None, timestamp_ms: int) -> None:
        pass

    def join(self, track_id: int) -> None:
        self.sessions[track_id] = Session(
            self.spec, elder_mode=self.elder_mode, skeleton=self.skeleton
        )

    def drop(self, track_id: int) -> None:
        self.sessions.pop(track_id, None)

    def instructor_changed(self) -> None:
        pass

    def feed(
        self,
        state: ParticipantState,
        frame: PoseFrame,
        row: int,
        timestamp_ms: int,
        events: list[Event],
    ) -> None:
        session = self.sessions[state.track_id]
        for e in session.feed(frame):
            events.append(ParticipantEvent(e.timestamp_ms, state.track_id, e))
            if isinstance(e, RepCompleted):
                state.reps = session.reps
                for cue in e.cue_ids:
                    state.note_fault(cue, timestamp_ms)
            elif isinstance(e, CueIssued):
                state.note_fault(e.cue_id, timestamp_ms)

    def session(self, track_id: int) -> Session | None:
        return self.sessions.get(track_id)


class _Follow:
    """Everyone is scored against the instructor (`exercises.follow`)."""

    def __init__(self, scorer: FollowScorer) -> None:
        self.scorer = scorer
        self.angles = np.zeros((0, len(FOLLOW_ANGLES)), np.float32)

    def frame(self, poses: Poses, instructor: int | None, timestamp_ms: int) -> None:
        self.angles = self.scorer.frame(poses, instructor, timestamp_ms)

    def join(self, track_id: int) -> None:
        self.scorer.join(track_id)

    def drop(self, track_id: int) -> None:
        self.scorer.drop(track_id)

    def instructor_changed(self) -> None:
        self.scorer.instructor_changed()

    def feed(
        self,
        state: ParticipantState,
        frame: PoseFrame,
        row: int,
        timestamp_ms: int,
        events: list[Event],
    ) -> None:
        self.scorer.feed(state, frame, self.angles[row], timestamp_ms, events)

    def session(self, track_id: int) -> Session | None:
        return None


# --- the session ----------------------------------------------------------------------


class GroupSession:
    """Everyone in view exercising together; see the module docstring.

    Args:
        mode: "same_exercise" (everyone does `spec`, scored against the template) or
            "follow" (everyone copies the instructor).
        spec: The exercise (required for same_exercise; in follow mode only its
            posture is used, for the fall detector).
        instructor_track_id: The instructor's track, if known; else in follow mode the
            largest, most central person is picked (`InstructorChanged`, automatic).
            In follow mode an instructor unseen for `instructor_lost_ms` is replaced
            the same way.
        max_participants: Most people scored at once (first come; the instructor
            does not count).
        elder_mode: Passed to each `Session`; in follow mode a longer lag and a wider
            tolerance.
        skeleton: Joint layout of the poses.
        options: See `GroupOptions`.

    Raises:
        ValueError: an unknown mode, same_exercise without a spec, or a bad limit.
    """

    def __init__(
        self,
        mode: GroupMode = "same_exercise",
        spec: ExerciseSpec | None = None,
        instructor_track_id: int | None = None,
        max_participants: int = 8,
        elder_mode: bool = True,
        *,
        skeleton: Skeleton = Skeleton.BLAZEPOSE_33,
        options: GroupOptions | None = None,
    ) -> None:
        if mode not in ("same_exercise", "follow"):
            raise ValueError(f"mode must be 'same_exercise' or 'follow', got {mode!r}")
        if mode == "same_exercise" and spec is None:
            raise ValueError("same_exercise mode needs an exercise spec")
        if isinstance(max_participants, bool) or max_participants < 1:
            raise ValueError(f"max_participants must be >= 1, got {max_participants}")
        self.mode: GroupMode = mode
        self.spec = spec
        self.max_participants = int(max_participants)
        self.elder_mode = bool(elder_mode)
        self.skeleton = skeleton
        self.options = o = options or GroupOptions()
        self._mode: _Mode = (
            _SameExercise(spec, skeleton, self.elder_mode)
            if spec is not None and mode == "same_exercise"
            else _Follow(FollowScorer(o, skeleton, elder_mode=self.elder_mode))
        )
        self._roster = Roster(
            max_participants=self.max_participants,
            leave_after_ms=o.leave_after_ms,
            instructor_lost_ms=o.instructor_lost_ms,
            pick_instructor=mode == "follow",
            instructor_track_id=instructor_track_id,
        )
        self._falls = (
            FallMonitor(
                posture=spec.posture if spec is not None else None,
                skeleton=skeleton,
            )
            if o.falls
            else None
        )
        rules = {r.id: r for r in (spec.rules if spec is not None else ())}
        rules[SLOW_DOWN.id] = SLOW_DOWN
        self._cues = GroupCueGate(
            rules,
            elder_mode=self.elder_mode,
            fraction=o.group_cue_fraction,
            min_participants=o.group_cue_min_participants,
            window_ms=o.group_cue_window_ms,
            cooldown_ms=o.group_cue_cooldown_ms,
            repeat_cooldown_ms=o.group_repeat_cooldown_ms,
        )
        self._left: list[ParticipantSummary] = []
        self._clock = VideoClock()

    # --- public state -----------------------------------------------------------------

    @property
    def participants(self) -> dict[int, ParticipantState]:
        """Participants by track ID, in order of joining (read-only for callers)."""
        return self._roster.participants

    @property
    def instructor_track_id(self) -> int | None:
        return self._roster.instructor

    @property
    def instructor_reps(self) -> int | None:
        """Follow mode: the instructor's repetitions (participants are counted at
        their period); None in same-exercise mode."""
        mode = self._mode
        return mode.scorer.instructor_reps if isinstance(mode, _Follow) else None

    def set_instructor(self, track_id: int) -> None:
        """Make `track_id` the instructor (e.g. staff tapped them on the screen); an
        `InstructorChanged` follows with the next frame."""
        if self._roster.set_instructor(track_id):
            self._mode.drop(track_id)
        self._mode.instructor_changed()

    def session(self, track_id: int) -> Session | None:
        """A participant's own `Session` (same-exercise mode), e.g. for its summary."""
        return self._mode.session(track_id)

    # --- feeding ----------------------------------------------------------------------

    def feed(self, poses: Poses) -> list[Event]:
        """Feed one frame of tracked poses; returns this frame's events.

        Raises:
            TypeError: not a `Poses`.
            ValueError: untracked poses (track_id -1), another skeleton, or a timestamp
                not after the previous one.
        """
        if not isinstance(poses, Poses):
            raise TypeError(f"expected Poses, got {type(poses).__name__}")
        if poses.skeleton is not self.skeleton:
            raise ValueError(
                f"group session is for {self.skeleton.value}, "
                f"got {poses.skeleton.value} poses"
            )
        ts = self._clock.check(int(poses.timestamp_ms))
        ids = [int(t) for t in poses.track_ids]
        if any(t < 0 for t in ids):
            raise ValueError(
                "GroupSession needs tracked poses (track_ids >= 0); "
                "run vision.tracking.PoseTracker first"
            )
        self._clock.advance(ts)
        events: list[Event] = []
        if self._falls is not None:
            events += self._falls.update(poses)
        roster, mode = self._roster, self._mode
        change = roster.update(poses, ts, events)
        if change.replaced:
            mode.instructor_changed()
        for t in change.dropped:
            mode.drop(t)
        for gone in change.left:
            self._left.append(self._summarize(gone, False))
            mode.drop(gone.track_id)
            if self._falls is not None and gone.track_id not in self._falls.fallen:
                self._falls.forget(gone.track_id)
        mode.frame(poses, roster.instructor, ts)
        for row, t in enumerate(ids):
            if t == roster.instructor:
                continue
            state = roster.participants.get(t)
            if state is None:
                state = roster.join(t, ts, events)
                if state is None:  # no free seat
                    continue
                mode.join(t)
            state.last_seen_ms = ts
            mode.feed(state, poses[row], row, ts, events)
        cue = self._cues.offer(roster.participants.values(), ts)
        if cue is not None:
            events.append(cue)
        return events

    def _summarize(self, state: ParticipantState, present: bool) -> ParticipantSummary:
        session = self._mode.session(state.track_id)
        return ParticipantSummary(
            state.track_id,
            state.number,
            state.joined_ms,
            state.last_seen_ms,
            present,
            state.reps,
            round(state.in_step_total / state.in_step_count, 1)
            if state.in_step_count
            else None,
            None if session is None else session.summary(),
        )

    def summary(self) -> list[ParticipantSummary]:
        """Everyone who took part (a participant, not the instructor), in order of
        joining; those who left keep their state from when they left."""
        now = [self._summarize(p, True) for p in self.participants.values()]
        return sorted(
            [*self._left, *now], key=lambda p: (p.joined_ms, p.number, p.track_id)
        )
