"""Exercise prescriptions (运动处方) in the records: plans, the sets done under them,
and their adherence (the arithmetic is `exercises.prescriptions`'; this module only
stores and loads).

A plan is stored as its document (`prescription_to_dict`) and read back with
`prescription_from_dict` against the catalogue the caller passes (built-in templates
plus the centre's own), so a stored plan is always a valid plan: one naming a template
the centre has since deleted fails to load (`PrescriptionError`) instead of running
with a hole in it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from exercises.prescriptions import (
    Adherence,
    Catalogue,
    PerformedSet,
    Prescription,
    adherence,
    prescription_from_dict,
    prescription_to_dict,
)
from server.store.models import PerformedSetRow, PrescriptionRow, utcnow
from server.store.repository._common import added, finite, rowcount

__all__ = [
    "create_prescription",
    "current_prescription",
    "delete_prescription",
    "get_prescription",
    "list_prescriptions",
    "load_plan",
    "performed_sets",
    "plan_adherence",
    "record_set",
    "set_rows",
    "update_prescription",
]


def _fill(row: PrescriptionRow, plan: Prescription) -> None:
    row.document = prescription_to_dict(plan)
    row.start_date = plan.start_date
    row.end_date = plan.end_date
    row.template_id = plan.template_id


def create_prescription(
    db: Session,
    *,
    centre_id: int,
    resident_id: int,
    plan: Prescription,
    prescribed_by: int | None = None,
) -> PrescriptionRow:
    """Store a validated plan for a resident of the centre."""
    row = PrescriptionRow(
        centre_id=centre_id, resident_id=resident_id, prescribed_by=prescribed_by
    )
    _fill(row, plan)
    return added(db, row)


def update_prescription(
    db: Session, row: PrescriptionRow, plan: Prescription
) -> PrescriptionRow:
    """Replace a plan's document (the sets done so far stay with it)."""
    _fill(row, plan)
    row.updated_at = utcnow()
    db.flush()
    return row


def get_prescription(db: Session, prescription_id: int) -> PrescriptionRow | None:
    return db.get(PrescriptionRow, prescription_id)


def list_prescriptions(
    db: Session, *, resident_id: int | None = None, centre_id: int | None = None
) -> list[PrescriptionRow]:
    """A resident's plans, or a centre's (every one with both None); newest start
    first."""
    query = select(PrescriptionRow).order_by(
        PrescriptionRow.start_date.desc(), PrescriptionRow.id.desc()
    )
    if resident_id is not None:
        query = query.where(PrescriptionRow.resident_id == resident_id)
    if centre_id is not None:
        query = query.where(PrescriptionRow.centre_id == centre_id)
    return list(db.scalars(query))


def current_prescription(
    db: Session, resident_id: int, on: dt.date
) -> PrescriptionRow | None:
    """The plan running on the date (the latest started of those whose dates hold
    it), else None."""
    return db.scalar(
        select(PrescriptionRow)
        .where(
            PrescriptionRow.resident_id == resident_id,
            PrescriptionRow.start_date <= on,
            PrescriptionRow.end_date >= on,
        )
        .order_by(PrescriptionRow.start_date.desc(), PrescriptionRow.id.desc())
        .limit(1)
    )


def delete_prescription(db: Session, prescription_id: int) -> bool:
    """Delete a plan and the sets recorded under it; False if there was none."""
    result = db.execute(
        delete(PrescriptionRow).where(PrescriptionRow.id == prescription_id)
    )
    db.expire_all()
    return rowcount(result) > 0


def load_plan(row: PrescriptionRow, catalogue: Catalogue) -> Prescription:
    """The stored plan, validated again.

    Raises:
        PrescriptionError: it no longer validates (e.g. a template it names is gone).
    """
    return prescription_from_dict(row.document, catalogue, f"<prescription {row.id}>")


def record_set(
    db: Session,
    *,
    prescription_id: int,
    performed: PerformedSet,
    set_index: int,
    exercise_session_id: int | None = None,
) -> PerformedSetRow:
    """One set done under a plan (a session records at most one set)."""
    return added(
        db,
        PerformedSetRow(
            prescription_id=prescription_id,
            performed_on=performed.performed_on,
            session_key=performed.session_id,
            exercise_id=performed.exercise_id,
            set_index=set_index,
            reps=performed.reps,
            hold_s=float(performed.hold_s),
            score=finite(performed.score),
            exercise_session_id=exercise_session_id,
        ),
    )


def set_rows(db: Session, prescription_id: int) -> list[PerformedSetRow]:
    """The plan's set rows, oldest first."""
    return list(
        db.scalars(
            select(PerformedSetRow)
            .where(PerformedSetRow.prescription_id == prescription_id)
            .order_by(PerformedSetRow.performed_on, PerformedSetRow.id)
        )
    )


def as_performed(rows: Iterable[PerformedSetRow]) -> list[PerformedSet]:
    return [
        PerformedSet(
            r.performed_on, r.session_key, r.exercise_id, r.reps, r.hold_s, r.score
        )
        for r in rows
    ]


def performed_sets(db: Session, prescription_id: int) -> list[PerformedSet]:
    """What `exercises.prescriptions` needs of the plan's sets, oldest first."""
    return as_performed(set_rows(db, prescription_id))


def plan_adherence(
    db: Session, row: PrescriptionRow, catalogue: Catalogue, as_of: dt.date
) -> Adherence:
    """Adherence to a stored plan as of the date (`exercises.prescriptions.adherence`).

    Raises:
        PrescriptionError: the plan no longer validates.
    """
    return adherence(load_plan(row, catalogue), performed_sets(db, row.id), as_of)
