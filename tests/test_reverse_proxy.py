"""deploy/nginx-movecoach.conf and deploy/Caddyfile, run for real in front of a
MoveCoach app on loopback: HTTPS with a `make-cert` certificate, /health through the
proxy, and a kiosk websocket session (open, a frame, its pose) through the upgrade.

Only what the test must change is changed: the listening address (a free loopback port
instead of 443), the upstream port, the certificate paths; for Caddy, a certificate
of our own instead of `tls internal` (which would install a root into this machine's
trust store). Skipped where nginx or caddy is not installed (`apt-get install
nginx-light caddy`); `make test` does not install them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.operations import build_app
from server.schemas import encode_frame
from server.settings import Settings
from server.tls import write_self_signed
from tests.conftest import ROOT
from tests.live_server import free_port, serve_in_thread
from tests.server.conftest import ScriptedBackend, jpeg_bytes

NAME = "movecoach.lan"  # the name in the configurations; never resolved
START_TIMEOUT_S = 20.0


@pytest.fixture(scope="module")
def upstream() -> Iterator[int]:
    app = build_app(Settings(), backend_factory=ScriptedBackend)
    with serve_in_thread(app) as port:
        yield port


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    files = write_self_signed(tmp_path_factory.mktemp("tls"), [NAME])
    return files.certfile, files.keyfile


def _client() -> ssl.SSLContext:
    return ssl.create_default_context()


def _https_get(port: int, path: str, context: ssl.SSLContext) -> tuple[int, str]:
    """GET over TLS to 127.0.0.1:port, verifying the certificate for NAME."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=NAME) as tls,
    ):
        tls.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {NAME}\r\nConnection: close\r\n\r\n".encode()
        )
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    if b"transfer-encoding: chunked" in head.lower():
        body = _unchunk(body)
    return status, body.decode()


def _unchunk(body: bytes) -> bytes:
    out = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2 :]
    return out


def _wait_listening(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"the proxy did not listen:\n{log.read_text()}")


def _session_through(port: int, cert: Path) -> None:
    """/health, then a kiosk websocket session, over the proxy."""
    from websockets.sync.client import connect

    context = _client()
    context.load_verify_locations(cert)
    status, body = _https_get(port, "/health", context)
    assert status == 200 and json.loads(body)["ready"] is True
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    # The URL's name for the Host header and the certificate; the socket for the
    # address (the name is never resolved).
    with connect(f"wss://{NAME}:{port}/ws", sock=raw, ssl=context) as ws:
        ws.send(json.dumps({"type": "open", "exercise": "bicep_curl"}))
        assert json.loads(ws.recv(10))["type"] == "opened"
        ws.send(encode_frame(1, jpeg_bytes()))
        while json.loads(ws.recv(10))["type"] != "pose":
            pass


@contextlib.contextmanager
def _running(
    argv: list[str], port: int, log: Path, env: dict[str, str]
) -> Iterator[None]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        try:
            _wait_listening(port, proc, log)
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def test_nginx_config(
    upstream: int, tls_files: tuple[Path, Path], tmp_path: Path
) -> None:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.access(nginx, os.X_OK):
        pytest.skip("needs nginx: apt-get install nginx-light")
    cert, key = tls_files
    port = free_port()
    site = (ROOT / "deploy" / "nginx-movecoach.conf").read_text()
    for old, new in (
        ("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;"),
        ("/etc/movecoach/tls/cert.pem", str(cert)),
        ("/etc/movecoach/tls/key.pem", str(key)),
        ("http://127.0.0.1:8000", f"http://127.0.0.1:{upstream}"),
    ):
        assert old in site, old
        site = site.replace(old, new)
    for folder in ("logs", "temp"):
        (tmp_path / folder).mkdir()
    (tmp_path / "nginx.conf").write_text(
        "daemon off;\nworker_processes 1;\npid nginx.pid;\n"
        f"error_log {tmp_path / 'logs' / 'error.log'};\n"
        "events { worker_connections 64; }\n"
        "http {\n"
        f"access_log {tmp_path / 'logs' / 'access.log'};\n"
        + "".join(
            f"{kind}_temp_path {tmp_path / 'temp' / kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        + site
        + "\n}\n"
    )
    argv = [nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")]
    check = subprocess.run([*argv, "-t"], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr
    with _running(argv, port, tmp_path / "nginx.log", dict(os.environ)):
        _session_through(port, cert)
    access = (tmp_path / "logs" / "access.log").read_text()
    assert re.search(r'"GET /ws HTTP/1.1" 101 ', access), access


def test_caddyfile(upstream: int, tls_files: tuple[Path, Path], tmp_path: Path) -> None:
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("needs caddy: apt-get install caddy")
    cert, key = tls_files
    port = free_port()
    site = (ROOT / "deploy" / "Caddyfile").read_text()
    for old, new in (
        (f"{NAME} {{", f"https://{NAME}:{port} {{\n\tbind 127.0.0.1"),
        ("tls internal", f"tls {cert} {key}"),
        ("reverse_proxy 127.0.0.1:8000", f"reverse_proxy 127.0.0.1:{upstream}"),
    ):
        assert old in site, old
        site = site.replace(old, new)
    caddyfile = tmp_path / "Caddyfile"
    caddyfile.write_text("{\n\tadmin off\n\tauto_https disable_redirects\n}\n" + site)
    env = dict(os.environ, HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"))
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    argv = [caddy, "run", "--config", str(caddyfile), "--adapter", "caddyfile"]
    with _running(argv, port, tmp_path / "caddy.log", env):
        _session_through(port, cert)
