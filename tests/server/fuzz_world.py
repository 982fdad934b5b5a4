"""A seeded records server for the fuzz suites (`test_fuzz_http.py`,
`test_fuzz_ws.py`): `movecoach serve`'s composition (`server.operations.build_app`,
kiosk tokens required, records in SQLite, the resumable recorder) under uvicorn in a
thread, with two centres of staff, kiosks, residents and earlier records.

Centre A is the fuzzer's: its admin, its kiosks. Centre B holds the earlier records
that must come through intact (`FuzzWorld.snapshot` / `changed_rows`), whatever the
fuzzer sent with A's credentials; B's kiosk streams the ordinary session beside the
fuzzer. Every log record at ERROR or above while the server runs is kept in
`FuzzWorld.errors` (an unhandled exception in a route or a socket lands there).
"""

from __future__ import annotations

import contextlib
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from hypothesis import HealthCheck, Phase, settings
from sqlalchemy import select

from benchmarks.e2e import encode_video
from server import auth
from server.operations import build_app
from server.resume import ResumableRecorder
from server.settings import Settings
from server.store import Store, repository, upgrade_database
from server.store.models import Base, Kiosk, Role, Staff
from tests.conftest import shared_data_path
from tests.live_server import serve_in_thread
from tests.server.store.helpers import seed_centre, seed_session
from vision.backends import PoseBackend

__all__ = [
    "ADMIN",
    "PASSWORD",
    "FuzzWorld",
    "clip_jpegs",
    "fuzz_server",
    "fuzz_settings",
]

ADMIN = "fuzz-admin"
PASSWORD = "fuzz-pass-123"
CLIP = ("video", "bicep_curl_side.mp4")
IGNORED_COLUMNS = {("kiosks", "last_seen_at")}
"""Columns that change whenever a kiosk connects; not a record's content."""


def fuzz_settings(examples: int, *, derandomize: bool = True) -> settings:
    """Hypothesis settings of the fuzz suites: reproducible (derandomized, or a fixed
    `hypothesis.seed` when `derandomize` is False; no example database) and without
    shrinking (every example is a live round trip and a failure would take minutes
    to shrink; it is reported as generated)."""
    return settings(
        max_examples=examples,
        phases=[Phase.explicit, Phase.generate],
        derandomize=derandomize,
        database=None,
        deadline=None,
        print_blob=False,
        suppress_health_check=list(HealthCheck),
    )


class _ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class FuzzWorld:
    url: str
    store: Store
    settings: Settings
    a: dict[str, Any]  # centre A: centre_id, resident_id, member_code, kiosk_id,
    # kiosk_token, staff_id (a coach), session_id and alert_id (earlier records)
    b: dict[str, Any]  # centre B, the same ids
    admin_id: int
    log: _ErrorLog = field(default_factory=_ErrorLog)

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://")

    @property
    def errors(self) -> list[str]:
        """Log lines at ERROR or above since the server started."""
        return [
            f"{r.name}: {r.getMessage()}"
            + (f" ({r.exc_info[1]!r})" if r.exc_info and r.exc_info[1] else "")
            for r in self.log.records
        ]

    def staff_token(self) -> str:
        """A fresh sign-in of centre A's admin, its account restored first (the
        fuzzer may have changed its role or password, or signed it out)."""
        with self.store.begin() as db:
            admin = db.get(Staff, self.admin_id)
            assert admin is not None, "the fuzzer deleted its own account"
            admin.role, admin.active = Role.ADMIN, True
            admin.centre_id = self.a["centre_id"]
            _, token = repository.create_login(
                db, admin.id, lifetime=timedelta(hours=1)
            )
            return token

    def kiosk_token(self) -> str:
        """Centre A's kiosk token, the kiosk re-activated (the fuzzer may revoke
        it through the admin API)."""
        with self.store.begin() as db:
            kiosk = db.get(Kiosk, self.a["kiosk_id"])
            assert kiosk is not None
            kiosk.active = True
        return str(self.a["kiosk_token"])

    def health(self) -> dict[str, Any]:
        """GET /health's body; fails the test when the server does not answer."""
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=10) as r:
                return json.loads(r.read())  # type: ignore[no-any-return]
        except urllib.error.HTTPError as exc:  # 503 still has a body
            return json.loads(exc.read())  # type: ignore[no-any-return]

    def snapshot(self, centre_id: int | None = None) -> dict[tuple[str, Any], Any]:
        """Every row now in the database ((table, primary key) -> values), or only
        those of `centre_id` and of what hangs off its records."""
        rows: dict[tuple[str, Any], Any] = {}
        owned: dict[str, set[Any]] = {}
        with self.store.session() as db:
            for table in Base.metadata.sorted_tables:  # parents before children
                pk = [c.name for c in table.primary_key.columns]
                keep = [c.name for c in table.columns]
                for row in db.execute(select(table)).mappings():
                    if centre_id is not None and not _owned(
                        table.name, row, centre_id, owned
                    ):
                        continue
                    key = (table.name, tuple(row[c] for c in pk))
                    rows[key] = {
                        c: row[c]
                        for c in keep
                        if (table.name, c) not in IGNORED_COLUMNS
                    }
        return rows

    def changed_rows(
        self, before: dict[tuple[str, Any], Any], centre_id: int | None = None
    ) -> list[str]:
        """The rows of `before` now missing or different."""
        after = self.snapshot(centre_id)
        out = []
        for key, values in before.items():
            now = after.get(key)
            if now != values:
                out.append(f"{key}: {values!r} -> {now!r}")
        return out


_PARENTS = {
    "centre_id": "centres",
    "resident_id": "residents",
    "session_id": "exercise_sessions",
    "staff_id": "staff",
}


def _owned(table: str, row: Any, centre_id: int, owned: dict[str, set[Any]]) -> bool:
    """Whether a row belongs to `centre_id`'s records: its own `centre_id`, or a
    parent (resident, session, staff) that does. Records its id when it does."""
    mine = False
    if table == "centres":
        mine = row["id"] == centre_id
    for column, parent in _PARENTS.items():
        if column in row and row[column] is not None:
            mine = mine or row[column] in owned.get(parent, set())
    if mine and "id" in row:
        owned.setdefault(table, set()).add(row["id"])
    return mine


def clip_jpegs(count: int, width: int = 320) -> list[bytes]:
    """The first `count` frames of the shared curl clip, `width` wide, as JPEGs
    (skips the calling test without the shared data)."""
    out = encode_video(shared_data_path(*CLIP), width, count)
    assert len(out) == count, f"expected {count} frames of {CLIP}, got {len(out)}"
    return out


def _seed_records(store: Store, ids: dict[str, Any]) -> None:
    """A finished session (reps, a cue, landmarks) and an open fall alert for the
    centre's resident; their ids into `ids`."""
    ids["session_id"] = seed_session(store, ids, exercise_id="squat")
    with store.begin() as db:
        alert = repository.raise_alert(
            db,
            centre_id=ids["centre_id"],
            kiosk_id=ids["kiosk_id"],
            kind="fall",
            live_id=f"earlier-group-{ids['centre_id']}",
            track_id=1,
            seat_number=1,
            resident_id=ids["resident_id"],
            details={"timestamp_ms": 1000},
        )
        ids["alert_id"] = alert.id


def _seed(store: Store) -> tuple[dict[str, Any], dict[str, Any], int]:
    a = seed_centre(store, "Riverside")
    b = seed_centre(store, "Hillside")
    with store.begin() as db:
        admin = repository.create_staff(
            db,
            username=ADMIN,
            password_hash=auth.hash_password(PASSWORD),
            role="admin",
            centre_id=a["centre_id"],
        )
        for centre in (a, b):
            coach = repository.create_staff(
                db,
                username=f"coach-{centre['centre_id']}",
                password_hash=auth.hash_password(PASSWORD),
                role="coach",
                centre_id=centre["centre_id"],
            )
            centre["staff_id"] = coach.id
        admin_id = admin.id
    for centre in (a, b):
        _seed_records(store, centre)
    return a, b, admin_id


@contextlib.contextmanager
def fuzz_server(
    tmp: Path,
    *,
    backend_factory: Callable[[], PoseBackend] | None = None,
    group_backend_factory: Callable[[], PoseBackend] | None = None,
) -> Iterator[FuzzWorld]:
    """The seeded server (see the module docstring) until the block ends.

    Args:
        tmp: Folder for the SQLite file.
        backend_factory: Pose backends of /ws (default: the configured model).
        group_backend_factory: The group screen's backend (default: the model).
    """
    url = f"sqlite:///{tmp / 'records.db'}"
    upgrade_database(url)
    store = Store(url)
    settings = Settings.from_env(kiosk_auth=True, max_sessions=8, db_url=url)
    with pytest.MonkeyPatch.context() as patch:
        # Sign-ins in microseconds (the fuzzer signs in on every example).
        patch.setattr(
            auth,
            "PASSWORD_HASHER",
            PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
        )
        patch.setattr(auth, "_dummy_hash", None)
        a, b, admin_id = _seed(store)
        app = build_app(
            settings,
            recorder=ResumableRecorder(store, wait_for_reps=False),
            store=store,
            backend_factory=backend_factory,
        )
        if group_backend_factory is not None:
            app.state.runtime.group.factory = group_backend_factory
        world = FuzzWorld("", store, settings, a, b, admin_id)
        root = logging.getLogger()
        root.addHandler(world.log)
        try:
            with serve_in_thread(
                app,
                **settings.uvicorn_websocket_options,
                # Keepalive pings draw from the `random` module, which hypothesis
                # watches while it generates (the fuzz runs far below 20 s a socket).
                ws_ping_interval=None,
            ) as port:
                world.url = f"http://127.0.0.1:{port}"
                yield world
        finally:
            root.removeHandler(world.log)
            store.dispose()
