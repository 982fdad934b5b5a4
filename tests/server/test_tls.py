"""server/tls.py: the self-signed certificate verifies for its names (and only those)
in a real TLS handshake, its key fingerprint matches OpenSSL's, and a wrong pair is
refused with a message naming the file."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import shutil
import socket
import ssl
import subprocess
import threading
from pathlib import Path

import pytest
from cryptography import x509

from server.tls import (
    DEFAULT_VALIDITY_DAYS,
    TlsError,
    check_certificate_pair,
    make_self_signed,
    spki_sha256,
    write_self_signed,
)


def _handshake(cert: Path, key: Path, server_hostname: str) -> str:
    """TLS version on success, else the client's verification message."""
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    client_context = ssl.create_default_context(cafile=str(cert))
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)

        def accept() -> None:
            conn, _ = listener.accept()
            try:
                with server_context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (ssl.SSLError, OSError):
                pass

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        try:
            with (
                socket.create_connection(listener.getsockname(), timeout=10) as raw,
                client_context.wrap_socket(raw, server_hostname=server_hostname) as tls,
            ):
                return str(tls.version())
        except ssl.SSLCertVerificationError as exc:
            return str(exc.verify_message)
        finally:
            thread.join(10)


@pytest.mark.parametrize(
    ("hosts", "server_hostname", "expected"),
    [
        (["kiosk.centre.test"], "kiosk.centre.test", "TLSv1.3"),
        (["kiosk.centre.test"], "other.centre.test", "Hostname mismatch"),
        (["movecoach.lan", "127.0.0.2"], "127.0.0.2", "TLSv1.3"),
        (["movecoach.lan", "127.0.0.2"], "movecoach.lan", "TLSv1.3"),
        (["Kiosk.Centre.Test."], "kiosk.centre.test", "TLSv1.3"),
    ],
    ids=["name", "other-name", "ip", "second-name", "case-and-dot"],
)
def test_the_certificate_verifies_for_its_names_only(
    tmp_path: Path, hosts: list[str], server_hostname: str, expected: str
) -> None:
    files = write_self_signed(tmp_path, hosts)
    assert _handshake(files.certfile, files.keyfile, server_hostname).startswith(
        expected
    )


def test_validity_key_mode_and_extensions(tmp_path: Path) -> None:
    before = dt.datetime.now(dt.UTC)
    files = write_self_signed(tmp_path, ["kiosk.centre.test"])
    cert = x509.load_pem_x509_certificate(files.certfile.read_bytes())
    assert files.keyfile.stat().st_mode & 0o777 == 0o600
    assert cert.subject == cert.issuer  # self-signed
    days = (cert.not_valid_after_utc - before).total_seconds() / 86400
    assert DEFAULT_VALIDITY_DAYS - 1 < days <= DEFAULT_VALIDITY_DAYS
    assert cert.not_valid_before_utc <= before  # valid at once, despite clock skew
    assert files.not_after == cert.not_valid_after_utc
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and not constraints.value.ca
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl tool")
def test_spki_hash_is_what_openssl_computes(tmp_path: Path) -> None:
    files = write_self_signed(tmp_path, ["kiosk.centre.test"])
    der = subprocess.run(
        f"openssl x509 -in {files.certfile} -pubkey -noout"
        " | openssl pkey -pubin -outform der",
        shell=True,
        check=True,
        capture_output=True,
    ).stdout
    expected = base64.b64encode(hashlib.sha256(der).digest()).decode()
    assert files.spki_sha256 == expected == spki_sha256(files.certfile.read_bytes())


@pytest.mark.parametrize(
    ("hosts", "days", "message"),
    [
        ([], 30, "expected at least one host name or IP address, got none"),
        (["bad name"], 30, "expected a DNS name (letters, digits, '-', dots) or an IP"),
        (["-x.test"], 30, "got '-x.test'"),
        ([""], 30, "got ''"),
        (["kiosk.test"], 0, "expected validity days in [1, 3650], got 0"),
    ],
    ids=["no-host", "space", "leading-dash", "empty", "zero-days"],
)
def test_bad_hosts_and_days_are_refused(
    hosts: list[str], days: int, message: str
) -> None:
    with pytest.raises(TlsError) as caught:
        make_self_signed(hosts, days=days)
    assert message in str(caught.value)


def test_existing_files_are_kept_unless_overwrite(tmp_path: Path) -> None:
    first = write_self_signed(tmp_path, ["a.test"])
    with pytest.raises(TlsError, match=r"cert\.pem exists"):
        write_self_signed(tmp_path, ["b.test"])
    assert first.spki_sha256 == spki_sha256(first.certfile.read_bytes())
    second = write_self_signed(tmp_path, ["b.test"], overwrite=True)
    assert second.spki_sha256 != first.spki_sha256
    assert second.keyfile.stat().st_mode & 0o777 == 0o600


@pytest.fixture
def pairs(tmp_path: Path) -> dict[str, Path]:
    one = write_self_signed(tmp_path / "one", ["one.test"])
    two = write_self_signed(tmp_path / "two", ["two.test"])
    junk = tmp_path / "junk.pem"
    junk.write_text("not a pem file\n")
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(one.keyfile.read_bytes(), None)
    encrypted = tmp_path / "encrypted.pem"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    return {
        "cert": one.certfile,
        "key": one.keyfile,
        "other_key": two.keyfile,
        "junk": junk,
        "encrypted": encrypted,
        "missing": tmp_path / "missing.pem",
    }


@pytest.mark.parametrize(
    ("cert", "key", "message"),
    [
        ("cert", "key", None),
        ("cert", "other_key", "expected the private key of {cert} in {key}, got"),
        ("junk", "key", "expected a PEM certificate in {cert}, got something else"),
        ("cert", "junk", "expected a PEM private key in {key}, got something else"),
        ("key", "key", "expected a PEM certificate in {cert}"),
        ("cert", "encrypted", "expected an unencrypted private key in {key}, got one"),
        ("missing", "key", "expected a certificate file, got no file at {cert}"),
        ("cert", "missing", "expected a key file, got no file at {key}"),
    ],
    ids=["ok", "other-key", "junk-cert", "junk-key", "key-as-cert", "passphrase",
         "no-cert", "no-key"],
)  # fmt: skip
def test_check_certificate_pair(
    pairs: dict[str, Path], cert: str, key: str, message: str | None
) -> None:
    if message is None:
        check_certificate_pair(pairs[cert], pairs[key])
        return
    with pytest.raises(TlsError) as caught:
        check_certificate_pair(pairs[cert], pairs[key])
    assert message.format(cert=pairs[cert], key=pairs[key]) in str(caught.value)
