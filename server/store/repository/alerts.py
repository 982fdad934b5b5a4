"""Fall alerts of the group screen: raised, cleared (the person got up), acknowledged
(someone saw it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from server.store.models import Alert, utcnow
from server.store.repository._common import added, json_map, of_centre
from server.store.repository.accounts import centre_of_kiosk


def raise_alert(
    db: Session,
    *,
    centre_id: int | None,
    kiosk_id: int | None,
    kind: str,
    live_id: str,
    track_id: int | None,
    seat_number: int | None,
    resident_id: int | None,
    details: dict[str, Any],
) -> Alert:
    """An open alert, raised now. The centre defaults to the kiosk's.

    Args:
        kind: What happened: `fall`.
        live_id: The group session's id.
        track_id: The tracker's id of the person, if known.
        seat_number: Their seat on the group screen (1..8), if they have one.
        resident_id: The resident, when the person was checked in.
        details: JSON-able facts for the record (e.g. the engine's `timestamp_ms`).
    """
    if centre_id is None and kiosk_id is not None:
        centre_id = centre_of_kiosk(db, kiosk_id)
    return added(
        db,
        Alert(
            centre_id=centre_id,
            kiosk_id=kiosk_id,
            kind=kind,
            live_id=live_id,
            track_id=None if track_id is None else int(track_id),
            seat_number=None if seat_number is None else int(seat_number),
            resident_id=resident_id,
            details=json_map(details),
            raised_at=utcnow(),
        ),
    )


def get_alert(db: Session, alert_id: int) -> Alert | None:
    return db.get(Alert, alert_id)


def clear_alert(db: Session, alert_id: int) -> Alert | None:
    """Mark that the person got up (`cleared_at`, set once). The alert stays open
    until someone acknowledges it. None when there is no such alert."""
    db.execute(
        update(Alert)
        .where(Alert.id == alert_id, Alert.cleared_at.is_(None))
        .values(cleared_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return db.get(Alert, alert_id, populate_existing=True)


def acknowledge_alert(
    db: Session,
    alert_id: int,
    *,
    staff_id: int | None = None,
    kiosk_id: int | None = None,
) -> Alert | None:
    """Close an alert: someone saw it. Idempotent: the first acknowledgement wins
    (its time, staff member or kiosk), later ones change nothing, even concurrent ones
    (one conditional UPDATE). None when there is no such alert."""
    db.execute(
        update(Alert)
        .where(Alert.id == alert_id, Alert.acknowledged_at.is_(None))
        .values(
            acknowledged_at=utcnow(),
            acknowledged_by=staff_id,
            acknowledged_by_kiosk=kiosk_id,
        )
        .execution_options(synchronize_session=False)
    )
    return db.get(Alert, alert_id, populate_existing=True)


def list_alerts(
    db: Session, centre_id: int | None, *, open_only: bool = True, limit: int = 50
) -> list[Alert]:
    """Alerts newest first, with their kiosk, resident and acknowledger loaded.

    Args:
        centre_id: The centre's alerts; None = every centre's (an all-centres admin).
        open_only: Only those nobody has acknowledged yet (cleared ones included).
        limit: At most this many.
    """
    query = (
        select(Alert)
        .options(
            joinedload(Alert.kiosk),
            joinedload(Alert.resident),
            joinedload(Alert.acknowledger),
            joinedload(Alert.acknowledger_kiosk),
        )
        .order_by(Alert.raised_at.desc(), Alert.id.desc())
        .limit(limit)
    )
    query = of_centre(query, Alert.centre_id, centre_id)
    if open_only:
        query = query.where(Alert.acknowledged_at.is_(None))
    return list(db.scalars(query).unique())
