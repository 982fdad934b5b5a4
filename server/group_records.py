"""The group screen's database work: who a check-in names (`find_resident_ref`, from
`server.members`: limited like every member lookup) and the fall alerts of a group
session (`AlertDesk`). Blocking: call from a thread.
"""

from __future__ import annotations

import logging
from typing import Final

from exercises.falls import FallCleared, FallDetected
from server.jsonable import to_jsonable
from server.members import ResidentRef, find_resident_ref
from server.schemas import ErrorCode, ProtocolError
from server.store import Store
from server.store import repository as repo

__all__ = ["FALL_KIND", "AlertDesk", "ResidentRef", "find_resident_ref"]

log = logging.getLogger(__name__)

FALL_KIND: Final[str] = "fall"


class AlertDesk:
    """Fall alerts of one group session in the records store (blocking methods: call
    them from a thread). Without a store every alert id is None.

    Args:
        store: The records database, or None.
        live_id: The group session's id.
        kiosk_id: The group screen's kiosk.
    """

    def __init__(self, store: Store | None, *, live_id: str, kiosk_id: int | None):
        self.store = store
        self.live_id = live_id
        self.kiosk_id = kiosk_id
        self.open_by_track: dict[int, int] = {}  # track id -> alert id not yet cleared

    def raise_fall(
        self,
        event: FallDetected,
        *,
        number: int | None,
        resident_id: int | None,
    ) -> int | None:
        """Store a fall alert; its id, or None (no store, or the write failed:
        logged)."""
        if self.store is None:
            return None
        details = to_jsonable(event)
        details.pop("message", None)
        try:
            with self.store.begin() as db:
                alert = repo.raise_alert(
                    db,
                    centre_id=repo.kiosk_centre_id(db, self.kiosk_id),
                    kiosk_id=self.kiosk_id,
                    kind=FALL_KIND,
                    live_id=self.live_id,
                    track_id=event.track_id,
                    seat_number=number,
                    resident_id=resident_id,
                    details=details,
                )
                alert_id = int(alert.id)
        except Exception:
            log.exception(
                "group %s: fall alert of track %d not stored",
                self.live_id,
                event.track_id,
            )
            return None
        self.open_by_track[event.track_id] = alert_id
        return alert_id

    def clear_fall(self, event: FallCleared) -> int | None:
        """Mark the track's alert cleared (the person got up); its id, or None."""
        alert_id = self.open_by_track.pop(event.track_id, None)
        if alert_id is None or self.store is None:
            return None
        try:
            with self.store.begin() as db:
                repo.clear_alert(db, alert_id)
        except Exception:
            log.exception("group %s: alert %d not cleared", self.live_id, alert_id)
        return alert_id

    def acknowledge(self, alert_id: int) -> bool:
        """Staff at the screen saw it; False when there is no such alert.

        Raises:
            ProtocolError: `no_records` without a store.
        """
        if self.store is None:
            raise ProtocolError(
                ErrorCode.NO_RECORDS,
                "expected a records store to acknowledge alerts, got none "
                "(start the server with a database)",
            )
        with self.store.begin() as db:
            alert = repo.get_alert(db, alert_id)
            centre_id = repo.kiosk_centre_id(db, self.kiosk_id)
            if alert is None or (
                centre_id is not None and alert.centre_id not in (None, centre_id)
            ):
                return False  # not this centre's: as good as unknown
            return (
                repo.acknowledge_alert(db, alert_id, kiosk_id=self.kiosk_id) is not None
            )
