"""Who a kiosk's resident is: a member code typed on the keypad, named in a socket's
`open` or a group check-in, or a member card's QR token read by the camera, resolved in
the kiosk's centre behind one failure limit.

Every path that turns what a resident shows or types into a resident goes through
`lookup_member` (keypad sign-in, today's plan and its sets at the kiosk, the QR
check-in and `open` with a `resident` on `/ws`, `check_in` on `/ws/group`), so
guessing codes or tokens is limited in one place (`server.ratelimit`), in two scopes:

- per kiosk and address (`PER_ADDRESS`): 5 free failures within 15 minutes, then a
  lock of 2 s doubling with each further failure up to 5 minutes. A wrong guess from
  another device holding the kiosk's token does not lock the kiosk itself out, and a
  resident who mistyped at the kiosk waits seconds, not a minute.
- per kiosk (`PER_KIOSK`): 30 free failures within 15 minutes, the same backoff: the
  ceiling for guesses spread over many addresses (without kiosk auth every kiosk of
  the server counts as one).

While either is locked every code is refused with `TOO_MANY` (a right one too: a lock
that let right codes through would tell which codes are right).

    found = lookup_member(db, app.state, who, centre_id=1, member_code="A-17")
    found = lookup_member(db, app.state, who, centre_id=1, token=scanned_text)
    found.resident, found.problem, found.retry_after_s
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Final

from pydantic import StringConstraints

from exercises.member_tokens import CheckInProblem
from server.ratelimit import FailureLimiter, Limit, limiter_of
from server.store import repository
from server.store.models import Resident

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
    from starlette.datastructures import State

    from server.store import Store

__all__ = [
    "LOOKUP_WINDOW_S",
    "MAX_FAILED_LOOKUPS",
    "PER_ADDRESS",
    "PER_KIOSK",
    "LookupProblem",
    "MemberCode",
    "MemberLookup",
    "ResidentRef",
    "Who",
    "find_resident_ref",
    "lookup_member",
    "member_limiters",
]

PER_ADDRESS: Final = Limit(free=5, window_s=900.0, base_lock_s=2.0, max_lock_s=300.0)
PER_KIOSK: Final = Limit(free=30, window_s=900.0, base_lock_s=2.0, max_lock_s=300.0)
MemberCode = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)
]
"""A member code in a request body: trimmed, never empty (a blank one is a 422)."""
MAX_FAILED_LOOKUPS: Final[int] = PER_ADDRESS.free
LOOKUP_WINDOW_S: Final[float] = PER_ADDRESS.window_s


class LookupProblem(enum.StrEnum):
    """Why a lookup found nobody, beyond a card's own problems (`CheckInProblem`)."""

    UNKNOWN_CODE = "unknown_code"
    TOO_MANY = "too_many"


@dataclass(frozen=True, slots=True)
class MemberLookup:
    """The resident found, or why none was: a card problem, an unknown code, or too
    many failures from this kiosk (then `retry_after_s` > 0)."""

    resident: Resident | None
    problem: CheckInProblem | LookupProblem | None = None
    retry_after_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Who:
    """Who is trying codes: the kiosk (its id, or None without kiosk auth) and the
    address the request or socket came from."""

    kiosk_id: int | None
    address: str | None

    def keys(self) -> tuple[str, str]:
        """(per kiosk and address, per kiosk) limiter keys."""
        kiosk = f"kiosk:{self.kiosk_id}"
        return f"{kiosk}@{self.address or '?'}", kiosk


# A QR reader sees codes that are not ours (a payment code on a phone) and codes it
# could not decode: no guess at a member, so no failure counted.
_NOT_GUESSES: Final = frozenset({CheckInProblem.NOT_OURS, CheckInProblem.UNREADABLE})


def _now() -> float:
    return time.monotonic()


def member_limiters(state: State) -> tuple[FailureLimiter, FailureLimiter]:
    """The app's limiters of member lookups (per address, per kiosk), shared by every
    route and socket."""
    return (
        limiter_of(state, "member_lookup_per_address", PER_ADDRESS),
        limiter_of(state, "member_lookup_per_kiosk", PER_KIOSK),
    )


def lookup_member(
    db: Session,
    state: State,
    who: Who,
    *,
    centre_id: int,
    member_code: str | None = None,
    token: str | None = None,
    now: float | None = None,
) -> MemberLookup:
    """The resident a member code or a scanned card names in the centre.

    Args:
        db: A database session.
        state: The app's state (its limiters).
        who: Whose failures count together (the kiosk and the address).
        centre_id: The kiosk's centre.
        member_code: A typed member code; or
        token: the text a QR code carried.
        now: Monotonic seconds (default `time.monotonic()`).
    """
    if (member_code is None) == (token is None):
        raise ValueError("expected a member code or a token, got both or neither")
    limited = list(zip(member_limiters(state), who.keys(), strict=True))
    at = _now() if now is None else now
    wait_s = max(limiter.retry_after(key, at) for limiter, key in limited)
    if wait_s > 0:
        return MemberLookup(None, LookupProblem.TOO_MANY, wait_s)
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
        for limiter, key in limited:
            limiter.failed(key, at)
    return found


@dataclass(frozen=True, slots=True)
class ResidentRef:
    """A resident as a check-in or an `open` names them."""

    resident_id: int
    member_code: str
    display_name: str


def find_resident_ref(
    store: Store, state: State, who: Who, member_code: str
) -> ResidentRef | LookupProblem:
    """The resident a typed member code names in the kiosk's centre (`lookup_member`:
    limited), else why none (`UNKNOWN_CODE`, `TOO_MANY`). Blocking: call it from a
    thread."""
    with store.session() as db:
        centre_id = repository.kiosk_centre_id(db, who.kiosk_id)
        if centre_id is None:
            return LookupProblem.UNKNOWN_CODE
        found = lookup_member(
            db, state, who, centre_id=centre_id, member_code=member_code
        )
        resident = found.resident
        if resident is None:
            return (
                LookupProblem.TOO_MANY
                if found.problem is LookupProblem.TOO_MANY
                else LookupProblem.UNKNOWN_CODE
            )
        return ResidentRef(
            int(resident.id), str(resident.member_code), str(resident.display_name)
        )
