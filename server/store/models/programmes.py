"""Programme results: a routine's sections, a posture screen's figures, a breathing
session's breaths."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.store.models.base import (
    Base,
    utcnow,
)

__all__ = [
    "PostureFigure",
    "ProgrammeResult",
    "RecordedBreath",
    "RoutineSection",
]


class ProgrammeResult(Base):
    """What a programme session measured (a routine, the posture screen, paced
    breathing; `server.programmes`): one row per session, its parts in
    `routine_sections`, `posture_figures` and `breaths`. `details` keeps the whole
    summary as the kiosk got it (`schema` versions it): a posture screen's thresholds
    and repeatability, a breathing session's prescribed pace and rhythm figures."""

    __tablename__ = "programme_results"
    __table_args__ = (
        Index("ix_programme_results_resident_kind", "resident_id", "kind", "taken_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("exercise_sessions.id", ondelete="CASCADE"), unique=True
    )
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16))
    programme_id: Mapped[str] = mapped_column(String(64))
    completed: Mapped[bool]
    score: Mapped[float | None]
    """0-100, a routine's whole score; None for the others or when none was scored."""
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)

    sections: Mapped[list[RoutineSection]] = relationship(
        order_by="RoutineSection.position",
        passive_deletes=True,
        cascade="all, delete-orphan",
    )
    figures: Mapped[list[PostureFigure]] = relationship(
        order_by="PostureFigure.id", passive_deletes=True, cascade="all, delete-orphan"
    )
    breaths: Mapped[list[RecordedBreath]] = relationship(
        order_by="RecordedBreath.count",
        passive_deletes=True,
        cascade="all, delete-orphan",
    )


class RoutineSection(Base):
    """One section of a routine session: status (done, skipped, not_seen,
    unfinished, not_reached), rounds against the standard's, score (mean of its
    rounds; None: none scored), each round's score and the one thing to improve."""

    __tablename__ = "routine_sections"

    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[int] = mapped_column(
        ForeignKey("programme_results.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    section_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16))
    rounds: Mapped[int]
    target_rounds: Mapped[int]
    score: Mapped[float | None]
    round_scores: Mapped[list[Any]] = mapped_column(default=list)
    improvement_id: Mapped[str | None] = mapped_column(String(64))
    improvement: Mapped[dict[str, Any] | None]


class PostureFigure(Base):
    """One figure of a posture screen in one view ("front", "back") or both
    ("combined"): value and standard uncertainty in `unit` ("deg", "%H" = percent
    of stature), the window's share of the uncertainty, and for the combined figures
    the level it was read at and the threshold used (value, unit, placeholder flag,
    source), so a later change of thresholds does not rewrite the reading."""

    __tablename__ = "posture_figures"

    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[int] = mapped_column(
        ForeignKey("programme_results.id", ondelete="CASCADE"), index=True
    )
    view: Mapped[str] = mapped_column(String(16))
    figure: Mapped[str] = mapped_column(String(64))
    value: Mapped[float]
    uncertainty: Mapped[float]
    unit: Mapped[str] = mapped_column(String(8))
    window_uncertainty: Mapped[float | None]
    level: Mapped[str | None] = mapped_column(String(16))
    threshold: Mapped[float | None]
    threshold_unit: Mapped[str | None] = mapped_column(String(8))
    threshold_placeholder: Mapped[bool | None]
    threshold_source: Mapped[str | None] = mapped_column(Text)


class RecordedBreath(Base):
    """One breath a paced-breathing session read from the arms: start and top on
    the kiosk's clock, in-, out- and top-hold times, the period to the next breath
    (None for the last) and the arms' swing (arm lengths)."""

    __tablename__ = "breaths"

    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[int] = mapped_column(
        ForeignKey("programme_results.id", ondelete="CASCADE"), index=True
    )
    count: Mapped[int]
    start_ms: Mapped[float]
    top_ms: Mapped[float]
    inhale_s: Mapped[float]
    exhale_s: Mapped[float]
    top_hold_s: Mapped[float]
    period_s: Mapped[float | None]
    swing: Mapped[float]
