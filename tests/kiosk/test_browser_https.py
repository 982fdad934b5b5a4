"""A kiosk on the centre's LAN: the kiosk page over HTTPS under a name that is not
localhost, in real headless Chromium, against a real `movecoach serve --ssl-certfile
--ssl-keyfile` process with a certificate from `movecoach admin make-cert`.

Browsers give the camera only to secure contexts, judged by the URL's name: loopback
URLs are secure even over plain HTTP, so only a LAN-like name shows the LAN's case.
Chromium maps the test name to 127.0.0.1 (`--host-resolver-rules`): traffic never
leaves loopback. It accepts the generated certificate by its public key
(`--ignore-certificate-errors-spki-list`, what `make-cert` prints); a kiosk trusts it
instead: the second test does what docs/kiosk-setup.md says (the certificate in the
kiosk user's NSS database, trusted as a server certificate) and uses no such flag.
"""

# ruff: noqa: F811 (pytest fixtures imported from test_browser)

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.cli import main
from tests.conftest import need_tool
from tests.kiosk.test_browser import (  # noqa: F401 (fixtures)
    SPEECH_STUB,
    bypassing_csp,
    chromium,
    fake_camera,
    video,
)
from tests.live_server import ServerProcess, free_port

pytestmark = [pytest.mark.browser, pytest.mark.model, pytest.mark.slow]

HOST = "kiosk.centre.test"  # .test: reserved, never resolves outside this browser
EXERCISE = "bicep_curl"
TIMEOUT_MS = 90_000


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    out = tmp_path_factory.mktemp("tls")
    assert main(["admin", "make-cert", "--host", HOST, "--out", str(out)]) == 0
    from server.tls import spki_sha256

    cert = out / "cert.pem"
    return cert, out / "key.pem", spki_sha256(cert.read_bytes())


@pytest.fixture(scope="module")
def https_server(
    certificate: tuple[Path, Path, str],
    video: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServerProcess]:
    cert, key, _ = certificate
    folder = tmp_path_factory.mktemp("server")
    client = ssl.create_default_context(cafile=str(cert))
    client.check_hostname = False  # polled by address (names: tests/server/test_tls)
    server = ServerProcess(
        [
            "--ssl-certfile",
            str(cert),
            "--ssl-keyfile",
            str(key),
            "--db",
            f"sqlite:///{folder / 'records.db'}",
            "--demo",
            str(video),
            "--log-level",
            "warning",
        ],
        free_port(),
        folder / "server.log",
        tls_context=client,
    )
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def test_kiosk_page_over_https_under_a_lan_name_gets_the_camera_and_counts(
    chromium: str,
    fake_camera: Path,
    certificate: tuple[Path, Path, str],
    https_server: ServerProcess,
) -> None:
    from playwright.sync_api import sync_playwright

    _, _, spki = certificate
    url = f"https://{HOST}:{https_server.port}"
    page_errors: list[str] = []
    with sync_playwright() as p:
        browser = bypassing_csp(
            p.chromium.launch(
                executable_path=chromium,
                args=[
                    "--no-sandbox",
                    "--use-fake-ui-for-media-stream",
                    "--use-fake-device-for-media-stream",
                    f"--use-file-for-fake-video-capture={fake_camera}",
                    f"--host-resolver-rules=MAP {HOST} 127.0.0.1",
                    f"--ignore-certificate-errors-spki-list={spki}",
                ],
            )
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            page.add_init_script(SPEECH_STUB)
            response = page.goto(f"{url}/?lang=en&mirror=0")
            assert response is not None and response.ok
            secure = page.evaluate(
                "({secure: window.isSecureContext, protocol: location.protocol,"
                " host: location.hostname})"
            )
            page.click(f'.card[data-exercise="{EXERCISE}"]')
            page.wait_for_function(
                "window.kioskState.reps >= 1 && "
                "window.kioskState.state === 'exercising'",
                timeout=TIMEOUT_MS,
            )
            live: dict[str, Any] = page.evaluate("window.kioskState")
        finally:
            browser.close()
    assert secure == {"secure": True, "protocol": "https:", "host": HOST}
    assert not page_errors
    assert live["source"] == "camera" and live["cameraError"] is None
    assert live["framesSent"] >= 10 and live["errors"] == []
    assert any(e["type"] == "rep_completed" for e in live["events"])  # over wss://


@pytest.fixture(scope="module")
def certutil() -> str:
    return need_tool("certutil", "apt-get install libnss3-tools (make system-deps)")


def test_a_kiosk_that_trusts_the_certificate_in_its_nss_database_needs_no_flag(
    chromium: str,
    certutil: str,
    certificate: tuple[Path, Path, str],
    https_server: ServerProcess,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import sync_playwright

    cert, _, _ = certificate
    home = tmp_path / "kiosk-user"
    nssdb = f"sql:{home / '.pki' / 'nssdb'}"
    (home / ".pki" / "nssdb").mkdir(parents=True)
    for step in (  # docs/kiosk-setup.md, "Trust the server's certificate"
        [certutil, "-d", nssdb, "-N", "--empty-password"],
        [certutil, "-d", nssdb, "-A", "-t", "P,,", "-n", "movecoach", "-i", str(cert)],
    ):
        subprocess.run(step, check=True, capture_output=True, timeout=30)
    url = f"https://{HOST}:{https_server.port}/"
    outcomes = {}
    with sync_playwright() as p:
        for name, user in (("trusted", home), ("untrusted", tmp_path / "other-user")):
            user.mkdir(exist_ok=True)
            browser = bypassing_csp(
                p.chromium.launch(
                    executable_path=chromium,
                    args=[
                        "--no-sandbox",
                        f"--host-resolver-rules=MAP {HOST} 127.0.0.1",
                    ],
                    env={"HOME": str(user), "PATH": "/usr/bin:/bin"},
                )
            )
            try:
                page = browser.new_page()
                try:
                    page.goto(url)
                    outcomes[name] = page.evaluate("window.isSecureContext")
                except Exception as exc:  # playwright's Error: the net:: code
                    outcomes[name] = str(exc).split(" at ")[0]
            finally:
                browser.close()
    assert outcomes == {
        "trusted": True,
        "untrusted": "Page.goto: net::ERR_CERT_AUTHORITY_INVALID",
    }
