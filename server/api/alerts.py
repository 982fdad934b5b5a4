"""Alert routes for the coach pages: the open fall alerts of the centre (polled every
few seconds) and acknowledging one. Group screens raise and clear alerts
(`repository.raise_alert`, docs/group.md); a coach sees their own centre's, an
all-centres admin every centre's. Another centre's alert is answered 404, like an
unknown one: alert ids are sequential, and a poll should learn nothing about other
centres from them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from server.api._access import listing_centre, visible_to
from server.auth import CurrentStaff, Db
from server.exports import alert_export_json
from server.store import repository
from server.store.models import Alert, Staff, utcnow

__all__ = ["alert_json", "router"]

router = APIRouter(prefix="/alerts", tags=["alerts"])


def alert_json(alert: Alert) -> dict[str, Any]:
    """An alert for the coach pages: where (kiosk, seat), who (resident, if checked
    in), when (raised, cleared, acknowledged) and who acknowledged it. The export's
    fields (`server.exports.alert_export_json`) less the details, which may name
    the person, plus the resident and whether it is still open."""
    out = alert_export_json(alert)
    del out["details"], out["resident_id"]
    resident = alert.resident
    out["resident"] = (
        None
        if resident is None
        else {
            "id": resident.id,
            "member_code": resident.member_code,
            "display_name": resident.display_name,
        }
    )
    out["open"] = alert.acknowledged_at is None
    return out


def _alert_for(db: Db, staff: Staff, alert_id: int) -> Alert:
    alert = repository.get_alert(db, alert_id)
    return visible_to(staff, alert, "not_found", "No such alert.")


@router.get("")
def list_alerts(
    staff: CurrentStaff,
    db: Db,
    open_only: Annotated[bool, Query(alias="open")] = True,
    centre_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """Alerts newest first (only open ones unless `open=false`), with the server's
    `now` so pages count the time since an alert was raised on the server's clock."""
    scope = listing_centre(staff, centre_id)
    alerts = repository.list_alerts(db, scope, open_only=open_only, limit=limit)
    return {"now": utcnow().isoformat(), "alerts": [alert_json(a) for a in alerts]}


@router.post("/{alert_id}/acknowledge")
def acknowledge(alert_id: int, staff: CurrentStaff, db: Db) -> dict[str, Any]:
    """Acknowledge an alert (idempotent: the first acknowledgement stands)."""
    _alert_for(db, staff, alert_id)
    repository.acknowledge_alert(db, alert_id, staff_id=staff.id)
    db.commit()
    alert = repository.get_alert(db, alert_id)
    assert alert is not None
    db.refresh(alert)
    return {"alert": alert_json(alert)}
