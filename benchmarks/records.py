"""Records store on the live path: how long the event loop waits for a durable rep,
and what landmark chunks cost.

`python -m benchmarks.records [--reps N] [--pg URL]`

Per backend (SQLite file with WAL + synchronous=FULL; PostgreSQL when reachable):
- rep commit: `DatabaseRecorder.on_event(RepCompleted)` wall time (the loop blocks this
  long per rep with `wait_for_reps=True`), p50/p95;
- chunk: encoding 2 s of landmarks (60 frames) as float16 npz, and encode + insert;
- replay: loading a 10-minute recording (18,000 frames) back as one window.
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._report import emit, percentiles_ms
from exercises.events import RepCompleted
from server.recording import SessionInfo
from server.store import DatabaseRecorder, Store, repository, upgrade_database
from server.store.landmarks import encode_chunk
from vision.types import PoseWindow


def _window(frames: int, start_ms: int = 0) -> PoseWindow:
    rng = np.random.default_rng(0)
    return PoseWindow(
        rng.random((frames, 33, 3), dtype=np.float32),
        rng.random((frames, 33), dtype=np.float32),
        np.arange(start_ms, start_ms + frames * 33, 33, dtype=np.int64)[:frames],
    )


def _measure(url: str, reps: int) -> dict[str, Any]:
    upgrade_database(url)
    store = Store(url)
    recorder = DatabaseRecorder(store)
    try:
        with store.begin() as db:
            centre = repository.create_centre(db, f"bench-{secrets.token_hex(3)}")
            resident = repository.create_resident(
                db, centre_id=centre.id, member_code="B-1", display_name="Bench"
            )
        recorder.default_centre_id = centre.id
        live = secrets.token_hex(8)
        recorder.on_open(
            SessionInfo(live, "squat", "en", False, "B-1", datetime.now(UTC))
        )
        recorder.flush()
        commit_s = []
        for count in range(1, reps + 1):
            event = RepCompleted(
                count * 2000, count, 80.0, {"knee": 81.0}, 1900, {"knee": 92.0}
            )
            started = time.perf_counter()
            recorder.on_event(live, event)
            commit_s.append(time.perf_counter() - started)
        chunk = _window(60)
        encode_s, append_s = [], []
        with store.session() as db:
            sid = repository.start_session(
                db, exercise_id="squat", language="en", resident_id=resident.id
            ).id
            db.commit()
        for i in range(50):
            started = time.perf_counter()
            encode_chunk(chunk.xyz, chunk.visibility, chunk.timestamp_ms)
            encode_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            with store.begin() as db:
                repository.append_landmarks(db, sid, _window(60, i * 2000))
            append_s.append(time.perf_counter() - started)
        with store.begin() as db:
            long_sid = repository.start_session(
                db, exercise_id="squat", language="en", resident_id=resident.id
            ).id
            for i in range(300):  # 10 minutes of 2 s chunks
                repository.append_landmarks(db, long_sid, _window(60, i * 2000))
        load_s = []
        for _ in range(5):
            started = time.perf_counter()
            with store.session() as db:
                window = repository.load_landmarks(db, long_sid)
            load_s.append(time.perf_counter() - started)
        assert window is not None and len(window) == 18_000
        chunk_bytes = len(encode_chunk(chunk.xyz, chunk.visibility, chunk.timestamp_ms))
        return {
            "rep_commit": percentiles_ms(commit_s),
            "chunk_encode": percentiles_ms(encode_s),
            "chunk_append": percentiles_ms(append_s),
            "chunk_bytes_60_frames": chunk_bytes,
            "replay_load_10min": percentiles_ms(load_s),
        }
    finally:
        recorder.close()
        store.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument(
        "--pg",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        help="PostgreSQL admin URL (a scratch database is created and dropped)",
    )
    args = parser.parse_args()
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        result["sqlite"] = _measure(f"sqlite:///{Path(tmp) / 'bench.db'}", args.reps)
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
    name = f"movecoach_bench_{secrets.token_hex(4)}"
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        result["postgresql"] = {"skipped": str(exc.orig)}
    else:
        try:
            url = admin.url.set(database=name).render_as_string(hide_password=False)
            result["postgresql"] = _measure(url, args.reps)
        finally:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
    emit("records", result)


if __name__ == "__main__":
    main()
