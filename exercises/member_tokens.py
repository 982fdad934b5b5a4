# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""Member check-in tokens: what a resident's QR code (card or phone) carries.

A token is random and says nothing about the resident: never their id, member code
or name. The server keeps only its SHA-256 (`token_hash`), like sign-in and kiosk
tokens, so a copy of the database cannot be turned into cards; revoking a card is
deleting (or marking) its hash, and a new card is a new token.

Format, version 1 (32 characters, all in QR's alphanumeric set so the code stays
small):

    MC1-<26 base32 characters: 16 random bytes><2 check characters>

- `MC1-` says "a MoveCoach member token, version 1". A code without an `MC<n>-`
  prefix is *not ours* (a payment code, a URL): the kiosk says so and ignores it. An
  `MC<n>-` prefix of another version is recognised as ours but unsupported.
- The 2 check characters are the first 10 bits of SHA-256 over the prefix and body:
  a misread or mistyped code is *damaged*, not "unknown resident" (1 in 1024 damaged
  codes passes the check; the database lookup then finds nothing).

Core module: stdlib only. `new_member_token` takes its randomness from a function
(default `secrets.token_bytes`), so tests can pass fixed bytes.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from exercises.events import LocalizedText

__all__ = [
    "CHECK_IN_MESSAGES",
    "TOKEN_BYTES",
    "TOKEN_PREFIX",
    "CheckInProblem",
    "TokenCheck",
    "TokenStatus",
    "check_token",
    "make_member_token",
    "new_member_token",
    "token_hash",
    "token_hint",
]

TOKEN_VERSION: Final[int] = 1
TOKEN_PREFIX: Final[str] = f"MC{TOKEN_VERSION}-"
TOKEN_BYTES: Final[int] = 16
"""128 random bits: guessing a valid token is out of reach, so a plain SHA-256 (not a
slow password hash) is enough for storage."""
_BODY_CHARS: Final[int] = 26  # ceil(128 / 5)
_CHECK_CHARS: Final[int] = 2
_B32: Final[str] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_ANY_VERSION: Final = re.compile(r"^MC(\d+)-")
_V1: Final = re.compile(rf"^MC1-([{_B32}]{{{_BODY_CHARS + _CHECK_CHARS}}})$")


class TokenStatus(enum.StrEnum):
    """What a scanned or typed text is."""

    VALID = "valid"
    NOT_OURS = "not_ours"
    UNSUPPORTED_VERSION = "unsupported_version"
    DAMAGED = "damaged"


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """The outcome of `check_token`.

    Attributes:
        status: See `TokenStatus`.
        token: The canonical token (upper case, no spaces) when VALID, else None.
    """

    status: TokenStatus
    token: str | None = None


def _check_chars(prefix_and_body: str) -> str:
    digest = hashlib.sha256(prefix_and_body.encode("ascii")).digest()
    bits = int.from_bytes(digest[:2], "big") >> (16 - 5 * _CHECK_CHARS)
    return "".join(
        _B32[(bits >> (5 * (_CHECK_CHARS - 1 - i))) & 31] for i in range(_CHECK_CHARS)
    )


def make_member_token(random_bytes: bytes) -> str:
    """The token of 16 random bytes (pure: the caller supplies the randomness).

    Raises:
        ValueError: not exactly `TOKEN_BYTES` bytes.
    """
    if not isinstance(random_bytes, bytes) or len(random_bytes) != TOKEN_BYTES:
        raise ValueError(
            f"expected {TOKEN_BYTES} random bytes, got {random_bytes!r:.40}"
        )
    body = base64.b32encode(random_bytes).decode("ascii").rstrip("=")
    return TOKEN_PREFIX + body + _check_chars(TOKEN_PREFIX + body)


def new_member_token(
    token_bytes: Callable[[int], bytes] = secrets.token_bytes,
) -> str:
    """A fresh random token for a new card."""
    return make_member_token(token_bytes(TOKEN_BYTES))


def check_token(text: str) -> TokenCheck:
    """Classify a scanned or typed text (surrounding spaces and case are ignored)."""
    canonical = "".join(text.split()).upper()
    version = _ANY_VERSION.match(canonical)
    if version is None:
        return TokenCheck(TokenStatus.NOT_OURS)
    if int(version.group(1)) != TOKEN_VERSION:
        return TokenCheck(TokenStatus.UNSUPPORTED_VERSION)
    m = _V1.match(canonical)
    if m is None:
        return TokenCheck(TokenStatus.DAMAGED)
    body, check = m.group(1)[:_BODY_CHARS], m.group(1)[_BODY_CHARS:]
    if check != _check_chars(TOKEN_PREFIX + body):
        return TokenCheck(TokenStatus.DAMAGED)
    # The 26th character carries only 3 of the 128 bits; the other 2 must be zero
    # or the text is not an encoding of 16 bytes.
    if _B32.index(body[-1]) & 0b11:
        return TokenCheck(TokenStatus.DAMAGED)
    return TokenCheck(TokenStatus.VALID, canonical)


def token_hash(token: str) -> str:
    """SHA-256 (hex) of a valid token, as stored and looked up.

    Raises:
        ValueError: the text is not a valid token (its status is named).
    """
    result = check_token(token)
    if result.token is None:
        raise ValueError(f"not a valid member token ({result.status})")
    return hashlib.sha256(result.token.encode("ascii")).hexdigest()


def token_hint(token: str) -> str:
    """The last four characters, for staff to tell a resident's cards apart."""
    return "…" + token[-4:]


class CheckInProblem(enum.StrEnum):
    """Why a scanned code checks nobody in (the first four from `check_token`, the
    others from the server's lookup, the last from the QR reader)."""

    NOT_OURS = "not_ours"
    UNSUPPORTED_VERSION = "unsupported_version"
    DAMAGED = "damaged"
    UNKNOWN = "unknown"
    REVOKED = "revoked"
    OTHER_CENTRE = "other_centre"
    UNREADABLE = "unreadable"


CHECK_IN_MESSAGES: Final[dict[CheckInProblem, LocalizedText]] = {
    CheckInProblem.NOT_OURS: {
        "en": "That is not a MoveCoach member code. Please show your member card.",
        "zh-CN": "这不是 MoveCoach 会员码。请出示您的会员卡。",
    },
    CheckInProblem.UNSUPPORTED_VERSION: {
        "en": "This member code is from a newer or older system. Please ask staff.",
        "zh-CN": "此会员码版本不受支持。请联系工作人员。",
    },
    CheckInProblem.DAMAGED: {
        "en": "The code could not be read correctly. Please try again, or use the "
        "keypad.",
        "zh-CN": "会员码读取有误。请重试，或使用数字键盘。",
    },
    CheckInProblem.UNKNOWN: {
        "en": "This member code is not known here. Please ask staff.",
        "zh-CN": "本中心没有此会员码。请联系工作人员。",
    },
    CheckInProblem.REVOKED: {
        "en": "This member card is no longer valid. Please ask staff for a new one.",
        "zh-CN": "此会员卡已失效。请向工作人员申请新卡。",
    },
    CheckInProblem.OTHER_CENTRE: {
        "en": "This member card belongs to another centre. Please ask staff.",
        "zh-CN": "此会员卡属于其他中心。请联系工作人员。",
    },
    CheckInProblem.UNREADABLE: {
        "en": "Hold the code still, a little closer to the camera.",
        "zh-CN": "请将会员码拿稳，再靠近摄像头一点。",
    },
}
"""What the kiosk says (and shows) when a scan checks nobody in."""
