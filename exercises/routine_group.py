"""A class doing a routine together (a Baduanjin class on the group screen): everyone
in view followed through the routine, one `RoutineSession` each, the guide shared.

    group = RoutineClass(get_routine("baduanjin"), RoutineOptions(elder=True))
    events = group.feed(poses)          # tracked Poses in, events out
    group.finish(ts); group.summary()   # each participant's sections and scores

- Who takes part: `exercises.roster.Roster` (seats, numbers, leaving after
  `leave_after_ms` unseen), as in the other group modes; no instructor (nobody is
  followed, everyone is held to the routine).
- Each participant's session sees only their own frames (each made isotropic by the
  picture's aspect) and reports as it would at the kiosk; its events reach the screen
  as `exercises.group.ParticipantEvent` (rounds, sections done or skipped, cues, the
  tempo, their `RoutineCompleted`), except what is spoken to the whole room.
- The guide: one voice for the room. A section is announced (`SectionStarted`) once at
  least half of the participants present have been brought to it by their own guide
  (their rounds done and the rest after them over, or moved on by themselves); a
  section nobody reaches is not announced. Pause, resume, skip and finish act on
  everyone.
- A participant who leaves is finished there (their sections so far kept).
- Falls: `FallDetected` / `FallCleared` for anyone in view (`exercises.falls`, the
  routine's standing posture), first in a frame's events, as in the other group modes.

Core module: stdlib and numpy.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

from exercises.events import Event
from exercises.falls import FallMonitor
from exercises.group import ParticipantEvent
from exercises.roster import ParticipantState, Roster
from exercises.routine import RoutineSpec
from exercises.routine_events import (
    RestStarted,
    RoundCompleted,
    RoutineCompleted,
    SectionStarted,
)
from exercises.routine_session import RoutineOptions, RoutineSession
from vision.clock import VideoClock
from vision.types import Poses

__all__ = ["ClassMember", "RoutineClass"]


@dataclass(frozen=True, slots=True)
class ClassMember:
    """One participant's routine (`RoutineClass.summary`): rounds per section, the
    sections' scores and the whole (from their `RoutineCompleted`; None while they
    are still under way), whether they are still there."""

    track_id: int
    number: int
    joined_ms: int
    last_seen_ms: int
    present: bool
    rounds: dict[str, int]
    result: RoutineCompleted | None


class RoutineClass:
    """Everyone in view through one routine (module docstring).

    Args:
        routine: The routine.
        options: Each participant's session options (`image_aspect` is taken from
            the poses).
        max_participants: Seats.
        leave_after_ms: A participant unseen this long has left.
        falls: Watch everyone for falls.
    """

    def __init__(
        self,
        routine: RoutineSpec,
        options: RoutineOptions | None = None,
        *,
        max_participants: int = 8,
        leave_after_ms: int = 6000,
        falls: bool = True,
    ) -> None:
        if isinstance(max_participants, bool) or max_participants < 1:
            raise ValueError(f"max_participants must be >= 1, got {max_participants}")
        self.routine = routine
        self.options = options or RoutineOptions()
        self._roster = Roster(
            max_participants=max_participants,
            leave_after_ms=leave_after_ms,
            instructor_lost_ms=leave_after_ms,
            pick_instructor=False,
        )
        self._sessions: dict[int, RoutineSession] = {}
        self._guides: dict[int, int] = {}
        self._done: dict[int, RoutineCompleted] = {}
        self._left: list[ClassMember] = []
        self._announced = -1
        self._started: dict[int, SectionStarted] = {}
        self._clock = VideoClock()
        self._finished = False
        self._watch_falls = falls
        self._falls: FallMonitor | None = None  # built for the first frame's skeleton

    @property
    def participants(self) -> dict[int, ParticipantState]:
        """Participants by track ID, in order of joining (`reps`: their rounds)."""
        return self._roster.participants

    @property
    def instructor_track_id(self) -> None:
        """Nobody leads a routine class (the group screen's people list reads it)."""
        return None

    @property
    def fallen(self) -> tuple[int, ...]:
        """Track IDs with a raised, not yet cleared, fall."""
        return () if self._falls is None else self._falls.fallen

    @property
    def guide_index(self) -> int:
        """The section announced to the room (-1 before the first)."""
        return self._announced

    def session(self, track_id: int) -> RoutineSession | None:
        """A participant's own session."""
        return self._sessions.get(track_id)

    def feed(self, poses: Poses) -> list[Event]:
        """One frame of tracked poses; this frame's events.

        Raises:
            ValueError: untracked poses (track_id -1) or a timestamp not after the
                previous one.
        """
        ts = self._clock.advance(int(poses.timestamp_ms))
        ids = [int(t) for t in poses.track_ids]
        if any(t < 0 for t in ids):
            raise ValueError(
                "RoutineClass needs tracked poses (track_ids >= 0); "
                "run vision.tracking.PoseTracker first"
            )
        events: list[Event] = []
        if self._watch_falls:  # also after the routine ended: people are still there
            if self._falls is None:
                self._falls = FallMonitor(posture="standing", skeleton=poses.skeleton)
            events += self._falls.update(poses)
        if self._finished:
            return events
        seats: list[Event] = []
        change = self._roster.update(poses, ts, seats)
        for gone in change.left:  # finished there: their last events, then the leaving
            self._close(gone.track_id, ts, events)
            self._left.append(self._member(gone.track_id, gone, False))
            if self._falls is not None and gone.track_id not in self._falls.fallen:
                self._falls.forget(gone.track_id)
        events += seats
        for row, t in enumerate(ids):
            state = self._roster.participants.get(t)
            if state is None:
                state = self._roster.join(t, ts, events)
                if state is None:
                    continue
                options = dataclasses.replace(
                    self.options, image_aspect=float(poses.aspect_wh)
                )
                self._sessions[t] = RoutineSession(self.routine, options)
                self._guides[t] = -1
            state.last_seen_ms = ts
            self._take(t, self._sessions[t].feed(poses[row]), events)
        self._announce(ts, events)
        return events

    def pause(self, timestamp_ms: int) -> list[Event]:
        return self._all(lambda s: s.pause(timestamp_ms), timestamp_ms)

    def resume(self, timestamp_ms: int) -> list[Event]:
        return self._all(lambda s: s.resume(timestamp_ms), timestamp_ms)

    def skip(self, timestamp_ms: int) -> list[Event]:
        return self._all(lambda s: s.skip(timestamp_ms), timestamp_ms)

    def finish(self, timestamp_ms: int) -> list[Event]:
        """End the routine for everyone: each participant's sections closed and
        their whole score reported."""
        events = self._all(lambda s: s.finish(timestamp_ms), timestamp_ms)
        self._finished = True
        return events

    def summary(self) -> list[ClassMember]:
        """Everyone who took part, in order of joining."""
        now = [
            self._member(t, state, True)
            for t, state in self._roster.participants.items()
        ]
        return sorted([*self._left, *now], key=lambda m: (m.joined_ms, m.number))

    # --- internals ------------------------------------------------------------------

    def _all(
        self, act: Callable[[RoutineSession], list[Event]], timestamp_ms: int
    ) -> list[Event]:
        events: list[Event] = []
        for t in list(self._roster.participants):
            self._take(t, act(self._sessions[t]), events)
        self._announce(timestamp_ms, events)
        return events

    def _take(self, track_id: int, out: list[Event], events: list[Event]) -> None:
        for e in out:
            if isinstance(e, SectionStarted):
                self._guides[track_id] = max(self._guides[track_id], e.index)
                self._started.setdefault(e.index, e)
                continue
            if isinstance(e, RestStarted):
                continue  # the room's guide speaks, not each person's
            if isinstance(e, RoutineCompleted):
                self._done[track_id] = e
            elif isinstance(e, RoundCompleted):
                state = self._roster.participants.get(track_id)
                if state is not None:  # the roster's count: rounds of every section
                    state.reps += 1
            events.append(ParticipantEvent(e.timestamp_ms, track_id, e))

    def _announce(self, ts: int, events: list[Event]) -> None:
        present = [self._guides[t] for t in self._roster.participants]
        if not present:
            return
        reached = sorted(present, reverse=True)[math.ceil(len(present) / 2) - 1]
        while self._announced < reached:
            self._announced += 1
            started = self._started.get(self._announced)
            if started is not None:
                events.append(dataclasses.replace(started, timestamp_ms=ts))

    def _close(self, track_id: int, ts: int, events: list[Event]) -> None:
        session = self._sessions.get(track_id)
        if session is not None and track_id not in self._done:
            self._take(track_id, session.finish(ts), events)
        self._guides.pop(track_id, None)

    def _member(
        self, track_id: int, state: ParticipantState, present: bool
    ) -> ClassMember:
        session = self._sessions.get(track_id)
        return ClassMember(
            track_id,
            state.number,
            state.joined_ms,
            state.last_seen_ms,
            present,
            {} if session is None else session.rounds(),
            self._done.get(track_id),
        )
