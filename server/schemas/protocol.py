"""The protocol's frame of reference: its version, error codes, the base of every
JSON message, binary camera frames, and decoding a client's text message."""

from __future__ import annotations

import enum
import json
import math
import struct
from collections.abc import Sequence
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from server.settings import LANGUAGES

__all__ = [
    "ASSESSMENT_IDS",
    "FRAME_HEADER",
    "FRAME_MAGIC",
    "INT64_MAX",
    "INT64_MIN",
    "PROTOCOL_VERSION",
    "ErrorCode",
    "ErrorMessage",
    "Message",
    "ProtocolError",
    "check_frame_size",
    "check_resolution",
    "decode_frame",
    "encode_frame",
    "jpeg_size_wh",
    "loads_strict",
    "parse_message",
]

PROTOCOL_VERSION: Final = 1

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

assert set(LANGUAGES) == {"en", "zh-CN"}


class ErrorCode(enum.StrEnum):
    """`error.code` values. The page shows a localized text per code."""

    BAD_JSON = "bad_json"  # text message is not JSON
    BAD_MESSAGE = "bad_message"  # JSON, but not a valid client message
    UNSUPPORTED_VERSION = "unsupported_version"  # `v` is not 1
    UNKNOWN_EXERCISE = "unknown_exercise"  # `open` names no built-in exercise
    UNKNOWN_ASSESSMENT = "unknown_assessment"  # `open` names no assessment protocol
    UNKNOWN_PROGRAMME = "unknown_programme"  # `open` names no programme
    NOT_SUPPORTED = "not_supported"  # a `control` the open session does not take
    NOT_OPEN = "not_open"  # frame or close before `open`
    ALREADY_OPEN = "already_open"  # `open` while a session runs
    BAD_FRAME = "bad_frame"  # binary message with a malformed header
    BAD_IMAGE = "bad_image"  # header fine, JPEG undecodable
    NON_MONOTONIC = "non_monotonic"  # timestamp_ms not above the previous frame's
    BAD_TIMESTAMP = "bad_timestamp"  # timestamp_ms >= 2^53 or an hour past the last
    TOO_LARGE = "too_large"  # message above max_message_bytes, image above its pixels
    BUSY = "busy"  # max_sessions reached; the socket is closed (1013)
    INFERENCE_FAILED = "inference_failed"  # the pose backend raised on a frame
    ENGINE_REJECTED = "engine_rejected"  # the exercise session raised on a frame
    # group screen (`/ws/group`, docs/group.md):
    UNKNOWN_RESIDENT = "unknown_resident"  # check_in: no such member code here
    UNKNOWN_PARTICIPANT = "unknown_participant"  # track id not a participant now
    NO_RECORDS = "no_records"  # check_in / acknowledge_alert without a records store
    TOO_MANY_ATTEMPTS = "too_many_attempts"  # member codes: this kiosk must wait


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


class Message(BaseModel):
    """The base of every JSON message: frozen, no unknown fields, version 1."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Literal[1] = PROTOCOL_VERSION


class ErrorMessage(Message):
    """A problem with something the client sent; the session keeps running unless
    `fatal` (then the server closes the socket). `valid` lists accepted values where
    that helps (exercise ids, message types)."""

    type: Literal["error"] = "error"
    code: ErrorCode
    detail: str
    valid: list[str] = Field(default_factory=list)
    fatal: bool = False


def check_resolution(resolution_wh: tuple[int, ...] | None) -> None:
    """Raises ValueError unless `resolution_wh` is None or [width, height]."""
    if resolution_wh is not None and len(resolution_wh) != 2:
        raise ValueError(
            f"expected resolution_wh [width, height], got {list(resolution_wh)}"
        )


INT64_MIN: Final[int] = -(2**63)
INT64_MAX: Final[int] = 2**63 - 1


def _constant(name: str) -> Any:
    raise ValueError(f"expected a finite number, got {name}")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {text[:40]} (out of range)")
    return value


def _int64(text: str) -> int:
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(
            f"expected an integer in [-2^63, 2^63 - 1], got {text[:40]}"
            + ("..." if len(text) > 40 else "")
        )
    return value


def _check_strings(data: Any) -> None:
    """Raises ValueError on a string (value or key) with a lone surrogate."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(
                    "expected text, got a lone surrogate escape (\\ud800-\\udfff)"
                ) from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


_STRICT_JSON: Final[json.JSONDecoder] = json.JSONDecoder(
    parse_constant=_constant, parse_float=_finite, parse_int=_int64
)


def loads_strict(text: str | bytes) -> Any:
    """`json.loads` for what clients send: numbers are finite floats (no NaN,
    Infinity or 1e400) or integers that fit 64 bits (database ids), and strings are
    text (no lone surrogate escapes).

    Raises:
        ValueError: malformed JSON (bytes: not UTF-8), or one of the above (the
            message says which); also for nesting deeper than the decoder allows.
    """
    try:
        data = _STRICT_JSON.decode(
            text.decode("utf-8") if isinstance(text, bytes) else text
        )
    except RecursionError:
        raise ValueError("expected JSON nested less deeply, got too deep") from None
    _check_strings(data)
    return data


def parse_message(text: str, adapter: TypeAdapter[Any], types: tuple[str, ...]) -> Any:
    try:
        data = loads_strict(text)
    except ValueError as exc:
        # Malformed JSON, a number that is not finite or an integer beyond 64 bits,
        # a lone surrogate, or nesting deeper than the decoder's recursion allows.
        raise ProtocolError(
            ErrorCode.BAD_JSON,
            f"expected a JSON object, got invalid JSON ({str(exc)[:120]})",
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


_SOF_MARKERS: Final[frozenset[int]] = frozenset(
    {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
)
"""Start-of-frame markers (baseline, progressive, lossless...; not DHT 0xC4, JPG 0xC8
or DAC 0xCC): the segment that gives the image's size."""
_STANDALONE_MARKERS: Final[frozenset[int]] = frozenset({0x01, *range(0xD0, 0xD8)})


def jpeg_size_wh(jpeg: bytes) -> tuple[int, int]:
    """(width, height) from a JPEG's start-of-frame header, without decoding it.

    Walks the marker segments from the start of the image to the first SOF, as the
    decoder does, so the size read is the size the decoder would allocate.

    Raises:
        ProtocolError: `bad_image` when the bytes are not a JPEG (no start-of-image
            marker: PNG, WebP and the rest are refused, whose decoders have their
            own size tricks) or its segments end before a start-of-frame header.
    """
    if jpeg[:2] != b"\xff\xd8":
        raise ProtocolError(
            ErrorCode.BAD_IMAGE,
            f"expected JPEG bytes (starting ffd8), got {len(jpeg)} bytes starting "
            f"{jpeg[:4].hex()}",
        )
    at = 2
    while at + 4 <= len(jpeg):
        if jpeg[at] != 0xFF:
            break
        marker = jpeg[at + 1]
        if marker == 0xFF:  # fill byte before a marker
            at += 1
            continue
        if marker in _STANDALONE_MARKERS:
            at += 2
            continue
        length = int.from_bytes(jpeg[at + 2 : at + 4], "big")
        if marker in _SOF_MARKERS:
            if length < 8 or at + 9 > len(jpeg):
                break
            height = int.from_bytes(jpeg[at + 5 : at + 7], "big")
            width = int.from_bytes(jpeg[at + 7 : at + 9], "big")
            return width, height
        if marker in (0xD9, 0xDA) or length < 2:  # end of image or scan before a SOF
            break
        at += 2 + length
    raise ProtocolError(
        ErrorCode.BAD_IMAGE,
        f"expected a JPEG with a frame header, got {len(jpeg)} bytes without one",
    )


def check_frame_size(jpeg: bytes, max_pixels: int) -> None:
    """Refuses a JPEG whose header claims more than `max_pixels` pixels (or none),
    before anything decodes it.

    Raises:
        ProtocolError: `too_large` above `max_pixels`, `bad_image` for no JPEG.
    """
    width, height = jpeg_size_wh(jpeg)
    if width * height > max_pixels or width == 0 or height == 0:
        raise ProtocolError(
            ErrorCode.TOO_LARGE if width and height else ErrorCode.BAD_IMAGE,
            f"expected an image of at most {max_pixels} pixels, got {width}x{height}",
        )


def decode_frame(data: bytes, max_pixels: int | None = None) -> tuple[int, bytes]:
    """Split a binary frame message into (timestamp_ms, JPEG bytes).

    Args:
        data: The message.
        max_pixels: When given, the JPEG's header must claim at most this many pixels
            (`Settings.max_frame_pixels`; `check_frame_size`).

    Raises:
        ProtocolError: `bad_frame` when the header is short, has the wrong magic or
            version, or no image follows it; with `max_pixels`, `too_large` or
            `bad_image` (`check_frame_size`).
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
    jpeg = data[FRAME_HEADER.size :]
    if max_pixels is not None:
        check_frame_size(jpeg, max_pixels)
    return int(timestamp_ms), jpeg
