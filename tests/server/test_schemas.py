"""Wire messages: client messages, the frame header, generic event serialization."""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Callable
from contextlib import nullcontext as does_not_raise
from dataclasses import dataclass, field

import numpy as np
import pytest

from exercises.events import (
    CueIssued,
    Placement,
    PlacementChanged,
    RepCompleted,
    Severity,
)
from server.schemas import (
    FRAME_HEADER,
    CheckInMessage,
    CloseMessage,
    ControlMessage,
    ErrorCode,
    GroupOpenMessage,
    OpenMessage,
    ProtocolError,
    ScanMessage,
    decode_frame,
    encode_frame,
    event_message,
    parse_client_message,
    parse_group_message,
    snake_case,
)


@pytest.mark.parametrize(
    ("text", "expected", "code"),
    [
        pytest.param(
            '{"type":"open","v":1,"exercise":"squat","lang":"zh-CN","elder":true}',
            OpenMessage(exercise="squat", lang="zh-CN", elder=True),
            None,
            id="open-full",
        ),
        pytest.param(
            '{"type":"open","exercise":"squat"}',
            OpenMessage(exercise="squat"),
            None,
            id="open-v-defaults-to-1",
        ),
        pytest.param('{"type":"close","v":1}', CloseMessage(), None, id="close"),
        pytest.param('{"type":"scan","v":1}', ScanMessage(on=True), None, id="scan"),
        pytest.param(
            '{"type":"scan","on":false}', ScanMessage(on=False), None, id="scan-off"
        ),
        pytest.param(
            '{"type":"scan","on":"yes please"}',
            None,
            ErrorCode.BAD_MESSAGE,
            id="scan-bad-on",
        ),
        pytest.param(
            '{"type":"open","programme":"baduanjin","stature_cm":158.5}',
            OpenMessage(programme="baduanjin", stature_cm=158.5),
            None,
            id="open-programme",
        ),
        pytest.param(
            '{"type":"open","programme":"baduanjin","assessment":"arm_curl_30s"}',
            None,
            ErrorCode.BAD_MESSAGE,
            id="open-two-targets",
        ),
        pytest.param(
            '{"type":"control","action":"skip"}',
            ControlMessage(action="skip"),
            None,
            id="control",
        ),
        pytest.param(
            '{"type":"control","action":"rewind"}',
            None,
            ErrorCode.BAD_MESSAGE,
            id="control-unknown-action",
        ),
        pytest.param("{not json", None, ErrorCode.BAD_JSON, id="malformed-json"),
        pytest.param("[1, 2]", None, ErrorCode.BAD_MESSAGE, id="not-an-object"),
        pytest.param(
            '{"type":"dance"}', None, ErrorCode.BAD_MESSAGE, id="unknown-type"
        ),
        pytest.param('{"exercise":"squat"}', None, ErrorCode.BAD_MESSAGE, id="no-type"),
        pytest.param(
            '{"type":"open","v":2,"exercise":"squat"}',
            None,
            ErrorCode.UNSUPPORTED_VERSION,
            id="future-version",
        ),
        pytest.param(
            '{"type":"open","v":1}', None, ErrorCode.BAD_MESSAGE, id="open-no-exercise"
        ),
        pytest.param(
            '{"type":"open","v":1,"exercise":"squat","lang":"fr"}',
            None,
            ErrorCode.BAD_MESSAGE,
            id="open-unknown-lang",
        ),
        pytest.param(
            '{"type":"open","v":1,"exercise":"squat","colour":"red"}',
            None,
            ErrorCode.BAD_MESSAGE,
            id="open-extra-field",
        ),
    ],
)
def test_parse_client_message(
    text: str, expected: object, code: ErrorCode | None
) -> None:
    if code is None:
        assert parse_client_message(text) == expected
    else:
        with pytest.raises(ProtocolError) as info:
            parse_client_message(text)
        assert info.value.code == code
        assert info.value.detail  # says what was expected and what came


@pytest.mark.parametrize(
    "parse", [parse_client_message, parse_group_message], ids=["kiosk", "group"]
)
@pytest.mark.parametrize(
    "text",
    [
        pytest.param("[" * 100_000 + "]" * 100_000, id="nested-lists"),
        pytest.param('{"a":' * 100_000 + "1" + "}" * 100_000, id="nested-objects"),
        pytest.param(
            '{"type":"open","age_years":' + "9" * 5000 + "}", id="5000-digits"
        ),
    ],
)
def test_json_the_decoder_cannot_take_is_bad_json(
    parse: Callable[[str], object], text: str
) -> None:
    # Found by the websocket fuzzer (tests/server/test_fuzz_ws.py): these raised
    # RecursionError / ValueError out of the socket loop, which closed the socket 1011.
    with pytest.raises(ProtocolError) as info:
        parse(text)
    assert info.value.code == ErrorCode.BAD_JSON
    assert len(info.value.detail) < 300  # the input is not echoed back


def test_unknown_type_error_lists_valid_types() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_client_message('{"type":"dance"}')
    assert info.value.valid == ("open", "close", "control", "scan")
    assert "'dance'" in info.value.detail


@pytest.mark.parametrize(
    ("text", "expected", "code"),
    [
        pytest.param(
            '{"type":"open","v":1,"mode":"follow"}',
            GroupOpenMessage(mode="follow"),
            None,
            id="follow-defaults",
        ),
        pytest.param(
            '{"type":"open","mode":"same_exercise","exercise":"squat",'
            '"elder":false,"max_participants":3,"instructor_track_id":4}',
            GroupOpenMessage(
                mode="same_exercise",
                exercise="squat",
                elder=False,
                max_participants=3,
                instructor_track_id=4,
            ),
            None,
            id="same-exercise",
        ),
        pytest.param(
            '{"type":"open","mode":"same_exercise"}',
            None,
            ErrorCode.BAD_MESSAGE,
            id="same-exercise-needs-exercise",
        ),
        pytest.param(
            '{"type":"open","mode":"follow","max_participants":9}',
            None,
            ErrorCode.BAD_MESSAGE,
            id="at-most-8-seats",
        ),
        pytest.param(
            '{"type":"check_in","track_id":3,"resident":"RI-001"}',
            CheckInMessage(track_id=3, resident="RI-001"),
            None,
            id="check-in",
        ),
        pytest.param(
            '{"type":"check_in","track_id":-1,"resident":"RI-001"}',
            None,
            ErrorCode.BAD_MESSAGE,
            id="negative-track",
        ),
        pytest.param(
            '{"type":"open","v":1,"exercise":"squat"}',
            None,
            ErrorCode.BAD_MESSAGE,
            id="kiosk-open-is-not-a-group-open",
        ),
        pytest.param(
            '{"type":"check_out","v":2,"track_id":3}',
            None,
            ErrorCode.UNSUPPORTED_VERSION,
            id="v2",
        ),
    ],
)
def test_parse_group_message(
    text: str, expected: object, code: ErrorCode | None
) -> None:
    if code is None:
        assert parse_group_message(text) == expected
    else:
        with pytest.raises(ProtocolError) as info:
            parse_group_message(text)
        assert info.value.code == code


def test_group_messages_are_not_kiosk_messages() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_client_message('{"type":"check_in","track_id":3,"resident":"A"}')
    assert info.value.valid == ("open", "close", "control", "scan")


@pytest.mark.parametrize(
    ("data", "expectation"),
    [
        pytest.param(encode_frame(1234, b"\xff\xd8jpeg"), does_not_raise(), id="ok"),
        pytest.param(
            b"MC\x01", pytest.raises(ProtocolError, match="12-byte"), id="short"
        ),
        pytest.param(
            b"XX" + encode_frame(1, b"j")[2:],
            pytest.raises(ProtocolError, match="magic"),
            id="magic",
        ),
        pytest.param(
            encode_frame(5, b""),
            pytest.raises(ProtocolError, match="JPEG bytes"),
            id="no-image",
        ),
        pytest.param(
            b"MC\x02\x00" + (7).to_bytes(8, "little") + b"j",
            pytest.raises(ProtocolError, match="version"),
            id="header-version",
        ),
    ],
)
def test_decode_frame(data: bytes, expectation: object) -> None:
    with expectation:  # type: ignore[attr-defined]
        assert decode_frame(data) == (1234, b"\xff\xd8jpeg")


def test_frame_header_layout_is_documented_one() -> None:
    data = encode_frame(0x0102030405060708, b"JPEG")
    assert FRAME_HEADER.size == 12
    assert data[:4] == b"MC\x01\x00"
    assert data[4:12] == bytes([8, 7, 6, 5, 4, 3, 2, 1])  # uint64 little-endian
    assert data[12:] == b"JPEG"


@pytest.mark.parametrize(
    ("name", "snake"),
    [
        ("RepCompleted", "rep_completed"),
        ("PlacementChanged", "placement_changed"),
        ("HoldProgressed", "hold_progressed"),
        ("HTTPError", "http_error"),
        ("Cue2Issued", "cue2_issued"),
    ],
)
def test_snake_case(name: str, snake: str) -> None:
    assert snake_case(name) == snake


def test_engine_events_serialize_generically() -> None:
    rep = RepCompleted(
        timestamp_ms=1500,
        count=2,
        score=87.5,
        breakdown={"elbow": 90.0},
        duration_ms=1200,
        range_of_motion_deg={"elbow": float("nan")},
        cue_ids=("swing",),
    )
    message = json.loads(event_message(rep).model_dump_json())
    # Every dataclass field travels (new engine fields too), plus type and v.
    assert message.keys() == {"type", "v"} | {f.name for f in dataclasses.fields(rep)}
    assert {k: message[k] for k in ("type", "v", "timestamp_ms", "count", "score")} == {
        "type": "rep_completed",
        "v": 1,
        "timestamp_ms": 1500,
        "count": 2,
        "score": 87.5,
    }
    assert message["breakdown"] == {"elbow": 90.0}
    assert message["range_of_motion_deg"] == {"elbow": None}  # NaN is not JSON
    assert message["cue_ids"] == ["swing"]  # tuples travel as lists
    assert message["side"] is None
    placed = event_message(
        PlacementChanged(
            10,
            Placement.STEP_BACK,
            {"en": "Step back", "zh-CN": "请后退"},
            ("left_ankle",),
        )
    ).model_dump()
    assert placed["type"] == "placement_changed"
    assert placed["placement"] == "STEP_BACK"  # enums travel by name
    assert placed["missing_joints"] == ["left_ankle"]
    cue = event_message(
        CueIssued(3, "knees", Severity.MAJOR, {"en": "Knees out", "zh-CN": "膝盖向外"})
    )
    assert cue.model_dump()["severity"] == "MAJOR"


def test_a_new_event_class_needs_no_server_change() -> None:
    class Mood(enum.Enum):
        HAPPY = 1

    @dataclass(frozen=True)
    class BreathTaken:
        timestamp_ms: int
        depth: np.float32
        mood: Mood
        tags: tuple[str, ...] = field(default=("calm",))

    message = event_message(BreathTaken(42, np.float32(0.5), Mood.HAPPY)).model_dump()
    assert message == {
        "type": "breath_taken",
        "v": 1,
        "timestamp_ms": 42,
        "depth": 0.5,
        "mood": "HAPPY",
        "tags": ["calm"],
    }


def test_event_class_may_not_shadow_protocol_messages() -> None:
    @dataclass(frozen=True)
    class Summary:
        timestamp_ms: int

    with pytest.raises(TypeError, match="shadows"):
        event_message(Summary(1))
    with pytest.raises(TypeError, match="dataclass"):
        event_message({"timestamp_ms": 1})


@pytest.mark.parametrize(
    ("parse", "text", "code"),
    [
        pytest.param(
            parse_group_message,
            '{"type":"acknowledge_alert","alert_id":9223372036854775808}',
            ErrorCode.BAD_JSON,
            id="alert-id-2^63",
        ),
        pytest.param(
            parse_group_message,
            '{"type":"acknowledge_alert","alert_id":"9223372036854775808"}',
            ErrorCode.BAD_MESSAGE,
            id="alert-id-2^63-as-text",
        ),
        pytest.param(
            parse_client_message,
            '{"type":"open","exercise":"squat","resolution_wh":[NaN, 480]}',
            ErrorCode.BAD_JSON,
            id="nan",
        ),
        pytest.param(
            parse_client_message,
            '{"type":"open","exercise":"squat","resolution_wh":[1e400, 480]}',
            ErrorCode.BAD_JSON,
            id="1e400",
        ),
        pytest.param(
            parse_client_message,
            '{"type":"open","exercise":"squat","resident":"\\ud800"}',
            ErrorCode.BAD_JSON,
            id="lone-surrogate",
        ),
        pytest.param(
            parse_client_message,
            "[" * 100_000 + "]" * 100_000,
            ErrorCode.BAD_JSON,
            id="deep",
        ),
    ],
)
def test_finding_8_socket_messages_take_strict_json_and_64_bit_ids(
    parse: Callable[[str], object], text: str, code: ErrorCode
) -> None:
    with pytest.raises(ProtocolError) as refused:
        parse(text)
    assert refused.value.code is code
    assert "expected" in refused.value.detail or "less than" in refused.value.detail
