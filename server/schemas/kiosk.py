"""Messages of the kiosk websocket (`/ws`, docs/protocol.md)."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from server.schemas.protocol import (
    ErrorMessage,
    Message,
    check_resolution,
    parse_message,
)
from server.settings import Lang, Settings

__all__ = [
    "CLIENT_TYPES",
    "AssessmentInfo",
    "AssessmentTiming",
    "CheckInRefusedMessage",
    "CheckedInResident",
    "ClientMessage",
    "CloseMessage",
    "ControlMessage",
    "ErrorMessage",
    "ExerciseInfo",
    "KioskOptions",
    "MemberCheckedInMessage",
    "OpenMessage",
    "OpenedMessage",
    "PoseMessage",
    "ProgrammeInfo",
    "ProgrammeSection",
    "ScanMessage",
    "StatsMessage",
    "SummaryMessage",
    "parse_client_message",
]

# --- client -> server -------------------------------------------------------------


class AssessmentTiming(BaseModel):
    """Shorter phases before an assessment's measured time (demonstrations, tests);
    the protocol's own durations (30 s, 2 min) never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    instructions_ms: int = Field(ge=0, le=60_000)
    ready_hold_ms: int = Field(ge=0, le=10_000)
    countdown_ms: int = Field(ge=0, le=10_000)


class OpenMessage(Message):
    """Start an exercise session (`exercise`), a fitness assessment (`assessment`) or
    one of the centre's programmes (`programme`: a routine, the posture screen, paced
    breathing); exactly one of the three. `lang`/`elder` default to the server's
    settings.

    `resolution_wh` is the camera's (width, height) where the kiosk knows it
    (informational: the engine takes the aspect from each decoded frame).
    `age_years`/`sex` compare an assessment with the norms when no signed-in resident's
    record gives them.
    """

    type: Literal["open"] = "open"
    exercise: str | None = Field(default=None, min_length=1, max_length=64)
    assessment: str | None = Field(default=None, min_length=1, max_length=64)
    programme: str | None = Field(default=None, min_length=1, max_length=64)
    lang: Lang | None = None
    elder: bool | None = None
    resident: str | None = Field(default=None, max_length=128)
    resolution_wh: tuple[Annotated[int, Field(gt=0, le=16384)], ...] | None = None
    age_years: int | None = Field(default=None, ge=0, le=130)
    sex: Literal["female", "male"] | None = None
    timing: AssessmentTiming | None = None
    stature_cm: float | None = Field(default=None, ge=50, le=250)
    """The person's measured stature (the posture screen then gives distances in
    cm)."""
    resume: str | None = Field(default=None, min_length=1, max_length=64)
    """Go on with this kiosk's earlier exercise session (its `opened.session_id`)
    after a reconnect; see server/resume.py."""

    @model_validator(mode="after")
    def _one_target(self) -> OpenMessage:
        named = [
            k
            for k in ("exercise", "assessment", "programme")
            if getattr(self, k) is not None
        ]
        if len(named) != 1:
            raise ValueError(
                "expected exactly one of 'exercise', 'assessment' or 'programme', "
                f"got {' and '.join(named) if named else 'none'}"
            )
        check_resolution(self.resolution_wh)
        return self


class CloseMessage(Message):
    """End the session: the server drains the newest frame, then sends `summary`."""

    type: Literal["close"] = "close"


class ScanMessage(Message):
    """Look for a member card's QR code in the frames that follow, while no session
    is open (`on: false` stops). The server answers `member_checked_in` once a card
    checks a resident in (and stops looking), or `check_in_refused` saying why a
    code checks nobody in."""

    type: Literal["scan"] = "scan"
    on: bool = True


class ControlMessage(Message):
    """Steer the open session: `pause`, `resume` or `skip` (to the next section). A
    routine takes all three (its `opened.programme.controls` lists them); a session
    that does not take one answers `error` `not_supported`."""

    type: Literal["control"] = "control"
    action: Literal["pause", "resume", "skip"]


AnyClientMessage = OpenMessage | CloseMessage | ControlMessage | ScanMessage
ClientMessage = Annotated[AnyClientMessage, Field(discriminator="type")]
_CLIENT_ADAPTER: Final[TypeAdapter[AnyClientMessage]] = TypeAdapter(ClientMessage)
CLIENT_TYPES: Final[tuple[str, ...]] = ("open", "close", "control", "scan")


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

    @classmethod
    def of(cls, settings: Settings, elder: bool) -> KioskOptions:
        """The options `settings` give a page in (or out of) elder mode."""
        s = settings
        return cls(
            cue_interval_ms=s.elder_cue_interval_ms if elder else s.cue_interval_ms,
            speech_rate=s.elder_speech_rate if elder else s.speech_rate,
            countdown_s=s.countdown_s,
            send_width=s.send_width,
        )


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


class ProgrammeSection(BaseModel):
    """One section of a routine as the kiosk lists it."""

    model_config = ConfigDict(frozen=True)
    id: str
    name: dict[str, str]
    rounds: int
    pace_s: float


class ProgrammeInfo(BaseModel):
    """One of the centre's programmes as the picker and `opened` show it.

    `kind` is "routine", "posture" or "breathing"; `controls` the `control` actions
    it takes. A routine lists its `sections` (standard rounds and the time of one
    round at the session's pace); paced breathing its `schedule` (`inhale_s`,
    `exhale_s`, `cycles`, `lead_in_s` at the session's pace); the posture screen its
    `views` ("front", "back") and what a camera cannot see (`limits`).
    """

    model_config = ConfigDict(frozen=True)
    id: str
    kind: Literal["routine", "posture", "breathing"]
    name: dict[str, str]
    description: dict[str, str] = Field(default_factory=dict)
    instructions: dict[str, str] = Field(default_factory=dict)
    picture: str
    posture: str | None = None
    controls: list[str] = Field(default_factory=list)
    sections: list[ProgrammeSection] = Field(default_factory=list)
    schedule: dict[str, float] | None = None
    views: list[str] = Field(default_factory=list)
    limits: dict[str, str] = Field(default_factory=dict)


class OpenedMessage(Message):
    """A session started: `exercise` is set for an exercise session, `assessment`
    for a fitness assessment, `programme` for one of the centre's programmes."""

    type: Literal["opened"] = "opened"
    session_id: str
    exercise: ExerciseInfo | None = None
    assessment: AssessmentInfo | None = None
    programme: ProgrammeInfo | None = None
    lang: Lang
    elder: bool
    options: KioskOptions
    skeleton: str
    joint_names: list[str]
    bones: list[tuple[int, int]]
    resumed_reps: int | None = None
    """Reps already recorded when `open` resumed a session; None for a new one."""


class PoseMessage(Message):
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


class StatsMessage(Message):
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


class SummaryMessage(Message):
    """End of a session: the engine's summary (serialized generically) and counters."""

    type: Literal["summary"] = "summary"
    session_id: str
    exercise: str
    summary: dict[str, Any]
    stats: StatsMessage


class CheckedInResident(BaseModel):
    """Who a member card checked in: what the keypad sign-in also gives the page."""

    model_config = ConfigDict(frozen=True)
    member_code: str
    display_name: str


class MemberCheckedInMessage(Message):
    """A member card's QR code checked a resident in (scanning stops)."""

    type: Literal["member_checked_in"] = "member_checked_in"
    resident: CheckedInResident


class CheckInRefusedMessage(Message):
    """A code in view checks nobody in: `problem` is an
    `exercises.member_tokens.CheckInProblem` value (`unreadable`: a code is in view
    but could not be read) or `too_many` (this kiosk's failure limit); `message`
    says so in both languages. Scanning goes on."""

    type: Literal["check_in_refused"] = "check_in_refused"
    problem: str
    message: dict[str, str]


def parse_client_message(text: str) -> AnyClientMessage:
    """Decode a text message of the kiosk websocket (`/ws`).

    Raises:
        ProtocolError: not JSON (`bad_json`), wrong version (`unsupported_version`),
            unknown `type` or invalid fields (`bad_message`).
    """
    message: AnyClientMessage = parse_message(text, _CLIENT_ADAPTER, CLIENT_TYPES)
    return message
