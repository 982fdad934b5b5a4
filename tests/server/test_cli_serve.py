"""`movecoach serve` and `movecoach admin make-cert` at the command line: what a user
who got something wrong sees (one line on stderr, exit status 2, no traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.cli import main
from server.tls import spki_sha256


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
