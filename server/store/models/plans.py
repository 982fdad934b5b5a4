"""Prescriptions: a resident's plan and the sets performed against it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.store.models.base import (
    Base,
    utcnow,
)
from server.store.models.people import Resident, Staff

__all__ = [
    "PerformedSetRow",
    "PrescriptionRow",
]


class PrescriptionRow(Base):
    """A resident's exercise prescription (运动处方): the plan document as
    `exercises.prescriptions.prescription_to_dict` writes it, with its dates and
    template copied out for queries. Deleting the resident deletes it."""

    __tablename__ = "prescriptions"
    __table_args__ = (
        Index("ix_prescriptions_resident_dates", "resident_id", "start_date"),
        Index("ix_prescriptions_centre_end", "centre_id", "end_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id", ondelete="CASCADE"))
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE")
    )
    document: Mapped[dict[str, Any]]
    start_date: Mapped[date]
    end_date: Mapped[date]
    template_id: Mapped[str | None] = mapped_column(String(64))
    prescribed_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    resident: Mapped[Resident] = relationship()
    prescriber: Mapped[Staff | None] = relationship()


class PerformedSetRow(Base):
    """One set a resident did under a prescription
    (`exercises.prescriptions.PerformedSet`), linked to the exercise session that
    recorded it (a session records at most one set)."""

    __tablename__ = "performed_sets"
    __table_args__ = (
        Index("ix_performed_sets_prescription_date", "prescription_id", "performed_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    prescription_id: Mapped[int] = mapped_column(
        ForeignKey("prescriptions.id", ondelete="CASCADE")
    )
    performed_on: Mapped[date]
    """The centre's local date of the set."""
    session_key: Mapped[str] = mapped_column(String(64))
    """The plan session's id ("a")."""
    exercise_id: Mapped[str] = mapped_column(String(64))
    set_index: Mapped[int]
    reps: Mapped[int] = mapped_column(default=0)
    hold_s: Mapped[float] = mapped_column(default=0.0)
    score: Mapped[float | None]
    exercise_session_id: Mapped[int | None] = mapped_column(
        ForeignKey("exercise_sessions.id", ondelete="SET NULL"), unique=True
    )
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
