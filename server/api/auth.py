"""Sign-in routes: login (bearer token and cookie), logout, me, the error catalogue.

Wrong sign-ins are limited (`server.ratelimit`) per account (`PER_ACCOUNT`: 5 free
within 15 minutes, then 1 s doubling to 5 minutes; a right password clears it) and per
address (`PER_ADDRESS`: 10 free, then 1 s doubling to 15 minutes); while locked a
sign-in is answered 429 `too_many_logins` with `Retry-After`, before any hash is
computed. Sign-ins run on the password threads (`auth.hashing`, at most
`auth.MAX_CONCURRENT_HASHES` Argon2 hashes at once); beyond `MAX_WAITING_LOGINS`
waiting, a sign-in is refused at once (429) rather than queued.
"""

from __future__ import annotations

import math
import time
from datetime import datetime
from typing import Any, Final

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field

from server import auth
from server.api._errors import PAGE_ERROR_MESSAGES
from server.auth import CurrentStaff, Db, api_error
from server.ratelimit import FailureLimiter, Limit, limiter_of
from server.store import Store
from server.store.models import Staff

__all__ = [
    "MAX_WAITING_LOGINS",
    "PER_ACCOUNT",
    "PER_ADDRESS",
    "router",
    "staff_json",
]

router = APIRouter(prefix="/auth", tags=["auth"])

PER_ACCOUNT: Final = Limit(free=5, window_s=900.0, base_lock_s=1.0, max_lock_s=300.0)
PER_ADDRESS: Final = Limit(free=10, window_s=900.0, base_lock_s=1.0, max_lock_s=900.0)
MAX_WAITING_LOGINS: Final[int] = 16
_waiting = 0  # sign-ins on or waiting for the password threads (event loop only)


def _now() -> float:
    return time.monotonic()


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1024)


def staff_json(staff: Staff) -> dict[str, Any]:
    return {
        "id": staff.id,
        "username": staff.username,
        "display_name": staff.display_name,
        "role": str(staff.role),
        "centre_id": staff.centre_id,
        "centre": None if staff.centre is None else staff.centre.name,
        "active": staff.active,
    }


def _limits(request: Request, username: str) -> list[tuple[FailureLimiter, str]]:
    state = request.app.state
    host = request.client.host if request.client else "?"
    return [
        (limiter_of(state, "login_per_account", PER_ACCOUNT), username.lower()),
        (limiter_of(state, "login_per_address", PER_ADDRESS), host),
    ]


def _sign_in(
    store: Store, username: str, password: str
) -> tuple[str, dict[str, Any], datetime] | None:
    """Blocking: check the password, add a login (committed)."""
    with store.session() as db:
        result = auth.login(db, username, password)
        if result is None:
            return None
        token, staff, expires_at = result
        db.commit()
        return token, staff_json(staff), expires_at


def _too_many(wait_s: float) -> Exception:
    return api_error(
        status.HTTP_429_TOO_MANY_REQUESTS,
        "too_many_logins",
        headers={"Retry-After": str(max(1, math.ceil(wait_s)))},
    )


@router.post("/login")
async def login(body: LoginIn, request: Request, response: Response) -> dict[str, Any]:
    global _waiting
    limits = _limits(request, body.username)
    wait_s = max(limiter.retry_after(key, _now()) for limiter, key in limits)
    if wait_s > 0:
        raise _too_many(wait_s)
    if _waiting >= MAX_WAITING_LOGINS:
        raise _too_many(1.0)
    _waiting += 1
    try:
        result = await auth.hashing(
            _sign_in, auth.get_store(request), body.username, body.password
        )
    finally:
        _waiting -= 1
    if result is None:
        at = _now()
        for limiter, key in limits:
            limiter.failed(key, at)
        raise api_error(status.HTTP_401_UNAUTHORIZED, "login_failed")
    limits[0][0].forget(limits[0][1])  # the account's owner: their slate is clean
    token, staff, expires_at = result
    response.set_cookie(
        auth.COOKIE_NAME,
        token,
        max_age=int(auth.LOGIN_LIFETIME.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return {"token": token, "expires_at": expires_at.isoformat(), "staff": staff}


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request, staff: CurrentStaff, db: Db) -> Response:
    token = auth.bearer_token(request)
    if token:
        auth.logout(db, token)
        db.commit()
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(auth.COOKIE_NAME, path="/")
    return response


@router.get("/me")
def me(staff: CurrentStaff) -> dict[str, Any]:
    return staff_json(staff)


@router.get("/errors")
def errors() -> dict[str, dict[str, str]]:
    """Every API error code with its text in English and Chinese."""
    return {**auth.ERROR_MESSAGES, **PAGE_ERROR_MESSAGES}
