"""Hypothesis strategies for hostile websocket traffic, and a client that plays it.

Used by the websocket fuzz suite (`tests/server/test_fuzz_ws.py`) and by the soak
benchmark's fuzzing client (`benchmarks/soak.py`). A script is a list of messages
(`str`: a text frame, `bytes`: a binary frame) for `/ws` (`kiosk_scripts`) or
`/ws/group` (`group_scripts`): valid opens and closes mixed with malformed frame
headers (magic, version, flags, short headers), timestamps (0, 2^31, 2^53, the values
where MediaPipe's int64 microseconds wrap, 2^63, 2^64-1, repeated, going back, huge
jumps), payloads (valid JPEG and PNG, grey, truncated, bit-flipped, header only,
random bytes, a JPEG header claiming 65535 x 65535 pixels, one byte over the size
limit), and JSON (wrong types for every field, NaN and Infinity, 5,000-digit
integers, lone surrogates, deep nesting, unknown types and versions, invalid text),
in any order.

`play(ws, script)` sends a script on a connected `websockets.sync` client, then a
sentinel message the server answers with a `bad_message` error naming it; once that
answer is in, the server has handled every text message before it (they are handled
in order) and its replies are in `Played.replies`.
"""

from __future__ import annotations

import json
import struct
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import cv2
import numpy as np
from hypothesis import strategies as st

from server.schemas import ASSESSMENT_IDS, FRAME_HEADER, FRAME_MAGIC

__all__ = [
    "SENTINEL_PREFIX",
    "SPECIAL_TIMESTAMPS_MS",
    "Blob",
    "Corpus",
    "Message",
    "Played",
    "group_scripts",
    "kiosk_scripts",
    "play",
]

SPECIAL_TIMESTAMPS_MS: Final[tuple[int, ...]] = (
    0,
    1,
    2**31 - 1,
    2**31,
    2**32,
    2**53 - 1,
    2**53,
    2**53 + 1,
    9_223_372_036_854_775,  # x 1000 still fits int64 microseconds
    9_223_372_036_854_776,  # x 1000 wraps
    2**63 - 1,
    2**63,  # negative as int64
    2**64 - 1,  # -1 as int64
)
"""Frame timestamps where integer widths and conversions change."""

SENTINEL_PREFIX: Final[str] = "fuzz-sentinel-"
REPLY_TIMEOUT_S: Final[float] = 30.0


def _jpeg(image: np.ndarray, quality: int = 80) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def _huge_dimensions(jpeg: bytes) -> bytes:
    """`jpeg` with its frame header (SOF0) claiming 65535 x 65535 pixels."""
    at = jpeg.find(b"\xff\xc0")
    assert at >= 0, "expected a baseline JPEG (SOF0)"
    height_at = at + 5  # marker, length (2), precision (1), then height, width
    return jpeg[:height_at] + struct.pack(">HH", 65535, 65535) + jpeg[height_at + 4 :]


class Blob:
    """A message with a short description for hypothesis' reports (a JPEG or a
    megabyte of text would print as itself; not a dataclass, which hypothesis
    would print field by field)."""

    __slots__ = ("data", "label")

    def __init__(self, label: str, data: bytes | str) -> None:
        self.label, self.data = label, data

    def __repr__(self) -> str:
        unit = "B" if isinstance(self.data, bytes) else "chars"
        return f"<{self.label}, {len(self.data)} {unit}>"


Message = str | bytes | Blob
"""One websocket message of a script: text, binary, or either described."""


class Corpus:
    """Images the scripts are built from (a plain class: hypothesis prints a
    strategy with its arguments, and a dataclass field by field).

    Attributes:
        clip: JPEGs of a real video (a person moving); at least one.
        max_message_bytes: The server's `MOVECOACH_MAX_MESSAGE_BYTES`: messages one
            byte over it are generated.
    """

    def __init__(self, clip: Sequence[bytes], max_message_bytes: int) -> None:
        assert clip, "expected at least one clip frame"
        self.clip, self.max_message_bytes = list(clip), max_message_bytes

    def __repr__(self) -> str:
        return f"Corpus(<{len(self.clip)} clip frames>, {self.max_message_bytes})"

    @classmethod
    def synthetic(cls, max_message_bytes: int) -> Corpus:
        """A corpus without a video: grey and noise images."""
        rng = np.random.default_rng(0)
        noise = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
        return cls([_jpeg(noise)], max_message_bytes)

    def payloads(self) -> st.SearchStrategy[Blob]:
        """What follows a frame header: images, broken images and non-images."""
        grey = _jpeg(np.full((48, 64, 3), 128, np.uint8))
        fixed = [
            Blob("grey JPEG", grey),
            Blob("1x1 JPEG", _jpeg(np.full((1, 1, 3), 200, np.uint8))),
            Blob("greyscale JPEG", _jpeg(np.full((32, 32), 90, np.uint8))),
            Blob(
                "PNG",
                cv2.imencode(".png", np.full((24, 32, 3), 60, np.uint8))[1].tobytes(),
            ),
            Blob("JPEG start only", b"\xff\xd8"),
            Blob("JPEG start and end", b"\xff\xd8\xff\xd9"),
            Blob("truncated JPEG", grey[: len(grey) // 2]),
            Blob("JPEG header claiming 65535x65535", _huge_dimensions(grey)),
            Blob("JPEG 33000x8 px", _jpeg(np.full((8, 33000, 3), 90, np.uint8))),
            Blob("zeros", b"\x00" * 64),
        ]
        oversize = Blob(
            "one byte over the limit",
            b"\xff\xd8" + b"\x00" * (self.max_message_bytes - 1),
        )
        clip = st.sampled_from(
            [Blob(f"clip frame {i}", jpeg) for i, jpeg in enumerate(self.clip)]
        )
        flipped = st.builds(
            _flip, clip, st.lists(st.integers(0, 2**31), min_size=1, max_size=8)
        )
        noise = st.binary(max_size=256).map(lambda b: Blob(f"bytes {b[:8].hex()}", b))
        return _weighted(
            (50, clip),
            (20, st.sampled_from(fixed)),
            (14, flipped),
            (14, noise),
            (2, st.just(oversize)),
        )


def _weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of the strategies, each chosen with its weight (in percent): `one_of`
    alone would make a megabyte message as likely as a camera frame."""
    assert sum(w for w, _ in choices) == 100

    @st.composite
    def pick(draw: st.DrawFn) -> Any:
        roll = draw(st.integers(0, 99))
        for weight, strategy in choices:
            if roll < weight:
                return draw(strategy)
            roll -= weight
        raise AssertionError("weights add up to 100")

    return pick()


def _flip(blob: Blob, positions: list[int]) -> Blob:
    data = bytearray(blob.data)  # type: ignore[arg-type]
    for p in positions:
        data[p % len(data)] ^= 0xFF
    return Blob(f"{blob.label} flipped at {positions}", bytes(data))


# --- frames ---------------------------------------------------------------------------


@dataclass
class _Clock:
    """The timestamp of the last frame a script sent, and the bound of the
    timestamps drawn (exclusive)."""

    last_ms: int = 0
    limit_ms: int = 2**64


_TS_MODES = _weighted(
    (60, st.just("next")),
    (5, st.just("same")),
    (8, st.just("back")),
    (7, st.just("jump")),
    (12, st.just("special")),
    (8, st.just("any")),
)


@st.composite
def _frame(draw: st.DrawFn, corpus: Corpus, clock: _Clock) -> Blob:
    mode = draw(_TS_MODES)
    if mode == "next":
        ts = clock.last_ms + draw(st.integers(1, 200))
    elif mode == "same":
        ts = clock.last_ms
    elif mode == "back":
        ts = max(0, clock.last_ms - draw(st.integers(1, 10**6)))
    elif mode == "jump":
        ts = clock.last_ms + draw(st.integers(10**6, max(10**6, clock.limit_ms // 4)))
    elif mode == "special":
        ts = draw(
            st.sampled_from([t for t in SPECIAL_TIMESTAMPS_MS if t < clock.limit_ms])
        )
    else:
        ts = draw(st.integers(0, clock.limit_ms - 1))
    ts %= clock.limit_ms  # past the bound: back to the start (non-monotonic)
    clock.last_ms = ts
    magic = draw(
        _weighted((85, st.just(FRAME_MAGIC)), (15, st.sampled_from([b"MX", b"CM"])))
    )
    version = draw(_weighted((85, st.just(1)), (15, st.sampled_from([0, 2, 255]))))
    flags = draw(_weighted((85, st.just(0)), (15, st.sampled_from([1, 0x80, 255]))))
    header = FRAME_HEADER.pack(magic, version, flags, ts)
    label = f"frame {magic!r} v{version} flags {flags} ts {ts}"
    cut = draw(_weighted((90, st.just(12)), (10, st.sampled_from([0, 1, 2, 4, 11]))))
    if cut < 12:
        return Blob(f"{label} cut to {cut} bytes", header[:cut])
    payload = draw(corpus.payloads())
    return Blob(f"{label} + {payload.label}", header + payload.data)  # type: ignore[operator]


# --- JSON -----------------------------------------------------------------------------

_JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([2**63, -(2**63) - 1, 2**64, 10**30]),
    st.floats(),  # NaN and +-Infinity included: json.dumps writes them as literals
    st.text(max_size=40),
)
_JSON = st.recursive(
    _JSON_LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=10), children, max_size=4),
    ),
    max_leaves=12,
)


def _mutated(message: dict[str, Any]) -> st.SearchStrategy[str]:
    """`message` with one field's value replaced, one added, or one removed."""
    keys = sorted(message)

    @st.composite
    def build(draw: st.DrawFn) -> str:
        out = dict(message)
        how = draw(st.sampled_from(["replace", "add", "remove"]))
        if how == "replace":
            out[draw(st.sampled_from(keys))] = draw(_JSON)
        elif how == "add":
            out[draw(st.text(min_size=1, max_size=12))] = draw(_JSON)
        else:
            out.pop(draw(st.sampled_from(keys)), None)
        return json.dumps(out)

    return build()


def _raw_texts(max_message_bytes: int) -> st.SearchStrategy[Message]:
    """Text frames that are not what a client sends: not JSON, not objects,
    NaN and huge literals, lone surrogates, deep nesting, oversize."""
    depth = st.sampled_from([64, 1000, 100_000])
    digits = "9" * 5000
    return _weighted(
        (25, st.text(max_size=80)),
        (25, _JSON.map(json.dumps)),
        (
            30,
            st.sampled_from(
                [
                    "",
                    "null",
                    "[]",
                    '"open"',
                    '{"type": "open", "exercise": NaN}',
                    '{"type": "open", "v": Infinity, "exercise": "squat"}',
                    '{"type": "open", "exercise": "squat", "age_years": 1e400}',
                    '{"type": "open", "exercise": "\\ud800"}',
                    '{"type": "\\udfff"}',
                    '{"type": "open", "exercise": "squat", "resident": "\\ud83d"}',
                    '{"type": "open", "exercise": "squat"',
                    '{"type": "close", "type": "open"}',
                ]
            ),
        ),
        (
            4,
            st.just(
                Blob(
                    "open with a 5,000-digit age",
                    '{"type": "open", "exercise": "squat", "age_years": '
                    + digits
                    + "}",
                )
            ),
        ),
        (6, depth.map(lambda n: Blob(f"{n} nested lists", "[" * n + "]" * n))),
        (
            6,
            depth.map(
                lambda n: Blob(f"{n} nested objects", '{"a":' * n + "1" + "}" * n)
            ),
        ),
        (4, st.just(Blob("one char over the limit", "x" * (max_message_bytes + 1)))),
    )


def _versions() -> st.SearchStrategy[Any]:
    return st.sampled_from([1, 1, 1, 0, 2, "1", None, 1.0, True, -1, 2**64])


def _pick(
    valid: bool, good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """`good` values for a valid message, else `good` or out-of-range `bad` ones."""
    return good if valid else st.one_of(good, bad)


_RESOLUTION = st.tuples(st.integers(1, 16384), st.integers(1, 16384)).map(list)
_BAD_RESOLUTION = st.lists(st.integers(-1, 20_000), max_size=3)


@st.composite
def _kiosk_open(
    draw: st.DrawFn, exercises: Sequence[str], valid: bool
) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "open", "v": 1}
    if draw(st.booleans()) or not exercises:
        message["assessment"] = draw(
            _pick(valid, st.sampled_from(ASSESSMENT_IDS), st.just("yoga_test"))
        )
        if draw(st.booleans()):
            message["age_years"] = draw(
                _pick(valid, st.integers(0, 130), st.integers(-5, 140))
            )
            message["sex"] = draw(
                _pick(valid, st.sampled_from(["female", "male"]), st.just("other"))
            )
        if draw(st.booleans()):
            message["timing"] = {
                "instructions_ms": draw(
                    _pick(valid, st.integers(0, 3000), st.integers(-1, 70_000))
                ),
                "ready_hold_ms": draw(st.integers(0, 10_000)),
                "countdown_ms": draw(st.integers(0, 10_000)),
            }
    else:
        message["exercise"] = draw(
            _pick(valid, st.sampled_from(exercises), st.just("yoga"))
        )
    for key, values in (
        ("lang", _pick(valid, st.sampled_from(["en", "zh-CN"]), st.just("fr"))),
        ("elder", st.booleans()),
        ("resident", _pick(valid, st.text(max_size=128), st.text(max_size=130))),
        ("resume", st.text(min_size=1, max_size=64)),
        ("resolution_wh", _pick(valid, _RESOLUTION, _BAD_RESOLUTION)),
    ):
        if draw(st.integers(0, 3)) == 0:
            message[key] = draw(values)
    return message


def _texts(
    valid: st.SearchStrategy[dict[str, Any]], max_message_bytes: int
) -> st.SearchStrategy[Message]:
    return _weighted(
        (35, valid.flatmap(_mutated)),
        (10, st.builds(lambda m, v: json.dumps({**m, "v": v}), valid, _versions())),
        (
            10,
            st.builds(
                lambda t: json.dumps({"type": t, "v": 1}),
                st.one_of(
                    st.text(max_size=20), st.sampled_from(["opened", "pose", "stats"])
                ),
            ),
        ),
        (45, _raw_texts(max_message_bytes)),
    )


@st.composite
def _script(
    draw: st.DrawFn,
    corpus: Corpus,
    opening: st.SearchStrategy[dict[str, Any]],
    messages: st.SearchStrategy[dict[str, Any]],
    max_messages: int,
    limit_ms: int,
) -> list[Message]:
    """Mostly a valid `opening` first, then frames, texts built from `opening` and
    `messages` (valid and not), closes and opens, in any order."""
    clock = _Clock(draw(st.integers(0, 10**7)), limit_ms)
    texts = _texts(st.one_of(opening, messages), corpus.max_message_bytes)
    close = st.just(json.dumps({"type": "close", "v": 1}))
    script: list[Message] = []
    if draw(st.integers(0, 4)) > 0:  # most scripts run a session
        script.append(json.dumps(draw(opening)))
    count = draw(st.integers(1, max_messages))
    frame = _frame(corpus, clock)
    message = _weighted(
        (55, frame),
        (8, close),
        (8, opening.map(json.dumps)),
        (12, messages.map(json.dumps)),
        (17, texts),
    )
    for _ in range(count):
        script.append(draw(message))
    return script


def kiosk_scripts(
    corpus: Corpus,
    exercises: Sequence[str],
    max_messages: int = 20,
    *,
    limit_ms: int = 2**64,
) -> st.SearchStrategy[list[Message]]:
    """Scripts for the kiosk socket `/ws`.

    Args:
        corpus: Images to send.
        exercises: Exercise ids the server knows (an unknown one is added).
        max_messages: Most messages after the opening one.
        limit_ms: Frame timestamps stay below it (default: any uint64), and jumps
            within a script below a quarter of it.
    """
    return _script(
        corpus,
        _kiosk_open(exercises, valid=True),
        _kiosk_open(exercises, valid=False),
        max_messages,
        limit_ms,
    )


@st.composite
def _group_open(
    draw: st.DrawFn, exercises: Sequence[str], valid: bool
) -> dict[str, Any]:
    mode = draw(
        _pick(valid, st.sampled_from(["follow", "same_exercise"]), st.just("solo"))
    )
    message: dict[str, Any] = {"type": "open", "v": 1, "mode": mode}
    if mode != "follow" or draw(st.booleans()):
        message["exercise"] = draw(
            _pick(valid, st.sampled_from(exercises), st.just("yoga"))
        )
    for key, values in (
        ("lang", _pick(valid, st.sampled_from(["en", "zh-CN"]), st.just("fr"))),
        ("elder", st.booleans()),
        ("max_participants", _pick(valid, st.integers(1, 8), st.integers(-1, 10))),
        (
            "instructor_track_id",
            _pick(valid, st.integers(0, 3), st.integers(-1, 2**32)),
        ),
        ("resolution_wh", _pick(valid, _RESOLUTION, _BAD_RESOLUTION)),
    ):
        if draw(st.integers(0, 3)) == 0:
            message[key] = draw(values)
    return message


def group_scripts(
    corpus: Corpus,
    exercises: Sequence[str],
    member_codes: Sequence[str],
    alert_ids: Sequence[int],
    max_messages: int = 20,
    *,
    id_limit: int = 2**65,
    limit_ms: int = 2**64,
) -> st.SearchStrategy[list[Message]]:
    """Scripts for the group screen's socket `/ws/group`.

    Args:
        corpus: Images to send.
        exercises: Exercise ids the server knows.
        member_codes: Residents' codes to check people in with (this centre's and
            others'); random codes are added.
        alert_ids: Alert ids to acknowledge (this centre's and others'); random ids
            are added, 2^63 and 2^64 among them when below `id_limit`.
        max_messages: Most messages after the opening one.
        limit_ms: As in `kiosk_scripts`.
    """
    track = st.one_of(st.integers(0, 3), st.integers(-(2**40), 2**40))
    others = st.one_of(
        st.builds(lambda t: {"type": "set_instructor", "v": 1, "track_id": t}, track),
        st.builds(
            lambda t, r: {"type": "check_in", "v": 1, "track_id": t, "resident": r},
            track,
            st.one_of(
                st.sampled_from(list(member_codes) or ["x"]), st.text(max_size=20)
            ),
        ),
        st.builds(lambda t: {"type": "check_out", "v": 1, "track_id": t}, track),
        st.builds(
            lambda a: {"type": "acknowledge_alert", "v": 1, "alert_id": a},
            st.one_of(
                st.sampled_from(list(alert_ids) or [1]),
                st.integers(-5, 2**62),
                st.sampled_from([i for i in (2**63, 2**64) if i < id_limit] or [1]),
            ),
        ),
    )
    return _script(
        corpus,
        _group_open(exercises, valid=True),
        st.one_of(_group_open(exercises, valid=False), others),
        max_messages,
        limit_ms,
    )


# --- playing a script -----------------------------------------------------------------

FRAME_REFUSED: Final[frozenset[str]] = frozenset(
    {
        "bad_frame",
        "too_large",
        "not_open",
        "non_monotonic",
        "bad_timestamp",
        "unsupported_version",
    }
)
"""Error codes a frame gets at once, before inference (nothing more comes of it)."""
FRAME_FAILED: Final[frozenset[str]] = frozenset(
    {"bad_image", "inference_failed", "engine_rejected"}
)
"""Error codes a frame gets from inference or the engine instead of a pose."""


@dataclass
class Played:
    """What the server said while a script played.

    Attributes:
        replies: JSON messages received, in order.
        answered: Every sentinel was answered and every accepted frame came back
            (as a pose or an error) in time.
        close_code: The server's close code when it closed the socket, else None.
        frames_inferred: Frames that came back from inference (pose or error).
        elapsed_s: First message sent to the last answer.
    """

    replies: list[dict[str, Any]] = field(default_factory=list)
    answered: bool = False
    close_code: int | None = None
    frames_inferred: int = 0
    elapsed_s: float = 0.0

    def errors(self, *codes: str) -> list[dict[str, Any]]:
        """The `error` replies (with one of `codes`, when given)."""
        return [
            r
            for r in self.replies
            if r.get("type") == "error" and (not codes or r.get("code") in codes)
        ]


class _Player:
    def __init__(self, ws: Any, played: Played, deadline: float) -> None:
        self.ws, self.played, self.deadline = ws, played, deadline

    def receive(self) -> dict[str, Any] | None:
        """The next reply, or None at the deadline."""
        left = self.deadline - time.perf_counter()
        if left <= 0:
            return None
        try:
            raw = self.ws.recv(timeout=left)
        except TimeoutError:
            return None
        reply = (
            {"type": "<binary>", "size": len(raw)}
            if isinstance(raw, bytes)
            else json.loads(raw)
        )
        self.played.replies.append(reply)
        return reply  # type: ignore[no-any-return]

    def sentinel(self) -> list[dict[str, Any]] | None:
        """Send a sentinel; the replies up to its answer (None: no answer in time).
        Text messages are handled in order, so every one before it was."""
        name = f"{SENTINEL_PREFIX}{uuid.uuid4().hex}"
        self.ws.send(json.dumps({"type": name, "v": 1}))
        got: list[dict[str, Any]] = []
        while (reply := self.receive()) is not None:
            if reply.get("type") == "error" and name in str(reply.get("detail")):
                return got
            got.append(reply)
        return None

    def frame_result(self, timestamp_ms: int) -> bool:
        """After a binary message: wait until the server refused it, or inference
        returned it (so the next frame cannot replace it unseen). False: no answer
        in time."""
        got = self.sentinel()
        if got is None:
            return False
        if any(r.get("code") in FRAME_REFUSED for r in got if r["type"] == "error"):
            return True
        while True:
            for reply in got:
                if _result_of(reply, timestamp_ms):
                    self.played.frames_inferred += 1
                    return True
            reply = self.receive()
            if reply is None:
                return False
            got = [reply]


def _result_of(reply: dict[str, Any], timestamp_ms: int) -> bool:
    kind = reply.get("type")
    if kind in ("pose", "group_pose"):
        return bool(reply.get("timestamp_ms") == timestamp_ms)
    return kind == "error" and reply.get("code") in FRAME_FAILED


def play(
    ws: Any,
    script: Sequence[Message],
    timeout_s: float = REPLY_TIMEOUT_S,
    *,
    frame_by_frame: bool = True,
) -> Played:
    """Send `script` on `ws` (a `websockets.sync.client` connection), then a
    sentinel, and collect the replies until it is answered.

    Args:
        frame_by_frame: After each binary message wait until it was refused or came
            back from inference, so every accepted frame reaches the model (none is
            replaced by the next while waiting: latest frame wins).
        timeout_s: For the whole script; `Played.answered` is False past it.
    """
    from websockets.exceptions import ConnectionClosed

    played = Played()
    started = time.perf_counter()
    player = _Player(ws, played, started + timeout_s)
    try:
        ok = True
        for message in script:
            data = message.data if isinstance(message, Blob) else message
            ws.send(data)
            if frame_by_frame and isinstance(data, bytes) and ok:
                timestamp_ms = (
                    FRAME_HEADER.unpack_from(data)[3]
                    if len(data) >= FRAME_HEADER.size
                    else -1
                )
                ok = player.frame_result(timestamp_ms)
        played.answered = ok and player.sentinel() is not None
    except ConnectionClosed as exc:
        played.close_code = exc.rcvd.code if exc.rcvd is not None else None
    played.elapsed_s = time.perf_counter() - started
    return played
