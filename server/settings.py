"""Server settings: one frozen `Settings`, read once from `MOVECOACH_*` environment
variables at startup and passed down explicitly (starlette `Config(env_prefix=...)`).

Variables (MOVECOACH_ + name) -> field, default:

    HOST -> host, 127.0.0.1              PORT -> port, 8000
    BACKEND -> backend, onnx              MAX_MESSAGE_BYTES -> max_message_bytes, 1 MiB
    MAX_SESSIONS -> max_sessions, 8       DEMO_VIDEO -> demo_video, none
    LANG -> default_lang, en              ELDER -> default_elder, false
    DB_URL -> db_url, sqlite:///~/.local/share/movecoach/movecoach.db
    KIOSK_AUTH -> kiosk_auth, false
    CUE_INTERVAL_MS -> cue_interval_ms, 4000
    ELDER_CUE_INTERVAL_MS -> elder_cue_interval_ms, 9000
    SPEECH_RATE -> speech_rate, 1.0       ELDER_SPEECH_RATE -> elder_speech_rate, 0.8
    COUNTDOWN_S -> countdown_s, 3         STATS_EVERY -> stats_every, 30
    SEND_WIDTH -> send_width, 640        TIME_ZONE -> time_zone, UTC

Cue intervals and speech rates are what the kiosk page applies on top of the engine's
own cue selection (the engine already issues fewer cues in elder mode); the page is told
them in the `opened` message so that one server configures every kiosk alike.
"""

from __future__ import annotations

import dataclasses
import os
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from vision.backends import DEFAULT_BACKEND

__all__ = [
    "LANGUAGES",
    "Lang",
    "Settings",
    "SettingsError",
    "as_lang",
    "default_db_url",
]

ENV_PREFIX: Final[str] = "MOVECOACH_"
LANGUAGES: Final[tuple[str, ...]] = ("en", "zh-CN")
"""Languages every user-visible string exists in."""

Lang = Literal["en", "zh-CN"]
"""One of `LANGUAGES`, as a type."""


def as_lang(value: str) -> Lang:
    """`value` as a `Lang`.

    Raises:
        SettingsError: not one of `LANGUAGES`.
    """
    if value == "en":
        return "en"
    if value == "zh-CN":
        return "zh-CN"
    raise SettingsError(f"expected one of {', '.join(LANGUAGES)}, got {value!r}")


_TRUE: Final[frozenset[str]] = frozenset({"1", "true", "yes", "on"})
_FALSE: Final[frozenset[str]] = frozenset({"0", "false", "no", "off", ""})


class SettingsError(ValueError):
    """An environment variable or option holds a value the server cannot use."""


def default_db_url() -> str:
    """SQLite file under the user's data directory (the records issue creates it)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return f"sqlite:///{Path(base) / 'movecoach' / 'movecoach.db'}"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the server is configured with.

    Attributes:
        host: Interface `movecoach serve` binds to.
        port: TCP port, 0-65535 (0 = any free port).
        backend: Pose backend name for `vision.backends.create_backend`; default
            onnx (ONNX Runtime, sends nothing off the machine).
        max_message_bytes: Largest websocket message handled; larger ones get an
            `error` (code `too_large`) and are discarded. The transport closes the
            socket (1009) only above `transport_max_bytes`.
        max_sessions: Websocket connections served at once; more get `error` `busy`.
        demo_video: Video the kiosk page replays when there is no camera (or None).
        default_lang: Language the kiosk page starts in ("en" or "zh-CN").
        default_elder: Whether the kiosk page starts in elder mode.
        kiosk_auth: Kiosks must present their token (a Bearer header or a
            `movecoach.token.` subprotocol; never in the URL) to open the websocket
            (`movecoach admin create-kiosk`).
        db_url: Database for session records (SQLAlchemy URL). Stored for the records
            issue; nothing in the live path reads or writes it yet.
        cue_interval_ms: Shortest gap between two spoken cues on the page.
        elder_cue_interval_ms: The same in elder mode (calmer, fewer cues).
        speech_rate: Web Speech rate for cues (1.0 = normal).
        elder_speech_rate: Web Speech rate in elder mode (slower).
        countdown_s: Length of the 3-2-1 countdown once the subject is placed.
        stats_every: Send a `stats` message every this many processed frames.
        send_width: Width the page and the headless client scale frames to before
            JPEG encoding (the pose model works at 256x256; bigger frames only cost
            bandwidth and decode time).
        time_zone: The centres' IANA time zone ("Asia/Shanghai"): the local date
            that exercise plans, their weeks and adherence are counted in.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    backend: str = DEFAULT_BACKEND
    max_message_bytes: int = 1 << 20
    max_sessions: int = 8
    demo_video: Path | None = None
    default_lang: Lang = "en"
    default_elder: bool = False
    db_url: str = dataclasses.field(default_factory=default_db_url)
    kiosk_auth: bool = False
    cue_interval_ms: int = 4000
    elder_cue_interval_ms: int = 9000
    speech_rate: float = 1.0
    elder_speech_rate: float = 0.8
    countdown_s: int = 3
    stats_every: int = 30
    send_width: int = 640
    time_zone: str = "UTC"

    def __post_init__(self) -> None:
        _check_range("port", self.port, 0, 65535)
        _check_range("max_message_bytes", self.max_message_bytes, 1024, 64 << 20)
        _check_range("max_sessions", self.max_sessions, 1, 1024)
        _check_range("cue_interval_ms", self.cue_interval_ms, 0, 600_000)
        _check_range("elder_cue_interval_ms", self.elder_cue_interval_ms, 0, 600_000)
        _check_range("countdown_s", self.countdown_s, 0, 30)
        _check_range("stats_every", self.stats_every, 1, 100_000)
        _check_range("send_width", self.send_width, 64, 4096)
        for name in ("speech_rate", "elder_speech_rate"):
            rate = getattr(self, name)
            if not 0.1 <= rate <= 10:
                raise SettingsError(f"{name} must be in [0.1, 10], got {rate}")
        if self.default_lang not in LANGUAGES:
            raise SettingsError(
                f"default_lang must be one of {', '.join(LANGUAGES)}, "
                f"got {self.default_lang!r}"
            )
        if not self.backend:
            raise SettingsError("backend must name a pose backend, got ''")
        if not self.db_url:
            raise SettingsError("db_url must be a database URL, got ''")
        try:
            zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                f"time_zone must be an IANA time zone name, got {self.time_zone!r}"
            ) from None

    @property
    def max_frame_pixels(self) -> int:
        """Most pixels a camera frame's JPEG header may claim: four times a square
        `send_width` frame (640: 1,638,400, e.g. 1280x1280 or a portrait 640x1138
        several times over). The pages scale frames to `send_width`, so only a frame
        no kiosk sends is refused (`too_large`), before it is decoded: a 1 MB JPEG of
        8000x8000 pixels would decode to 192 MB."""
        return 4 * self.send_width * self.send_width

    @property
    def transport_max_bytes(self) -> int:
        """Hard per-message limit for the websocket transport (uvicorn `ws_max_size`).

        Messages between `max_message_bytes` and this get a polite `error` and the
        socket stays open; only beyond it does the transport close the socket (1009).
        """
        return max(4 * self.max_message_bytes, 16 << 20)

    @property
    def uvicorn_websocket_options(self) -> dict[str, Any]:
        """uvicorn's websocket settings for every server that runs the app: the
        transport limit (`transport_max_bytes`) and no permessage-deflate. A kiosk
        sends JPEG, which deflate cannot shrink (a 16 KB frame, 15.7 KB deflated)
        but which costs the kiosk about 0.5 ms of CPU a frame to compress and the
        server CPU to inflate; the server's pose messages are a few KB at 15 a
        second on a centre's LAN. Declining the extension spares both ends
        (browsers and `kiosk.client` then send and receive plain frames)."""
        return {
            "ws_max_size": self.transport_max_bytes,
            "ws_per_message_deflate": False,
        }

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: object
    ) -> Settings:
        """Read `MOVECOACH_*` variables (see the module docstring), then overrides.

        Args:
            environ: Variables to read (default `os.environ`).
            **overrides: Field values that win over the environment (command-line
                options); None values are ignored.

        Raises:
            SettingsError: a variable is malformed; the message names it and says what
                was expected.
        """
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for field in dataclasses.fields(cls):
            key = ENV_PREFIX + _ENV_NAMES.get(field.name, field.name).upper()
            if key in env:
                values[field.name] = _parse(key, env[key], field.name)
        for name, value in overrides.items():
            if name not in _FIELD_NAMES:
                raise SettingsError(
                    f"unknown setting {name!r}; "
                    f"valid: {', '.join(sorted(_FIELD_NAMES))}"
                )
            if value is not None:
                values[name] = Path(str(value)) if name == "demo_video" else value
        return cls(**values)  # type: ignore[arg-type]


_ENV_NAMES: Final[dict[str, str]] = {
    "default_lang": "lang",
    "default_elder": "elder",
    "demo_video": "demo_video",
}
_INT_FIELDS: Final[frozenset[str]] = frozenset(
    {
        "port",
        "max_message_bytes",
        "max_sessions",
        "cue_interval_ms",
        "elder_cue_interval_ms",
        "countdown_s",
        "stats_every",
        "send_width",
    }
)
_FLOAT_FIELDS: Final[frozenset[str]] = frozenset({"speech_rate", "elder_speech_rate"})
_FIELD_NAMES: Final[frozenset[str]] = frozenset(
    f.name for f in dataclasses.fields(Settings)
)


def _check_range(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SettingsError(f"{name} must be an int, got {value!r}")
    if not low <= value <= high:
        raise SettingsError(f"{name} must be in [{low}, {high}], got {value}")


def _parse(key: str, raw: str, name: str) -> object:
    text = raw.strip()
    if name in _INT_FIELDS:
        try:
            return int(text)
        except ValueError:
            raise SettingsError(f"{key} must be an integer, got {raw!r}") from None
    if name in _FLOAT_FIELDS:
        try:
            return float(text)
        except ValueError:
            raise SettingsError(f"{key} must be a number, got {raw!r}") from None
    if name in ("default_elder", "kiosk_auth"):
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise SettingsError(f"{key} must be true or false, got {raw!r}")
    if name == "demo_video":
        return Path(text).expanduser() if text else None
    return text
