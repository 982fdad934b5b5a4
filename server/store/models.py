"""Database tables of the records: SQLAlchemy 2 typed declarative models.

The same models run on SQLite (the default: one file, WAL, foreign keys on) and on
PostgreSQL. JSON columns use `JSON` (JSONB on PostgreSQL); times are timezone-aware UTC
on both (`UTCDateTime`). Every foreign key that points at a resident or a session
cascades on delete, so deleting a resident on request removes everything about them in
one statement (`repository.delete_resident`); the one exception is a fall alert, a
safety record of the centre, which loses its resident (ON DELETE SET NULL) and its
details instead. The schema itself is owned by the Alembic
migrations in `server/store/migrations/`; `tests/server/store/test_migrations.py` checks
that the head revision and these models agree.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.dialects.postgresql import BYTEA, JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "JSON_TYPE",
    "Alert",
    "Assessment",
    "Base",
    "Centre",
    "Cue",
    "CustomTemplate",
    "ExerciseSession",
    "FitnessTable",
    "Kiosk",
    "LandmarkChunk",
    "LoginSession",
    "MemberToken",
    "Note",
    "PerformedSetRow",
    "PostureFigure",
    "PrescriptionRow",
    "ProgrammeResult",
    "RecordedBreath",
    "Rep",
    "Resident",
    "Role",
    "RoutineSection",
    "SessionStatus",
    "SessionVideo",
    "Sex",
    "Staff",
    "UTCDateTime",
    "utcnow",
]

# Explicit constraint names, so migrations (and SQLite batch mode) can address them.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSON_TYPE = JSON().with_variant(JSONB(), "postgresql")
"""Portable JSON column: JSON on SQLite, JSONB on PostgreSQL."""

BLOB_TYPE = LargeBinary().with_variant(BYTEA(), "postgresql")


def utcnow() -> datetime:
    """Wall-clock now, timezone-aware UTC (the only clock the store reads)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    SQLite keeps no zone, so values are normalized to UTC on the way in and marked UTC
    on the way out; naive datetimes are refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"expected a timezone-aware datetime, got naive {value!r}")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Role(enum.StrEnum):
    ADMIN = "admin"
    COACH = "coach"


class Sex(enum.StrEnum):
    """Administrative sex as residents declare it (the FHIR `gender` value set)."""

    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class SessionStatus(enum.StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # VARCHAR + CHECK on both backends: no PostgreSQL enum types to migrate later.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 (SQLAlchemy reads this class attribute)
        datetime: UTCDateTime(),
        date: Date(),
        dict[str, Any]: JSON_TYPE,
        list[Any]: JSON_TYPE,
        bytes: BLOB_TYPE,
    }


class Centre(Base):
    __tablename__ = "centres"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Staff(Base):
    """A staff account. An admin without a centre administers every centre."""

    __tablename__ = "staff"
    __table_args__ = (
        CheckConstraint(
            "role = 'admin' OR centre_id IS NOT NULL", name="coach_has_centre"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int | None] = mapped_column(
        ForeignKey("centres.id", ondelete="CASCADE"), index=True
    )
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    centre: Mapped[Centre | None] = relationship(lazy="joined")


class LoginSession(Base):
    """A signed-in staff member: the SHA-256 of the bearer token, never the token."""

    __tablename__ = "login_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class Resident(Base):
    __tablename__ = "residents"
    __table_args__ = (UniqueConstraint("centre_id", "member_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int] = mapped_column(
        ForeignKey("centres.id", ondelete="CASCADE"), index=True
    )
    member_code: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200))
    birth_year: Mapped[int | None]
    sex: Mapped[Sex] = mapped_column(_enum(Sex, "sex"), default=Sex.UNKNOWN)
    conditions: Mapped[list[Any]] = mapped_column(default=list)
    consent_landmarks: Mapped[bool] = mapped_column(default=True, server_default=true())
    consent_video: Mapped[bool] = mapped_column(default=False, server_default=false())
    consent_data_sharing: Mapped[bool] = mapped_column(
        default=False, server_default=false()
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    centre: Mapped[Centre] = relationship()


class Kiosk(Base):
    """A kiosk device; its bearer token is kept as a SHA-256 only (`server.auth`)."""

    __tablename__ = "kiosks"

    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int] = mapped_column(
        ForeignKey("centres.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime | None]


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


class MemberToken(Base):
    """A member card's check-in token, kept as its SHA-256 only
    (`exercises.member_tokens.token_hash`); revoked cards keep their row."""

    __tablename__ = "member_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id", ondelete="CASCADE"))
    hint: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


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
