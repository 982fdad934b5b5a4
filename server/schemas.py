"""Wire messages of the kiosk websocket (`/ws`) and of the group screen's websocket
(`/ws/group`), version 1. The pages' only contract; `docs/protocol.md` and
`docs/group.md` describe them for people.

Every JSON message is a pydantic model with a `type` and a `v` field. Binary messages
are camera frames: a 12-byte header (`FRAME_HEADER`) followed by the JPEG bytes.

Engine events are serialized generically (`event_message`): the dataclass's class name
becomes the snake_case `type` (`RepCompleted` -> `rep_completed`), its fields the
payload, enum members their names (str enums their values: `band: "normal"`),
tuples lists and non-finite floats `null`. A new
event class in `exercises/events.py` therefore reaches the page without a change here.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import re
import struct
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Final, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from server.settings import LANGUAGES

__all__ = [
    "ASSESSMENT_IDS",
    "FRAME_HEADER",
    "FRAME_MAGIC",
    "PROTOCOL_VERSION",
    "RESERVED_TYPES",
    "AcknowledgeAlertMessage",
    "AlertAcknowledgedMessage",
    "AlertRaisedMessage",
    "AssessmentInfo",
    "AssessmentTiming",
    "CheckInMessage",
    "CheckOutMessage",
    "CheckedInMessage",
    "CheckedOutMessage",
    "ClientMessage",
    "CloseMessage",
    "ErrorCode",
    "ErrorMessage",
    "EventMessage",
    "ExerciseInfo",
    "GroupClientMessage",
    "GroupOpenMessage",
    "GroupOpenedMessage",
    "GroupParticipantInfo",
    "GroupPerson",
    "GroupPoseMessage",
    "GroupSummaryMessage",
    "KioskOptions",
    "OpenMessage",
    "OpenedMessage",
    "PoseMessage",
    "ProtocolError",
    "SetInstructorMessage",
    "StatsMessage",
    "SummaryMessage",
    "decode_frame",
    "encode_frame",
    "event_message",
    "parse_client_message",
    "parse_group_message",
    "snake_case",
    "to_wire",
]

PROTOCOL_VERSION: Final[int] = 1

FRAME_MAGIC: Final[bytes] = b"MC"
FRAME_HEADER: Final[struct.Struct] = struct.Struct("<2sBBQ")
"""Binary frame header, little-endian, 12 bytes:

    offset 0  2 bytes  magic b"MC"
    offset 2  uint8    header version (1)
    offset 3  uint8    flags (0; reserved)
    offset 4  uint64   capture timestamp_ms (kiosk monotonic clock; must increase)
    offset 12 ...      JPEG bytes
"""

ASSESSMENT_IDS: Final[tuple[str, ...]] = (
    "chair_stand_30s",
    "arm_curl_30s",
    "step_test_2min",
    "single_leg_stance",
)
"""The fitness assessments a kiosk may `open` (`exercises.assessments.SESSIONS`)."""

Lang = Literal["en", "zh-CN"]
assert set(LANGUAGES) == {"en", "zh-CN"}


class ErrorCode(enum.StrEnum):
    """`error.code` values. The page shows a localized text per code."""

    BAD_JSON = "bad_json"  # text message is not JSON
    BAD_MESSAGE = "bad_message"  # JSON, but not a valid client message
    UNSUPPORTED_VERSION = "unsupported_version"  # `v` is not 1
    UNKNOWN_EXERCISE = "unknown_exercise"  # `open` names no built-in exercise
    UNKNOWN_ASSESSMENT = "unknown_assessment"  # `open` names no assessment protocol
    NOT_OPEN = "not_open"  # frame or close before `open`
    ALREADY_OPEN = "already_open"  # `open` while a session runs
    BAD_FRAME = "bad_frame"  # binary message with a malformed header
    BAD_IMAGE = "bad_image"  # header fine, JPEG undecodable
    NON_MONOTONIC = "non_monotonic"  # timestamp_ms not above the previous frame's
    TOO_LARGE = "too_large"  # message above max_message_bytes
    BUSY = "busy"  # max_sessions reached; the socket is closed (1013)
    INFERENCE_FAILED = "inference_failed"  # the pose backend raised on a frame
    ENGINE_REJECTED = "engine_rejected"  # the exercise session raised on a frame
    # group screen (`/ws/group`, docs/group.md):
    UNKNOWN_RESIDENT = "unknown_resident"  # check_in: no such member code here
    UNKNOWN_PARTICIPANT = "unknown_participant"  # track id not a participant now
    NO_RECORDS = "no_records"  # check_in / acknowledge_alert without a records store


class ProtocolError(Exception):
    """A client message the server answers with an `error` message."""

    def __init__(
        self, code: ErrorCode, detail: str, *, valid: Sequence[str] = ()
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.valid = tuple(valid)

    def to_message(self) -> ErrorMessage:
        return ErrorMessage(code=self.code, detail=self.detail, valid=list(self.valid))


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Literal[1] = PROTOCOL_VERSION


# --- client -> server -------------------------------------------------------------


class AssessmentTiming(BaseModel):
    """Shorter phases before an assessment's measured time (demonstrations, tests);
    the protocol's own durations (30 s, 2 min) never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    instructions_ms: int = Field(ge=0, le=60_000)
    ready_hold_ms: int = Field(ge=0, le=10_000)
    countdown_ms: int = Field(ge=0, le=10_000)


class OpenMessage(_Message):
    """Start an exercise session (`exercise`) or a fitness assessment (`assessment`);
    exactly one of the two. `lang`/`elder` default to the server's settings.

    `resolution_wh` is the camera's (width, height) where the kiosk knows it
    (informational: the engine takes the aspect from each decoded frame).
    `age_years`/`sex` compare an assessment with the norms when no signed-in resident's
    record gives them.
    """

    type: Literal["open"] = "open"
    exercise: str | None = Field(default=None, min_length=1, max_length=64)
    assessment: str | None = Field(default=None, min_length=1, max_length=64)
    lang: Lang | None = None
    elder: bool | None = None
    resident: str | None = Field(default=None, max_length=128)
    resolution_wh: tuple[Annotated[int, Field(gt=0, le=16384)], ...] | None = None
    age_years: int | None = Field(default=None, ge=0, le=130)
    sex: Literal["female", "male"] | None = None
    timing: AssessmentTiming | None = None
    resume: str | None = Field(default=None, min_length=1, max_length=64)
    """Go on with this kiosk's earlier exercise session (its `opened.session_id`)
    after a reconnect; see server/resume.py."""

    @model_validator(mode="after")
    def _one_target(self) -> OpenMessage:
        if (self.exercise is None) == (self.assessment is None):
            raise ValueError(
                "expected exactly one of 'exercise' or 'assessment', got "
                + ("both" if self.exercise is not None else "neither")
            )
        if self.resolution_wh is not None and len(self.resolution_wh) != 2:
            raise ValueError(
                "expected resolution_wh [width, height], got "
                f"{list(self.resolution_wh)}"
            )
        return self


class CloseMessage(_Message):
    """End the session: the server drains the newest frame, then sends `summary`."""

    type: Literal["close"] = "close"


ClientMessage = Annotated[OpenMessage | CloseMessage, Field(discriminator="type")]
_CLIENT_ADAPTER: Final[TypeAdapter[OpenMessage | CloseMessage]] = TypeAdapter(
    ClientMessage
)
_CLIENT_TYPES: Final[tuple[str, ...]] = ("open", "close")

TrackId = Annotated[int, Field(ge=0, le=2**31 - 1)]


class GroupOpenMessage(_Message):
    """Start a group session (`/ws/group`, docs/group.md).

    `follow`: everyone copies the instructor (`exercise` optional: only its posture
    is used, for the fall detector); `same_exercise`: everyone does `exercise`.
    `elder` defaults to true (a group of older adults). `resolution_wh` as in
    `OpenMessage`; `instructor_track_id` when staff already know who leads.
    """

    type: Literal["open"] = "open"
    mode: Literal["follow", "same_exercise"]
    exercise: str | None = Field(default=None, min_length=1, max_length=64)
    lang: Lang | None = None
    elder: bool = True
    resolution_wh: tuple[Annotated[int, Field(gt=0, le=16384)], ...] | None = None
    max_participants: int = Field(default=8, ge=1, le=8)
    instructor_track_id: TrackId | None = None

    @model_validator(mode="after")
    def _exercise_for_mode(self) -> GroupOpenMessage:
        if self.mode == "same_exercise" and self.exercise is None:
            raise ValueError("expected 'exercise' for mode 'same_exercise', got none")
        if self.resolution_wh is not None and len(self.resolution_wh) != 2:
            raise ValueError(
                "expected resolution_wh [width, height], got "
                f"{list(self.resolution_wh)}"
            )
        return self


class SetInstructorMessage(_Message):
    """Staff tapped this person as the instructor."""

    type: Literal["set_instructor"] = "set_instructor"
    track_id: TrackId


class CheckInMessage(_Message):
    """This participant is that resident (their member code)."""

    type: Literal["check_in"] = "check_in"
    track_id: TrackId
    resident: str = Field(min_length=1, max_length=128)


class CheckOutMessage(_Message):
    """Undo a check-in; the resident's record closes."""

    type: Literal["check_out"] = "check_out"
    track_id: TrackId


class AcknowledgeAlertMessage(_Message):
    """Staff at the screen saw the alert."""

    type: Literal["acknowledge_alert"] = "acknowledge_alert"
    alert_id: int = Field(ge=1)


_GroupClient = (
    GroupOpenMessage
    | SetInstructorMessage
    | CheckInMessage
    | CheckOutMessage
    | AcknowledgeAlertMessage
    | CloseMessage
)
GroupClientMessage = Annotated[_GroupClient, Field(discriminator="type")]
_GROUP_ADAPTER: Final[TypeAdapter[_GroupClient]] = TypeAdapter(GroupClientMessage)
_GROUP_TYPES: Final[tuple[str, ...]] = (
    "open",
    "set_instructor",
    "check_in",
    "check_out",
    "acknowledge_alert",
    "close",
)


# --- server -> client -------------------------------------------------------------


class ExerciseInfo(BaseModel):
    """An exercise as the picker and the `opened` message show it."""

    model_config = ConfigDict(frozen=True)
    id: str
    name: dict[str, str]
    kind: str  # "reps" | "hold" | "sequence"
    view: str  # "front" | "side" | "any"
    required_joints: list[str]
    picture: str  # URL of an SVG pictogram
    description: dict[str, str] = Field(default_factory=dict)
    instructions: dict[str, str] = Field(default_factory=dict)
    posture: str | None = None
    target_reps: int | None = None


class KioskOptions(BaseModel):
    """How the page paces feedback; from `Settings`, the same for every kiosk."""

    model_config = ConfigDict(frozen=True)
    cue_interval_ms: int
    speech_rate: float
    countdown_s: int
    send_width: int


class AssessmentInfo(BaseModel):
    """A fitness assessment as the `opened` message shows it.

    `normal_range` is the 25th-75th percentile of the subject's age group and sex
    (the target to reach), None without age and sex. `sides` lists the sides counted
    on their own ("left", "right"), empty for a single whole-body count.
    """

    model_config = ConfigDict(frozen=True)
    id: str
    name: dict[str, str]
    unit: str
    unit_label: dict[str, str]
    duration_ms: int | None
    camera_view: str
    start_position: dict[str, str]
    sides: list[str] = Field(default_factory=list)
    age_years: int | None = None
    sex: str | None = None
    normal_range: tuple[float, float] | None = None


class OpenedMessage(_Message):
    """A session started: `exercise` is set for an exercise session, `assessment`
    for a fitness assessment."""

    type: Literal["opened"] = "opened"
    session_id: str
    exercise: ExerciseInfo | None = None
    assessment: AssessmentInfo | None = None
    lang: Lang
    elder: bool
    options: KioskOptions
    skeleton: str
    joint_names: list[str]
    bones: list[tuple[int, int]]
    resumed_reps: int | None = None
    """Reps already recorded when `open` resumed a session; None for a new one."""


class PoseMessage(_Message):
    """Landmarks of the selected subject in one processed frame, for the overlay.

    `xy[j]` is `[x, y]` normalized to the image (0..1, origin top-left) or null when
    joint j is missing; `visibility[j]` in 0..1. `present` is false when nobody was
    found (all of `xy` null). Times: `inference_ms` = JPEG decode + model + subject
    selection in the worker; `engine_ms` = `session.feed`; `processing_ms` = frame
    received -> this message built (includes waiting for the worker).
    """

    type: Literal["pose"] = "pose"
    timestamp_ms: int
    present: bool
    candidates: int
    image_wh: tuple[int, int]
    xy: list[tuple[float, float] | None]
    visibility: list[float]
    bones: list[tuple[int, int]]
    processing_ms: float
    inference_ms: float
    engine_ms: float


class StatsMessage(_Message):
    """Frame counters of this socket's current session.

    received = processed + dropped + rejected + pending (0 or 1) + in flight (0 or 1).
    `dropped`: replaced by a newer frame before inference (latest frame wins).
    `rejected`: answered with an error (bad header or image, non-monotonic time).
    """

    type: Literal["stats"] = "stats"
    received: int
    processed: int
    dropped: int
    rejected: int


class SummaryMessage(_Message):
    """End of a session: the engine's summary (serialized generically) and counters."""

    type: Literal["summary"] = "summary"
    session_id: str
    exercise: str
    summary: dict[str, Any]
    stats: StatsMessage


class ErrorMessage(_Message):
    """A problem with something the client sent; the session keeps running unless
    `fatal` (then the server closes the socket). `valid` lists accepted values where
    that helps (exercise ids, message types)."""

    type: Literal["error"] = "error"
    code: ErrorCode
    detail: str
    valid: list[str] = Field(default_factory=list)
    fatal: bool = False


# --- server -> client: the group screen (`/ws/group`) ------------------------------


class GroupOpenedMessage(_Message):
    """A group session started (`exercise`: null in follow mode without one)."""

    type: Literal["group_opened"] = "group_opened"
    session_id: str
    mode: Literal["follow", "same_exercise"]
    exercise: ExerciseInfo | None = None
    lang: Lang
    elder: bool
    max_participants: int
    options: KioskOptions
    skeleton: str
    joint_names: list[str]
    bones: list[tuple[int, int]]


class GroupPerson(BaseModel):
    """One tracked person in a `group_pose`.

    `number`: seat 1..max_participants (null for the instructor and people beyond
    the limit); `role`: "instructor", "participant" or "extra"; `name`: display name
    after check-in; `in_step`: follow mode 0-100; `last_score`: same_exercise, the
    last rep's score; `xy`/`visibility` as in `PoseMessage`.
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


class GroupPoseMessage(_Message):
    """Everyone tracked in one processed frame (times as in `PoseMessage`)."""

    type: Literal["group_pose"] = "group_pose"
    timestamp_ms: int
    image_wh: tuple[int, int]
    people: list[GroupPerson]
    processing_ms: float
    inference_ms: float
    engine_ms: float


class CheckedInMessage(_Message):
    type: Literal["checked_in"] = "checked_in"
    track_id: int
    number: int | None
    resident: str
    name: str


class CheckedOutMessage(_Message):
    type: Literal["checked_out"] = "checked_out"
    track_id: int
    number: int | None


class AlertRaisedMessage(_Message):
    """A fall alert for staff; `alert_id` null when it could not be stored (no
    records store, or the write failed)."""

    type: Literal["alert_raised"] = "alert_raised"
    alert_id: int | None
    kind: str
    track_id: int
    number: int | None
    name: str | None
    timestamp_ms: int


class AlertAcknowledgedMessage(_Message):
    type: Literal["alert_acknowledged"] = "alert_acknowledged"
    alert_id: int


class GroupParticipantInfo(BaseModel):
    """One participant in `group_summary` (`resident`/`name` when checked in;
    `session`: same_exercise, their own `Session` summary, serialized generically)."""

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


class GroupSummaryMessage(_Message):
    """End of a group session (`exercise`: the exercise id, or null)."""

    type: Literal["group_summary"] = "group_summary"
    session_id: str
    mode: Literal["follow", "same_exercise"]
    exercise: str | None
    participants: list[GroupParticipantInfo]
    stats: StatsMessage


class EventMessage(BaseModel):
    """An engine event: `type` from the class name, its dataclass fields flattened."""

    model_config = ConfigDict(extra="allow", frozen=True)
    type: str
    v: Literal[1] = PROTOCOL_VERSION
    timestamp_ms: int


RESERVED_TYPES: Final[frozenset[str]] = frozenset(
    {
        "open",
        "close",
        "opened",
        "pose",
        "stats",
        "summary",
        "error",
        *_GROUP_TYPES,
        "group_opened",
        "group_pose",
        "checked_in",
        "checked_out",
        "alert_raised",
        "alert_acknowledged",
        "group_summary",
    }
)


# --- helpers ----------------------------------------------------------------------

_CAMEL_BOUNDARY: Final[re.Pattern[str]] = re.compile(
    r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])"
)


def snake_case(name: str) -> str:
    """`RepCompleted` -> `rep_completed`; `HTTPError` -> `http_error`."""
    return _CAMEL_BOUNDARY.sub("_", name).lower()


def to_wire(value: object) -> Any:
    """JSON-ready copy of an engine value: dataclasses -> dicts of their fields, str
    enum members -> their values, other enum members -> their names, tuples/sets ->
    lists, numpy scalars/arrays -> Python, non-finite floats -> None (JSON has no
    NaN)."""
    if isinstance(value, enum.Enum):
        return value.value if isinstance(value, str) else value.name
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_wire(getattr(value, f.name)) for f in dataclasses.fields(value)
        }
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    if isinstance(value, np.ndarray):
        return to_wire(value.tolist())
    if isinstance(value, Mapping):
        return {str(to_wire(k)): to_wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_wire(v) for v in value]
    raise TypeError(f"cannot serialize {type(value).__name__} for the wire: {value!r}")


def event_message(event: object) -> EventMessage:
    """Wire message of any engine event dataclass (see the module docstring).

    Raises:
        TypeError: `event` is not a dataclass instance, or its class name would shadow
            a protocol message type.
    """
    if not dataclasses.is_dataclass(event) or isinstance(event, type):
        raise TypeError(f"expected an event dataclass, got {type(event).__name__}")
    kind = snake_case(type(event).__name__)
    if kind in RESERVED_TYPES:
        raise TypeError(
            f"event class {type(event).__name__} shadows the {kind!r} message"
        )
    payload = to_wire(event)
    payload.pop("type", None)
    payload.pop("v", None)
    return EventMessage(type=kind, **payload)


def parse_client_message(text: str) -> OpenMessage | CloseMessage:
    """Decode a text message of the kiosk websocket (`/ws`).

    Raises:
        ProtocolError: not JSON (`bad_json`), wrong version (`unsupported_version`),
            unknown `type` or invalid fields (`bad_message`).
    """
    message: OpenMessage | CloseMessage = _parse(text, _CLIENT_ADAPTER, _CLIENT_TYPES)
    return message


def parse_group_message(text: str) -> _GroupClient:
    """Decode a text message of the group screen's websocket (`/ws/group`).

    Raises:
        ProtocolError: as `parse_client_message`.
    """
    message: _GroupClient = _parse(text, _GROUP_ADAPTER, _GROUP_TYPES)
    return message


def _parse(text: str, adapter: TypeAdapter[Any], types: tuple[str, ...]) -> Any:
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ProtocolError(
            ErrorCode.BAD_JSON, f"expected a JSON object, got invalid JSON ({exc})"
        ) from None
    if not isinstance(data, dict):
        raise ProtocolError(
            ErrorCode.BAD_MESSAGE, f"expected a JSON object, got {type(data).__name__}"
        )
    kind = data.get("type")
    if kind not in types:
        raise ProtocolError(
            ErrorCode.BAD_MESSAGE,
            f"expected type one of {', '.join(types)}, got {kind!r}",
            valid=types,
        )
    if "v" in data and data["v"] != PROTOCOL_VERSION:
        raise ProtocolError(
            ErrorCode.UNSUPPORTED_VERSION,
            f"expected protocol version {PROTOCOL_VERSION}, got {data['v']!r}",
            valid=[str(PROTOCOL_VERSION)],
        )
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'][1:]) or 'message'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ProtocolError(
            ErrorCode.BAD_MESSAGE, f"invalid {kind!r} message: {problems}"
        ) from None


def encode_frame(timestamp_ms: int, jpeg: bytes) -> bytes:
    """Binary frame message: `FRAME_HEADER` + JPEG bytes."""
    return FRAME_HEADER.pack(FRAME_MAGIC, PROTOCOL_VERSION, 0, timestamp_ms) + jpeg


def decode_frame(data: bytes) -> tuple[int, bytes]:
    """Split a binary frame message into (timestamp_ms, JPEG bytes).

    Raises:
        ProtocolError: `bad_frame` when the header is short, has the wrong magic or
            version, or no image follows it.
    """
    if len(data) < FRAME_HEADER.size:
        raise ProtocolError(
            ErrorCode.BAD_FRAME,
            f"expected a {FRAME_HEADER.size}-byte frame header, got {len(data)} bytes",
        )
    magic, version, _flags, timestamp_ms = FRAME_HEADER.unpack_from(data)
    if magic != FRAME_MAGIC:
        raise ProtocolError(
            ErrorCode.BAD_FRAME, f"expected frame magic {FRAME_MAGIC!r}, got {magic!r}"
        )
    if version != PROTOCOL_VERSION:
        raise ProtocolError(
            ErrorCode.UNSUPPORTED_VERSION,
            f"expected frame header version {PROTOCOL_VERSION}, got {version}",
        )
    if len(data) == FRAME_HEADER.size:
        raise ProtocolError(
            ErrorCode.BAD_FRAME, "expected JPEG bytes after the frame header, got none"
        )
    return int(timestamp_ms), data[FRAME_HEADER.size :]
