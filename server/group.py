"""The group screen's live session (`/ws/group`, docs/group.md), without sockets.

Per processed frame `GroupLive.feed(poses, image_wh)`:

    tracked = tracker.update(poses)          # vision.tracking.PoseTracker
    events = group.feed(tracked)             # exercises.group.GroupSession

then it routes what checked-in participants did to the session recorder
(`server.recording.SessionRecorder`), each under their own recorder session id, and
builds the screen's people list (`GroupPerson`). Anonymous people (never checked in)
are never recorded. The websocket loop (`server/group_ws.py`) awaits the recorder's
futures of a frame before it sends the frame's events (a rep the screen shows is
durable), and does the database work of check-ins and fall alerts off the event loop
with `server.group_records` (blocking; call it from a thread).

Records of one participant:

- `check_in` opens a recorder session (`SessionInfo` with the resident's member code,
  the kiosk, `exercise_id` = the template id, or `FOLLOW_EXERCISE_ID` in follow mode).
- same_exercise: the inner events of each `ParticipantEvent` go to it (the recorder
  keeps reps and cues); follow mode: each `FollowRepCounted` is recorded as a
  `RepCompleted` whose score is the in-step score at that moment (NaN: none yet).
  Counts are renumbered from 1 per record (someone checked in late starts at 1).
- Their frames go to `on_landmarks` (a missing frame when they are out of view); the
  recorder keeps them only with the resident's consent.
- The record closes (`CloseReason.CLOSED`: completed) on `check_out`, when they leave
  (`ParticipantLeft`), when they become the instructor, and when the session closes;
  with the loop's reason (`DISCONNECTED`: interrupted) when the connection drops.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import math
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

from exercises.events import Event, RepCompleted
from exercises.falls import FallCleared, FallDetected
from exercises.group import (
    FollowRepCounted,
    GroupMode,
    GroupSession,
    ParticipantEvent,
    ParticipantLeft,
    ParticipantSummary,
)
from exercises.roster import ParticipantState
from exercises.spec import ExerciseSpec
from server.group_records import ResidentRef
from server.jsonable import joint_xy, to_jsonable, visibility_list
from server.recording import (
    CloseReason,
    NullRecorder,
    RecordWrite,
    SessionEnd,
    SessionInfo,
    SessionRecorder,
)
from server.schemas import (
    ErrorCode,
    GroupParticipantInfo,
    GroupPerson,
    ProtocolError,
)
from vision.tracking import PoseTracker, TrackerOptions
from vision.types import PoseFrame, Poses, Skeleton

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from exercises.routine_group import ClassMember
    from server.inference import StreamStats

__all__ = [
    "FOLLOW_EXERCISE_ID",
    "CheckIn",
    "GroupEngine",
    "GroupLive",
    "GroupStep",
    "participant_info",
    "people_of",
]

log = logging.getLogger(__name__)

FOLLOW_EXERCISE_ID: Final[str] = "group_follow"
"""`exercise_id` of a follow-mode participant's record."""


class GroupEngine(Protocol):
    """What the screen reads of a group engine (`exercises.group.GroupSession`, or
    `exercises.routine_group.RoutineClass` in `server.group_routine`)."""

    @property
    def participants(self) -> dict[int, ParticipantState]: ...

    @property
    def instructor_track_id(self) -> int | None: ...

    def feed(self, poses: Poses) -> list[Event]: ...


@dataclass(slots=True)
class CheckIn:
    """A participant checked in to a resident, with their open record.

    Attributes:
        track_id: The tracker's ID.
        number: Their seat number at check-in.
        resident: The resident.
        session_id: The recorder's session id of their record (a live id).
        reps: Reps recorded in this record.
        last_rep_ms: Time of the last recorded rep (or of the check-in).
    """

    track_id: int
    number: int
    resident: ResidentRef
    session_id: str
    reps: int = 0
    last_rep_ms: int | None = None


@dataclass(frozen=True, slots=True)
class GroupStep:
    """What one processed frame produced.

    Attributes:
        tracked: The frame's poses with track IDs.
        events: The engine's events, in order.
        people: The `group_pose` people list.
        pending: Recorder writes (futures) to await before sending `events`.
        checked_out: Check-ins this frame closed (the participant left, or became
            the instructor).
    """

    tracked: Poses
    events: list[Event]
    people: list[GroupPerson]
    pending: list[concurrent.futures.Future[Any]] = field(default_factory=list)
    checked_out: list[CheckIn] = field(default_factory=list)


def people_of(
    tracked: Poses,
    group: GroupEngine,
    names: dict[int, str],
    last_scores: dict[int, float],
    fallen: set[int],
) -> list[GroupPerson]:
    """The `group_pose` people list of one frame, in the tracker's order.

    Args:
        tracked: Poses with track IDs.
        group: The engine (roles, seat numbers, reps, in-step scores).
        names: Display names of checked-in tracks.
        last_scores: Last rep score per track (same_exercise).
        fallen: Tracks with a raised, not cleared, fall.
    """
    out: list[GroupPerson] = []
    instructor = group.instructor_track_id
    for i, raw in enumerate(tracked.track_ids.tolist()):
        track_id = int(raw)
        state = group.participants.get(track_id)
        role: Literal["instructor", "participant", "extra"] = (
            "instructor"
            if track_id == instructor
            else ("participant" if state is not None else "extra")
        )
        in_step = None if state is None else state.in_step
        out.append(
            GroupPerson(
                track_id=track_id,
                number=None if state is None else state.number,
                role=role,
                name=names.get(track_id),
                reps=0 if state is None else state.reps,
                in_step=None if in_step is None else round(float(in_step), 1),
                last_score=last_scores.get(track_id),
                fallen=track_id in fallen,
                xy=joint_xy(tracked.xyz[i]),
                visibility=visibility_list(tracked.visibility[i]),
            )
        )
    return out


def participant_info(
    part: ParticipantSummary | ClassMember,
    resident: ResidentRef | None,
    *,
    reps: int,
    in_step_mean: float | None,
    session: Any,
) -> GroupParticipantInfo:
    """One `group_summary` participant: their seat and times from the engine's
    summary, the resident checked in to them (None: anonymous)."""
    return GroupParticipantInfo(
        track_id=part.track_id,
        number=part.number,
        resident=None if resident is None else resident.member_code,
        name=None if resident is None else resident.display_name,
        reps=reps,
        in_step_mean=in_step_mean,
        joined_ms=part.joined_ms,
        last_seen_ms=part.last_seen_ms,
        session=session,
    )


def _unknown(
    track_id: int, who: str, valid: Iterable[int], *, none: str = "none"
) -> ProtocolError:
    """`unknown_participant`: `track_id` is not the track id of `who` (listed)."""
    ids = sorted(valid)
    return ProtocolError(
        ErrorCode.UNKNOWN_PARTICIPANT,
        f"expected the track id of {who} "
        f"({', '.join(map(str, ids)) or none}), got {track_id}",
        valid=[str(t) for t in ids],
    )


class GroupLive:
    """One group session on the screen (see the module docstring).

    Args:
        mode: "follow" or "same_exercise" ("routine": `server.group_routine`).
        spec: The exercise (required for same_exercise; follow: optional, for the
            fall detector's posture).
        exercise_id: Records' `exercise_id` of same_exercise participants (the
            template id); follow mode records `FOLLOW_EXERCISE_ID`.
        elder: Elder mode.
        lang: "en" or "zh-CN" (records).
        max_participants: Seats, 1..8.
        instructor_track_id: The instructor, if staff named one at `open`.
        skeleton: Joint layout of the poses.
        recorder: Where checked-in participants' records go (`SessionRecorder`).
        live_id: The group session's id (alerts carry it).
        kiosk_id: The group screen's kiosk (records, alerts), None without auth.
        client: Peer address, for the records.
        stats: Frame counters passed to the recorder when a record closes.
        clock: Wall clock for the records' start times.

    Raises:
        ValueError: the engine refuses the configuration (e.g. missing joints).
    """

    def __init__(
        self,
        *,
        mode: Literal["follow", "same_exercise", "routine"],
        spec: ExerciseSpec | None,
        exercise_id: str | None,
        elder: bool,
        lang: str,
        max_participants: int,
        instructor_track_id: int | None = None,
        skeleton: Skeleton = Skeleton.BLAZEPOSE_33,
        recorder: SessionRecorder | None = None,
        live_id: str | None = None,
        kiosk_id: int | None = None,
        client: str | None = None,
        stats: StreamStats | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.mode = mode
        self.spec = spec
        self.exercise_id = exercise_id
        self.elder = elder
        self.lang = lang
        self.max_participants = max_participants
        self.skeleton = skeleton
        self.live_id = live_id or uuid.uuid4().hex
        self.kiosk_id = kiosk_id
        self.client = client
        self.stats = stats
        self.recorder: SessionRecorder = recorder or NullRecorder()
        self._clock = clock
        self._instructor = instructor_track_id
        # Raises early on a bad configuration. The poses carry their image's aspect.
        self.engine: GroupEngine = self._start_engine()
        self.tracker = PoseTracker(TrackerOptions(), self.skeleton)
        self.check_ins: dict[int, CheckIn] = {}
        self._left: dict[int, ResidentRef] = {}  # checked in when they left
        self.fallen: set[int] = set()
        self.last_scores: dict[int, float] = {}
        self.last_track_ids: frozenset[int] = frozenset()
        self.last_timestamp_ms: int | None = None

    def _start_engine(self) -> GroupEngine:
        """The engine of this mode (a subclass may run another)."""
        mode: GroupMode = "follow" if self.mode == "follow" else "same_exercise"
        return GroupSession(
            mode,
            self.spec,
            instructor_track_id=self._instructor,
            max_participants=self.max_participants,
            elder_mode=self.elder,
            skeleton=self.skeleton,
        )

    @property
    def group(self) -> GroupSession:
        """The follow / same_exercise engine."""
        assert isinstance(self.engine, GroupSession)
        return self.engine

    @property
    def record_exercise_id(self) -> str:
        """`exercise_id` of the participants' records."""
        if self.mode == "follow" or self.exercise_id is None:
            return FOLLOW_EXERCISE_ID
        return self.exercise_id

    # --- frames -----------------------------------------------------------------------

    def feed(
        self,
        poses: Poses,
        image_wh: tuple[int, int],
        lineage: npt.NDArray[np.int64] | None = None,
    ) -> GroupStep:
        """Track, run the engine, record the checked-in participants.

        `lineage`: the estimator's lineage of each pose (`PoseTracker.update`).

        Raises:
            ValueError: the tracker or the engine rejected the frame (timestamps).
        """
        tracked = self.tracker.update(poses, lineage)
        events = self.engine.feed(tracked)
        ts = int(tracked.timestamp_ms)
        self.last_timestamp_ms = ts
        self.last_track_ids = frozenset(int(t) for t in tracked.track_ids.tolist())
        pending: list[concurrent.futures.Future[Any]] = []
        closed: list[CheckIn] = []
        for event in events:
            self._route(event, pending, closed)
        instructor = self.engine.instructor_track_id
        if instructor is not None and instructor in self.check_ins:
            closed.append(self._close(instructor, CloseReason.CLOSED))
        index = {int(t): i for i, t in enumerate(tracked.track_ids.tolist())}
        for track_id, check_in in self.check_ins.items():
            i = index.get(track_id)
            frame = (
                tracked[i] if i is not None else PoseFrame.missing(ts, tracked.skeleton)
            )
            self.recorder.on_landmarks(check_in.session_id, frame)
        names = {t: c.resident.display_name for t, c in self.check_ins.items()}
        people = people_of(tracked, self.engine, names, self.last_scores, self.fallen)
        return GroupStep(tracked, events, people, pending, closed)

    def _route(
        self,
        event: Event,
        pending: list[concurrent.futures.Future[Any]],
        closed: list[CheckIn],
    ) -> None:
        if isinstance(event, FallDetected):
            self.fallen.add(event.track_id)
        elif isinstance(event, FallCleared):
            self.fallen.discard(event.track_id)
        elif isinstance(event, ParticipantEvent):
            inner = event.event
            if isinstance(inner, RepCompleted):
                self.last_scores[event.track_id] = round(float(inner.score), 1)
            check_in = self.check_ins.get(event.track_id)
            if check_in is not None:
                if isinstance(inner, RepCompleted):
                    check_in.reps += 1
                    check_in.last_rep_ms = inner.timestamp_ms
                    inner = dataclasses.replace(inner, count=check_in.reps)
                self._keep(self.recorder.on_event(check_in.session_id, inner), pending)
        elif isinstance(event, FollowRepCounted):
            check_in = self.check_ins.get(event.track_id)
            if check_in is not None:
                rep = self._follow_rep(check_in, event)
                self._keep(self.recorder.on_event(check_in.session_id, rep), pending)
        elif isinstance(event, ParticipantLeft) and event.track_id in self.check_ins:
            gone = self._close(event.track_id, CloseReason.CLOSED)
            self._left[event.track_id] = gone.resident
            closed.append(gone)

    @staticmethod
    def _keep(
        write: RecordWrite, pending: list[concurrent.futures.Future[Any]]
    ) -> None:
        if write is not None:
            pending.append(write)

    @staticmethod
    def _follow_rep(check_in: CheckIn, event: FollowRepCounted) -> RepCompleted:
        """A follow-mode repetition as a rep of the participant's record: its score
        is the in-step score at that moment."""
        check_in.reps += 1
        previous = check_in.last_rep_ms
        check_in.last_rep_ms = event.timestamp_ms
        return RepCompleted(
            timestamp_ms=event.timestamp_ms,
            count=check_in.reps,
            score=math.nan if event.in_step is None else float(event.in_step),
            breakdown={},
            duration_ms=0 if previous is None else event.timestamp_ms - previous,
            range_of_motion_deg={},
        )

    # --- staff actions ----------------------------------------------------------------

    def require_participant(self, track_id: int) -> int:
        """`track_id`'s seat number.

        Raises:
            ProtocolError: `unknown_participant` when it is not a participant now.
        """
        state = self.engine.participants.get(track_id)
        if state is None:
            raise _unknown(track_id, "a participant now", self.engine.participants)
        return state.number

    def check_in(
        self, track_id: int, resident: ResidentRef
    ) -> tuple[CheckIn, list[CheckIn]]:
        """This participant is `resident`: open their record.

        A check-in of this track to someone else, and one of this resident on another
        track (a resident is one person), close first.

        Returns:
            The check-in, and those it closed on other tracks.

        Raises:
            ProtocolError: `unknown_participant`.
        """
        number = self.require_participant(track_id)
        replaced = []
        if track_id in self.check_ins:
            self._close(track_id, CloseReason.CLOSED)
        for other, existing in list(self.check_ins.items()):
            if existing.resident.resident_id == resident.resident_id:
                replaced.append(self._close(other, CloseReason.CLOSED))
        self._left.pop(track_id, None)
        check_in = CheckIn(
            track_id,
            number,
            resident,
            uuid.uuid4().hex,
            last_rep_ms=self.last_timestamp_ms,
        )
        self.check_ins[track_id] = check_in
        self.recorder.on_open(
            SessionInfo(
                session_id=check_in.session_id,
                exercise_id=self.record_exercise_id,
                lang=self.lang,
                elder=self.elder,
                resident=resident.member_code,
                started_at=self._clock(),
                client=self.client,
                kiosk_id=self.kiosk_id,
            ),
        )
        return check_in, replaced

    def check_out(self, track_id: int) -> CheckIn:
        """Undo a check-in: their record closes (completed).

        Raises:
            ProtocolError: `unknown_participant` when the track is not checked in.
        """
        if track_id not in self.check_ins:
            raise _unknown(track_id, "a checked-in participant", self.check_ins)
        return self._close(track_id, CloseReason.CLOSED)

    def set_instructor(self, track_id: int) -> CheckIn | None:
        """Staff tapped `track_id` as the instructor; a check-in of theirs closes
        (returned).

        Raises:
            ProtocolError: `unknown_participant` when nobody with that track id was
                in the last frame.
        """
        if track_id not in self.last_track_ids:
            raise _unknown(
                track_id, "someone in view", self.last_track_ids, none="nobody"
            )
        closed = (
            self._close(track_id, CloseReason.CLOSED)
            if track_id in self.check_ins
            else None
        )
        self._instructor = track_id
        self.group.set_instructor(track_id)
        return closed

    def who(self, track_id: int) -> tuple[int | None, str | None, int | None]:
        """(seat number, display name, resident id) of a track, where known."""
        state = self.engine.participants.get(track_id)
        check_in = self.check_ins.get(track_id)
        resident = check_in.resident if check_in else self._left.get(track_id)
        return (
            None if state is None else state.number,
            None if resident is None else resident.display_name,
            None if resident is None else resident.resident_id,
        )

    def control(
        self, action: str
    ) -> tuple[list[Event], list[concurrent.futures.Future[Any]]]:
        """Staff steer the class (`pause`, `resume`, `skip`): the events, and the
        recorder writes to await before sending them. Only a routine takes them.

        Raises:
            ProtocolError: `not_supported` in the follow and same_exercise modes.
        """
        raise ProtocolError(
            ErrorCode.NOT_SUPPORTED,
            f"expected no control in mode {self.mode!r} (only a routine takes "
            f"pause, resume and skip), got {action!r}",
        )

    # --- ends -------------------------------------------------------------------------

    def _summary_of(self, track_id: int) -> ParticipantSummary | None:
        mine = [p for p in self.group.summary() if p.track_id == track_id]
        return mine[-1] if mine else None

    def _record_summary(self, track_id: int) -> object | None:
        """What a participant's record keeps when it closes."""
        part = self._summary_of(track_id)
        if part is None:
            return None
        return part.session if part.session is not None else part

    def _close(self, track_id: int, reason: CloseReason) -> CheckIn:
        check_in = self.check_ins.pop(track_id)
        summary = self._record_summary(track_id)
        self.recorder.on_close(
            check_in.session_id, SessionEnd(reason, summary, self.stats)
        )
        return check_in

    def close(self, reason: CloseReason) -> list[GroupParticipantInfo]:
        """End the session: every open record closes with `reason`; returns the
        `group_summary` participants (with the residents checked in at the end or
        when they left)."""
        residents = {**self._left}
        residents.update({t: c.resident for t, c in self.check_ins.items()})
        for track_id in list(self.check_ins):
            try:
                self._close(track_id, reason)
            except Exception:  # one record's failure must not keep the others open
                log.exception(
                    "group %s: closing track %d failed", self.live_id, track_id
                )
        return self._participant_infos(residents)

    def _participant_infos(
        self, residents: dict[int, ResidentRef]
    ) -> list[GroupParticipantInfo]:
        """The `group_summary` participants."""
        return [
            participant_info(
                p,
                residents.get(p.track_id),
                reps=p.reps,
                in_step_mean=p.in_step_mean,
                session=None if p.session is None else to_jsonable(p.session),
            )
            for p in self.group.summary()
        ]
