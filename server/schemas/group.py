"""Messages of the group screen's websocket (`/ws/group`, docs/group.md)."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from server.schemas.kiosk import (
    CloseMessage,
    ControlMessage,
    ExerciseInfo,
    KioskOptions,
    ProgrammeInfo,
    StatsMessage,
)
from server.schemas.protocol import (
    INT64_MAX,
    Message,
    check_resolution,
    parse_message,
)
from server.settings import Lang

__all__ = [
    "GROUP_TYPES",
    "AcknowledgeAlertMessage",
    "AlertAcknowledgedMessage",
    "AlertRaisedMessage",
    "CheckInMessage",
    "CheckOutMessage",
    "CheckedInMessage",
    "CheckedOutMessage",
    "GroupClientMessage",
    "GroupMode",
    "GroupOpenMessage",
    "GroupOpenedMessage",
    "GroupParticipantInfo",
    "GroupPerson",
    "GroupPoseMessage",
    "GroupRoutinePlace",
    "GroupSummaryMessage",
    "SetInstructorMessage",
    "parse_group_message",
]

# --- client -> server -------------------------------------------------------------


TrackId = Annotated[int, Field(ge=0, le=2**31 - 1)]
GroupMode = Literal["follow", "same_exercise", "routine"]


class GroupOpenMessage(Message):
    """Start a group session (`/ws/group`, docs/group.md).

    `follow`: everyone copies the instructor (`exercise` optional: only its posture
    is used, for the fall detector); `same_exercise`: everyone does `exercise`.
    `elder` defaults to true (a group of older adults). `resolution_wh` as in
    `OpenMessage`; `instructor_track_id` when staff already know who leads.
    """

    type: Literal["open"] = "open"
    mode: GroupMode
    exercise: str | None = Field(default=None, min_length=1, max_length=64)
    routine: str | None = Field(default=None, min_length=1, max_length=64)
    lang: Lang | None = None
    elder: bool = True
    resolution_wh: tuple[Annotated[int, Field(gt=0, le=16384)], ...] | None = None
    max_participants: int = Field(default=8, ge=1, le=8)
    instructor_track_id: TrackId | None = None

    @model_validator(mode="after")
    def _exercise_for_mode(self) -> GroupOpenMessage:
        if self.mode == "same_exercise" and self.exercise is None:
            raise ValueError("expected 'exercise' for mode 'same_exercise', got none")
        if (self.mode == "routine") != (self.routine is not None):
            raise ValueError(
                "expected 'routine' with mode 'routine' and only then, got "
                f"mode {self.mode!r} and routine {self.routine!r}"
            )
        if self.mode == "routine" and (
            self.exercise is not None or self.instructor_track_id is not None
        ):
            raise ValueError(
                "expected no 'exercise' or 'instructor_track_id' for mode 'routine'"
            )
        check_resolution(self.resolution_wh)
        return self


class SetInstructorMessage(Message):
    """Staff tapped this person as the instructor."""

    type: Literal["set_instructor"] = "set_instructor"
    track_id: TrackId


class CheckInMessage(Message):
    """This participant is that resident (their member code)."""

    type: Literal["check_in"] = "check_in"
    track_id: TrackId
    resident: str = Field(min_length=1, max_length=128)


class CheckOutMessage(Message):
    """Undo a check-in; the resident's record closes."""

    type: Literal["check_out"] = "check_out"
    track_id: TrackId


class AcknowledgeAlertMessage(Message):
    """Staff at the screen saw the alert."""

    type: Literal["acknowledge_alert"] = "acknowledge_alert"
    alert_id: int = Field(ge=1, le=INT64_MAX)  # a database id


_GroupClient = (
    GroupOpenMessage
    | SetInstructorMessage
    | CheckInMessage
    | CheckOutMessage
    | AcknowledgeAlertMessage
    | ControlMessage
    | CloseMessage
)
GroupClientMessage = Annotated[_GroupClient, Field(discriminator="type")]
_GROUP_ADAPTER: Final[TypeAdapter[_GroupClient]] = TypeAdapter(GroupClientMessage)
GROUP_TYPES: Final[tuple[str, ...]] = (
    "open",
    "set_instructor",
    "check_in",
    "check_out",
    "acknowledge_alert",
    "control",
    "close",
)


# --- server -> client -------------------------------------------------------------


class GroupOpenedMessage(Message):
    """A group session started (`exercise`: null in follow mode without one;
    `programme`: the routine, in mode `routine`)."""

    type: Literal["group_opened"] = "group_opened"
    session_id: str
    mode: GroupMode
    exercise: ExerciseInfo | None = None
    programme: ProgrammeInfo | None = None
    lang: Lang
    elder: bool
    max_participants: int
    options: KioskOptions
    skeleton: str
    joint_names: list[str]
    bones: list[tuple[int, int]]


class GroupRoutinePlace(BaseModel):
    """Where a participant is in the routine (mode `routine`): the section they are
    doing (`index` in the routine's sections) and its rounds against the standard's."""

    model_config = ConfigDict(frozen=True)
    section_id: str
    index: int
    rounds: int
    target_rounds: int


class GroupPerson(BaseModel):
    """One tracked person in a `group_pose`.

    `number`: seat 1..max_participants (null for the instructor and people beyond
    the limit); `role`: "instructor", "participant" or "extra"; `name`: display name
    after check-in; `in_step`: follow mode 0-100; `last_score`: same_exercise, the
    last rep's score; `routine`: mode `routine`, where a participant is in it;
    `xy`/`visibility` as in `PoseMessage`.
    """

    model_config = ConfigDict(frozen=True)
    track_id: int
    number: int | None
    role: Literal["instructor", "participant", "extra"]
    name: str | None
    reps: int
    in_step: float | None
    last_score: float | None
    fallen: bool
    xy: list[tuple[float, float] | None]
    visibility: list[float]
    routine: GroupRoutinePlace | None = None


class GroupPoseMessage(Message):
    """Everyone tracked in one processed frame (times as in `PoseMessage`)."""

    type: Literal["group_pose"] = "group_pose"
    timestamp_ms: int
    image_wh: tuple[int, int]
    people: list[GroupPerson]
    processing_ms: float
    inference_ms: float
    engine_ms: float


class CheckedInMessage(Message):
    type: Literal["checked_in"] = "checked_in"
    track_id: int
    number: int | None
    resident: str
    name: str


class CheckedOutMessage(Message):
    type: Literal["checked_out"] = "checked_out"
    track_id: int
    number: int | None


class AlertRaisedMessage(Message):
    """A fall alert for staff; `alert_id` null when it could not be stored (no
    records store, or the write failed)."""

    type: Literal["alert_raised"] = "alert_raised"
    alert_id: int | None
    kind: str
    track_id: int
    number: int | None
    name: str | None
    timestamp_ms: int


class AlertAcknowledgedMessage(Message):
    type: Literal["alert_acknowledged"] = "alert_acknowledged"
    alert_id: int


class GroupParticipantInfo(BaseModel):
    """One participant in `group_summary` (`resident`/`name` when checked in;
    `session`: same_exercise, their own `Session` summary; routine, their
    `RoutineSummary` (every section's status, rounds, score); serialized
    generically)."""

    model_config = ConfigDict(frozen=True)
    track_id: int
    number: int
    resident: str | None
    name: str | None
    reps: int
    in_step_mean: float | None
    joined_ms: int
    last_seen_ms: int
    session: dict[str, Any] | None


class GroupSummaryMessage(Message):
    """End of a group session (`exercise`: the exercise id, the routine's id, or
    null)."""

    type: Literal["group_summary"] = "group_summary"
    session_id: str
    mode: GroupMode
    exercise: str | None
    participants: list[GroupParticipantInfo]
    stats: StatsMessage


def parse_group_message(text: str) -> _GroupClient:
    """Decode a text message of the group screen's websocket (`/ws/group`).

    Raises:
        ProtocolError: as `parse_client_message`.
    """
    message: _GroupClient = parse_message(text, _GROUP_ADAPTER, GROUP_TYPES)
    return message
