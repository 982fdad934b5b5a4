"""Kiosk routes: which kiosk and centre a token stands for, the exercises a kiosk offers
(built-ins plus its centre's own templates), and a resident's sign-in by member code
with their recent history.

A kiosk proves itself with its token (`Authorization: Bearer <token>` or `?token=`,
the same token its websocket uses). With `MOVECOACH_KIOSK_AUTH=true` the token is
required; without it a kiosk may also come without one and then belongs to the
database's only centre (as `DatabaseRecorder` records it). A wrong token is refused
either way.

Privacy of the sign-in: a member code shows that resident's own recent sessions and
scores (no profile beyond the display name, no notes, no other resident), only to a
kiosk of the resident's centre; wrong codes are limited per kiosk
(`MAX_FAILED_SIGN_INS` per `SIGN_IN_WINDOW_S`) so codes cannot be tried in bulk. The
page keeps the code in memory only and forgets it when the resident signs out or
leaves.

    GET  /api/kiosk/me              the kiosk, its centre, whether auth is on
    GET  /api/kiosk/exercises       built-in exercises + the centre's templates
    POST /api/kiosk/sign-in         {member_code} -> the resident's recent sessions
"""

from __future__ import annotations

import collections
import logging
import threading
import time
import tomllib
from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from exercises.spec import ExerciseSpec, SpecError, spec_from_dict
from server.api._errors import page_error
from server.auth import Db, kiosk_token_from
from server.store import repository
from server.store.models import Centre, Kiosk

__all__ = [
    "KIOSK_AUTH_STATE_KEY",
    "MAX_FAILED_SIGN_INS",
    "SIGN_IN_WINDOW_S",
    "KioskContext",
    "centre_specs",
    "kiosk_centre_id",
    "router",
]

log = logging.getLogger(__name__)

router = APIRouter(prefix="/kiosk", tags=["kiosk"])

KIOSK_AUTH_STATE_KEY: Final[str] = "movecoach_kiosk_auth"
MAX_FAILED_SIGN_INS: Final[int] = 5
SIGN_IN_WINDOW_S: Final[float] = 60.0
HISTORY_SESSIONS: Final[int] = 10


# --- which centre --------------------------------------------------------------------


def kiosk_centre_id(db: Session, kiosk_id: int | None) -> int | None:
    """The centre of a kiosk; without one, the database's only centre (None when there
    are none or several), as the session recorder decides it."""
    if kiosk_id is not None:
        kiosk = db.get(Kiosk, kiosk_id)
        return None if kiosk is None else kiosk.centre_id
    ids = db.scalars(select(Centre.id).limit(2)).all()
    return ids[0] if len(ids) == 1 else None


def centre_specs(db: Session, centre_id: int | None) -> dict[str, ExerciseSpec]:
    """A centre's own templates that load, by id (a broken one is logged, skipped)."""
    if centre_id is None:
        return {}
    out: dict[str, ExerciseSpec] = {}
    for template in repository.list_templates(db, centre_id):
        try:
            spec = spec_from_dict(
                tomllib.loads(template.toml_text),
                source=f"<centre {centre_id} template {template.template_id}>",
            )
        except (SpecError, tomllib.TOMLDecodeError) as exc:
            log.warning("custom template %s does not load: %s", template.id, exc)
            continue
        out[spec.id] = spec
    return out


# --- the kiosk behind a request ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class KioskContext:
    """The kiosk a request comes from (None: no token, allowed without kiosk auth)
    and its centre (None: unknown)."""

    kiosk_id: int | None
    kiosk_name: str | None
    centre_id: int | None


def _kiosk_auth(request: Request) -> bool:
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is not None:
        return bool(runtime.settings.kiosk_auth)
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
    return KioskContext(None, None, kiosk_centre_id(db, None))


CurrentKiosk = Annotated[KioskContext, Depends(current_kiosk)]


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
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is None:  # records API mounted without the live app
        raise page_error(status.HTTP_404_NOT_FOUND, "no_centre", "no live server here")
    specs = list(runtime.specs.values()) + list(
        centre_specs(db, kiosk.centre_id).values()
    )
    out = []
    for spec in specs:
        info = runtime.describe(spec).model_dump()
        info["custom"] = spec.id not in runtime.specs
        out.append(info)
    return out


class SignIn(BaseModel):
    member_code: str = Field(min_length=1, max_length=64)


class _Limiter:
    """Failed sign-ins per key within a sliding window (in memory, per process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fails: dict[str, collections.deque[float]] = {}

    def blocked(self, key: str, now: float) -> bool:
        with self._lock:
            fails = self._fails.get(key)
            while fails and now - fails[0] > SIGN_IN_WINDOW_S:
                fails.popleft()
            return bool(fails) and len(fails) >= MAX_FAILED_SIGN_INS

    def failed(self, key: str, now: float) -> None:
        with self._lock:
            self._fails.setdefault(key, collections.deque()).append(now)


_LIMITER_STATE_KEY = "movecoach_sign_in_limiter"


def _limiter(request: Request) -> _Limiter:
    limiter = getattr(request.app.state, _LIMITER_STATE_KEY, None)
    if limiter is None:
        limiter = _Limiter()
        setattr(request.app.state, _LIMITER_STATE_KEY, limiter)
    return limiter  # type: ignore[no-any-return]


@router.post("/sign-in")
def sign_in(
    body: SignIn, request: Request, kiosk: CurrentKiosk, db: Db
) -> dict[str, Any]:
    """A resident's recent sessions, for the member code they entered."""
    if kiosk.centre_id is None:
        raise page_error(status.HTTP_403_FORBIDDEN, "no_centre")
    key = (
        f"kiosk:{kiosk.kiosk_id}"
        if kiosk.kiosk_id is not None
        else f"client:{request.client.host if request.client else '?'}"
    )
    limiter = _limiter(request)
    now = time.monotonic()
    if limiter.blocked(key, now):
        raise page_error(status.HTTP_429_TOO_MANY_REQUESTS, "too_many_attempts")
    resident = repository.find_resident(db, kiosk.centre_id, body.member_code)
    if resident is None:
        limiter.failed(key, now)
        raise page_error(status.HTTP_404_NOT_FOUND, "member_code_unknown")
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
