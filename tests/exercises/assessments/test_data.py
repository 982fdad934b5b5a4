"""Protocols as data: the shipped file loads into every session's info and texts, and a
broken file is refused with what was expected."""

from __future__ import annotations

import copy
import tomllib
from typing import Any

import pytest

from exercises.assessments import SESSIONS
from exercises.assessments.data import (
    PROTOCOLS_FILE,
    ProtocolInfo,
    parse_protocols,
    protocol_info,
    protocol_texts,
)
from exercises.assessments.events import AssessmentPhase


def shipped() -> dict[str, Any]:
    with PROTOCOLS_FILE.open("rb") as f:
        return tomllib.load(f)


def test_every_session_is_described_and_nothing_else() -> None:
    assert set(shipped()) == set(SESSIONS)
    for test_id, cls in SESSIONS.items():
        assert cls.info is protocol_info(test_id)
        assert cls.texts is protocol_texts(test_id)


@pytest.mark.parametrize(
    ("test_id", "duration_ms", "camera_view", "unit"),
    [
        pytest.param("chair_stand_30s", 30_000, "side", "stands", id="chair-stand"),
        pytest.param("arm_curl_30s", 30_000, "side", "curls", id="arm-curl"),
        pytest.param("step_test_2min", 120_000, "front", "steps", id="step-test"),
        pytest.param("single_leg_stance", None, "front", "s", id="single-leg-stance"),
    ],
)
def test_facts(
    test_id: str, duration_ms: int | None, camera_view: str, unit: str
) -> None:
    info = protocol_info(test_id)
    texts = protocol_texts(test_id)
    assert (info.duration_ms, info.camera_view, info.unit) == (
        duration_ms,
        camera_view,
        unit,
    )
    assert info.say[AssessmentPhase.INSTRUCTIONS] == texts["instructions"]
    assert info.say[AssessmentPhase.RUNNING] == texts["go"]
    assert info.start_position == texts["start_position"]


def broken(change: str) -> dict[str, Any]:
    data = copy.deepcopy({"arm_curl_30s": shipped()["arm_curl_30s"]})
    table = data["arm_curl_30s"]
    if change == "unknown-key":
        table["colour"] = "red"
    elif change == "missing-text":
        del table["texts"]["go"]
    elif change == "one-language":
        table["name"] = {"en": "Arm curl"}
    elif change == "empty-text":
        table["texts"]["countdown"]["zh-CN"] = ""
    elif change == "bad-view":
        table["camera_view"] = "above"
    elif change == "bad-duration":
        table["duration_s"] = 0
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param("unknown-key", r"unknown keys \['colour'\]", id="unknown-key"),
        pytest.param("missing-text", r"missing texts \['go'\]", id="missing-text"),
        pytest.param("one-language", r"name: expected a text in", id="one-language"),
        pytest.param("empty-text", r"expected non-empty strings", id="empty-text"),
        pytest.param("bad-view", r"camera_view must be one of", id="bad-view"),
        pytest.param("bad-duration", r"duration_s must be a whole", id="bad-duration"),
    ],
)
def test_a_broken_file_is_refused(change: str, message: str) -> None:
    with pytest.raises(ValueError, match=r"\[arm_curl_30s\].*" + message):
        parse_protocols(broken(change), "protocols.toml")


def test_unknown_id_lists_the_valid_ones() -> None:
    with pytest.raises(KeyError, match="valid: chair_stand_30s, arm_curl_30s"):
        protocol_info("sit_and_reach")


def test_the_shipped_file_parses_as_loaded() -> None:
    parsed = parse_protocols(shipped())
    assert all(isinstance(info, ProtocolInfo) for info, _ in parsed.values())
    assert {k: v[0] for k, v in parsed.items()} == {k: protocol_info(k) for k in parsed}
