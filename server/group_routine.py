"""A routine class on the group screen (`/ws/group` `open` with `mode: "routine"`,
docs/group.md): `server.group.GroupLive` with `exercises.routine_group.RoutineClass`
as its engine, e.g. an elders' Baduanjin class.

What differs from the follow and same_exercise modes:

- Everyone in view is a participant (no instructor: `set_instructor` is refused);
  each person's own guide moves them through the routine, the room's guide
  (`SectionStarted` to everyone, once) is what the screen captions and speaks.
- The people list carries each participant's place (`GroupRoutinePlace`: the section
  they are doing, its rounds against the standard's); `reps` counts their rounds of
  every section, `last_score` is their last round's score.
- `control` (pause, resume, skip) acts on everyone at the last frame's time.
- Records: a checked-in participant's record is a routine session like the kiosk's
  (`exercise_id` = the routine's id; their rounds, sections and cues as events) and
  closes with their `server.programmes.RoutineSummary` (every section's status,
  rounds, score), which `server.programme_records` keeps as the kiosk's. The summary
  is the participant's whole routine in this class, also the part before check-in:
  the person is the same.
- `close` (the screen ended the class) finishes the routine for everyone first, so
  each section under way is closed and scored; a dropped connection keeps what was
  done.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
from typing import TYPE_CHECKING, Any

from exercises.events import Event
from exercises.group import ParticipantEvent
from exercises.routine import RoutineSpec
from exercises.routine_events import RoundCompleted
from exercises.routine_group import RoutineClass
from exercises.routine_session import RoutineOptions
from server.group import (
    CheckIn,
    GroupEngine,
    GroupLive,
    GroupStep,
    participant_info,
)
from server.group_records import ResidentRef
from server.jsonable import to_jsonable
from server.programmes import ROUTINE_CONTROLS, ROUTINE_JOINTS, RoutineRecord
from server.recording import CloseReason
from server.schemas import (
    ErrorCode,
    GroupParticipantInfo,
    GroupRoutinePlace,
    ProtocolError,
)
from vision.types import Poses, Skeleton

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["RoutineGroupLive"]


class RoutineGroupLive(GroupLive):
    """A routine class on the group screen (see the module docstring).

    Args:
        routine: The routine.
        skeleton: Joint layout of the poses.
        **others: As `GroupLive` (elder, lang, max_participants, recorder, ...; no
            mode, spec, exercise or instructor).

    Raises:
        ValueError: the skeleton lacks the routine's joints.
    """

    def __init__(
        self, routine: RoutineSpec, *, skeleton: Skeleton, **others: Any
    ) -> None:
        missing = [j for j in ROUTINE_JOINTS if not skeleton.has(j)]
        if missing:
            raise ValueError(
                f"{routine.id} needs the joints {', '.join(missing)}; "
                f"the {skeleton.value} skeleton lacks them"
            )
        self.routine = routine
        self.records: dict[int, RoutineRecord] = {}
        super().__init__(
            mode="routine",
            spec=None,
            exercise_id=routine.id,
            skeleton=skeleton,
            **others,
        )

    def _start_engine(self) -> GroupEngine:
        return RoutineClass(
            self.routine,
            RoutineOptions(elder=self.elder),
            max_participants=self.max_participants,
        )

    @property
    def routine_class(self) -> RoutineClass:
        """The engine."""
        assert isinstance(self.engine, RoutineClass)
        return self.engine

    # --- frames -----------------------------------------------------------------------

    def feed(
        self,
        poses: Poses,
        image_wh: tuple[int, int],
        lineage: npt.NDArray[np.int64] | None = None,
    ) -> GroupStep:
        step = super().feed(poses, image_wh, lineage)
        people = [
            p.model_copy(update={"routine": self.place(p.track_id)})
            if p.role == "participant"
            else p
            for p in step.people
        ]
        return dataclasses.replace(step, people=people)

    def place(self, track_id: int) -> GroupRoutinePlace | None:
        """Where a participant is in the routine (None: not a participant)."""
        session = self.routine_class.session(track_id)
        if session is None or track_id not in self.engine.participants:
            return None
        at = session.position
        return GroupRoutinePlace(
            section_id=at.section_id,
            index=at.index,
            rounds=at.rounds,
            target_rounds=at.target_rounds,
        )

    def _route(
        self,
        event: Event,
        pending: list[concurrent.futures.Future[Any]],
        closed: list[CheckIn],
    ) -> None:
        if isinstance(event, ParticipantEvent):
            record = self.records.get(event.track_id)
            if record is None:
                record = self.records[event.track_id] = RoutineRecord(
                    self.routine, self.elder
                )
            record.add([event.event])
            if isinstance(event.event, RoundCompleted):
                self.last_scores[event.track_id] = round(float(event.event.score), 1)
        super()._route(event, pending, closed)

    # --- staff actions ----------------------------------------------------------------

    def control(
        self, action: str
    ) -> tuple[list[Event], list[concurrent.futures.Future[Any]]]:
        """Pause, resume or skip a section for everyone, at the last frame's time
        (nothing before the first frame)."""
        if action not in ROUTINE_CONTROLS:
            raise ProtocolError(
                ErrorCode.NOT_SUPPORTED,
                f"expected one of {', '.join(ROUTINE_CONTROLS)}, got {action!r}",
                valid=ROUTINE_CONTROLS,
            )
        ts = self.last_timestamp_ms
        if ts is None:
            return [], []
        group = self.routine_class
        act = {"pause": group.pause, "resume": group.resume, "skip": group.skip}
        return self._routed(act[action](ts))

    def set_instructor(self, track_id: int) -> CheckIn | None:
        raise ProtocolError(
            ErrorCode.NOT_SUPPORTED,
            f"expected no instructor in a routine class (everyone follows the "
            f"routine), got set_instructor {track_id}",
        )

    def _routed(
        self, events: list[Event]
    ) -> tuple[list[Event], list[concurrent.futures.Future[Any]]]:
        pending: list[concurrent.futures.Future[Any]] = []
        for event in events:
            self._route(event, pending, [])
        return events, pending

    # --- ends -------------------------------------------------------------------------

    def _record_summary(self, track_id: int) -> object | None:
        record = self.records.get(track_id)
        return None if record is None else record.summary()

    def close(self, reason: CloseReason) -> list[GroupParticipantInfo]:
        if reason == CloseReason.CLOSED and self.last_timestamp_ms is not None:
            self._routed(self.routine_class.finish(self.last_timestamp_ms))
        return super().close(reason)

    def _participant_infos(
        self, residents: dict[int, ResidentRef]
    ) -> list[GroupParticipantInfo]:
        out = []
        for m in self.routine_class.summary():
            record = self.records.get(m.track_id) or RoutineRecord(
                self.routine, self.elder
            )
            out.append(
                participant_info(
                    m,
                    residents.get(m.track_id),
                    reps=sum(m.rounds.values()),
                    in_step_mean=None,
                    session=to_jsonable(record.summary()),
                )
            )
        return out
