"""Who a kiosk's resident is: a member code typed on the keypad or a member card's QR
token read by the camera, resolved in the kiosk's centre behind one failure limit.

Every path that turns what a resident shows or types into a resident goes through
`lookup_member` (keypad sign-in, today's plan and its sets at the kiosk, the QR
check-in on the websocket), so guessing codes or tokens is limited in one place: at
most `MAX_FAILED_LOOKUPS` failures per kiosk within `LOOKUP_WINDOW_S`
(`server.ratelimit`), then `TOO_MANY` until the window has passed.

    found = lookup_member(db, app.state, key, centre_id=1, member_code="A-17")
    found = lookup_member(db, app.state, key, centre_id=1, token=scanned_text)
    found.resident, found.problem
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from exercises.member_tokens import CheckInProblem
from server.ratelimit import FailureLimiter, limiter_of
from server.store import repository
from server.store.models import Resident

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
    from starlette.datastructures import State

__all__ = [
    "LOOKUP_WINDOW_S",
    "MAX_FAILED_LOOKUPS",
    "LookupProblem",
    "MemberLookup",
    "lookup_member",
    "member_limiter",
]

MAX_FAILED_LOOKUPS: Final[int] = 5
LOOKUP_WINDOW_S: Final[float] = 60.0
LIMITED_ACTION: Final[str] = "sign_in"


class LookupProblem(enum.StrEnum):
    """Why a lookup found nobody, beyond a card's own problems (`CheckInProblem`)."""

    UNKNOWN_CODE = "unknown_code"
    TOO_MANY = "too_many"


@dataclass(frozen=True, slots=True)
class MemberLookup:
    """The resident found, or why none was: a card problem, an unknown code, or too
    many failures from this kiosk."""

    resident: Resident | None
    problem: CheckInProblem | LookupProblem | None = None


# A QR reader sees codes that are not ours (a payment code on a phone) and codes it
# could not decode: no guess at a member, so no failure counted.
_NOT_GUESSES: Final = frozenset({CheckInProblem.NOT_OURS, CheckInProblem.UNREADABLE})


def member_limiter(state: State) -> FailureLimiter:
    """The app's limiter of member lookups (shared by every route and socket)."""
    return limiter_of(
        state,
        LIMITED_ACTION,
        max_failures=MAX_FAILED_LOOKUPS,
        window_s=LOOKUP_WINDOW_S,
    )


def lookup_member(
    db: Session,
    state: State,
    key: str,
    *,
    centre_id: int,
    member_code: str | None = None,
    token: str | None = None,
    now: float | None = None,
) -> MemberLookup:
    """The resident a member code or a scanned card names in the centre.

    Args:
        db: A database session.
        state: The app's state (its limiter).
        key: Whose failures count together (the kiosk: "kiosk:3").
        centre_id: The kiosk's centre.
        member_code: A typed member code; or
        token: the text a QR code carried.
        now: Monotonic seconds (default `time.monotonic()`).
    """
    if (member_code is None) == (token is None):
        raise ValueError("expected a member code or a token, got both or neither")
    limiter = member_limiter(state)
    at = time.monotonic() if now is None else now
    if limiter.blocked(key, at):
        return MemberLookup(None, LookupProblem.TOO_MANY)
    found: MemberLookup
    if member_code is not None:
        resident = repository.find_resident(db, centre_id, member_code)
        found = MemberLookup(
            resident, None if resident is not None else LookupProblem.UNKNOWN_CODE
        )
    else:
        assert token is not None
        card = repository.resolve_member_token(db, centre_id, token)
        found = MemberLookup(card.resident, card.problem)
    if found.resident is None and found.problem not in _NOT_GUESSES:
        limiter.failed(key, at)
    return found
