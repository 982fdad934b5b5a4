"""Administration (admins only): centres, staff accounts and kiosks. A centre's admin
manages that centre; an admin with no centre manages all and creates centres."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError

from server import auth
from server.api._access import centre_for_new_record, listing_centre, visible_to
from server.api.auth import staff_json
from server.auth import Db, api_error, centre_scope, require_role
from server.store import repository
from server.store.models import Centre, Kiosk, Role, Staff

__all__ = ["router"]

Admin = Annotated[Staff, Depends(require_role(Role.ADMIN))]

router = APIRouter(prefix="/admin", tags=["admin"])


class CentreIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class StaffIn(BaseModel):
    username: str = Field(min_length=1, max_length=100, pattern=r"^[^\s]+$")
    password: str = Field(min_length=8, max_length=1024)
    role: Literal["admin", "coach"]
    display_name: str | None = Field(default=None, max_length=200)
    centre_id: int | None = None
    all_centres: bool = False
    """Create an admin of every centre (only such an admin may)."""


class StaffPatch(BaseModel):
    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    password: str | None = Field(default=None, min_length=8, max_length=1024)
    active: bool | None = None


class KioskIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    centre_id: int | None = None


def _centre_json(centre: Centre) -> dict[str, Any]:
    return {
        "id": centre.id,
        "name": centre.name,
        "created_at": centre.created_at.isoformat(),
    }


def _kiosk_json(kiosk: Kiosk) -> dict[str, Any]:
    return {
        "id": kiosk.id,
        "centre_id": kiosk.centre_id,
        "name": kiosk.name,
        "active": kiosk.active,
        "created_at": kiosk.created_at.isoformat(),
        "last_seen_at": None
        if kiosk.last_seen_at is None
        else kiosk.last_seen_at.isoformat(),
    }


# --- centres ------------------------------------------------------------------------


@router.get("/centres")
def centres(staff: Admin, db: Db) -> dict[str, Any]:
    scope = centre_scope(staff)
    found = repository.list_centres(db)
    return {
        "centres": [_centre_json(c) for c in found if scope is None or c.id == scope]
    }


@router.post("/centres", status_code=status.HTTP_201_CREATED)
def create_centre(body: CentreIn, staff: Admin, db: Db) -> dict[str, Any]:
    if centre_scope(staff) is not None:
        raise api_error(
            status.HTTP_403_FORBIDDEN,
            "forbidden_role",
            "expected an admin of every centre to create centres, got a centre's admin",
        )
    if repository.find_centre(db, body.name) is not None:
        raise api_error(status.HTTP_409_CONFLICT, "centre_name_taken")
    centre = repository.create_centre(db, body.name)
    db.commit()
    return _centre_json(centre)


# --- staff --------------------------------------------------------------------------


@router.get("/staff")
def staff_list(staff: Admin, db: Db, centre_id: int | None = None) -> dict[str, Any]:
    centre = listing_centre(staff, centre_id)
    return {"staff": [staff_json(s) for s in repository.list_staff(db, centre)]}


@router.post("/staff", status_code=status.HTTP_201_CREATED)
def create_staff(body: StaffIn, staff: Admin, db: Db) -> dict[str, Any]:
    if body.all_centres:
        if body.role != "admin" or centre_scope(staff) is not None:
            raise api_error(
                status.HTTP_403_FORBIDDEN,
                "forbidden_role",
                "expected an admin of every centre creating an admin, got otherwise",
            )
        centre_id: int | None = None
    else:
        centre_id = centre_for_new_record(db, staff, body.centre_id)
    if repository.find_staff(db, body.username) is not None:
        raise api_error(status.HTTP_409_CONFLICT, "username_taken")
    try:
        created = repository.create_staff(
            db,
            username=body.username,
            password_hash=auth.hash_password(body.password),
            role=Role(body.role),
            centre_id=centre_id,
            display_name=body.display_name,
        )
        db.commit()
    except IntegrityError:
        db.rollback()
        raise api_error(status.HTTP_409_CONFLICT, "username_taken") from None
    db.refresh(created)
    return staff_json(created)


@router.patch("/staff/{staff_id}")
def update_staff(
    staff_id: int, body: StaffPatch, request: Request, staff: Admin, db: Db
) -> dict[str, Any]:
    """Change a staff account; a new password or a deactivation ends its logins
    (but the admin's own, when they change their own password)."""
    target = visible_to(staff, repository.get_staff(db, staff_id), "staff_not_found")
    if body.active is False and target.id == staff.id:
        raise api_error(status.HTTP_409_CONFLICT, "last_admin")
    if body.display_name is not None:
        target.display_name = body.display_name
    if body.password is not None:
        target.password_hash = auth.hash_password(body.password)
    if body.active is not None:
        target.active = body.active
    if body.password is not None or body.active is False:
        keep = auth.bearer_token(request) if target.id == staff.id else None
        repository.end_logins(db, target.id, keep=keep)
    db.commit()
    return staff_json(target)


# --- kiosks -------------------------------------------------------------------------


@router.get("/kiosks")
def kiosks(staff: Admin, db: Db, centre_id: int | None = None) -> dict[str, Any]:
    centre = listing_centre(staff, centre_id)
    return {"kiosks": [_kiosk_json(k) for k in repository.list_kiosks(db, centre)]}


@router.post("/kiosks", status_code=status.HTTP_201_CREATED)
def create_kiosk(body: KioskIn, staff: Admin, db: Db) -> dict[str, Any]:
    """Register a kiosk. The response carries its token: the only time it is shown."""
    centre_id = centre_for_new_record(db, staff, body.centre_id)
    kiosk, token = repository.create_kiosk(db, centre_id=centre_id, name=body.name)
    db.commit()
    return {**_kiosk_json(kiosk), "token": token}


@router.delete("/kiosks/{kiosk_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_kiosk(kiosk_id: int, staff: Admin, db: Db) -> Response:
    """Revoke a kiosk's token (its past sessions stay)."""
    kiosk = visible_to(staff, repository.get_kiosk(db, kiosk_id), "kiosk_not_found")
    kiosk.active = False
    db.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
