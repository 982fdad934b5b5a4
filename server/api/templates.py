"""Custom exercise templates of a centre, kept as TOML text. Each is validated with
`exercises.spec.spec_from_dict` before it is stored; its `id` may not shadow a built-in
exercise."""

from __future__ import annotations

import tomllib
from typing import Any

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field

from exercises.spec import SpecError, builtin_specs, spec_from_dict
from server.api._access import centre_for_new_record, listing_centre
from server.auth import CurrentStaff, Db, api_error
from server.store import repository
from server.store.models import CustomTemplate

__all__ = ["router", "validate_template"]

router = APIRouter(prefix="/templates", tags=["templates"])

MAX_TEMPLATE_BYTES = 256 * 1024


class TemplateIn(BaseModel):
    toml: str = Field(min_length=1, max_length=MAX_TEMPLATE_BYTES)
    centre_id: int | None = None


def validate_template(text: str) -> str:
    """The template's id, once its TOML loads as a valid exercise template.

    Raises:
        HTTPException: 422 `invalid_template` with the parser's or validator's message.
    """
    try:
        data = tomllib.loads(text)
        spec = spec_from_dict(data, source="<custom template>")
    except (tomllib.TOMLDecodeError, SpecError) as exc:
        raise api_error(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "invalid_template", str(exc)
        ) from None
    if spec.id in builtin_specs():
        raise api_error(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "invalid_template",
            f"expected an id other than a built-in exercise, got {spec.id!r}",
        )
    return spec.id


def _json(template: CustomTemplate, *, text: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": template.template_id,
        "centre_id": template.centre_id,
        "author_id": template.author_id,
        "created_at": template.created_at.isoformat(),
        "updated_at": template.updated_at.isoformat(),
    }
    if text:
        body["toml"] = template.toml_text
    return body


@router.get("")
def list_templates(
    staff: CurrentStaff, db: Db, centre_id: int | None = None
) -> dict[str, Any]:
    centre = listing_centre(staff, centre_id)
    return {"templates": [_json(t) for t in repository.list_templates(db, centre)]}


@router.post("", status_code=status.HTTP_201_CREATED)
def create(body: TemplateIn, staff: CurrentStaff, db: Db) -> dict[str, Any]:
    centre_id = centre_for_new_record(db, staff, body.centre_id)
    template_id = validate_template(body.toml)
    if repository.get_template(db, centre_id, template_id) is not None:
        raise api_error(
            status.HTTP_409_CONFLICT,
            "invalid_template",
            f"expected a new template id, got {template_id!r} which exists (use PUT)",
        )
    template = repository.save_template(
        db,
        centre_id=centre_id,
        template_id=template_id,
        toml_text=body.toml,
        author_id=staff.id,
    )
    db.commit()
    return _json(template, text=True)


def _find(
    db: Any, staff: Any, template_id: str, centre_id: int | None
) -> CustomTemplate:
    centre = centre_for_new_record(db, staff, centre_id)
    template = repository.get_template(db, centre, template_id)
    if template is None:
        raise api_error(status.HTTP_404_NOT_FOUND, "template_not_found")
    return template


@router.get("/{template_id}")
def read(
    template_id: str, staff: CurrentStaff, db: Db, centre_id: int | None = None
) -> dict[str, Any]:
    return _json(_find(db, staff, template_id, centre_id), text=True)


@router.put("/{template_id}")
def replace(
    template_id: str, body: TemplateIn, staff: CurrentStaff, db: Db
) -> dict[str, Any]:
    centre_id = centre_for_new_record(db, staff, body.centre_id)
    found_id = validate_template(body.toml)
    if found_id != template_id:
        raise api_error(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "invalid_template",
            f"expected the template's id to be {template_id!r}, got {found_id!r}",
        )
    template = repository.save_template(
        db,
        centre_id=centre_id,
        template_id=template_id,
        toml_text=body.toml,
        author_id=staff.id,
    )
    db.commit()
    return _json(template, text=True)


@router.delete("/{template_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete(
    template_id: str, staff: CurrentStaff, db: Db, centre_id: int | None = None
) -> Response:
    template = _find(db, staff, template_id, centre_id)
    repository.delete_template(db, template.centre_id, template.template_id)
    db.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
