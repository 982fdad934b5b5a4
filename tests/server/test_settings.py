"""Settings from MOVECOACH_* environment variables."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from server.settings import Settings, SettingsError


def test_defaults_without_environment() -> None:
    settings = Settings.from_env({})
    assert settings == Settings(db_url=settings.db_url)
    assert (settings.host, settings.port, settings.backend) == (
        "127.0.0.1",
        8000,
        "onnx",
    )
    assert settings.db_url.startswith("sqlite:///") and settings.db_url.endswith(
        "movecoach.db"
    )
    assert settings.demo_video is None


def test_environment_is_read() -> None:
    settings = Settings.from_env(
        {
            "MOVECOACH_HOST": "0.0.0.0",
            "MOVECOACH_PORT": "9001",
            "MOVECOACH_BACKEND": "onnx",
            "MOVECOACH_MAX_MESSAGE_BYTES": "2048",
            "MOVECOACH_MAX_SESSIONS": "3",
            "MOVECOACH_DEMO_VIDEO": "/videos/demo.mp4",
            "MOVECOACH_LANG": "zh-CN",
            "MOVECOACH_ELDER": "yes",
            "MOVECOACH_DB_URL": "postgresql://coach@db/movecoach",
            "MOVECOACH_ELDER_SPEECH_RATE": "0.7",
            "UNRELATED": "x",
        }
    )
    assert settings.host == "0.0.0.0"
    assert settings.port == 9001
    assert settings.backend == "onnx"
    assert settings.max_message_bytes == 2048
    assert settings.max_sessions == 3
    assert settings.demo_video == Path("/videos/demo.mp4")
    assert settings.default_lang == "zh-CN"
    assert settings.default_elder is True
    assert settings.db_url == "postgresql://coach@db/movecoach"
    assert settings.elder_speech_rate == 0.7


def test_overrides_win_and_none_is_ignored() -> None:
    settings = Settings.from_env(
        {"MOVECOACH_PORT": "9001"}, port=None, host="::1", demo_video="a.mp4"
    )
    assert (settings.port, settings.host, settings.demo_video) == (
        9001,
        "::1",
        Path("a.mp4"),
    )


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("env", "match"),
    [
        pytest.param(
            {"MOVECOACH_PORT": "eighty"},
            "MOVECOACH_PORT must be an integer, got 'eighty'",
            id="port-text",
        ),
        pytest.param(
            {"MOVECOACH_PORT": "70000"},
            r"port must be in \[0, 65535\], got 70000",
            id="port-range",
        ),
        pytest.param(
            {"MOVECOACH_ELDER": "maybe"},
            "MOVECOACH_ELDER must be true or false",
            id="bool",
        ),
        pytest.param(
            {"MOVECOACH_LANG": "fr"},
            "default_lang must be one of en, zh-CN, got 'fr'",
            id="lang",
        ),
        pytest.param(
            {"MOVECOACH_MAX_MESSAGE_BYTES": "10"},
            "max_message_bytes must be in",
            id="tiny-limit",
        ),
        pytest.param(
            {"MOVECOACH_SPEECH_RATE": "fast"},
            "MOVECOACH_SPEECH_RATE must be a number",
            id="rate",
        ),
        pytest.param(
            {"MOVECOACH_MAX_SESSIONS": "0"}, "max_sessions must be in", id="sessions"
        ),
    ],
)
def test_bad_values_say_what_was_expected(env: dict[str, str], match: str) -> None:
    with pytest.raises(SettingsError, match=match):
        Settings.from_env(env)


def test_unknown_override_lists_valid_names() -> None:
    with pytest.raises(
        SettingsError, match=r"unknown setting 'colour'; valid: .*backend"
    ):
        Settings.from_env({}, colour="red")


def test_transport_limit_is_above_the_polite_limit() -> None:
    settings = Settings(max_message_bytes=4096)
    assert settings.transport_max_bytes > settings.max_message_bytes
