"""Centres, staff, kiosks and their bearer tokens, staff logins."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from server.store.models import Centre, Kiosk, LoginSession, Role, Staff, utcnow
from server.store.repository._common import added, of_centre, rowcount

# --- tokens -----------------------------------------------------------------------


def new_token() -> str:
    """A fresh bearer token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """SHA-256 hex of a bearer token. Tokens are random (256 bits), so a fast hash is
    enough to keep a leaked database from yielding usable tokens, and it allows the
    indexed lookup a slow, salted hash would not."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# --- centres and staff ------------------------------------------------------------


def create_centre(db: Session, name: str) -> Centre:
    return added(db, Centre(name=name.strip()))


def get_centre(db: Session, centre_id: int) -> Centre | None:
    return db.get(Centre, centre_id)


def find_centre(db: Session, name: str) -> Centre | None:
    return db.scalar(select(Centre).where(Centre.name == name.strip()))


def list_centres(db: Session) -> list[Centre]:
    return list(db.scalars(select(Centre).order_by(Centre.name)))


def create_staff(
    db: Session,
    *,
    username: str,
    password_hash: str,
    role: Role | str,
    centre_id: int | None,
    display_name: str | None = None,
) -> Staff:
    """A staff account; hash the password with `server.auth.hash_password` first.

    Raises:
        ValueError: a coach without a centre, or an unknown role.
    """
    role = Role(role)
    if role is Role.COACH and centre_id is None:
        raise ValueError("expected a centre for a coach account, got none")
    return added(
        db,
        Staff(
            username=username.strip(),
            display_name=(display_name or username).strip(),
            role=role,
            centre_id=centre_id,
            password_hash=password_hash,
        ),
    )


def get_staff(db: Session, staff_id: int) -> Staff | None:
    return db.get(Staff, staff_id)


def find_staff(db: Session, username: str) -> Staff | None:
    return db.scalar(select(Staff).where(Staff.username == username.strip()))


def list_staff(db: Session, centre_id: int | None = None) -> list[Staff]:
    query = select(Staff).order_by(Staff.username)
    return list(db.scalars(of_centre(query, Staff.centre_id, centre_id)))


# --- kiosks -----------------------------------------------------------------------


def create_kiosk(db: Session, *, centre_id: int, name: str) -> tuple[Kiosk, str]:
    """A kiosk and its bearer token. The token is returned once and stored hashed."""
    token = new_token()
    kiosk = Kiosk(centre_id=centre_id, name=name.strip(), token_hash=hash_token(token))
    return added(db, kiosk), token


def get_kiosk(db: Session, kiosk_id: int) -> Kiosk | None:
    return db.get(Kiosk, kiosk_id)


def find_kiosk_by_token(db: Session, token: str) -> Kiosk | None:
    """The active kiosk holding `token`, else None."""
    if not token:
        return None
    return db.scalar(
        select(Kiosk).where(
            Kiosk.token_hash == hash_token(token), Kiosk.active.is_(True)
        )
    )


def centre_of_kiosk(db: Session, kiosk_id: int) -> int | None:
    """The kiosk's centre (None: no such kiosk)."""
    kiosk = db.get(Kiosk, kiosk_id)
    return None if kiosk is None else int(kiosk.centre_id)


def kiosk_centre_id(db: Session, kiosk_id: int | None) -> int | None:
    """The centre of a kiosk; without a kiosk, the database's only centre (None when
    the kiosk is unknown, or there are no centres or several)."""
    if kiosk_id is not None:
        return centre_of_kiosk(db, kiosk_id)
    ids = db.scalars(select(Centre.id).limit(2)).all()
    return int(ids[0]) if len(ids) == 1 else None


def touch_kiosk(db: Session, kiosk_id: int | None) -> None:
    """The kiosk was seen now (`last_seen_at`); nothing without a known kiosk."""
    kiosk = None if kiosk_id is None else db.get(Kiosk, kiosk_id)
    if kiosk is not None:
        kiosk.last_seen_at = utcnow()


def list_kiosks(db: Session, centre_id: int | None = None) -> list[Kiosk]:
    query = select(Kiosk).order_by(Kiosk.id)
    return list(db.scalars(of_centre(query, Kiosk.centre_id, centre_id)))


# --- login sessions (used by server.auth) -----------------------------------------


def create_login(
    db: Session, staff_id: int, *, lifetime: timedelta
) -> tuple[LoginSession, str]:
    """A login for a staff member; returns the row and the bearer token (shown once)."""
    token = new_token()
    now = utcnow()
    login = LoginSession(
        token_hash=hash_token(token),
        staff_id=staff_id,
        created_at=now,
        expires_at=now + lifetime,
    )
    return added(db, login), token


def find_login(db: Session, token: str, *, now: datetime | None = None) -> Staff | None:
    """The active staff member a bearer token belongs to, if it has not expired."""
    if not token:
        return None
    login = db.get(LoginSession, hash_token(token))
    if login is None or login.expires_at <= (now or utcnow()):
        return None
    staff = db.get(Staff, login.staff_id)
    return staff if staff is not None and staff.active else None


def delete_login(db: Session, token: str) -> bool:
    result = db.execute(
        delete(LoginSession).where(LoginSession.token_hash == hash_token(token))
    )
    return rowcount(result) > 0


def end_logins(db: Session, staff_id: int, *, keep: str | None = None) -> int:
    """End every login of a staff member (a new password, a deactivated account),
    except the one of bearer token `keep`; how many ended."""
    query = delete(LoginSession).where(LoginSession.staff_id == staff_id)
    if keep:
        query = query.where(LoginSession.token_hash != hash_token(keep))
    return rowcount(db.execute(query))


def purge_expired_logins(db: Session, *, now: datetime | None = None) -> int:
    result = db.execute(
        delete(LoginSession).where(LoginSession.expires_at <= (now or utcnow()))
    )
    return rowcount(result)
