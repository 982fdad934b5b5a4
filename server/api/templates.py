"""Custom exercise templates of a centre, kept as TOML text. Each is validated with
`exercises.spec.spec_from_dict` before it is stored; its `id` may not shadow a built-in
exercise. A body gives either the TOML text (`toml`) or the template as a JSON object in
the TOML layout (`template`, what the authoring page edits); the latter is stored as
the TOML `exercises.spec.dump_spec` writes. Kiosks of the centre offer a saved template
at once (`GET /api/kiosk/exercises`, the websocket's `open`)."""

from __future__ import annotations

import tomllib
from typing import Any

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field, model_validator
from sqlalchemy.orm import Session

from exercises.spec import SpecError, builtin_specs, dump_spec, spec_from_dict
from server.api._access import centre_for_new_record, listing_centre
from server.api._toml import load_toml
from server.auth import CurrentStaff, Db, api_error
from server.store import repository
from server.store.models import CustomTemplate, Staff

__all__ = ["router", "validate_template"]

router = APIRouter(prefix="/templates", tags=["templates"])

MAX_TEMPLATE_BYTES = 256 * 1024


class TemplateIn(BaseModel):
    toml: str | None = Field(default=None, min_length=1, max_length=MAX_TEMPLATE_BYTES)
    template: dict[str, Any] | None = None
    centre_id: int | None = None

    @model_validator(mode="after")
    def _one_form(self) -> TemplateIn:
        if (self.toml is None) == (self.template is None):
            raise ValueError("expected exactly one of 'toml' and 'template'")
        return self

    def text(self) -> str:
        """The TOML to store (422 `invalid_template` for an invalid `template`)."""
        if self.toml is not None:
            return self.toml
        assert self.template is not None
        try:
            text = dump_spec(spec_from_dict(self.template, source="<custom template>"))
        except (SpecError, TypeError, ValueError) as exc:
            raise api_error(
                status.HTTP_422_UNPROCESSABLE_CONTENT, "invalid_template", str(exc)
            ) from None
        if len(text.encode("utf-8")) > MAX_TEMPLATE_BYTES:
            raise api_error(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                "invalid_template",
                f"expected at most {MAX_TEMPLATE_BYTES} bytes of TOML",
            )
        return text


def validate_template(text: str) -> str:
    """The template's id, once its TOML loads as a valid exercise template.

    Raises:
        HTTPException: 422 `invalid_template` with the parser's or validator's message.
    """
    try:
        data = load_toml(text)
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


def _name(toml_text: str) -> dict[str, str]:
    try:
        name = tomllib.loads(toml_text).get("name")
    except tomllib.TOMLDecodeError:
        return {}
    return {k: str(v) for k, v in name.items()} if isinstance(name, dict) else {}


def _json(template: CustomTemplate, *, text: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": template.template_id,
        "name": _name(template.toml_text),
        "centre_id": template.centre_id,
        "author_id": template.author_id,
        "created_at": template.created_at.isoformat(),
        "updated_at": template.updated_at.isoformat(),
    }
    if text:
        body["toml"] = template.toml_text
    return body


def _save(
    db: Session, staff: Staff, centre_id: int, template_id: str, toml_text: str
) -> dict[str, Any]:
    """Create or replace the template (validated), committed, as JSON."""
    template = repository.save_template(
        db,
        centre_id=centre_id,
        template_id=template_id,
        toml_text=toml_text,
        author_id=staff.id,
    )
    db.commit()
    return _json(template, text=True)


@router.get("")
def list_templates(
    staff: CurrentStaff, db: Db, centre_id: int | None = None
) -> dict[str, Any]:
    centre = listing_centre(staff, centre_id)
    return {"templates": [_json(t) for t in repository.list_templates(db, centre)]}


@router.post("", status_code=status.HTTP_201_CREATED)
def create(body: TemplateIn, staff: CurrentStaff, db: Db) -> dict[str, Any]:
    centre_id = centre_for_new_record(db, staff, body.centre_id)
    toml_text = body.text()
    template_id = validate_template(toml_text)
    if repository.get_template(db, centre_id, template_id) is not None:
        raise api_error(
            status.HTTP_409_CONFLICT,
            "invalid_template",
            f"expected a new template id, got {template_id!r} which exists (use PUT)",
        )
    return _save(db, staff, centre_id, template_id, toml_text)


def _find(
    db: Session, staff: Staff, template_id: str, centre_id: int | None
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
    toml_text = body.text()
    found_id = validate_template(toml_text)
    if found_id != template_id:
        raise api_error(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "invalid_template",
            f"expected the template's id to be {template_id!r}, got {found_id!r}",
        )
    return _save(db, staff, centre_id, template_id, toml_text)


@router.delete("/{template_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete(
    template_id: str, staff: CurrentStaff, db: Db, centre_id: int | None = None
) -> Response:
    template = _find(db, staff, template_id, centre_id)
    repository.delete_template(db, template.centre_id, template.template_id)
    db.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
