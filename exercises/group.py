# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""Group sessions: everyone in view exercising together, tracked Poses in, events per
person out. A sans-I/O state machine like `Session`:

    group = GroupSession(mode="follow")                  # or "same_exercise", spec=...
    events = group.feed(tracked_poses)                    # -> list[Event]

Tracked `Poses` (track_ids from `vision.tracking.PoseTracker`) go in; out come:

- `ParticipantJoined` / `ParticipantLeft` (a track seen, or unseen for
  `GroupOptions.leave_after_ms`), `InstructorChanged`;
- same-exercise mode: one `Session(spec)` per participant, each of its events wrapped
  in `ParticipantEvent(timestamp_ms, track_id, event)`;
- follow-the-instructor mode: per participant a live "in step" score 0-100
  (`InStepScored`, every `score_interval_ms`) and a template-free rep count
  (`FollowRepCounted`);
- `GroupCueIssued` when most participants share a problem (calm wording, en and
  zh-CN, rate-limited); per-person cues stay in `ParticipantEvent`s for the screen;
- `FallDetected` / `FallCleared` for anyone in view (`exercises.falls`), first in the
  list.

Following the instructor: each participant's joint angles over the last
`follow_window_s` are compared with the instructor's angles over the same span delayed
by every lag from 0 to `max_lag_s` (a participant copies what they saw a moment ago),
by banded DTW (`exercises.alignment.dtw_costs_batch`: the band lets each side speed up
and slow down a little within the window; the lag search covers the reaction delay).
Left and right may be mirrored (people facing the instructor copy the mirror image).
The best lag's cost (mean angle difference in tolerances) maps to 0-100 and is smoothed
over `score_smoothing_s`. Angles the instructor barely moves count less, so standing
still while the instructor raises the arms does not score as in step on the legs.

Core module: stdlib, numpy, vision.{types,geometry,config} and exercises.*.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from exercises.alignment import dtw_costs_batch
from exercises.counting import StreamingRepCounter
from exercises.events import CueIssued, Event, LocalizedText, RepCompleted, Severity
from exercises.falls import FallMonitor
from exercises.session import SLOW_DOWN, Session, SessionSummary
from exercises.spec import ExerciseSpec
from vision.geometry import angle_triples, isotropic, joint_angles_array
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

F32 = npt.NDArray[np.float32]
GroupMode = Literal["same_exercise", "follow"]

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

GROUP_CUE_PREFIX: Final[LocalizedText] = {"en": "Everyone, ", "zh-CN": "大家注意，"}
"""Group cues built from a template's own cue text start with this."""

FOLLOW_CUES: Final[dict[str, LocalizedText]] = {
    "arms_higher": {
        "en": "Everyone, arms a little higher, like me.",
        "zh-CN": "大家手臂再抬高一点，跟我一样。",
    },
    "straighten_arms": {
        "en": "Everyone, let your arms stretch out long.",
        "zh-CN": "大家手臂慢慢伸直。",
    },
    "bend_knees": {
        "en": "Everyone, bend your knees a little more, gently.",
        "zh-CN": "大家膝盖再稍微弯一点，慢慢来。",
    },
    "follow_along": {
        "en": "Everyone, follow my movements, nice and easy.",
        "zh-CN": "大家跟着我的动作，慢慢来。",
    },
}
"""Follow-mode group cues (no template to take text from): calm, both languages."""

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


# --- events ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParticipantJoined(Event):
    """A person is part of the session from now on.

    Attributes:
        track_id: The tracker's ID.
        number: Seat number 1..max_participants (freed numbers are reused), for the
            screen and for speech ("number 2").
        role: "participant" or "instructor".
    """

    track_id: int
    number: int
    role: str = "participant"


@dataclass(frozen=True, slots=True)
class ParticipantLeft(Event):
    """A person has not been seen for `GroupOptions.leave_after_ms`."""

    track_id: int
    number: int


@dataclass(frozen=True, slots=True)
class InstructorChanged(Event):
    """Who is followed in follow mode (or excluded from scoring in same-exercise mode).

    Attributes:
        track_id: The new instructor's track ID.
        previous_track_id: The previous one's, None at the start.
        automatic: Picked by position (largest, front-centre) rather than set.
    """

    track_id: int
    previous_track_id: int | None
    automatic: bool


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


@dataclass(frozen=True, slots=True)
class GroupCueIssued(Event):
    """A cue for everyone: most participants share the problem.

    Attributes:
        cue_id: The template rule's id, "slow_down", or a `FOLLOW_CUES` key.
        message: What to say, en and zh-CN.
        track_ids: The participants who have the problem.
        severity: Of the underlying rule (INFO for follow cues).
    """

    cue_id: str
    message: LocalizedText
    track_ids: tuple[int, ...]
    severity: Severity = Severity.INFO


# --- options and state ----------------------------------------------------------------


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


@dataclass(slots=True)
class ParticipantState:
    """What the group screen shows for one person (read-only for callers).

    Attributes:
        track_id, number, role: As in `ParticipantJoined`.
        joined_ms / last_seen_ms: Timestamps.
        in_step: Follow mode: smoothed score 0-100 (None until scored).
        lag_ms: Follow mode: delay behind the instructor.
        reps: Repetitions so far (the session's, or the template-free counter's).
        faults: Problem ids seen recently (cue ids), newest last.
    """

    track_id: int
    number: int
    role: str
    joined_ms: int
    last_seen_ms: int
    in_step: float | None = None
    lag_ms: int = 0
    reps: int = 0
    faults: dict[str, int] = field(default_factory=dict)  # cue id -> last ms
    in_step_total: float = 0.0
    in_step_count: int = 0


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
        self.options = options or GroupOptions()
        o = self.options
        self._triples = angle_triples(skeleton, [t for _, t in FOLLOW_ANGLES])
        self._tolerance = o.elder_tolerance_deg if self.elder_mode else o.tolerance_deg
        self._max_lag_s = o.elder_max_lag_s if self.elder_mode else o.max_lag_s
        self._falls = (
            FallMonitor(
                posture=spec.posture if spec is not None else None,
                skeleton=skeleton,
            )
            if o.falls
            else None
        )
        self._rules = {r.id: r for r in (spec.rules if spec is not None else ())}
        self._rules[SLOW_DOWN.id] = SLOW_DOWN
        self._instructor: int | None = instructor_track_id
        self._instructor_fixed = instructor_track_id is not None
        self._instructor_announced = False
        self.participants: dict[int, ParticipantState] = {}
        self._left: list[ParticipantSummary] = []
        self._sessions: dict[int, Session] = {}
        self._followers: dict[int, _Follower] = {}
        self._instructor_angles: dict[int, F32] = {}
        self._frame_ts: deque[int] = deque()
        self._frame_index = -1
        self._last_ts: int | None = None
        self._first_ts = 0
        self._last_seen: dict[int, int] = {}
        self._last_cue_ms: int | None = None
        self._cue_last: dict[str, int] = {}

    # --- public state -----------------------------------------------------------------

    @property
    def instructor_track_id(self) -> int | None:
        return self._instructor

    def set_instructor(self, track_id: int) -> None:
        """Make `track_id` the instructor (e.g. staff tapped them on the screen); an
        `InstructorChanged` follows with the next frame."""
        self._instructor = int(track_id)
        self._instructor_fixed = True
        self._instructor_announced = False
        self._instructor_angles.clear()
        if track_id in self.participants:
            self._drop(track_id)

    def session(self, track_id: int) -> Session | None:
        """A participant's own `Session` (same-exercise mode), e.g. for its summary."""
        return self._sessions.get(track_id)

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
        ts = int(poses.timestamp_ms)
        if self._last_ts is not None and ts <= self._last_ts:
            raise ValueError(
                f"timestamps must increase: got {ts} ms after {self._last_ts} ms"
            )
        ids = [int(t) for t in poses.track_ids]
        if any(t < 0 for t in ids):
            raise ValueError(
                "GroupSession needs tracked poses (track_ids >= 0); "
                "run vision.tracking.PoseTracker first"
            )
        if self._last_ts is None:
            self._first_ts = ts
        self._last_ts = ts
        self._frame_index += 1
        self._frame_ts.append(ts)
        self._trim_frames()
        for t in ids:
            self._last_seen[t] = ts
        events: list[Event] = []
        if self._falls is not None:
            events += self._falls.update(poses)
        index = {t: i for i, t in enumerate(ids)}
        self._update_instructor(poses, index, ts, events)
        angles = self._angles(poses) if self.mode == "follow" else None
        if angles is not None and self._instructor in index:
            self._instructor_angles[self._frame_index] = angles[index[self._instructor]]
        self._trim_instructor()
        self._leave(ts, events)
        for t in ids:
            if t == self._instructor:
                continue
            state = self.participants.get(t)
            if state is None:
                state = self._join(t, ts, events)
                if state is None:
                    continue
            state.last_seen_ms = ts
            frame = poses[index[t]]
            if self.mode == "same_exercise":
                self._feed_session(state, frame, events)
            elif angles is not None:
                self._feed_follower(state, frame, angles[index[t]], ts, events)
        self._group_cues(ts, events)
        return events

    # --- instructor -------------------------------------------------------------------

    def _update_instructor(
        self, poses: Poses, index: dict[int, int], ts: int, events: list[Event]
    ) -> None:
        current = self._instructor
        if current is not None and not self._instructor_announced and current in index:
            events.append(
                InstructorChanged(ts, current, None, not self._instructor_fixed)
            )
            self._instructor_announced = True
            if current in self.participants:
                self._drop(current)
            return
        if self.mode != "follow":
            return
        # A follow session needs someone to follow: an instructor (set or picked)
        # unseen for `instructor_lost_ms` is replaced by the best placed person (a
        # set one too: the tracker may have given them a new ID after a long
        # occlusion; `set_instructor` fixes it again).
        lost = current is None or (
            ts - max(self._last_seen.get(current, self._first_ts), self._first_ts)
            > self.options.instructor_lost_ms
        )
        if not lost or len(poses) == 0:
            return
        pick = self._pick_instructor(poses)
        if pick == current:
            return
        events.append(InstructorChanged(ts, pick, current, True))
        self._instructor = pick
        self._instructor_fixed = False
        self._instructor_announced = True
        self._instructor_angles.clear()
        if pick in self.participants:
            events.append(ParticipantLeft(ts, pick, self.participants[pick].number))
            self._drop(pick)

    def _pick_instructor(self, poses: Poses) -> int:
        """The largest, most central person: body size x closeness to the centre."""
        # Size is the height in the picture and the offset a fraction of the width:
        # neither needs the aspect.
        xy = poses.xyz[:, :, :2].astype(np.float64)
        vis = poses.visibility >= 0.5
        best, best_score = int(poses.track_ids[0]), -math.inf
        for i in range(len(poses)):
            pts = xy[i][vis[i] & np.isfinite(xy[i]).all(-1)]
            if pts.shape[0] < 3:
                continue
            size = float(np.ptp(pts[:, 1]))
            off = abs(float(pts[:, 0].mean()) - 0.5)
            score = size * (1.0 - off)
            if score > best_score:
                best, best_score = int(poses.track_ids[i]), score
        return best

    # --- participants -----------------------------------------------------------------

    def _free_number(self) -> int | None:
        used = {p.number for p in self.participants.values()}
        for n in range(1, self.max_participants + 1):
            if n not in used:
                return n
        return None

    def _join(
        self, track_id: int, ts: int, events: list[Event]
    ) -> ParticipantState | None:
        number = self._free_number()
        if number is None:
            return None
        state = ParticipantState(track_id, number, "participant", ts, ts)
        self.participants[track_id] = state
        if self.mode == "same_exercise":
            assert self.spec is not None
            self._sessions[track_id] = Session(
                self.spec, elder_mode=self.elder_mode, skeleton=self.skeleton
            )
        else:
            self._followers[track_id] = _Follower(deque(), None)
        events.append(ParticipantJoined(ts, track_id, number, "participant"))
        return state

    def _summarize(self, state: ParticipantState, present: bool) -> ParticipantSummary:
        session = self._sessions.get(state.track_id)
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
            session.summary() if session is not None else None,
        )

    def summary(self) -> list[ParticipantSummary]:
        """Everyone who took part (a participant, not the instructor), in order of
        joining; those who left keep their state from when they left."""
        now = [self._summarize(p, True) for p in self.participants.values()]
        return sorted(
            [*self._left, *now], key=lambda p: (p.joined_ms, p.number, p.track_id)
        )

    def _drop(self, track_id: int, *, left: bool = False) -> None:
        state = self.participants.get(track_id)
        if left and state is not None:
            self._left.append(self._summarize(state, False))
        self.participants.pop(track_id, None)
        self._sessions.pop(track_id, None)
        self._followers.pop(track_id, None)

    def _leave(self, ts: int, events: list[Event]) -> None:
        for t, state in list(self.participants.items()):
            if ts - state.last_seen_ms > self.options.leave_after_ms:
                events.append(ParticipantLeft(ts, t, state.number))
                self._drop(t, left=True)
                if self._falls is not None and t not in self._falls.fallen:
                    self._falls.forget(t)

    def _note_fault(self, state: ParticipantState, cue_id: str, ts: int) -> None:
        state.faults.pop(cue_id, None)
        state.faults[cue_id] = ts

    # --- same exercise ----------------------------------------------------------------

    def _feed_session(
        self, state: ParticipantState, frame: PoseFrame, events: list[Event]
    ) -> None:
        session = self._sessions[state.track_id]
        ts = state.last_seen_ms
        for e in session.feed(frame):
            events.append(ParticipantEvent(e.timestamp_ms, state.track_id, e))
            if isinstance(e, RepCompleted):
                state.reps = session.reps
                for cue in e.cue_ids:
                    self._note_fault(state, cue, ts)
            elif isinstance(e, CueIssued):
                self._note_fault(state, e.cue_id, ts)

    # --- follow -----------------------------------------------------------------------

    def _angles(self, poses: Poses) -> F32:
        square = isotropic(poses)
        return joint_angles_array(square.xyz, square.visibility, self._triples)

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

    def _feed_follower(
        self,
        state: ParticipantState,
        frame: PoseFrame,
        angles: F32,
        ts: int,
        events: list[Event],
    ) -> None:
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

    def _count(self, f: _Follower, frame: PoseFrame) -> bool:
        """Push `frame` to the follower's rep counter; True if a rep completed.

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
            )
            early, f.early = f.early, []
            done = False
            for e in early:
                done = f.counter.push(e) or done
            return done
        return f.counter.push(frame)

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
            self._note_fault(state, "arms_higher", ts)
        if diffs.get("elbow_bend", 0.0) > _ELBOW_BENT_DEG:
            self._note_fault(state, "straighten_arms", ts)
        if diffs.get("knee_stiffness", 0.0) > _KNEE_STIFF_DEG:
            self._note_fault(state, "bend_knees", ts)
        if state.in_step is not None and state.in_step < _LOST_STEP_SCORE:
            self._note_fault(state, "follow_along", ts)

    # --- group cues -------------------------------------------------------------------

    def _group_cues(self, ts: int, events: list[Event]) -> None:
        o = self.options
        active = [p for p in self.participants.values() if ts - p.last_seen_ms <= 1000]
        if len(active) < o.group_cue_min_participants:
            return
        if (
            self._last_cue_ms is not None
            and ts - self._last_cue_ms < o.group_cue_cooldown_ms
        ):
            return
        need = max(
            o.group_cue_min_participants, math.ceil(o.group_cue_fraction * len(active))
        )
        counts: dict[str, list[int]] = {}
        for p in active:
            for cue, when in p.faults.items():
                if ts - when <= o.group_cue_window_ms:
                    counts.setdefault(cue, []).append(p.track_id)
        ranked = sorted(counts.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        for cue, who in ranked:
            if len(who) < need:
                break
            last = self._cue_last.get(cue)
            if last is not None and ts - last < o.group_repeat_cooldown_ms:
                continue
            message, severity = self._cue_text(cue)
            events.append(
                GroupCueIssued(ts, cue, message, tuple(sorted(who)), severity)
            )
            self._last_cue_ms = ts
            self._cue_last[cue] = ts
            for p in active:
                p.faults.pop(cue, None)
            return

    def _cue_text(self, cue: str) -> tuple[LocalizedText, Severity]:
        if cue in FOLLOW_CUES:
            return dict(FOLLOW_CUES[cue]), Severity.INFO
        rule = self._rules.get(cue)
        if rule is None:
            return dict(FOLLOW_CUES["follow_along"]), Severity.INFO
        text = (
            rule.gentle if self.elder_mode and rule.gentle else rule.text
        ) or rule.text
        out: LocalizedText = {}
        for lang, prefix in GROUP_CUE_PREFIX.items():
            said = text.get(lang, text.get("en", ""))
            if lang == "en" and said[:1].isupper() and not said.startswith("I "):
                said = said[:1].lower() + said[1:]
            out[lang] = prefix + said
        return out, rule.severity


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
