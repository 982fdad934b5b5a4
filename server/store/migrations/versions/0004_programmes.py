"""Programme results (issue 16): `programme_results` (one per routine, posture-screen
or paced-breathing session) with `routine_sections`, `posture_figures` and `breaths`.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

Written off 0002 beside the prescriptions' revision; chained after it when the two
branches met.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _result_fk(table: str) -> list[Any]:
    """The id, the link to its programme result (cascading) and the primary key."""
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("result_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["result_id"],
            ["programme_results.id"],
            name=op.f(f"fk_{table}_result_id_programme_results"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        "programme_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("programme_id", sa.String(length=64), nullable=False),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("details", JSON_TYPE, nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_programme_results_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["exercise_sessions.id"],
            name=op.f("fk_programme_results_session_id_exercise_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme_results")),
        sa.UniqueConstraint("session_id", name=op.f("uq_programme_results_session_id")),
    )
    op.create_index(
        "ix_programme_results_resident_kind",
        "programme_results",
        ["resident_id", "kind", "taken_at"],
        unique=False,
    )
    op.create_table(
        "routine_sections",
        *_result_fk("routine_sections"),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("section_id", sa.String(length=64), nullable=False),
        sa.Column("name", JSON_TYPE, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rounds", sa.Integer(), nullable=False),
        sa.Column("target_rounds", sa.Integer(), nullable=False),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("round_scores", JSON_TYPE, nullable=False),
        sa.Column("improvement_id", sa.String(length=64), nullable=True),
        sa.Column("improvement", JSON_TYPE, nullable=True),
    )
    op.create_table(
        "posture_figures",
        *_result_fk("posture_figures"),
        sa.Column("view", sa.String(length=16), nullable=False),
        sa.Column("figure", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("uncertainty", sa.Double(), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("window_uncertainty", sa.Double(), nullable=True),
        sa.Column("level", sa.String(length=16), nullable=True),
        sa.Column("threshold", sa.Double(), nullable=True),
        sa.Column("threshold_unit", sa.String(length=8), nullable=True),
        sa.Column("threshold_placeholder", sa.Boolean(), nullable=True),
        sa.Column("threshold_source", sa.Text(), nullable=True),
    )
    op.create_table(
        "breaths",
        *_result_fk("breaths"),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("start_ms", sa.Double(), nullable=False),
        sa.Column("top_ms", sa.Double(), nullable=False),
        sa.Column("inhale_s", sa.Double(), nullable=False),
        sa.Column("exhale_s", sa.Double(), nullable=False),
        sa.Column("top_hold_s", sa.Double(), nullable=False),
        sa.Column("period_s", sa.Double(), nullable=True),
        sa.Column("swing", sa.Double(), nullable=False),
    )
    for table in ("routine_sections", "posture_figures", "breaths"):
        op.create_index(
            op.f(f"ix_{table}_result_id"), table, ["result_id"], unique=False
        )


def downgrade() -> None:
    # Indexes go with their tables.
    for table in ("breaths", "posture_figures", "routine_sections"):
        op.drop_table(table)
    op.drop_table("programme_results")
