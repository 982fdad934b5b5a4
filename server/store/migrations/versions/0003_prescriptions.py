"""Exercise prescriptions (issue 19): `prescriptions`, `performed_sets`,
`member_tokens` (QR check-in) and `fitness_tables` (national-standard scoring tables).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint(
        [column],
        [target],
        name=op.f(f"fk_{table}_{column}_{referred}"),
        ondelete=ondelete,
    )


def _created(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "prescriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("document", JSON_TYPE, nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("template_id", sa.String(length=64), nullable=True),
        sa.Column("prescribed_by", sa.Integer(), nullable=True),
        _created("created_at"),
        _created("updated_at"),
        _fk("prescriptions", "centre_id", "centres.id", "CASCADE"),
        _fk("prescriptions", "prescribed_by", "staff.id", "SET NULL"),
        _fk("prescriptions", "resident_id", "residents.id", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prescriptions")),
    )
    op.create_index(
        "ix_prescriptions_centre_end", "prescriptions", ["centre_id", "end_date"]
    )
    op.create_index(
        "ix_prescriptions_resident_dates",
        "prescriptions",
        ["resident_id", "start_date"],
    )
    op.create_table(
        "performed_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prescription_id", sa.Integer(), nullable=False),
        sa.Column("performed_on", sa.Date(), nullable=False),
        sa.Column("session_key", sa.String(length=64), nullable=False),
        sa.Column("exercise_id", sa.String(length=64), nullable=False),
        sa.Column("set_index", sa.Integer(), nullable=False),
        sa.Column("reps", sa.Integer(), nullable=False),
        sa.Column("hold_s", sa.Double(), nullable=False),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("exercise_session_id", sa.Integer(), nullable=True),
        _created("recorded_at"),
        _fk(
            "performed_sets", "exercise_session_id", "exercise_sessions.id", "SET NULL"
        ),
        _fk("performed_sets", "prescription_id", "prescriptions.id", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_performed_sets")),
        sa.UniqueConstraint(
            "exercise_session_id", name=op.f("uq_performed_sets_exercise_session_id")
        ),
    )
    op.create_index(
        "ix_performed_sets_prescription_date",
        "performed_sets",
        ["prescription_id", "performed_on"],
    )
    op.create_table(
        "member_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("hint", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        _created("created_at"),
        _created("revoked_at", nullable=True),
        _fk("member_tokens", "centre_id", "centres.id", "CASCADE"),
        _fk("member_tokens", "created_by", "staff.id", "SET NULL"),
        _fk("member_tokens", "resident_id", "residents.id", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_member_tokens_token_hash")),
    )
    op.create_index(
        op.f("ix_member_tokens_resident_id"), "member_tokens", ["resident_id"]
    )
    op.create_table(
        "fitness_tables",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("table_id", sa.String(length=64), nullable=False),
        sa.Column("toml_text", sa.Text(), nullable=False),
        sa.Column("test_table", sa.Boolean(), nullable=False),
        sa.Column("installed_by", sa.Integer(), nullable=True),
        _created("installed_at"),
        _fk("fitness_tables", "centre_id", "centres.id", "CASCADE"),
        _fk("fitness_tables", "installed_by", "staff.id", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fitness_tables")),
        sa.UniqueConstraint(
            "centre_id", "table_id", name=op.f("uq_fitness_tables_centre_id_table_id")
        ),
    )
    op.create_index(
        op.f("ix_fitness_tables_centre_id"), "fitness_tables", ["centre_id"]
    )


def downgrade() -> None:
    # Indexes go with their tables.
    for table in ("fitness_tables", "member_tokens", "performed_sets", "prescriptions"):
        op.drop_table(table)
