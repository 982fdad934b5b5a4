"""TLS for a centre without a PKI: a self-signed server certificate for the names
kiosks use to reach the server, and the checks `movecoach serve --ssl-*` runs before
it binds.

Browsers give the camera (`getUserMedia`) only to secure contexts: a kiosk that opens
`http://SERVER-NAME:8000` on the LAN gets no camera; `https://SERVER-NAME:8000` with a
certificate the kiosk trusts does (docs/kiosk-setup.md says how a kiosk trusts it).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from cryptography import x509

__all__ = [
    "DEFAULT_VALIDITY_DAYS",
    "CertificateFiles",
    "TlsError",
    "check_certificate_pair",
    "make_self_signed",
    "spki_sha256",
    "write_self_signed",
]

DEFAULT_VALIDITY_DAYS: Final[int] = 825
"""The longest validity Apple devices accept for a locally trusted server certificate
(Chromium has no limit for those); renew with the same command."""

MAX_VALIDITY_DAYS: Final[int] = 3650


class TlsError(ValueError):
    """A certificate or key the server cannot use; the message says which and why."""


@dataclass(frozen=True, slots=True)
class CertificateFiles:
    """What `write_self_signed` wrote.

    Attributes:
        certfile: PEM certificate (public; every kiosk trusts it).
        keyfile: PEM private key (mode 0600; stays on the server).
        spki_sha256: Base64 SHA-256 of the certificate's public key, as Chromium's
            `--ignore-certificate-errors-spki-list` takes it.
        not_after: End of validity (UTC).
    """

    certfile: Path
    keyfile: Path
    spki_sha256: str
    not_after: dt.datetime


def make_self_signed(
    hosts: list[str],
    *,
    days: int = DEFAULT_VALIDITY_DAYS,
    now: dt.datetime | None = None,
) -> tuple[bytes, bytes]:
    """A self-signed ECDSA P-256 server certificate for `hosts`.

    Args:
        hosts: DNS names or IP addresses the kiosks use in the server's URL; the first
            is the subject's common name, all go into the subjectAltName.
        days: Validity from `now`, 1 to 3650.
        now: Start of validity (default the current time, UTC).

    Returns:
        (certificate, private key), both PEM.

    Raises:
        TlsError: no host, an empty or malformed name, or days out of range.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    if not hosts:
        raise TlsError("expected at least one host name or IP address, got none")
    if not 1 <= days <= MAX_VALIDITY_DAYS:
        raise TlsError(
            f"expected validity days in [1, {MAX_VALIDITY_DAYS}], got {days}"
        )
    names = [_general_name(host) for host in hosts]
    key = ec.generate_private_key(ec.SECP256R1())
    start = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(minutes=5)  # clock skew
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
    public_key = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _general_name(host: str) -> x509.GeneralName:
    from cryptography import x509

    text = host.strip()
    try:
        return x509.IPAddress(ipaddress.ip_address(text))
    except ValueError:
        pass
    labels = text.rstrip(".").split(".")
    if not text or any(
        not label
        or len(label) > 63
        or label.startswith("-")
        or label.endswith("-")
        or not all(c.isascii() and (c.isalnum() or c == "-") for c in label)
        for label in labels
    ):
        raise TlsError(
            f"expected a DNS name (letters, digits, '-', dots) or an IP address, "
            f"got {host!r}"
        )
    return x509.DNSName(text.rstrip(".").lower())


def spki_sha256(cert_pem: bytes) -> str:
    """Base64 SHA-256 of the certificate's SubjectPublicKeyInfo (DER)."""
    from cryptography import x509

    spki = _public_der(x509.load_pem_x509_certificate(cert_pem).public_key())
    return base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")


def write_self_signed(
    out_dir: Path,
    hosts: list[str],
    *,
    days: int = DEFAULT_VALIDITY_DAYS,
    overwrite: bool = False,
) -> CertificateFiles:
    """Write `cert.pem` and `key.pem` (mode 0600) for `hosts` into `out_dir`.

    Raises:
        TlsError: bad hosts or days (`make_self_signed`), either file exists and not
            `overwrite`, or the folder cannot be written.
    """
    from cryptography import x509

    certfile, keyfile = out_dir / "cert.pem", out_dir / "key.pem"
    if not overwrite:
        for path in (certfile, keyfile):
            if path.exists():
                raise TlsError(
                    f"{path} exists; expected no file there (--force replaces it)"
                )
    cert_pem, key_pem = make_self_signed(hosts, days=days)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        keyfile.unlink(missing_ok=True)
        with open(keyfile, "xb", opener=_private_opener) as out:
            out.write(key_pem)
        certfile.write_bytes(cert_pem)
    except OSError as exc:
        raise TlsError(
            f"cannot write the certificate to {out_dir}: {exc.strerror}"
        ) from None
    not_after = x509.load_pem_x509_certificate(cert_pem).not_valid_after_utc
    return CertificateFiles(certfile, keyfile, spki_sha256(cert_pem), not_after)


def _private_opener(path: str, flags: int) -> int:
    import os

    return os.open(path, flags, 0o600)


def check_certificate_pair(certfile: Path, keyfile: Path) -> None:
    """Load the pair as the server will, so a wrong file fails before the server binds.

    Raises:
        TlsError: a file is missing or unreadable, is not PEM, the key has a
            passphrase (the server would wait for one on its terminal), or the key does
            not belong to the certificate.
    """
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    cert_pem, key_pem = _read(certfile, "certificate"), _read(keyfile, "key")
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        raise TlsError(
            f"expected a PEM certificate in {certfile}, got something else"
        ) from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except TypeError:  # cryptography's way of saying "encrypted"
        raise TlsError(
            f"expected an unencrypted private key in {keyfile}, got one with a "
            "passphrase (remove it: openssl pkey -in KEY -out KEY.plain)"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise TlsError(
            f"expected a PEM private key in {keyfile}, got something else"
        ) from None
    if _public_der(key.public_key()) != _public_der(cert.public_key()):
        raise TlsError(
            f"expected the private key of {certfile} in {keyfile}, got another key"
        )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(certfile, keyfile)
    except ssl.SSLError as exc:  # what cryptography accepts but OpenSSL does not
        raise TlsError(f"certificate {certfile}, key {keyfile}: {exc}") from None


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise TlsError(f"expected a {what} file, got no file at {path}") from None
    except OSError as exc:
        raise TlsError(f"cannot read the {what} {path}: {exc.strerror}") from None


def _public_der(public_key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(
        public_key.public_bytes(
            serialization.Encoding.DER,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
    )
