"""Programme results as CSV: one row per measure in long form (session, programme,
item, measure, value, unit, level, note), so a routine's sections, a posture screen's
figures (value and uncertainty per view, the threshold used) and a breathing session's
rhythm and breaths fit one table; cells a spreadsheet would run as formulas defused."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Final

from sqlalchemy.orm import Session

from server.exports.records import resident_scope, session_scope
from server.exports.table import csv_cell
from server.jsonable import to_jsonable
from server.store.models import ExerciseSession, ProgrammeResult
from server.store.repository import programme_result_of

__all__ = [
    "PROGRAMME_CSV_COLUMNS",
    "programmes_csv",
    "resident_programmes_csv",
    "session_programmes_csv",
]

PROGRAMME_CSV_COLUMNS: Final[tuple[str, ...]] = (
    "session_id",
    "member_code",
    "programme_id",
    "kind",
    "started_at",
    "completed",
    "item",
    "measure",
    "value",
    "unit",
    "level",
    "note",
)


def _rows(result: ProgrammeResult) -> Iterable[tuple[object, ...]]:
    """(item, measure, value, unit, level, note) of one result."""
    if result.kind == "routine":
        yield ("routine", "score", result.score, "{score}", None, None)
        for s in result.sections:
            item = f"section:{s.section_id}"
            yield (item, "status", s.status, None, None, None)
            yield (item, "rounds", s.rounds, "{rounds}", None, f"of {s.target_rounds}")
            yield (item, "score", s.score, "{score}", None, s.improvement_id)
    elif result.kind == "posture":
        for f in result.figures:
            item = f"{f.view}:{f.figure}"
            note = None
            if f.threshold is not None:
                kind = "placeholder " if f.threshold_placeholder else ""
                note = f"{kind}threshold {f.threshold} {f.threshold_unit}"
            yield (item, "value", f.value, f.unit, f.level, note)
            yield (item, "uncertainty", f.uncertainty, f.unit, None, "1 sigma")
    else:
        rhythm = (result.details or {}).get("rhythm") or {}
        for key, unit in (
            ("period_s", "s"),
            ("period_error_pct", "%"),
            ("ratio", "1"),
            ("regularity_cv", "1"),
            ("lag_s", "s"),
        ):
            yield ("rhythm", key, rhythm.get(key), unit, None, None)
        yield ("rhythm", "tip", rhythm.get("tip"), None, None, None)
        for b in result.breaths:
            for key in ("inhale_s", "exhale_s", "top_hold_s", "period_s"):
                yield (f"breath:{b.count}", key, getattr(b, key), "s", None, None)


def _cell(value: object) -> object:
    if isinstance(value, float):
        wired = to_jsonable(value)  # NaN: empty
        return "" if wired is None else round(wired, 4)
    return csv_cell(value)


def programmes_csv(
    db: Session, sessions: Sequence[ExerciseSession], member_code: str | None
) -> str:
    """The programme results of `sessions`, one row per measure (see the module
    docstring); sessions without one add no rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(PROGRAMME_CSV_COLUMNS)
    for session in sessions:
        result = programme_result_of(db, session.id)
        if result is None:
            continue
        head = (
            session.id,
            member_code,
            result.programme_id,
            result.kind,
            to_jsonable(session.started_at),
            result.completed,
        )
        for row in _rows(result):
            writer.writerow([_cell(v) for v in (*head, *row)])
    return out.getvalue()


def session_programmes_csv(db: Session, session_id: int) -> str:
    """A session's programme result, one row per measure.

    Raises:
        LookupError: no such session.
    """
    return programmes_csv(db, *session_scope(db, session_id))


def resident_programmes_csv(db: Session, resident_id: int) -> str:
    """Every programme result of a resident, oldest first, one row per measure.

    Raises:
        LookupError: no such resident.
    """
    return programmes_csv(db, *resident_scope(db, resident_id))
