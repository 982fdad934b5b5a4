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
    "ClientMessage",
    "CloseMessage",
    "ErrorMessage",
    "ExerciseInfo",
    "KioskOptions",
    "OpenMessage",
    "OpenedMessage",
    "PoseMessage",
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
        check_resolution(self.resolution_wh)
        return self


class CloseMessage(Message):
    """End the session: the server drains the newest frame, then sends `summary`."""

    type: Literal["close"] = "close"


ClientMessage = Annotated[OpenMessage | CloseMessage, Field(discriminator="type")]
_CLIENT_ADAPTER: Final[TypeAdapter[OpenMessage | CloseMessage]] = TypeAdapter(
    ClientMessage
)
CLIENT_TYPES: Final[tuple[str, ...]] = ("open", "close")


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


class OpenedMessage(Message):
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


def parse_client_message(text: str) -> OpenMessage | CloseMessage:
    """Decode a text message of the kiosk websocket (`/ws`).

    Raises:
        ProtocolError: not JSON (`bad_json`), wrong version (`unsupported_version`),
            unknown `type` or invalid fields (`bad_message`).
    """
    message: OpenMessage | CloseMessage = parse_message(
        text, _CLIENT_ADAPTER, CLIENT_TYPES
    )
    return message
