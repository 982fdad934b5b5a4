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

Layout, one module per area: `base` (the declarative base, column types, enums),
`people` (centre, staff, residents, kiosks, member cards), `sessions` (sessions and
what they leave, assessments, alerts, norm tables), `plans` (prescriptions and
performed sets), `programmes` (routine sections, posture figures, breaths). A new table
goes in its area's module and is re-exported here, which is what the migrations'
`env.py` and the parity test import.
"""

from __future__ import annotations

from server.store.models.base import (
    JSON_TYPE,
    Base,
    Role,
    SessionStatus,
    Sex,
    UTCDateTime,
    utcnow,
)
from server.store.models.people import (
    Centre,
    Kiosk,
    LoginSession,
    MemberToken,
    Resident,
    Staff,
)
from server.store.models.plans import (
    PerformedSetRow,
    PrescriptionRow,
)
from server.store.models.programmes import (
    PostureFigure,
    ProgrammeResult,
    RecordedBreath,
    RoutineSection,
)
from server.store.models.sessions import (
    Alert,
    Assessment,
    Cue,
    CustomTemplate,
    ExerciseSession,
    FitnessTable,
    LandmarkChunk,
    Note,
    Rep,
    SessionVideo,
)

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
