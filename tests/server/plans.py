"""The worked example's plan and history (tests/exercises/prescriptions/factories.py)
stored in the records, for the store, API and export tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from server.store import Store, repository
from tests.exercises.prescriptions.factories import history, make_plan
from tests.server.store.helpers import at, rep

__all__ = ["stored_worked_example"]


def stored_worked_example(
    store: Store,
    ids: dict[str, Any],
    *,
    prescribed_by: int | None = None,
    sessions: bool = False,
    reps: bool = False,
) -> int:
    """The plan for `ids`' resident with its 13 sets; the plan's id. With `sessions`
    each set is linked to an exercise session of its own (as the kiosk records them),
    with `reps` that session holds the set's reps (scored as the set)."""
    with store.begin() as db:
        row = repository.create_prescription(
            db,
            centre_id=ids["centre_id"],
            resident_id=ids["resident_id"],
            plan=make_plan(),
            prescribed_by=prescribed_by,
        )
        per_entry: dict[tuple[dt.date, str], int] = {}
        for i, performed in enumerate(history()):
            day = performed.performed_on
            key = (day, performed.exercise_id)
            per_entry[key] = per_entry.get(key, 0) + 1
            session_id = None
            if sessions:
                session = repository.start_session(
                    db,
                    exercise_id=performed.exercise_id,
                    language="en",
                    resident_id=ids["resident_id"],
                    started_at=at(day.year, day.month, day.day, 9, i),
                )
                for n in range(1, performed.reps + 1 if reps else 1):
                    repository.record_rep(db, session.id, rep(n, performed.score or 70))
                repository.finish_session(
                    db, session.id, ended_at=at(day.year, day.month, day.day, 9, i + 1)
                )
                session_id = session.id
            repository.record_set(
                db,
                prescription_id=row.id,
                performed=performed,
                set_index=per_entry[key],
                exercise_session_id=session_id,
            )
        return row.id
