"""Fall alerts in the repository on SQLite and PostgreSQL: raise, clear (once, stays
open), acknowledge (first wins), list (centre scope, newest first), and what deleting a
resident on request leaves of their alerts."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from server.store import Store, repository
from server.store.models import Alert
from tests.server.store.helpers import seed_centre


def _raise(store: Store, ids: dict[str, Any], **overrides: Any) -> int:
    fields: dict[str, Any] = {
        "centre_id": ids["centre_id"],
        "kiosk_id": ids["kiosk_id"],
        "kind": "fall",
        "live_id": "g-1",
        "track_id": 4,
        "seat_number": 2,
        "resident_id": ids["resident_id"],
        "details": {"timestamp_ms": 1234, "name": "Lin"},
    }
    fields.update(overrides)
    with store.begin() as db:
        return repository.raise_alert(db, **fields).id


def _staff(store: Store, ids: dict[str, Any], username: str = "coach") -> int:
    with store.begin() as db:
        return repository.create_staff(
            db,
            username=username,
            password_hash="x",
            role="coach",
            centre_id=ids["centre_id"],
        ).id


def test_raise_alert_keeps_what_the_screen_saw(store: Store) -> None:
    ids = seed_centre(store)
    with store.begin() as db:
        alert = repository.raise_alert(
            db,
            centre_id=None,  # taken from the kiosk
            kiosk_id=ids["kiosk_id"],
            kind="fall",
            live_id="g-1",
            track_id=np.int64(4),  # type: ignore[arg-type]
            seat_number=np.int32(2),  # type: ignore[arg-type]
            resident_id=ids["resident_id"],
            details={"timestamp_ms": np.int64(1234), "score": float("nan")},
        )
        alert_id = alert.id
    with store.session() as db:
        got = repository.get_alert(db, alert_id)
        assert got is not None
        assert (got.centre_id, got.kiosk_id, got.resident_id) == (
            ids["centre_id"],
            ids["kiosk_id"],
            ids["resident_id"],
        )
        assert (got.kind, got.live_id, got.track_id, got.seat_number) == (
            "fall",
            "g-1",
            4,
            2,
        )
        assert got.details == {"timestamp_ms": 1234, "score": None}
        assert got.raised_at.tzinfo is not None
        assert got.cleared_at is None and got.acknowledged_at is None


def test_clear_sets_cleared_once_and_the_alert_stays_open(store: Store) -> None:
    ids = seed_centre(store)
    alert_id = _raise(store, ids)
    with store.begin() as db:
        first = repository.clear_alert(db, alert_id)
        assert first is not None and first.cleared_at is not None
        cleared_at = first.cleared_at
    with store.begin() as db:
        again = repository.clear_alert(db, alert_id)
        assert again is not None and again.cleared_at == cleared_at
        assert repository.clear_alert(db, alert_id + 99) is None
    with store.session() as db:
        assert [a.id for a in repository.list_alerts(db, ids["centre_id"])] == [
            alert_id
        ]


def test_acknowledge_is_idempotent_and_the_first_wins(store: Store) -> None:
    ids = seed_centre(store)
    coach_id = _staff(store, ids)
    alert_id = _raise(store, ids)
    with store.begin() as db:
        first = repository.acknowledge_alert(db, alert_id, staff_id=coach_id)
        assert first is not None
        assert first.acknowledged_by == coach_id
        assert first.acknowledged_by_kiosk is None
        acknowledged_at = first.acknowledged_at
        assert acknowledged_at is not None
    with store.begin() as db:  # the screen acknowledges it too, later: nothing changes
        again = repository.acknowledge_alert(db, alert_id, kiosk_id=ids["kiosk_id"])
        assert again is not None
        assert (again.acknowledged_at, again.acknowledged_by) == (
            acknowledged_at,
            coach_id,
        )
        assert again.acknowledged_by_kiosk is None
        assert (
            repository.acknowledge_alert(db, alert_id + 99, staff_id=coach_id) is None
        )
    with store.session() as db:
        assert repository.list_alerts(db, ids["centre_id"]) == []
        closed = repository.list_alerts(db, ids["centre_id"], open_only=False)
        assert [a.id for a in closed] == [alert_id]
        assert closed[0].acknowledger is not None
        assert closed[0].acknowledger.id == coach_id


def test_a_kiosk_may_acknowledge(store: Store) -> None:
    ids = seed_centre(store)
    alert_id = _raise(store, ids)
    with store.begin() as db:
        alert = repository.acknowledge_alert(db, alert_id, kiosk_id=ids["kiosk_id"])
        assert alert is not None
        assert alert.acknowledged_by is None
        assert alert.acknowledged_by_kiosk == ids["kiosk_id"]


@pytest.mark.parametrize(
    ("centre", "open_only", "limit", "expected"),
    [
        pytest.param("a", True, 50, ["a3", "a1"], id="centre-open"),
        pytest.param("a", False, 50, ["a3", "a2", "a1"], id="centre-all"),
        pytest.param("a", False, 2, ["a3", "a2"], id="centre-limit"),
        pytest.param(None, True, 50, ["b1", "a3", "a1"], id="every-centre-open"),
        pytest.param(None, False, 50, ["b1", "a3", "a2", "a1"], id="every-centre"),
    ],
)
def test_list_alerts_scope_and_order(
    store: Store,
    centre: str | None,
    open_only: bool,
    limit: int,
    expected: list[str],
) -> None:
    a = seed_centre(store, "Riverside")
    b = seed_centre(store, "Hillside")
    names = {}
    for name, ids in (("a1", a), ("a2", a), ("a3", a), ("b1", b)):
        names[_raise(store, ids, live_id=name)] = name
    by_name = {v: k for k, v in names.items()}
    with store.begin() as db:
        repository.acknowledge_alert(db, by_name["a2"], kiosk_id=a["kiosk_id"])
    centre_id = None if centre is None else a["centre_id"]
    with store.session() as db:
        alerts = repository.list_alerts(db, centre_id, open_only=open_only, limit=limit)
        assert [names[x.id] for x in alerts] == expected
        assert all(x.kiosk is not None for x in alerts)
        assert all(x.resident is not None for x in alerts)


def test_deleting_a_resident_keeps_their_alerts_without_them(store: Store) -> None:
    gone = seed_centre(store, "Riverside")
    kept = seed_centre(store, "Hillside")
    gone_alert = _raise(store, gone)
    kept_alert = _raise(store, kept)
    with store.begin() as db:
        counts = repository.delete_resident(db, gone["resident_id"])
    assert counts is not None and counts["alerts_unlinked"] == 1
    with store.session() as db:
        alert = db.get(Alert, gone_alert)
        assert alert is not None
        assert alert.resident_id is None
        assert alert.details == {}
        assert (alert.kiosk_id, alert.seat_number, alert.kind) == (
            gone["kiosk_id"],
            2,
            "fall",
        )
        other = db.get(Alert, kept_alert)
        assert other is not None
        assert other.resident_id == kept["resident_id"]
        assert other.details == {"timestamp_ms": 1234, "name": "Lin"}
