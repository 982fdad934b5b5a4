# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""Staff sign-in, roles and centre scoping, and kiosk tokens.

Passwords are hashed with Argon2id (argon2-cffi's `PasswordHasher`, RFC 9106
low-memory defaults); a hash is upgraded at the next successful sign-in when the
parameters change.

Sign-in produces an opaque bearer token backed by a server-side row (`login_sessions`)
rather than a self-contained HMAC-signed token. Reasons: signing out, deactivating an
account or deleting it takes effect at once (a signed token stays valid until it
expires unless a revocation list is kept, which is a sessions table again); there is no
signing key to generate, share between processes, keep out of backups and rotate; and a
lookup by primary key costs nothing next to the queries every page makes anyway. Only
the SHA-256 of the token is stored, so a copy of the database does not let anyone in.
The token travels as `Authorization: Bearer <token>` or in the `movecoach_session`
cookie (HttpOnly, SameSite=Strict: pages never see it and other sites cannot send it).

Roles: `coach` (residents, sessions, notes, exports and templates of their own centre)
and `admin` (all of that, plus staff, kiosks and deleting a resident's data; an admin
with no centre administers every centre). Denials: 401 without a valid sign-in, 403 for
the wrong role (or another centre named in a listing), 404 for what does not exist and
for another centre's record alike (`server.api._access.visible_to`). Every error's
`detail` is `{"code": ..., "message": ...}`; `ERROR_MESSAGES` has each code's text in
English and Chinese for the pages.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Annotated, Final, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from server.store import Store, repository
from server.store.models import Kiosk, Role, Staff

__all__ = [
    "COOKIE_NAME",
    "ERROR_MESSAGES",
    "KIOSK_SUBPROTOCOL",
    "LOGIN_LIFETIME",
    "MAX_CONCURRENT_HASHES",
    "PASSWORD_HASHER",
    "STORE_STATE_KEY",
    "TOKEN_SUBPROTOCOL_PREFIX",
    "CurrentStaff",
    "Db",
    "api_error",
    "bearer_token",
    "can_see_centre",
    "centre_scope",
    "current_staff",
    "get_db",
    "get_store",
    "hash_password",
    "hashing",
    "kiosk_token_from",
    "login",
    "logout",
    "offered_subprotocols",
    "require_role",
    "require_same_centre",
    "verify_kiosk_token",
    "verify_password",
]

COOKIE_NAME: Final[str] = "movecoach_session"
LOGIN_LIFETIME: Final[timedelta] = timedelta(hours=12)
"""A sign-in lasts one working day; then the coach signs in again."""
STORE_STATE_KEY: Final[str] = "movecoach_store"

PASSWORD_HASHER = PasswordHasher()
"""Argon2id with argon2-cffi's defaults; tests swap in a cheaper one."""

MAX_CONCURRENT_HASHES: Final[int] = 2
"""Argon2 hashes computed at once, whoever asks (64 MiB each with the defaults): more
sign-ins wait their turn instead of adding memory."""
_HASH_SLOTS = threading.BoundedSemaphore(MAX_CONCURRENT_HASHES)
_HASHING = concurrent.futures.ThreadPoolExecutor(
    MAX_CONCURRENT_HASHES, thread_name_prefix="argon2"
)
T = TypeVar("T")


async def hashing(work: Callable[..., T], *args: object) -> T:
    """`work(*args)` (a sign-in: database and Argon2) on the password threads, so
    sign-ins never hold the threads every other route runs on."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_HASHING, functools.partial(work, *args))


ERROR_MESSAGES: Final[dict[str, dict[str, str]]] = {
    "not_logged_in": {"en": "Please sign in.", "zh-CN": "请先登录。"},
    "login_failed": {
        "en": "Wrong username or password.",
        "zh-CN": "用户名或密码错误。",
    },
    "too_many_logins": {
        "en": "Too many failed sign-ins. Please wait a little and try again.",
        "zh-CN": "登录失败次数太多，请稍等片刻再试。",
    },
    "forbidden_role": {
        "en": "Your role does not allow this.",
        "zh-CN": "您的角色无权进行此操作。",
    },
    "other_centre": {
        "en": "This record belongs to another centre.",
        "zh-CN": "该记录属于其他中心。",
    },
    "not_found": {"en": "Not found.", "zh-CN": "未找到。"},
    "resident_not_found": {"en": "No such resident.", "zh-CN": "找不到该居民。"},
    "session_not_found": {"en": "No such session.", "zh-CN": "找不到该训练记录。"},
    "staff_not_found": {"en": "No such staff account.", "zh-CN": "找不到该员工账号。"},
    "kiosk_not_found": {"en": "No such kiosk.", "zh-CN": "找不到该终端。"},
    "centre_not_found": {"en": "No such centre.", "zh-CN": "找不到该中心。"},
    "template_not_found": {"en": "No such template.", "zh-CN": "找不到该模板。"},
    "centre_required": {
        "en": "Choose a centre for this record.",
        "zh-CN": "请为该记录选择中心。",
    },
    "member_code_taken": {
        "en": "This member code is already used in this centre.",
        "zh-CN": "该会员编号在本中心已被使用。",
    },
    "username_taken": {"en": "This username is taken.", "zh-CN": "该用户名已被使用。"},
    "centre_name_taken": {
        "en": "A centre with this name exists.",
        "zh-CN": "已有同名中心。",
    },
    "invalid_template": {
        "en": "The exercise template is not valid.",
        "zh-CN": "训练模板无效。",
    },
    "invalid_request": {"en": "The request is not valid.", "zh-CN": "请求无效。"},
    "bad_timezone": {"en": "Unknown time zone.", "zh-CN": "未知的时区。"},
    "last_admin": {
        "en": "You cannot deactivate your own account.",
        "zh-CN": "不能停用自己的账号。",
    },
    "prescription_not_found": {
        "en": "No such exercise plan.",
        "zh-CN": "找不到该运动处方。",
    },
    "invalid_prescription": {
        "en": "The exercise plan is not valid.",
        "zh-CN": "运动处方无效。",
    },
    "plan_template_not_found": {
        "en": "No such plan template.",
        "zh-CN": "找不到该处方模板。",
    },
    "member_card_not_found": {
        "en": "No such member card.",
        "zh-CN": "找不到该会员卡。",
    },
    "invalid_scoring_table": {
        "en": "The scoring table is not valid; nothing was installed.",
        "zh-CN": "评分表无效，未安装任何内容。",
    },
    "scoring_table_exists": {
        "en": "A scoring table with this id is already installed.",
        "zh-CN": "已安装相同编号的评分表。",
    },
    "scoring_table_not_found": {
        "en": "No scoring table is installed for this centre.",
        "zh-CN": "本中心尚未安装评分表。",
    },
    "scoring_failed": {
        "en": "These results cannot be scored with this table; nothing was saved.",
        "zh-CN": "无法用此评分表评分，未保存任何结果。",
    },
    "age_and_sex_required": {
        "en": "Scoring needs the resident's age and sex (female or male).",
        "zh-CN": "评分需要居民的年龄和性别（女或男）。",
    },
}


def api_error(
    status_code: int,
    code: str,
    message: str | None = None,
    *,
    headers: dict[str, str] | None = None,
) -> HTTPException:
    """An HTTPException whose detail is a stable code plus English text.

    Args:
        code: A key of `ERROR_MESSAGES` (the pages show its translation).
        message: Specific English text; defaults to the code's English message.
        headers: Extra response headers (`Retry-After`).
    """
    if code not in ERROR_MESSAGES:
        raise KeyError(f"unknown API error code {code!r}")
    if status_code == 401:
        headers = {"WWW-Authenticate": "Bearer", **(headers or {})}
    return HTTPException(
        status_code,
        detail={"code": code, "message": message or ERROR_MESSAGES[code]["en"]},
        headers=headers,
    )


# --- passwords and sign-in --------------------------------------------------------


def hash_password(password: str) -> str:
    """Argon2id hash of a password.

    Raises:
        ValueError: an empty password.
    """
    if not password:
        raise ValueError("expected a non-empty password, got an empty one")
    with _HASH_SLOTS:
        return PASSWORD_HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        with _HASH_SLOTS:
            return PASSWORD_HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_dummy_hash: str | None = None


def _spend_a_verification(password: str) -> None:
    # Unknown usernames cost as much as wrong passwords, so timing does not tell
    # which usernames exist.
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password("movecoach-dummy-password")
    verify_password(_dummy_hash, password)


def login(
    db: Session, username: str, password: str, *, lifetime: timedelta = LOGIN_LIFETIME
) -> tuple[str, Staff, datetime] | None:
    """Check a username and password; on success add a login and return
    (bearer token, staff, expiry). None for a wrong username or password or an
    inactive account. The caller commits."""
    staff = repository.find_staff(db, username)
    if staff is None or not staff.active:
        _spend_a_verification(password)
        return None
    if not verify_password(staff.password_hash, password):
        return None
    if PASSWORD_HASHER.check_needs_rehash(staff.password_hash):
        staff.password_hash = hash_password(password)
    row, token = repository.create_login(db, staff.id, lifetime=lifetime)
    return token, staff, row.expires_at


def logout(db: Session, token: str) -> bool:
    """End a login; False if the token was not signed in. The caller commits."""
    return repository.delete_login(db, token)


# --- FastAPI dependencies ---------------------------------------------------------


def get_store(request: Request) -> Store:
    store = getattr(request.app.state, STORE_STATE_KEY, None)
    if store is None:
        raise RuntimeError(
            "expected a records Store on app.state (see server.api.include_routers), "
            "got none"
        )
    return store  # type: ignore[no-any-return]


def get_db(request: Request) -> Iterator[Session]:
    """A database session for one request; routes commit what they change."""
    with get_store(request).session() as db:
        yield db


Db = Annotated[Session, Depends(get_db)]


def bearer_token(request: Request) -> str | None:
    """The token from `Authorization: Bearer ...`, else from the session cookie."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(COOKIE_NAME) or None


def current_staff(request: Request, db: Db) -> Staff:
    """The signed-in staff member; 401 (`not_logged_in`) otherwise."""
    token = bearer_token(request)
    staff = repository.find_login(db, token) if token else None
    if staff is None:
        raise api_error(status.HTTP_401_UNAUTHORIZED, "not_logged_in")
    return staff


CurrentStaff = Annotated[Staff, Depends(current_staff)]


def require_role(*roles: Role | str) -> Callable[[Staff], Staff]:
    """A dependency admitting only staff with one of `roles` (403 `forbidden_role`)."""
    allowed = frozenset(Role(r) for r in roles)

    def dependency(staff: CurrentStaff) -> Staff:
        if staff.role not in allowed:
            raise api_error(
                status.HTTP_403_FORBIDDEN,
                "forbidden_role",
                f"expected role {' or '.join(sorted(allowed))}, got {staff.role}",
            )
        return staff

    return dependency


def centre_scope(staff: Staff) -> int | None:
    """The centre whose records the staff member sees; None = every centre."""
    if staff.role is Role.ADMIN and staff.centre_id is None:
        return None
    return staff.centre_id


def can_see_centre(staff: Staff, centre_id: int | None) -> bool:
    scope = centre_scope(staff)
    return scope is None or (centre_id is not None and centre_id == scope)


def require_same_centre(staff: Staff, centre_id: int | None) -> None:
    """403 (`other_centre`) unless the record's centre is the staff member's."""
    if not can_see_centre(staff, centre_id):
        raise api_error(status.HTTP_403_FORBIDDEN, "other_centre")


# --- kiosks -----------------------------------------------------------------------


def verify_kiosk_token(store: Store, token: str | None) -> Kiosk | None:
    """The active kiosk holding `token` (its `last_seen_at` updated), else None.

    The websocket handshake calls it with `kiosk_token_from(websocket)` and refuses the
    connection (close code 1008) on None.
    """
    if not token:
        return None
    with store.begin() as db:
        kiosk = repository.find_kiosk_by_token(db, token)
        if kiosk is None:
            return None
        kiosk.last_seen_at = repository.utcnow()
        db.flush()
        db.expunge(kiosk)
        return kiosk


KIOSK_SUBPROTOCOL: Final[str] = "movecoach"
"""The websocket subprotocol the server answers with when a client offers it."""
TOKEN_SUBPROTOCOL_PREFIX: Final[str] = "movecoach.token."
"""A browser cannot set headers on a websocket, so the kiosk pages carry their token
as a second offered subprotocol, `movecoach.token.<token>`, next to
`KIOSK_SUBPROTOCOL` (the one the server picks: the token is never sent back). A header
stays out of URLs, and so out of access logs, proxy logs and browser history."""


def kiosk_token_from(connection: HTTPConnection) -> str | None:
    """A kiosk's token from `Authorization: Bearer` or, on a websocket, from an
    offered `movecoach.token.<token>` subprotocol. Never from the URL: a `?token=`
    query is ignored (the connection is then refused as tokenless), so a token put
    there fails loudly at once instead of working while it leaks into logs."""
    scheme, _, value = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    for offered in offered_subprotocols(connection):
        if offered.startswith(TOKEN_SUBPROTOCOL_PREFIX):
            token = offered[len(TOKEN_SUBPROTOCOL_PREFIX) :]
            return token or None
    return None


def offered_subprotocols(connection: HTTPConnection) -> list[str]:
    """The subprotocols a websocket client offered (`Sec-WebSocket-Protocol`)."""
    return [
        name.strip()
        for header in connection.headers.getlist("sec-websocket-protocol")
        for name in header.split(",")
        if name.strip()
    ]
