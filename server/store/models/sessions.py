"""What a session leaves (the session, its reps and cues, landmarks, video, coach
notes) and the centre's other records: custom templates, fitness assessments and
their norm tables, fall alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.store.models.base import (
    Base,
    SessionStatus,
    _enum,
    utcnow,
)
from server.store.models.people import Kiosk, Resident, Staff

__all__ = [
    "Alert",
    "Assessment",
    "Cue",
    "CustomTemplate",
    "ExerciseSession",
    "FitnessTable",
    "LandmarkChunk",
    "Note",
    "Rep",
    "SessionVideo",
]


class ExerciseSession(Base):
    __tablename__ = "exercise_sessions"
    __table_args__ = (
        Index("ix_exercise_sessions_resident_started", "resident_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    live_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    """The websocket's session id (`SessionInfo.session_id`), when it came live."""
    centre_id: Mapped[int | None] = mapped_column(
        ForeignKey("centres.id", ondelete="CASCADE"), index=True
    )
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE")
    )
    kiosk_id: Mapped[int | None] = mapped_column(
        ForeignKey("kiosks.id", ondelete="SET NULL"), index=True
    )
    exercise_id: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(16))
    elder_mode: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    status: Mapped[SessionStatus] = mapped_column(
        _enum(SessionStatus, "status"), default=SessionStatus.ACTIVE
    )
    end_reason: Mapped[str | None] = mapped_column(String(32))
    summary: Mapped[dict[str, Any] | None]
    stats: Mapped[dict[str, Any] | None]

    resident: Mapped[Resident | None] = relationship()
    reps: Mapped[list[Rep]] = relationship(
        order_by="Rep.id", passive_deletes=True, cascade="all, delete-orphan"
    )
    cues: Mapped[list[Cue]] = relationship(
        order_by="Cue.id", passive_deletes=True, cascade="all, delete-orphan"
    )


class Rep(Base):
    __tablename__ = "reps"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("exercise_sessions.id", ondelete="CASCADE"), index=True
    )
    count: Mapped[int]
    score: Mapped[float | None]
    """0-100; None when the engine reported a non-finite score."""
    breakdown: Mapped[dict[str, Any]] = mapped_column(default=dict)
    range_of_motion_deg: Mapped[dict[str, Any]] = mapped_column(default=dict)
    duration_ms: Mapped[int]
    cue_ids: Mapped[list[Any]] = mapped_column(default=list)
    side: Mapped[str | None] = mapped_column(String(16))
    timestamp_ms: Mapped[int] = mapped_column(BigInteger)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class Cue(Base):
    __tablename__ = "cues"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("exercise_sessions.id", ondelete="CASCADE"), index=True
    )
    timestamp_ms: Mapped[int] = mapped_column(BigInteger)
    cue_id: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    message: Mapped[dict[str, Any]] = mapped_column(default=dict)
    value: Mapped[float | None]


class LandmarkChunk(Base):
    """Consecutive frames of a session's landmarks (`server.store.landmarks` codec)."""

    __tablename__ = "landmark_chunks"
    __table_args__ = (UniqueConstraint("session_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("exercise_sessions.id", ondelete="CASCADE")
    )
    seq: Mapped[int]
    skeleton: Mapped[str] = mapped_column(String(32))
    frame_count: Mapped[int]
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes]


class SessionVideo(Base):
    """Video of a session: only ever written when the resident consented to video.

    Nothing writes video by default; the table exists so the consent has a home.
    """

    __tablename__ = "session_videos"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("exercise_sessions.id", ondelete="CASCADE"), index=True
    )
    content_type: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Note(Base):
    """A coach's note about a resident, a session, or both."""

    __tablename__ = "notes"
    __table_args__ = (
        CheckConstraint(
            "resident_id IS NOT NULL OR session_id IS NOT NULL", name="has_subject"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int | None] = mapped_column(
        ForeignKey("centres.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL")
    )
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("exercise_sessions.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[Staff | None] = relationship(lazy="joined")


class CustomTemplate(Base):
    """A centre's own exercise template, kept as the TOML text its author wrote."""

    __tablename__ = "custom_templates"
    __table_args__ = (UniqueConstraint("centre_id", "template_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int] = mapped_column(
        ForeignKey("centres.id", ondelete="CASCADE"), index=True
    )
    template_id: Mapped[str] = mapped_column(String(64))
    toml_text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Assessment(Base):
    """One fitness-assessment result: a Senior Fitness Test protocol run at the kiosk,
    or a national-standard item (`protocol_id` = the item id, `details` = the scoring
    table, points, battery, total and grade; `server.fitness_records`)."""

    __tablename__ = "assessments"
    __table_args__ = (
        Index("ix_assessments_resident_taken", "resident_id", "taken_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE")
    )
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("exercise_sessions.id", ondelete="SET NULL")
    )
    protocol_id: Mapped[str] = mapped_column(String(64))
    value: Mapped[float]
    unit: Mapped[str] = mapped_column(String(32))
    percentile: Mapped[float | None]
    band: Mapped[str | None] = mapped_column(String(32))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)


class Alert(Base):
    """A safety alert raised by a group screen (kind `fall`).

    It is open until someone acknowledges it (staff on the coach pages, or staff at the
    screen through its kiosk); `cleared_at` records that the person got up, which does
    not close it: staff should still check on them.
    """

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_centre_raised", "centre_id", "raised_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int | None] = mapped_column(
        ForeignKey("centres.id", ondelete="CASCADE")
    )
    kiosk_id: Mapped[int | None] = mapped_column(
        ForeignKey("kiosks.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(32))
    live_id: Mapped[str] = mapped_column(String(64), index=True)
    """The group session's id (`group_opened.session_id`)."""
    track_id: Mapped[int | None]
    seat_number: Mapped[int | None]
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL"), index=True
    )
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    cleared_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL")
    )
    acknowledged_by_kiosk: Mapped[int | None] = mapped_column(
        ForeignKey("kiosks.id", ondelete="SET NULL")
    )

    kiosk: Mapped[Kiosk | None] = relationship(foreign_keys=[kiosk_id])
    resident: Mapped[Resident | None] = relationship()
    acknowledger: Mapped[Staff | None] = relationship(foreign_keys=[acknowledged_by])
    acknowledger_kiosk: Mapped[Kiosk | None] = relationship(
        foreign_keys=[acknowledged_by_kiosk]
    )


class FitnessTable(Base):
    """A national-standard scoring table a centre installed: the TOML text, validated
    (`exercises.national_standard.scoring_table_from_toml`) before it is stored."""

    __tablename__ = "fitness_tables"
    __table_args__ = (UniqueConstraint("centre_id", "table_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int] = mapped_column(
        ForeignKey("centres.id", ondelete="CASCADE"), index=True
    )
    table_id: Mapped[str] = mapped_column(String(64))
    toml_text: Mapped[str] = mapped_column(Text)
    test_table: Mapped[bool] = mapped_column(default=False)
    installed_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL")
    )
    installed_at: Mapped[datetime] = mapped_column(default=utcnow)
