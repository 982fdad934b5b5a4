"""A real records server for the browser tests: uvicorn in a thread, the real pose
model, a SQLite records store with a centre, staff, a kiosk (authenticated) and a
resident, the resident's earlier weeks built from real Pose Trainer curls run through
the engine, and a real session streamed from the shared curl video."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from exercises.analysis import analyze
from server import auth
from server.app import create_app
from server.settings import Settings
from server.store import DatabaseRecorder, Store, repository, upgrade_database
from tests.conftest import shared_data_path
from tests.live_server import free_port, serve_in_thread
from vision.backends import create_backend
from vision.types import PoseWindow, Skeleton

__all__ = [
    "ADMIN",
    "COACH",
    "MEMBER_CODE",
    "PASSWORD",
    "RecordsServer",
    "posetrainer",
    "records_server",
    "stream_video",
]

COACH = "mei"
ADMIN = "root"
PASSWORD = "coach-pass-123"
MEMBER_CODE = "RI-001"
CLIP = "bicep_curl_side"


def posetrainer(path: Path, fps: float = 30.0) -> PoseWindow:
    """OpenPose-18 pixels -> image units, one scale for both axes."""
    raw = np.load(path)
    detected = raw[..., 2] > 0.1
    xy = raw[..., :2].astype(np.float64)
    scale = 1.05 * max(xy[..., 0][detected].max(), xy[..., 1][detected].max())
    xyz = np.zeros(raw.shape, np.float32)
    xyz[..., :2] = xy / scale
    xyz[~detected] = np.nan
    ts = np.round(np.arange(len(raw)) * 1000.0 / fps).astype(np.int64)
    return PoseWindow(
        np.ascontiguousarray(xyz), detected.astype(np.float32), ts, Skeleton.OPENPOSE_18
    )


@dataclass
class RecordsServer:
    url: str
    store: Store
    recorder: DatabaseRecorder
    ids: dict[str, Any] = field(default_factory=dict)

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/ws"


def _seed(store: Store) -> dict[str, Any]:
    with store.begin() as db:
        centre = repository.create_centre(db, "Riverside")
        other = repository.create_centre(db, "Hillside")
        resident = repository.create_resident(
            db,
            centre_id=centre.id,
            member_code=MEMBER_CODE,
            display_name="Lin Mei",
            birth_year=1950,
            sex="female",
        )
        kiosk, token = repository.create_kiosk(db, centre_id=centre.id, name="Hall 1")
        for username, role, centre_id in (
            (COACH, "coach", centre.id),
            (ADMIN, "admin", centre.id),
        ):
            repository.create_staff(
                db,
                username=username,
                password_hash=auth.hash_password(PASSWORD),
                role=role,
                centre_id=centre_id,
                display_name=username.title(),
            )
        return {
            "centre_id": centre.id,
            "other_centre_id": other.id,
            "resident_id": resident.id,
            "kiosk_id": kiosk.id,
            "kiosk_token": token,
        }


def _seed_history(store: Store, ids: dict[str, Any]) -> list[int]:
    """Three earlier weeks of curls: real Pose Trainer recordings through the engine,
    dated one, two and three weeks back (the dates are the only made-up part)."""
    root = shared_data_path("posetrainer-dev", "bicep")
    clips = [
        root / "bicep_bad_5.npy",
        root / "bicep_good_1.npy",
        root / "bicep_good_5.npy",
    ]
    made = []
    now = repository.utcnow()
    for weeks_back, clip in zip((3, 2, 1), clips, strict=True):
        window = posetrainer(clip)
        result = analyze(window, "bicep_curl")
        started = now - timedelta(weeks=weeks_back)
        with store.begin() as db:
            session = repository.start_session(
                db,
                exercise_id="bicep_curl",
                language="zh-CN",
                resident_id=ids["resident_id"],
                kiosk_id=ids["kiosk_id"],
                centre_id=ids["centre_id"],
                started_at=started,
            )
            for event in result.events:
                repository.record_event(db, session.id, event)
            repository.append_landmarks(db, session.id, window)
            repository.finish_session(
                db, session.id, ended_at=started + timedelta(minutes=2)
            )
            made.append(session.id)
    with store.begin() as db:  # two fitness assessments, as their protocol stores them
        for weeks_back, value, percentile in ((3, 11.0, 40.0), (1, 13.0, 55.0)):
            repository.add_assessment(
                db,
                resident_id=ids["resident_id"],
                protocol_id="chair_stand_30s",
                value=value,
                unit="{repetitions}",
                percentile=percentile,
                band="normal",
                taken_at=now - timedelta(weeks=weeks_back, hours=1),
            )
    return made


def records_server(
    tmp: Path, *, demo_video: Path | None = None
) -> Iterator[RecordsServer]:
    """Start the server (generator: yields once, stops it after)."""
    url = f"sqlite:///{tmp / 'records.db'}"
    upgrade_database(url)
    store = Store(url)
    ids = _seed(store)
    ids["history_sessions"] = _seed_history(store, ids)
    port = free_port()
    settings = Settings(
        host="127.0.0.1", port=port, db_url=url, kiosk_auth=True, demo_video=demo_video
    )
    recorder = DatabaseRecorder(store, wait_for_reps=False)
    app = create_app(
        settings,
        backend_factory=lambda: create_backend("mediapipe"),
        recorder=recorder,
        store=store,
    )
    with serve_in_thread(app, port, **settings.uvicorn_websocket_options):
        yield RecordsServer(f"http://127.0.0.1:{port}", store, recorder, ids)


def _video_jpegs(path: Path, width: int = 640) -> list[bytes]:
    capture = cv2.VideoCapture(str(path))
    out = []
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        h, w = bgr.shape[:2]
        if w > width:
            bgr = cv2.resize(bgr, (width, round(h * width / w)))
        out.append(
            cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes()
        )
    capture.release()
    return out


async def _paced(
    jpegs: list[bytes], loops: int, fps: float
) -> AsyncIterator[tuple[int, bytes]]:
    """The clip `loops` times in a row at `fps` in real time, like a looping camera."""
    start = time.perf_counter()
    n = 0
    for _ in range(loops):
        for jpeg in jpegs:
            due = start + n / fps
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            yield 1000 + round(n * 1000 / fps), jpeg
            n += 1


def stream_video(
    server: RecordsServer,
    *,
    exercise: str = "bicep_curl",
    loops: int = 3,
    resident: str | None = MEMBER_CODE,
    video: Path | None = None,
) -> Any:
    """Stream the shared curl video through the websocket (with the kiosk's token);
    returns the client's `SessionReport` once the recorder wrote everything."""
    from kiosk.client import stream_session

    clip = video or shared_data_path("video", f"{CLIP}.mp4")
    jpegs = _video_jpegs(clip)
    report = asyncio.run(
        stream_session(
            server.ws_url,
            exercise,
            _paced(jpegs, loops, 30.0),
            lang="en",
            resident=resident,
            token=server.ids["kiosk_token"],
        )
    )
    server.recorder.flush(30)
    return report
