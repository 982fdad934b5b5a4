"""Member cards: QR check-in tokens, kept as their SHA-256 only
(`exercises.member_tokens`), and what a scanned code resolves to at a kiosk."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from exercises.member_tokens import (
    CheckInProblem,
    TokenStatus,
    check_token,
    new_member_token,
    token_hash,
    token_hint,
)
from server.store.models import MemberToken, Resident, utcnow
from server.store.repository._common import added

__all__ = [
    "TokenLookup",
    "get_member_token",
    "issue_member_token",
    "list_member_tokens",
    "resolve_member_token",
    "revoke_member_token",
]

_STATUS_PROBLEM = {
    TokenStatus.NOT_OURS: CheckInProblem.NOT_OURS,
    TokenStatus.UNSUPPORTED_VERSION: CheckInProblem.UNSUPPORTED_VERSION,
    TokenStatus.DAMAGED: CheckInProblem.DAMAGED,
}


def issue_member_token(
    db: Session,
    resident: Resident,
    *,
    created_by: int | None = None,
    token_bytes: Callable[[int], bytes] = secrets.token_bytes,
) -> tuple[MemberToken, str]:
    """A new card for the resident: (its row, the token). The token is returned this
    once (for printing); only its hash is kept."""
    token = new_member_token(token_bytes)
    row = added(
        db,
        MemberToken(
            token_hash=token_hash(token),
            resident_id=resident.id,
            centre_id=resident.centre_id,
            hint=token_hint(token),
            created_by=created_by,
        ),
    )
    return row, token


def get_member_token(db: Session, token_id: int) -> MemberToken | None:
    return db.get(MemberToken, token_id)


def list_member_tokens(db: Session, resident_id: int) -> list[MemberToken]:
    """A resident's cards, revoked ones too, oldest first."""
    return list(
        db.scalars(
            select(MemberToken)
            .where(MemberToken.resident_id == resident_id)
            .order_by(MemberToken.created_at, MemberToken.id)
        )
    )


def revoke_member_token(db: Session, token: MemberToken) -> MemberToken:
    """Revoke a card (idempotent: the first revocation's time stays)."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.flush()
    return token


@dataclass(frozen=True, slots=True)
class TokenLookup:
    """What a scanned text is at a kiosk of `centre_id`: the resident it checks in,
    or why it checks nobody in."""

    resident: Resident | None
    problem: CheckInProblem | None


def resolve_member_token(db: Session, centre_id: int, text: str) -> TokenLookup:
    """Classify a scanned text (`check_token`), then look its hash up: unknown,
    revoked, another centre's card, or the resident."""
    checked = check_token(text)
    if checked.token is None:
        return TokenLookup(None, _STATUS_PROBLEM[checked.status])
    row = db.scalar(
        select(MemberToken).where(MemberToken.token_hash == token_hash(checked.token))
    )
    if row is None:
        return TokenLookup(None, CheckInProblem.UNKNOWN)
    if row.revoked_at is not None:
        return TokenLookup(None, CheckInProblem.REVOKED)
    if row.centre_id != centre_id:
        return TokenLookup(None, CheckInProblem.OTHER_CENTRE)
    return TokenLookup(db.get(Resident, row.resident_id), None)
