"""The kiosk socket (`/ws`) and the group screen's socket (`/ws/group`) fuzzed with
hypothesis against a live server (`tests/server/fuzz_world.py`: `movecoach serve`'s
app, kiosk tokens, SQLite records; /ws on the real pose model, /ws/group on a
scripted multi-person backend, whose model would cost ~0.3 s a frame). Frame
timestamps span all of uint64 (issue 18, finding 1: refused above 2^53 with
`bad_timestamp`) and alert ids go to 2^64 (finding 8: refused as JSON beyond 64 bits
or by the message's range).

Each example is a script from `benchmarks/wire_fuzz.py` (malformed frame headers,
timestamps, payloads and sizes, hostile JSON, any order), sent by centre A's kiosk
(sometimes with a missing or wrong token: the handshake must be refused) while an
ordinary kiosk of centre B runs a session beside it on frames of a real clip. Checks
per example: the server answers every message (a sentinel after the script is
answered), never closes the socket on the fuzzer, logs nothing at ERROR; the ordinary
session beside it gets every frame processed, and so does the next session, which
takes over the pose backend the fuzzer used; /health is ready. At the end: the
earlier records are as they were, and the number of messages sent is asserted and
printed (`-rP` shows it).

Reproducible: hypothesis runs with fixed seeds, without an example database
(`fuzz_settings`).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, seed
from hypothesis import strategies as st
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from benchmarks.wire_fuzz import (
    SENTINEL_PREFIX,
    Corpus,
    Message,
    Played,
    group_scripts,
    kiosk_scripts,
    play,
)
from exercises.spec import builtin_specs
from server.schemas import encode_frame
from tests.conftest import SHARED_DATA
from tests.server.conftest import ScriptedBackend
from tests.server.fuzz_world import FuzzWorld, clip_jpegs, fuzz_server, fuzz_settings

pytestmark = [pytest.mark.slow, pytest.mark.model]

BATCH_EXAMPLES = 20
"""Examples per hypothesis run; runs with seeds 0, 1, 2, ... follow each other until
the socket has had its messages (`MIN_*`), so the count does not hang on how one
seed's scripts came out."""
MAX_BATCHES = 20
MIN_KIOSK_MESSAGES = 600
MIN_GROUP_MESSAGES = 400
"""Together >= 1,000 generated websocket messages per run."""
REPLY_TIMEOUT_S = 30.0
PROBE_EXERCISE = "bicep_curl"  # what the clip shows
FRAME_STEP_MS = 67

CREDENTIALS = st.sampled_from(["kiosk"] * 7 + ["none", "garbage", "basic"])
"""Most scripts run with centre A's kiosk token; the rest must be refused."""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzWorld]:
    with fuzz_server(
        tmp_path_factory.mktemp("fuzz-ws"), group_backend_factory=ScriptedBackend
    ) as world:
        yield world


@pytest.fixture(scope="module")
def clip() -> list[bytes]:
    if not (SHARED_DATA / "video").is_dir():  # the fuzz runs anyway, on noise
        return Corpus.synthetic(1).clip  # type: ignore[return-value]
    return clip_jpegs(24)


@pytest.fixture(scope="module")
def corpus(world: FuzzWorld, clip: list[bytes]) -> Corpus:
    return Corpus(clip, world.settings.max_message_bytes)


@pytest.fixture(scope="module")
def earlier(world: FuzzWorld) -> dict[tuple[str, Any], Any]:
    """Every row before the first fuzz example."""
    return world.snapshot()


def _auth(world: FuzzWorld, credential: str) -> dict[str, str]:
    return {
        "kiosk": {"Authorization": f"Bearer {world.kiosk_token()}"},
        "none": {},
        "garbage": {"Authorization": "Bearer not-a-kiosk-token"},
        "basic": {"Authorization": "Basic a2lvc2s6dG9rZW4="},
    }[credential]


def _connect(world: FuzzWorld, path: str, headers: dict[str, str]) -> ClientConnection:
    return connect(
        f"{world.ws_url}{path}",
        additional_headers=headers,
        max_size=64 << 20,
        ping_interval=None,  # pings draw from `random` (see fuzz_world.py)
        open_timeout=REPLY_TIMEOUT_S,
        close_timeout=REPLY_TIMEOUT_S,
    )


def _until(ws: ClientConnection, *types: str, ts: int | None = None) -> dict[str, Any]:
    """The next message of one of `types` (and `timestamp_ms` == `ts` when given);
    fails on an `error` or a timeout."""
    deadline = time.monotonic() + REPLY_TIMEOUT_S
    while True:
        message = json.loads(ws.recv(timeout=max(0.0, deadline - time.monotonic())))
        assert message["type"] != "error", message
        if message["type"] in types and (ts is None or message["timestamp_ms"] == ts):
            return message


class _Probe:
    """An ordinary session on its own socket (opened per example, so a failed
    example leaves nothing behind): one clip frame at a time, each waited for, so
    every frame must come back processed."""

    def __init__(
        self,
        world: FuzzWorld,
        path: str,
        token: str,
        jpegs: list[bytes],
        opening: dict[str, Any],
    ) -> None:
        self.world, self.path, self.token = world, path, token
        self.jpegs, self.opening = jpegs, opening
        self.group = opening.get("mode") is not None
        self.ts = 0

    def __enter__(self) -> _Probe:
        self.stack = contextlib.ExitStack()
        self.ws = self.stack.enter_context(
            _connect(self.world, self.path, {"Authorization": f"Bearer {self.token}"})
        )
        self.ws.send(json.dumps({"v": 1, **self.opening}))
        _until(self.ws, "group_opened" if self.group else "opened")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stack.close()

    def frame(self) -> None:
        self.ts += FRAME_STEP_MS
        jpeg = self.jpegs[(self.ts // FRAME_STEP_MS) % len(self.jpegs)]
        self.ws.send(encode_frame(self.ts, jpeg))
        _until(self.ws, "group_pose" if self.group else "pose", ts=self.ts)

    def close(self) -> dict[str, Any]:
        """End the session; its summary."""
        self.ws.send(json.dumps({"type": "close", "v": 1}))
        return _until(self.ws, "group_summary" if self.group else "summary")


def _wait_for_sessions(world: FuzzWorld, sockets: int) -> None:
    """Until the server serves `sockets` sockets (the fuzzer's has been let go)."""
    deadline = time.monotonic() + REPLY_TIMEOUT_S
    while (health := world.health())["sessions"] != sockets:
        assert time.monotonic() < deadline, health
        time.sleep(0.01)


def _check(world: FuzzWorld, played: Played, errors_before: int) -> None:
    assert played.close_code is None, f"the server closed the socket: {played}"
    assert played.answered, f"no answer to the sentinel: {played.replies[-5:]}"
    assert world.errors[errors_before:] == []
    assert played.errors("inference_failed", "engine_rejected") == []


def _fuzz(
    world: FuzzWorld,
    path: str,
    scripts: st.SearchStrategy[list[Message]],
    minimum: int,
    beside: Callable[[], _Probe],
    after: Callable[[], _Probe],
) -> Counter[str]:
    seen: Counter[str] = Counter()

    @fuzz_settings(BATCH_EXAMPLES, derandomize=False)
    @given(script=scripts, credential=CREDENTIALS)
    def run(script: list[Message], credential: str) -> None:
        errors_before = len(world.log.records)
        if credential != "kiosk":
            with (
                pytest.raises(InvalidStatus) as refused,
                _connect(world, path, _auth(world, credential)),
            ):
                pass
            assert refused.value.response.status_code == 403
            seen["refused_handshakes"] += 1
            return
        with beside() as ordinary:
            ordinary.frame()
            sockets = world.health()["sessions"]
            with _connect(world, path, _auth(world, credential)) as ws:
                played = play(ws, script, REPLY_TIMEOUT_S)
                ordinary.frame()  # while the fuzzer's session is still open
                assert ordinary.close()["stats"]["processed"] == 2
            _count(seen, script, played)
            _check(world, played, errors_before)
            _wait_for_sessions(world, sockets)
        with after() as next_session:  # gets the backend the fuzzer's session had
            next_session.frame()
            next_session.frame()
            assert next_session.close()["stats"]["processed"] == 2
        assert world.health()["ready"]

    started = time.perf_counter()
    for batch in range(MAX_BATCHES):
        if seen["messages"] >= minimum:
            break
        seed(batch)(run)()
        seen["batches"] += 1
    seen["elapsed_ms"] = round(1000 * (time.perf_counter() - started))
    return seen


def _count(seen: Counter[str], script: list[Message], played: Played) -> None:
    seen["messages"] += len(script)
    seen["scripts"] += 1
    seen["frames_inferred"] += played.frames_inferred
    for reply in played.replies:
        if SENTINEL_PREFIX not in str(reply.get("detail")):
            seen[f"reply:{reply['type']}"] += 1
            seen["replies"] += 1
            if reply["type"] == "error":
                seen[f"error:{reply['code']}"] += 1


def _report(path: str, seen: Counter[str]) -> str:
    codes = {k[6:]: v for k, v in sorted(seen.items()) if k.startswith("error:")}
    replies = {k[6:]: v for k, v in sorted(seen.items()) if k.startswith("reply:")}
    return (
        f"ws fuzz {path}: {seen['messages']} messages in {seen['scripts']} scripts "
        f"({seen['batches']} seeds x {BATCH_EXAMPLES} examples) "
        f"(+{seen['refused_handshakes']} refused handshakes; "
        f"{seen['frames_inferred']} frames through inference) in "
        f"{seen['elapsed_ms'] / 1000:.1f} s; replies by type {replies}, errors by "
        f"code {codes}"
    )


def _intact(world: FuzzWorld, earlier: dict[tuple[str, Any], Any]) -> list[str]:
    """Earlier rows changed; centre A's alerts may be acknowledged by its screen."""
    changed = world.changed_rows(earlier)
    return [
        c
        for c in changed
        if not (
            c.startswith("('alerts'")
            and f"'centre_id': {world.a['centre_id']}," in c.split("->")[0]
        )
    ]


def test_kiosk_socket_survives_generated_traffic(
    world: FuzzWorld,
    corpus: Corpus,
    clip: list[bytes],
    earlier: dict[tuple[str, Any], Any],
) -> None:
    probe = {"type": "open", "exercise": PROBE_EXERCISE}
    b_token = world.b["kiosk_token"]
    seen = _fuzz(
        world,
        "/ws",
        kiosk_scripts(corpus, sorted(builtin_specs())),
        MIN_KIOSK_MESSAGES,
        beside=lambda: _Probe(world, "/ws", b_token, clip, probe),
        after=lambda: _Probe(world, "/ws", b_token, clip, probe),
    )
    print(_report("/ws", seen))
    assert seen["messages"] >= MIN_KIOSK_MESSAGES, seen
    assert _intact(world, earlier) == []


def test_group_socket_survives_generated_traffic(
    world: FuzzWorld,
    corpus: Corpus,
    clip: list[bytes],
    earlier: dict[tuple[str, Any], Any],
) -> None:
    scripts = group_scripts(
        corpus,
        sorted(builtin_specs()),
        member_codes=[world.a["member_code"], world.b["member_code"]],
        alert_ids=[world.a["alert_id"], world.b["alert_id"]],
    )
    kiosk = {"type": "open", "exercise": PROBE_EXERCISE}
    screen = {"type": "open", "mode": "follow"}
    seen = _fuzz(
        world,
        "/ws/group",
        scripts,
        MIN_GROUP_MESSAGES,
        beside=lambda: _Probe(world, "/ws", world.b["kiosk_token"], clip, kiosk),
        after=lambda: _Probe(world, "/ws/group", world.kiosk_token(), clip, screen),
    )
    print(_report("/ws/group", seen))
    assert seen["messages"] >= MIN_GROUP_MESSAGES, seen
    assert _intact(world, earlier) == []
