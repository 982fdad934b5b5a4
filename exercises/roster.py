"""Who takes part in a group session: the participants with their seat numbers, and
the instructor (a sans-I/O part of `exercises.group.GroupSession`).

    roster = Roster(max_participants=8, leave_after_ms=6000, instructor_lost_ms=3000,
                    pick_instructor=True)
    change = roster.update(poses, timestamp_ms, events)   # instructor, leavers
    state = roster.join(track_id, timestamp_ms, events)   # a seat, or None

- A track seen for the first time joins (`ParticipantJoined`) with the lowest free
  seat number, while there is one; one unseen for `leave_after_ms` leaves
  (`ParticipantLeft`), freeing the number.
- An instructor set at the start is announced (`InstructorChanged`) when first seen.
  With `pick_instructor` (follow mode) an instructor unseen for `instructor_lost_ms`,
  or none at all, is replaced by the largest, most central person (automatic); a
  participant who becomes the instructor leaves the participants.

Core module: stdlib, numpy and exercises.*; no clocks, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from exercises.events import Event
from vision.types import Poses

__all__ = [
    "InstructorChanged",
    "ParticipantJoined",
    "ParticipantLeft",
    "ParticipantState",
    "Roster",
    "RosterChange",
    "pick_instructor",
]


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

    def note_fault(self, cue_id: str, timestamp_ms: int) -> None:
        """Record a problem seen now (newest last)."""
        self.faults.pop(cue_id, None)
        self.faults[cue_id] = timestamp_ms


@dataclass(frozen=True, slots=True)
class RosterChange:
    """What `Roster.update` changed besides its events.

    Attributes:
        replaced: A new instructor was picked: what the old one did no longer counts.
        dropped: Participants who became the instructor.
        left: Participants who left (their state as it was).
    """

    replaced: bool = False
    dropped: tuple[int, ...] = ()
    left: tuple[ParticipantState, ...] = ()


class Roster:
    """Participants and the instructor (see the module docstring).

    Args:
        max_participants: Seats (the instructor does not take one).
        leave_after_ms: A participant unseen this long has left.
        instructor_lost_ms: With `pick_instructor`, an instructor unseen this long is
            replaced.
        pick_instructor: Choose the instructor automatically (follow mode).
        instructor_track_id: The instructor, if known.

    Attributes:
        participants: By track ID, in order of joining.
        instructor: The instructor's track ID, None before there is one.
    """

    def __init__(
        self,
        *,
        max_participants: int,
        leave_after_ms: int,
        instructor_lost_ms: int,
        pick_instructor: bool,
        instructor_track_id: int | None = None,
    ) -> None:
        self.max_participants = max_participants
        self.leave_after_ms = leave_after_ms
        self.instructor_lost_ms = instructor_lost_ms
        self.pick_instructor = pick_instructor
        self.participants: dict[int, ParticipantState] = {}
        self.instructor = instructor_track_id
        self._fixed = instructor_track_id is not None
        self._announced = False
        self._last_seen: dict[int, int] = {}
        self._first_ts: int | None = None

    def set_instructor(self, track_id: int) -> bool:
        """Make `track_id` the instructor (announced when next seen); True if they
        were a participant (no longer one)."""
        self.instructor = int(track_id)
        self._fixed = True
        self._announced = False
        return self.participants.pop(track_id, None) is not None

    def update(
        self, poses: Poses, timestamp_ms: int, events: list[Event]
    ) -> RosterChange:
        """Take one frame of tracked poses: who is seen, the instructor, who left."""
        ts = timestamp_ms
        ids = [int(t) for t in poses.track_ids]
        if self._first_ts is None:
            self._first_ts = ts
        for t in ids:
            self._last_seen[t] = ts
        replaced, dropped = self._update_instructor(poses, ids, ts, events)
        left = []
        for t, state in list(self.participants.items()):
            if ts - state.last_seen_ms > self.leave_after_ms:
                events.append(ParticipantLeft(ts, t, state.number))
                left.append(self.participants.pop(t))
        return RosterChange(replaced, dropped, tuple(left))

    def _update_instructor(
        self, poses: Poses, ids: list[int], ts: int, events: list[Event]
    ) -> tuple[bool, tuple[int, ...]]:
        current = self.instructor
        if current is not None and not self._announced and current in ids:
            events.append(InstructorChanged(ts, current, None, not self._fixed))
            self._announced = True
            dropped = self.participants.pop(current, None) is not None
            return False, (current,) if dropped else ()
        if not self.pick_instructor:
            return False, ()
        # A follow session needs someone to follow: an instructor (set or picked)
        # unseen for `instructor_lost_ms` is replaced by the best placed person (a
        # set one too: the tracker may have given them a new ID after a long
        # occlusion; `set_instructor` fixes it again).
        first = self._first_ts if self._first_ts is not None else ts
        lost = current is None or (
            ts - max(self._last_seen.get(current, first), first)
            > self.instructor_lost_ms
        )
        if not lost or len(poses) == 0:
            return False, ()
        pick = pick_instructor(poses)
        if pick == current:
            return False, ()
        events.append(InstructorChanged(ts, pick, current, True))
        self.instructor = pick
        self._fixed = False
        self._announced = True
        state = self.participants.pop(pick, None)
        if state is None:
            return True, ()
        events.append(ParticipantLeft(ts, pick, state.number))
        return True, (pick,)

    def join(
        self, track_id: int, timestamp_ms: int, events: list[Event]
    ) -> ParticipantState | None:
        """Seat a newly seen person; None when every seat is taken."""
        used = {p.number for p in self.participants.values()}
        number = next(
            (n for n in range(1, self.max_participants + 1) if n not in used), None
        )
        if number is None:
            return None
        state = ParticipantState(
            track_id, number, "participant", timestamp_ms, timestamp_ms
        )
        self.participants[track_id] = state
        events.append(ParticipantJoined(timestamp_ms, track_id, number, "participant"))
        return state


def pick_instructor(poses: Poses) -> int:
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
