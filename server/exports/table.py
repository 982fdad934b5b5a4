"""Exports as CSV: one row per rep (per-angle score and range-of-motion columns),
with cells a spreadsheet would run as formulas defused."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from typing import Final

from sqlalchemy.orm import Session

from server.exports.records import iso, resident_scope, session_scope
from server.store.models import ExerciseSession

__all__ = ["csv_cell", "resident_csv", "session_csv"]


def _number(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), 3)


_CSV_BASE: Final[tuple[str, ...]] = (
    "session_id",
    "member_code",
    "exercise_id",
    "started_at",
    "status",
    "rep",
    "score",
    "duration_ms",
    "side",
    "timestamp_ms",
    "cue_ids",
)


def csv_cell(value: object) -> object:
    """A CSV cell: None empty, formula-like text defused."""
    # Spreadsheets run cells starting with = + - @ as formulas (CSV injection).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def _reps_csv(sessions: Sequence[ExerciseSession], member_code: str | None) -> str:
    angles_breakdown = sorted(
        {a for s in sessions for r in s.reps for a in r.breakdown}
    )
    angles_rom = sorted(
        {a for s in sessions for r in s.reps for a in r.range_of_motion_deg}
    )
    header = [
        *_CSV_BASE,
        *(f"score.{a}" for a in angles_breakdown),
        *(f"rom_deg.{a}" for a in angles_rom),
    ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for session in sessions:
        for rep in session.reps:
            row = [
                session.id,
                member_code,
                session.exercise_id,
                iso(session.started_at),
                str(session.status),
                rep.count,
                _number(rep.score),
                rep.duration_ms,
                rep.side,
                rep.timestamp_ms,
                ";".join(rep.cue_ids),
                *(_number(rep.breakdown.get(a)) for a in angles_breakdown),
                *(_number(rep.range_of_motion_deg.get(a)) for a in angles_rom),
            ]
            writer.writerow([csv_cell(v) for v in row])
    return out.getvalue()


def session_csv(db: Session, session_id: int) -> str:
    """One row per rep of a session (per-angle score and ROM columns).

    Raises:
        LookupError: no such session.
    """
    return _reps_csv(*session_scope(db, session_id))


def resident_csv(db: Session, resident_id: int) -> str:
    """One row per rep of every session of a resident, oldest first.

    Raises:
        LookupError: no such resident.
    """
    return _reps_csv(*resident_scope(db, resident_id))
