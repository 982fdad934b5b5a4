"""People and devices: the centre, its staff and their sign-ins, residents, kiosks
and member cards."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    String,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.store.models.base import (
    Base,
    Role,
    Sex,
    _enum,
    utcnow,
)

__all__ = [
    "Centre",
    "Kiosk",
    "LoginSession",
    "MemberToken",
    "Resident",
    "Staff",
]


class Centre(Base):
    __tablename__ = "centres"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Staff(Base):
    """A staff account. An admin without a centre administers every centre."""

    __tablename__ = "staff"
    __table_args__ = (
        CheckConstraint(
            "role = 'admin' OR centre_id IS NOT NULL", name="coach_has_centre"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int | None] = mapped_column(
        ForeignKey("centres.id", ondelete="CASCADE"), index=True
    )
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    centre: Mapped[Centre | None] = relationship(lazy="joined")


class LoginSession(Base):
    """A signed-in staff member: the SHA-256 of the bearer token, never the token."""

    __tablename__ = "login_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class Resident(Base):
    __tablename__ = "residents"
    __table_args__ = (UniqueConstraint("centre_id", "member_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int] = mapped_column(
        ForeignKey("centres.id", ondelete="CASCADE"), index=True
    )
    member_code: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200))
    birth_year: Mapped[int | None]
    sex: Mapped[Sex] = mapped_column(_enum(Sex, "sex"), default=Sex.UNKNOWN)
    conditions: Mapped[list[Any]] = mapped_column(default=list)
    consent_landmarks: Mapped[bool] = mapped_column(default=True, server_default=true())
    consent_video: Mapped[bool] = mapped_column(default=False, server_default=false())
    consent_data_sharing: Mapped[bool] = mapped_column(
        default=False, server_default=false()
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    centre: Mapped[Centre] = relationship()


class Kiosk(Base):
    """A kiosk device; its bearer token is kept as a SHA-256 only (`server.auth`)."""

    __tablename__ = "kiosks"

    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int] = mapped_column(
        ForeignKey("centres.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime | None]


class MemberToken(Base):
    """A member card's check-in token, kept as its SHA-256 only
    (`exercises.member_tokens.token_hash`); revoked cards keep their row."""

    __tablename__ = "member_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id", ondelete="CASCADE"))
    hint: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
