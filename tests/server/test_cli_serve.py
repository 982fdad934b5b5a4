"""`movecoach serve`, `admin make-cert`, `admin init-db` and `--version` at the command
line: what a user who got something wrong sees (one line on stderr, exit status 2, no
traceback), in-process and, for the operations cases, from a real process; and a real
server's start-up log (timestamps, no other library's INFO lines)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import sqlite3
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from kiosk.client import subprotocols
from server.cli import main, version
from server.store import upgrade_database
from server.tls import spki_sha256
from tests.live_server import ServerProcess, free_port, movecoach_command


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err  # one line, no traceback
    return lines[0]


def test_make_cert_writes_the_pair_and_prints_how_to_serve_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tls"
    argv = ["admin", "make-cert", "--host", "kiosk.centre.test", "--host", "127.0.0.2"]
    assert main([*argv, "--out", str(out), "--days", "30"]) == 0
    printed = capsys.readouterr().out
    cert, key = out / "cert.pem", out / "key.pem"
    assert f"certificate {cert} (for kiosk.centre.test, 127.0.0.2, valid" in printed
    assert spki_sha256(cert.read_bytes()) in printed
    assert f"--ssl-certfile {cert} --ssl-keyfile {key}" in printed
    assert key.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--host", "bad name"],
            "movecoach admin: error: expected a DNS name (letters, digits, '-', dots) "
            "or an IP address, got 'bad name'",
        ),
        (
            ["--host", "a.test", "--days", "4000"],
            "movecoach admin: error: expected validity days in [1, 3650], got 4000",
        ),
        (
            ["--host", "a.test", "--out", "/proc/movecoach-no-such-dir"],
            "movecoach admin: error: cannot write the certificate to "
            "/proc/movecoach-no-such-dir: No such file or directory",
        ),
    ],
    ids=["bad-host", "too-long", "unwritable"],
)
def test_make_cert_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["admin", "make-cert", *argv]) == 2
    assert _error_line(capsys) == message


def test_make_cert_keeps_an_existing_certificate_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["admin", "make-cert", "--host", "a.test", "--out", str(tmp_path)]
    assert main(argv) == 0
    before = (tmp_path / "cert.pem").read_bytes()
    capsys.readouterr()
    assert main(argv) == 2
    assert _error_line(capsys) == (
        f"movecoach admin: error: {tmp_path / 'cert.pem'} exists; expected no file "
        "there (--force replaces it)"
    )
    assert (tmp_path / "cert.pem").read_bytes() == before
    assert main([*argv, "--force"]) == 0
    assert (tmp_path / "cert.pem").read_bytes() != before


@pytest.fixture
def tls_pair(tmp_path: Path) -> tuple[Path, Path]:
    assert main(["admin", "make-cert", "--host", "a.test", "--out", str(tmp_path)]) == 0
    return tmp_path / "cert.pem", tmp_path / "key.pem"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--ssl-certfile", "{cert}"],
            "expected both --ssl-certfile and --ssl-keyfile, got only --ssl-certfile",
        ),
        (
            ["--ssl-keyfile", "{key}"],
            "expected both --ssl-certfile and --ssl-keyfile, got only --ssl-keyfile",
        ),
        (
            ["--ssl-certfile", "{key}", "--ssl-keyfile", "{key}"],
            "expected a PEM certificate in {key}, got something else",
        ),
        (
            ["--ssl-certfile", "{cert}", "--ssl-keyfile", "{missing}"],
            "expected a key file, got no file at {missing}",
        ),
        (
            ["--ssl-certfile", "{cert}", "--ssl-keyfile", "{key}", "--ray"],
            "--ssl-certfile/--ssl-keyfile do not apply to --ray (Ray Serve's proxy "
            "speaks plain HTTP): put a TLS reverse proxy in front "
            "(docs/kiosk-setup.md)",
        ),
    ],
    ids=["cert-only", "key-only", "key-as-cert", "no-key-file", "ray"],
)
def test_serve_refuses_a_tls_setup_it_cannot_use_before_starting(
    tls_pair: tuple[Path, Path],
    tmp_path: Path,
    flags: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cert, key = tls_pair
    paths = {"cert": cert, "key": key, "missing": tmp_path / "missing.pem"}
    capsys.readouterr()
    db = f"sqlite:///{tmp_path / 'records.db'}"
    argv = ["serve", "--db", db, *(flag.format(**paths) for flag in flags)]
    assert main(argv) == 2
    assert _error_line(capsys) == "movecoach serve: error: " + message.format(**paths)
    assert not (tmp_path / "records.db").exists()  # refused before anything started


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--colocate"], "--colocate applies to --ray only"),
        (
            ["--ray", "--colocate", "--provider", "cuda"],
            "colocate runs the server's backend on CPU in each ingress replica; "
            "expected provider cpu with it, got 'cuda'",
        ),
        (
            ["--ray", "--colocate", "--max-batch-size", "8"],
            "--max-batch-size sizes the inference deployment's batches; --colocate "
            "has none",
        ),
    ],
    ids=["without-ray", "with-cuda", "with-batch-size"],
)
def test_serve_refuses_a_colocation_it_cannot_run_before_starting(
    tmp_path: Path, flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if "--provider" in flags:
        pytest.importorskip("ray.serve")  # the Ray app's own parser refuses it
    capsys.readouterr()
    db = f"sqlite:///{tmp_path / 'records.db'}"
    assert main(["serve", "--db", db, *flags]) == 2
    assert _error_line(capsys) == "movecoach serve: error: " + message
    assert not (tmp_path / "records.db").exists()  # refused before anything started


@pytest.mark.parametrize("colocate", [True, False])
def test_serve_ray_colocate_reaches_the_app_builder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, colocate: bool
) -> None:
    """`movecoach serve --ray --colocate` builds the Ray app with `colocate` (each
    ingress replica runs inference itself), as docs/deployment.md advises for a CPU
    box; without the flag the app has its inference deployment."""
    pytest.importorskip("ray.serve")
    from server.distributed import local
    from server.distributed.deployment import AppArgs
    from server.settings import Settings

    calls: list[dict[str, object]] = []

    def serve_with_ray(
        settings: Settings, *, args: dict[str, object], **_: object
    ) -> int:
        calls.append(local.app_args(settings, **args))
        return 0

    monkeypatch.setattr(local, "serve_with_ray", serve_with_ray)
    db = f"sqlite:///{tmp_path / 'records.db'}"
    flags = ["--colocate"] if colocate else []
    argv = ["serve", "--db", db, "--port", str(free_port()), "--ray", *flags]
    assert main(argv) == 0
    (args,) = calls
    assert AppArgs.parse(args).colocate is colocate


# --- operations: what a real process prints and returns ---------------------------


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*movecoach_command(), *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )


def test_version(tmp_path: Path) -> None:
    done = _run(["--version"], tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        f"movecoach {version()}\n",
        "",
    )
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", version())


@pytest.mark.parametrize(
    ("command", "where", "problem"),
    [
        (["admin", "init-db"], "file/records.db", "{tmp}/file: not a folder"),
        (["admin", "init-db"], "folder", "{tmp}/folder: Is a directory"),
        (["serve"], "file/records.db", "{tmp}/file: not a folder"),
        (["serve"], "folder", "{tmp}/folder: Is a directory"),
    ],
    ids=["init-db-under-a-file", "init-db-a-folder", "serve-under-a-file",
         "serve-a-folder"],
)  # fmt: skip
def test_a_database_that_cannot_be_written_is_one_line_and_exit_2(
    tmp_path: Path, command: list[str], where: str, problem: str
) -> None:
    (tmp_path / "file").write_text("not a folder\n")
    (tmp_path / "folder").mkdir()
    url = f"sqlite:///{tmp_path / where}"
    argv = [*command, "--db", url]
    if command == ["serve"]:
        argv += ["--port", "0", "--backend", "onnx"]
    done = _run(argv, tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        f"movecoach {command[0]}: error: cannot write the database {url}: "
        + problem.format(tmp=tmp_path)
        + "; expected a writable file in a writable folder (--db URL or "
        "MOVECOACH_DB_URL)"
    ]
    assert done.stdout == ""


def test_a_port_in_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        db = f"sqlite:///{tmp_path / 'records.db'}"
        done = _run(["serve", "--port", str(port), "--db", db], tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"movecoach serve: error: cannot listen on 127.0.0.1:{port}: Address already "
        "in use; another program (another movecoach serve?) listens there; stop it or "
        "choose another --port (MOVECOACH_PORT)"
    ]
    assert not (tmp_path / "records.db").exists()  # refused before anything started


@pytest.mark.model
def test_start_up_log_is_ours_with_timestamps_and_static_files_revalidate(
    tmp_path: Path,
) -> None:
    db = f"sqlite:///{tmp_path / 'records.db'}"
    log = tmp_path / "server.log"
    server = ServerProcess(["--db", db, "--backend", "onnx"], free_port(), log)
    try:
        server.wait_ready()
        with urllib.request.urlopen(f"{server.url}/static/kiosk.js") as response:
            cache_control = response.headers["Cache-Control"]
        extensions = asyncio.run(_negotiated_extensions(server.url))
    finally:
        server.stop()
    lines = log.read_text().splitlines()
    stamped = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (\w+) ([\w.]+): ")
    assert lines and all(stamped.match(line) for line in lines), lines
    loggers = {m[2] for m in map(stamped.match, lines) if m and m[1] == "INFO"}
    assert {"server.records", "server.app", "uvicorn.error"} <= loggers
    assert {n.split(".")[0] for n in loggers} <= {"server", "uvicorn"}, loggers
    assert cache_control == "no-cache"
    # A client that offers permessage-deflate (websockets' default, as browsers do)
    # gets plain frames: JPEG does not deflate (Settings.uvicorn_websocket_options).
    assert extensions == (True, None)


async def _negotiated_extensions(base_url: str) -> tuple[bool, str | None]:
    """(whether the client offered an extension, the one the server accepted) for a
    websocket to `base_url`'s /ws opened with websockets' defaults."""
    from websockets.asyncio.client import connect

    url = base_url.replace("http://", "ws://") + "/ws"
    async with connect(url, subprotocols=subprotocols(None)) as ws:
        assert ws.request is not None and ws.response is not None
        offered = "Sec-WebSocket-Extensions" in ws.request.headers
        return offered, ws.response.headers.get("Sec-WebSocket-Extensions")


@pytest.mark.parametrize("command", ["serve", "pose", "analyze"])
def test_backend_help_says_what_mediapipe_sends(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert done.value.code == 0
    assert "onnx = ONNX Runtime, sends nothing" in text
    assert "whose privacy notice says it sends usage metrics to Google" in text


def _damaged(path: Path, how: str) -> None:
    """A records database that opens wrong: not SQLite at all, or migrated with the
    sessions table's root page overwritten (only start-up's sweep of sessions a crash
    left active reads it)."""
    if how == "not-a-database":
        path.write_bytes(bytes(range(256)) * 64)
        return
    upgrade_database(f"sqlite:///{path}")
    with contextlib.closing(sqlite3.connect(path)) as db:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        (root,) = db.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'exercise_sessions'"
        ).fetchone()
    with path.open("r+b") as f:
        f.seek(page_size * (root - 1))
        f.write(b"\xab" * page_size)


@pytest.mark.parametrize(
    ("how", "problem"),
    [
        pytest.param("not-a-database", "file is not a database", id="not-a-database"),
        pytest.param(
            "sessions-damaged",
            "database disk image is malformed",
            id="sessions-damaged",
        ),
    ],
)
def test_finding_12_a_damaged_database_is_one_line_and_exit_2(
    tmp_path: Path, how: str, problem: str
) -> None:
    path = tmp_path / "records.db"
    _damaged(path, how)
    url = f"sqlite:///{path}"
    done = _run(["serve", "--db", url, "--port", "0", "--backend", "onnx"], tmp_path)
    assert (done.returncode, done.stderr.splitlines()) == (
        2,
        [f"movecoach serve: error: database {url}: {problem}"],
    )


# --- private by default (issue 20): no MediaPipe in `movecoach serve` -----------------

# Installed in the server process by Python's `site` (PYTHONPATH below): records the
# process id, then every import of a mediapipe module, attempted or done, anywhere in
# the process (request handlers, worker threads, lazily built backends).
_IMPORT_WATCH = """
import os, sys

_LOG = os.environ["MOVECOACH_TEST_IMPORT_LOG"]
with open(_LOG, "a") as _f:
    _f.write(f"watching {os.getpid()}\\n")


class _MediaPipeWatch:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "mediapipe":
            with open(_LOG, "a") as f:
                f.write(f"import {name}\\n")
        return None


sys.meta_path.insert(0, _MediaPipeWatch())
"""


def _gray_jpeg() -> bytes:
    import cv2
    import numpy as np

    ok, jpeg = cv2.imencode(".jpg", np.full((240, 320, 3), 128, np.uint8))
    assert ok
    return bytes(jpeg)


def _exercise_every_pose_path(base: str, tmp_path: Path, password: str) -> None:
    """Drive what builds a pose backend in the server: a kiosk session (/ws), a group
    screen (/ws/group: the multi-person worker, built on its first session) and a
    template drafted from an uploaded video (the authoring path's own backend)."""
    import json

    import cv2
    import numpy as np
    from websockets.sync.client import connect

    from server.schemas.protocol import encode_frame

    ws_base = base.replace("http://", "ws://")
    jpeg = _gray_jpeg()
    for path, opening, reply in (
        ("/ws", {"type": "open", "exercise": "squat"}, "pose"),
        ("/ws/group", {"type": "open", "mode": "follow"}, "group_pose"),
    ):
        with connect(f"{ws_base}{path}", open_timeout=60, close_timeout=10) as ws:
            ws.send(json.dumps({"v": 1, **opening}))
            for ts in (40, 80, 120):
                ws.send(encode_frame(ts, jpeg))
                while True:
                    message = json.loads(ws.recv(timeout=120))
                    assert message["type"] != "error", (path, message)
                    if message["type"] == reply and message["timestamp_ms"] == ts:
                        break
    video = tmp_path / "demo.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 15, (64, 48))
    for _ in range(8):
        writer.write(np.full((48, 64, 3), 128, np.uint8))
    writer.release()
    login = urllib.request.Request(
        f"{base}/api/auth/login",
        data=json.dumps({"username": "coach", "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(login, timeout=30) as response:
        token = json.loads(response.read())["token"]
    upload = urllib.request.Request(
        f"{base}/api/authoring/drafts/video?template_id=probe",
        data=video.read_bytes(),
        headers={"Authorization": f"Bearer {token}"},
    )
    try:
        urllib.request.urlopen(upload, timeout=120).close()
    except urllib.error.HTTPError as exc:
        # Nobody in a gray video: every frame went through the backend, no draft.
        body = json.loads(exc.read())
        assert (exc.code, body["detail"]["code"]) == (422, "authoring_failed"), body


def _mapped_files(pid: int) -> set[str]:
    """Paths of the files mapped into a process (its libraries among them)."""
    with open(f"/proc/{pid}/maps") as maps:
        rows = [line.split(None, 5) for line in maps]
    return {row[5].strip() for row in rows if len(row) == 6}


@pytest.mark.model
@pytest.mark.parametrize(
    ("args", "backend", "mediapipe_loaded"),
    [([], "onnx", False), (["--backend", "mediapipe"], "mediapipe", True)],
    ids=["defaults", "mediapipe-by-flag"],
)
def test_serve_without_flags_never_imports_mediapipe(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    backend: str,
    mediapipe_loaded: bool,
) -> None:
    """`movecoach serve` with no flags runs ONNX Runtime and never imports a mediapipe
    module, checked in the server process two ways: an import watch installed by
    `site` before any of our code runs, and the process's memory map (no file of the
    mediapipe package, e.g. its native bindings, mapped). The same check with
    `--backend mediapipe` must see MediaPipe, so the check can fail."""
    import importlib.util
    import os

    from server import auth
    from server.settings import default_db_url
    from server.store import Store, repository, upgrade_database

    if not Path("/proc/self/maps").is_file():
        pytest.skip("needs Linux /proc")
    spec = importlib.util.find_spec("mediapipe")
    assert spec is not None and spec.submodule_search_locations
    mediapipe_dir = str(Path(next(iter(spec.submodule_search_locations))).resolve())
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(_IMPORT_WATCH)
    watch_log = tmp_path / "imports.log"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOVECOACH_")}
    env.update(
        PYTHONPATH=os.pathsep.join(
            [str(hook), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
        MOVECOACH_TEST_IMPORT_LOG=str(watch_log),
        MOVECOACH_PORT=str(port),  # not the default 8000: the machine is shared
        XDG_DATA_HOME=str(tmp_path / "data"),  # the default database, in tmp
    )
    monkeypatch.setenv("XDG_DATA_HOME", env["XDG_DATA_HOME"])
    db_url = default_db_url()  # what the server will open without --db
    (tmp_path / "data" / "movecoach").mkdir(parents=True)
    upgrade_database(db_url)
    store = Store(db_url)
    password = "correct horse battery"
    with store.begin() as db:
        centre = repository.create_centre(db, "Riverside")
        repository.create_staff(
            db,
            username="coach",
            password_hash=auth.hash_password(password),
            role="coach",
            centre_id=centre.id,
            display_name="Coach",
        )
    store.dispose()
    server = ServerProcess(
        [],
        port,
        tmp_path / "server.log",
        env=env,
        argv=[*movecoach_command(), "serve", *args],
    )
    try:
        health = server.wait_ready()
        assert health["backend"] == backend
        _exercise_every_pose_path(server.url, tmp_path, password)
        mapped = _mapped_files(server.proc.pid)
    finally:
        server.stop()
    watched = watch_log.read_text().splitlines()
    assert watched[0] == f"watching {server.proc.pid}"  # the hook ran in the server
    imported = [line for line in watched[1:] if line.startswith("import mediapipe")]
    from_package = sorted(f for f in mapped if f.startswith(mediapipe_dir + os.sep))
    if mediapipe_loaded:
        assert imported and from_package  # the check sees MediaPipe when it is there
    else:
        assert imported == []
        assert from_package == []
