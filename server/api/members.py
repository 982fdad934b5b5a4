"""Member cards: the QR token a resident shows at the kiosk's camera instead of typing
their member code. A new card's token is answered once (with the QR code's modules,
for the coach page to draw and print) and kept only as its hash; revoking a card makes
its code check nobody in.

    GET  /api/residents/{id}/member-cards
    POST /api/residents/{id}/member-cards                    -> token + QR, shown once
    POST /api/residents/{id}/member-cards/{card_id}/revoke
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from server.api._access import resident_for
from server.auth import CurrentStaff, Db, api_error
from server.store import repository
from server.store.models import MemberToken
from vision.qr import qr_modules

__all__ = ["card_json", "router"]

router = APIRouter(prefix="/residents", tags=["member cards"])


def card_json(card: MemberToken) -> dict[str, Any]:
    """A card as listed (never its token)."""
    return {
        "id": card.id,
        "hint": card.hint,
        "created_at": card.created_at.isoformat(),
        "revoked_at": None if card.revoked_at is None else card.revoked_at.isoformat(),
    }


@router.get("/{resident_id}/member-cards")
def cards(resident_id: int, staff: CurrentStaff, db: Db) -> dict[str, Any]:
    resident_for(db, staff, resident_id)
    return {
        "cards": [card_json(c) for c in repository.list_member_tokens(db, resident_id)]
    }


@router.post("/{resident_id}/member-cards", status_code=status.HTTP_201_CREATED)
def issue(resident_id: int, staff: CurrentStaff, db: Db) -> dict[str, Any]:
    """A new card: its token and QR modules (rows of "0"/"1", dark = 1), shown this
    once; the resident's other cards stay valid until revoked."""
    resident = resident_for(db, staff, resident_id)
    card, token = repository.issue_member_token(db, resident, created_by=staff.id)
    db.commit()
    modules = qr_modules(token)
    return {
        **card_json(card),
        "token": token,
        "qr": ["".join("1" if dark else "0" for dark in row) for row in modules],
        "resident": {
            "display_name": resident.display_name,
            "member_code": resident.member_code,
        },
    }


@router.post("/{resident_id}/member-cards/{card_id}/revoke")
def revoke(
    resident_id: int, card_id: int, staff: CurrentStaff, db: Db
) -> dict[str, Any]:
    resident_for(db, staff, resident_id)
    card = repository.get_member_token(db, card_id)
    if card is None or card.resident_id != resident_id:
        raise api_error(status.HTTP_404_NOT_FOUND, "member_card_not_found")
    repository.revoke_member_token(db, card)
    db.commit()
    return card_json(card)
