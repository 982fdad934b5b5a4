"""Wire messages of the kiosk websocket (`/ws`) and of the group screen's websocket
(`/ws/group`), version 1. The pages' only contract; `docs/protocol.md` and
`docs/group.md` describe them for people.

Modules: `protocol` (version, error codes, frames, the message base), `kiosk` (`/ws`),
`group` (`/ws/group`), `events` (engine events); every name is importable from here.

Every JSON message is a pydantic model with a `type` and a `v` field. Binary messages
are camera frames: a 12-byte header (`FRAME_HEADER`) followed by the JPEG bytes.

Engine events are serialized generically (`event_message`): the dataclass's class name
becomes the snake_case `type` (`RepCompleted` -> `rep_completed`), its fields the
payload, enum members their names (str enums their values: `band: "normal"`),
tuples lists and non-finite floats `null`. A new
event class in `exercises/events.py` therefore reaches the page without a change here.
"""

from server.schemas.events import (
    RESERVED_TYPES,
    EventMessage,
    event_message,
    snake_case,
)
from server.schemas.group import (
    AcknowledgeAlertMessage,
    AlertAcknowledgedMessage,
    AlertRaisedMessage,
    CheckedInMessage,
    CheckedOutMessage,
    CheckInMessage,
    CheckOutMessage,
    GroupClientMessage,
    GroupOpenedMessage,
    GroupOpenMessage,
    GroupParticipantInfo,
    GroupPerson,
    GroupPoseMessage,
    GroupRoutinePlace,
    GroupSummaryMessage,
    SetInstructorMessage,
    parse_group_message,
)
from server.schemas.kiosk import (
    AssessmentInfo,
    AssessmentTiming,
    CheckedInResident,
    CheckInRefusedMessage,
    ClientMessage,
    CloseMessage,
    ControlMessage,
    ExerciseInfo,
    KioskOptions,
    MemberCheckedInMessage,
    OpenedMessage,
    OpenMessage,
    PoseMessage,
    ProgrammeInfo,
    ProgrammeSection,
    ScanMessage,
    StatsMessage,
    SummaryMessage,
    parse_client_message,
)
from server.schemas.protocol import (
    ASSESSMENT_IDS,
    FRAME_HEADER,
    FRAME_MAGIC,
    PROTOCOL_VERSION,
    ErrorCode,
    ErrorMessage,
    ProtocolError,
    decode_frame,
    encode_frame,
)
from server.settings import Lang

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
    "CheckInRefusedMessage",
    "CheckOutMessage",
    "CheckedInMessage",
    "CheckedInResident",
    "CheckedOutMessage",
    "ClientMessage",
    "CloseMessage",
    "ControlMessage",
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
    "GroupRoutinePlace",
    "GroupSummaryMessage",
    "KioskOptions",
    "Lang",
    "MemberCheckedInMessage",
    "OpenMessage",
    "OpenedMessage",
    "PoseMessage",
    "ProgrammeInfo",
    "ProgrammeSection",
    "ProtocolError",
    "ScanMessage",
    "SetInstructorMessage",
    "StatsMessage",
    "SummaryMessage",
    "decode_frame",
    "encode_frame",
    "event_message",
    "parse_client_message",
    "parse_group_message",
    "snake_case",
]
