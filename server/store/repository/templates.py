"""A centre's own exercise templates (TOML text, validated by the caller)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session

from server.store.models import CustomTemplate, utcnow
from server.store.repository._common import of_centre, rowcount


def _key(centre_id: int, template_id: str) -> tuple[ColumnElement[bool], ...]:
    return (
        CustomTemplate.centre_id == centre_id,
        CustomTemplate.template_id == template_id,
    )


def save_template(
    db: Session,
    *,
    centre_id: int,
    template_id: str,
    toml_text: str,
    author_id: int | None,
) -> CustomTemplate:
    """Create or replace a centre's template (validate the TOML before calling)."""
    template = get_template(db, centre_id, template_id)
    now = utcnow()
    if template is None:
        template = CustomTemplate(
            centre_id=centre_id,
            template_id=template_id,
            toml_text=toml_text,
            author_id=author_id,
            created_at=now,
            updated_at=now,
        )
        db.add(template)
    else:
        template.toml_text = toml_text
        template.author_id = author_id
        template.updated_at = now
    db.flush()
    return template


def get_template(
    db: Session, centre_id: int, template_id: str
) -> CustomTemplate | None:
    return db.scalar(select(CustomTemplate).where(*_key(centre_id, template_id)))


def list_templates(db: Session, centre_id: int | None) -> list[CustomTemplate]:
    query = select(CustomTemplate).order_by(
        CustomTemplate.centre_id, CustomTemplate.template_id
    )
    return list(db.scalars(of_centre(query, CustomTemplate.centre_id, centre_id)))


def delete_template(db: Session, centre_id: int, template_id: str) -> bool:
    result = db.execute(delete(CustomTemplate).where(*_key(centre_id, template_id)))
    return rowcount(result) > 0
