"""Kiosk routes: which kiosk and centre a token stands for, the exercises a kiosk offers
(built-ins plus its centre's own templates), and a resident's sign-in by member code
with their recent history.

A kiosk proves itself with its token (`Authorization: Bearer <token>`, the same
token its websocket carries; never in the URL, see `server.auth.kiosk_token_from`).
With `MOVECOACH_KIOSK_AUTH=true` the token is required; without it a kiosk may also
come without one and then belongs to the database's only centre (as
`DatabaseRecorder` records it). A wrong token is refused either way.

Privacy of the sign-in: a member code shows that resident's own recent sessions and
scores (no profile beyond the display name, no notes, no other resident), only to a
kiosk of the resident's centre; wrong codes are limited per kiosk and address, with
backoff (`server.members`: `MAX_FAILED_SIGN_INS` free per `SIGN_IN_WINDOW_S`) so codes
cannot be tried in bulk, and a 429 says when to try again (`Retry-After`). The
page keeps the code in memory only and forgets it when the resident signs out or
leaves.

    GET  /api/kiosk/me              the kiosk, its centre, whether auth is on
    GET  /api/kiosk/exercises       built-in exercises + the centre's templates
    POST /api/kiosk/sign-in         {member_code} -> the resident's recent sessions
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel

from server.api._errors import page_error
from server.auth import Db, kiosk_token_from
from server.catalogue import centre_specs
from server.members import (
    LOOKUP_WINDOW_S,
    MAX_FAILED_LOOKUPS,
    LookupProblem,
    MemberCode,
    Who,
    lookup_member,
)
from server.runtime import runtime_of
from server.store import repository
from server.store.models import Resident

__all__ = [
    "KIOSK_AUTH_STATE_KEY",
    "MAX_FAILED_SIGN_INS",
    "SIGN_IN_WINDOW_S",
    "KioskContext",
    "kiosk_key",
    "kiosk_resident",
    "router",
]

log = logging.getLogger(__name__)

router = APIRouter(prefix="/kiosk", tags=["kiosk"])

KIOSK_AUTH_STATE_KEY: Final[str] = "movecoach_kiosk_auth"
MAX_FAILED_SIGN_INS: Final[int] = MAX_FAILED_LOOKUPS
SIGN_IN_WINDOW_S: Final[float] = LOOKUP_WINDOW_S
HISTORY_SESSIONS: Final[int] = 10


# --- the kiosk behind a request ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class KioskContext:
    """The kiosk a request comes from (None: no token, allowed without kiosk auth)
    and its centre (None: unknown)."""

    kiosk_id: int | None
    kiosk_name: str | None
    centre_id: int | None


def _kiosk_auth(request: Request) -> bool:
    runtime = runtime_of(request.app.state)
    if runtime is not None:
        return runtime.settings.kiosk_auth
    return bool(getattr(request.app.state, KIOSK_AUTH_STATE_KEY, False))


def current_kiosk(request: Request, db: Db) -> KioskContext:
    """401 `kiosk_token_required` / `bad_kiosk_token`; see the module docstring."""
    token = kiosk_token_from(request)
    if token:
        kiosk = repository.find_kiosk_by_token(db, token)
        if kiosk is None:
            raise page_error(status.HTTP_401_UNAUTHORIZED, "bad_kiosk_token")
        kiosk.last_seen_at = repository.utcnow()
        db.commit()
        return KioskContext(kiosk.id, kiosk.name, kiosk.centre_id)
    if _kiosk_auth(request):
        raise page_error(status.HTTP_401_UNAUTHORIZED, "kiosk_token_required")
    return KioskContext(None, None, repository.kiosk_centre_id(db, None))


CurrentKiosk = Annotated[KioskContext, Depends(current_kiosk)]


def kiosk_key(request: Request, kiosk: KioskContext) -> Who:
    """Whose failed member lookups count together: the kiosk, and per address."""
    return Who(kiosk.kiosk_id, request.client.host if request.client else None)


def kiosk_resident(
    request: Request, kiosk: KioskContext, db: Db, member_code: str
) -> Resident:
    """The resident a member code names at this kiosk (`server.members`, limited):
    403 `no_centre`, 429 `too_many_attempts`, 404 `member_code_unknown`."""
    if kiosk.centre_id is None:
        raise page_error(status.HTTP_403_FORBIDDEN, "no_centre")
    found = lookup_member(
        db,
        request.app.state,
        kiosk_key(request, kiosk),
        centre_id=kiosk.centre_id,
        member_code=member_code,
    )
    if found.problem is LookupProblem.TOO_MANY:
        raise page_error(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too_many_attempts",
            headers={"Retry-After": str(math.ceil(found.retry_after_s))},
        )
    if found.resident is None:
        raise page_error(status.HTTP_404_NOT_FOUND, "member_code_unknown")
    return found.resident


# --- routes ------------------------------------------------------------------------


@router.get("/me")
def me(request: Request, kiosk: CurrentKiosk, db: Db) -> dict[str, Any]:
    centre = (
        None if kiosk.centre_id is None else repository.get_centre(db, kiosk.centre_id)
    )
    return {
        "kiosk": None
        if kiosk.kiosk_id is None
        else {"id": kiosk.kiosk_id, "name": kiosk.kiosk_name},
        "centre": None if centre is None else {"id": centre.id, "name": centre.name},
        "kiosk_auth": _kiosk_auth(request),
        "sign_in": centre is not None,
    }


@router.get("/exercises")
def exercises(request: Request, kiosk: CurrentKiosk, db: Db) -> list[dict[str, Any]]:
    """The picker's exercises: every built-in, then the centre's own templates."""
    runtime = runtime_of(request.app.state)
    if runtime is None:  # records API mounted without the live app
        raise page_error(status.HTTP_404_NOT_FOUND, "no_centre", "no live server here")
    catalogue = runtime.catalogue
    specs = list(catalogue.specs.values()) + list(
        centre_specs(db, kiosk.centre_id).values()
    )
    out = []
    for spec in specs:
        info = catalogue.describe(spec).model_dump()
        info["custom"] = spec.id not in catalogue.specs
        out.append(info)
    return out


class SignIn(BaseModel):
    member_code: MemberCode


@router.post("/sign-in")
def sign_in(
    body: SignIn, request: Request, kiosk: CurrentKiosk, db: Db
) -> dict[str, Any]:
    """A resident's recent sessions, for the member code they entered."""
    resident = kiosk_resident(request, kiosk, db, body.member_code)
    overviews = repository.resident_sessions(db, resident.id, limit=HISTORY_SESSIONS)
    return {
        "resident": {
            "member_code": resident.member_code,
            "display_name": resident.display_name,
        },
        "sessions": [
            {
                "started_at": o.session.started_at.isoformat(),
                "exercise_id": o.session.exercise_id,
                "status": str(o.session.status),
                "rep_count": o.rep_count,
                "mean_score": None if o.mean_score is None else round(o.mean_score, 1),
            }
            for o in overviews
        ],
    }
