"""Sign-in routes: login (bearer token and cookie), logout, me, the error catalogue."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field

from server import auth
from server.api._errors import PAGE_ERROR_MESSAGES
from server.auth import CurrentStaff, Db, api_error
from server.store.models import Staff

__all__ = ["router", "staff_json"]

router = APIRouter(prefix="/auth", tags=["auth"])


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


@router.post("/login")
def login(
    body: LoginIn, request: Request, response: Response, db: Db
) -> dict[str, Any]:
    result = auth.login(db, body.username, body.password)
    if result is None:
        raise api_error(status.HTTP_401_UNAUTHORIZED, "login_failed")
    token, staff, expires_at = result
    db.commit()
    response.set_cookie(
        auth.COOKIE_NAME,
        token,
        max_age=int(auth.LOGIN_LIFETIME.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return {
        "token": token,
        "expires_at": expires_at.isoformat(),
        "staff": staff_json(staff),
    }


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
