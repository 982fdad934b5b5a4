"""exercises.member_tokens: format, classification, hashing, messages."""

from __future__ import annotations

import base64
import hashlib

import pytest

from exercises.member_tokens import (
    CHECK_IN_MESSAGES,
    TOKEN_PREFIX,
    CheckInProblem,
    TokenCheck,
    TokenStatus,
    check_token,
    make_member_token,
    new_member_token,
    token_hash,
    token_hint,
)

KNOWN = "MC1-AAAQEAYEAUDAOCAJBIFQYDIOB45K"
"""The token of bytes 0..15."""


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def _with_check(body: str) -> str:
    """A second, plainer implementation of the check: the first 10 bits of
    SHA-256("MC1-" + body) as 2 base32 characters."""
    bits = int(hashlib.sha256(f"MC1-{body}".encode()).hexdigest()[:4], 16) >> 6
    return f"MC1-{body}{_ALPHABET[bits >> 5]}{_ALPHABET[bits & 31]}"


def _expected_token(raw: bytes) -> str:
    return _with_check(base64.b32encode(raw).decode().rstrip("="))


@pytest.mark.parametrize(
    "raw", [bytes(range(16)), bytes(16), b"\xff" * 16, bytes(range(100, 116))]
)
def test_format(raw: bytes) -> None:
    token = make_member_token(raw)
    assert token == _expected_token(raw)
    assert token.startswith(TOKEN_PREFIX)
    assert len(token) == 32
    assert check_token(token) == TokenCheck(TokenStatus.VALID, token)


def test_known_token() -> None:
    assert make_member_token(bytes(range(16))) == KNOWN


def test_new_token_takes_its_randomness_from_the_caller() -> None:
    asked: list[int] = []

    def fake(n: int) -> bytes:
        asked.append(n)
        return bytes(range(16))

    assert new_member_token(fake) == KNOWN
    assert asked == [16]
    assert new_member_token() != new_member_token()  # secrets.token_bytes


@pytest.mark.parametrize(
    "raw",
    [pytest.param(bytes(15), id="short"), pytest.param(bytes(17), id="long")],
)
def test_make_needs_16_bytes(raw: bytes) -> None:
    with pytest.raises(ValueError, match=r"^expected 16 random bytes, got "):
        make_member_token(raw)


@pytest.mark.parametrize(
    ("text", "status"),
    [
        pytest.param(KNOWN, TokenStatus.VALID, id="valid"),
        pytest.param(f"  {KNOWN.lower()}\n", TokenStatus.VALID, id="case-and-spaces"),
        pytest.param(
            "MC1- AAAQ EAYE AUDA OCAJ BIFQ YDIO B45K", TokenStatus.VALID, id="grouped"
        ),
        pytest.param(
            "https://example.com/pay?id=12345", TokenStatus.NOT_OURS, id="url"
        ),
        pytest.param("12345", TokenStatus.NOT_OURS, id="member-code-digits"),
        pytest.param("", TokenStatus.NOT_OURS, id="empty"),
        pytest.param("MC-AAAA", TokenStatus.NOT_OURS, id="no-version"),
        pytest.param(
            "MC2-AAAQEAYEAUDAOCAJBIFQYDIOB45K", TokenStatus.UNSUPPORTED_VERSION, id="v2"
        ),
        pytest.param(KNOWN[:-1], TokenStatus.DAMAGED, id="truncated"),
        pytest.param(KNOWN + "A", TokenStatus.DAMAGED, id="too-long"),
        pytest.param(
            KNOWN.replace("Q", "R", 1), TokenStatus.DAMAGED, id="one-char-changed"
        ),
        pytest.param(KNOWN[:-2] + "AA", TokenStatus.DAMAGED, id="wrong-check"),
        pytest.param(
            "MC1-AAAQEAYEAUDAOCAJBIFQYDIOB1" + "AA",
            TokenStatus.DAMAGED,
            id="not-base32",
        ),
    ],
)
def test_check_token(text: str, status: TokenStatus) -> None:
    result = check_token(text)
    assert result.status is status
    assert (result.token is not None) == (status is TokenStatus.VALID)


def test_padding_bits_must_be_zero() -> None:
    """The body's last character carries 3 data bits; a text whose other 2 bits
    are set decodes to no 16-byte value, even with a matching check."""
    body = KNOWN[4:30][:-1] + "B"  # 'A' -> 'B' sets a padding bit
    assert check_token(_with_check(body)).status is TokenStatus.DAMAGED
    assert check_token(_with_check(KNOWN[4:30])).status is TokenStatus.VALID


def test_hash_for_storage() -> None:
    expected = hashlib.sha256(KNOWN.encode()).hexdigest()
    assert token_hash(KNOWN) == expected
    assert token_hash(KNOWN.lower()) == expected  # the canonical form is hashed
    assert KNOWN not in expected
    with pytest.raises(ValueError, match=r"^not a valid member token \(not_ours\)$"):
        token_hash("12345")
    with pytest.raises(ValueError, match=r"^not a valid member token \(damaged\)$"):
        token_hash(KNOWN[:-1])


def test_hint() -> None:
    assert token_hint(KNOWN) == "…B45K"


def test_every_problem_has_both_languages() -> None:
    assert set(CHECK_IN_MESSAGES) == set(CheckInProblem)
    for text in CHECK_IN_MESSAGES.values():
        assert set(text) == {"en", "zh-CN"} and all(text.values())
    # The token checks map onto problems one to one.
    for status in TokenStatus:
        if status is not TokenStatus.VALID:
            assert CheckInProblem(status.value) in CHECK_IN_MESSAGES
