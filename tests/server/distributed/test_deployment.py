"""MoveCoach on Ray Serve, end to end on a local Ray cluster (loopback only), with the
real model on the shared curl clip: a kiosk session through the Serve proxy, health per
component, dynamic batching across callers, Ray metrics, a killed ingress replica (no
reported rep lost, the session resumes on reconnect), and two centres' records kept
apart through the API (SQLite, and PostgreSQL where it runs).

One cluster for the whole module (started once, shut down at the end); the app is
redeployed only to switch databases.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from kiosk.client import subprotocols
from server.distributed.batching import BatchedPoseModel, PoseRequest
from server.resume import recorded_rep_counts
from server.schemas import OpenMessage, encode_frame
from server.store import Store, repository, upgrade_database
from server.store.models import ExerciseSession, SessionStatus
from tests.server.store.helpers import pg_database_url  # noqa: F401 (fixture)

ray = pytest.importorskip("ray", reason="the distributed extra (ray[serve]) is absent")
serve = pytest.importorskip("ray.serve")

from server.distributed.deployment import APP_NAME, INFERENCE, INGRESS, build_app  # noqa: E402
from tests.live_server import free_port  # noqa: E402
from tests.server.distributed import clips  # noqa: E402
from tests.server.distributed.clips import (  # noqa: E402
    EXERCISE,
    FRAME_MS,
    REPLY_TIMEOUT_S,
)

pytestmark = [pytest.mark.model, pytest.mark.slow]

PASSWORD = "a long test password"
HAS_RESUME = "resume" in OpenMessage.model_fields  # the ws.py/schemas.py hooks landed


@dataclass
class Centre:
    id: int
    kiosk_token: str
    coach: str


@dataclass
class Deployed:
    base: str  # http://127.0.0.1:PORT
    db_url: str
    centres: tuple[Centre, Centre]
    metrics_port: int

    @property
    def ws(self) -> str:
        return self.base.replace("http://", "ws://") + "/ws"


def seed(db_url: str) -> tuple[Centre, Centre]:
    """Two centres, each with a kiosk and a coach."""
    from server.auth import hash_password

    upgrade_database(db_url)
    store = Store(db_url)
    out = []
    try:
        with store.begin() as db:
            digest = hash_password(PASSWORD)
            for name in ("Riverside", "Hillcrest"):
                centre = repository.create_centre(db, name)
                _, token = repository.create_kiosk(
                    db, centre_id=centre.id, name=f"{name} hall"
                )
                coach = f"coach-{name.lower()}"
                repository.create_staff(
                    db,
                    username=coach,
                    password_hash=digest,
                    role="coach",
                    centre_id=centre.id,
                )
                out.append(Centre(centre.id, token, coach))
    finally:
        store.dispose()
    return out[0], out[1]


@pytest.fixture(scope="module")
def cluster() -> Iterator[dict[str, int]]:
    # Ray reports metrics every 10 s by default; 1 s keeps the metrics test short.
    # (Read when the cluster starts; put back afterwards.)
    saved = os.environ.get("RAY_metrics_report_interval_ms")
    os.environ["RAY_metrics_report_interval_ms"] = "1000"
    ports = {"http": free_port(), "metrics": free_port()}
    try:
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            log_to_driver=False,
            _node_ip_address="127.0.0.1",
            _metrics_export_port=ports["metrics"],
        )
        serve.start(http_options={"host": "127.0.0.1", "port": ports["http"]})
        yield ports
    finally:
        try:
            if ray.is_initialized():
                serve.shutdown()
        finally:
            ray.shutdown()
            _current.clear()
            if saved is None:
                os.environ.pop("RAY_metrics_report_interval_ms", None)
            else:
                os.environ["RAY_metrics_report_interval_ms"] = saved


_current: dict[str, Deployed] = {}


def deploy(ports: dict[str, int], db_url: str) -> Deployed:
    """The app on `db_url` (seeded once), redeployed only when the database changes."""
    found = _current.get("app")
    if found is not None and found.db_url == db_url:
        return found
    if found is not None:
        serve.delete(APP_NAME)
    centres = seed(db_url)
    app = build_app(
        {
            "db_url": db_url,
            "kiosk_auth": "true",
            "intra_op_threads": 1,
            "metrics": "ray",
            "migrate": "true",
        }
    )
    serve.run(app, name=APP_NAME, route_prefix="/")
    deployed = Deployed(
        f"http://127.0.0.1:{ports['http']}", db_url, centres, ports["metrics"]
    )
    _current["app"] = deployed
    return deployed


@pytest.fixture
def app(cluster: dict[str, int], tmp_path_factory: pytest.TempPathFactory) -> Deployed:
    found = _current.get("app")
    if found is not None and found.db_url.startswith("sqlite"):
        return found
    path = tmp_path_factory.mktemp("serve") / "records.db"
    return deploy(cluster, f"sqlite:///{path}")


def get(url: str, token: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=REPLY_TIMEOUT_S) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def login(app: Deployed, username: str) -> str:
    body = json.dumps({"username": username, "password": PASSWORD}).encode()
    request = urllib.request.Request(
        f"{app.base}/api/auth/login", body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=REPLY_TIMEOUT_S) as response:
        return str(json.loads(response.read())["token"])


def lockstep_session(
    app: Deployed,
    token: str,
    jpegs: tuple[bytes, ...],
    *,
    start_ms: int = 1,
    resume: str | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """`clips.lockstep_session` on the deployed app's websocket."""
    return clips.lockstep_session(
        app.ws, token, jpegs, start_ms=start_ms, resume=resume
    )


def record_of(db_url: str, live_id: str, status: SessionStatus) -> ExerciseSession:
    """The recorded session once it has `status` (the recorder writes the end of a
    session on its own thread, just after the summary went out; bounded wait)."""
    store = Store(db_url)
    try:
        deadline = time.monotonic() + REPLY_TIMEOUT_S
        while True:
            with store.session() as db:
                row = repository.find_session_by_live_id(db, live_id)
                assert row is not None
                if row.status == status or time.monotonic() > deadline:
                    db.expunge(row)
                    return row
            time.sleep(0.05)
    finally:
        store.dispose()


# --- the tests ------------------------------------------------------------------------


def test_each_component_reports_health(app: Deployed) -> None:
    assert get(f"{app.base}/health/live") == (200, {"live": True})
    status, ready = get(f"{app.base}/health/ready")
    assert status == 200 and ready["ready"] and ready["backend"] == "onnx@serve"
    status, inference = get(f"{app.base}/health/inference")
    assert status == 200 and inference["ready"]
    deployment = inference["deployment"]
    assert (
        deployment["ready"]
        and deployment["provider"] == "cpu"
        and deployment["replica"]
    )
    status, legacy = get(f"{app.base}/health")
    assert status == 200 and legacy["worker_running"]


def test_a_kiosk_session_through_serve_counts_the_curl(
    app: Deployed, curl_jpegs: tuple[bytes, ...]
) -> None:
    riverside = app.centres[0]
    opened, seen = lockstep_session(app, riverside.kiosk_token, curl_jpegs)
    poses = [m for m in seen if m["type"] == "pose"]
    assert len(poses) == len(curl_jpegs)
    assert sum(p["present"] for p in poses) >= 0.9 * len(curl_jpegs)
    reps = [m for m in seen if m["type"] == "rep_completed"]
    assert [r["count"] for r in reps] == [1]  # CATALOG: one curl
    summary = seen[-1]
    assert summary["summary"]["reps"] == 1
    assert summary["stats"]["processed"] == len(curl_jpegs)
    row = record_of(app.db_url, opened["session_id"], SessionStatus.COMPLETED)
    assert (row.centre_id, row.status) == (riverside.id, SessionStatus.COMPLETED)
    assert recorded_rep_counts(Store(app.db_url), opened["session_id"]) == [1]


def test_frames_of_concurrent_callers_share_batches_and_come_back_to_them(
    app: Deployed, curl_jpegs: tuple[bytes, ...]
) -> None:
    handle = serve.get_deployment_handle(INFERENCE, app_name=APP_NAME)
    picks = [0, 9, 18, 27, 36, 45, 54, 63]
    requests = [PoseRequest(curl_jpegs[i], 5000 + i) for i in picks]
    before = handle.health.remote().result(timeout_s=REPLY_TIMEOUT_S)

    async def all_at_once() -> list[Any]:
        return list(await asyncio.gather(*(handle.infer.remote(r) for r in requests)))

    replies = asyncio.run(all_at_once())
    after = handle.health.remote().result(timeout_s=REPLY_TIMEOUT_S)
    # Each caller got the reply to its own frame ...
    local = BatchedPoseModel()
    try:
        for request, reply in zip(requests, replies, strict=True):
            assert (
                reply.timestamp_ms == request.timestamp_ms and reply.error_code is None
            )
            alone = local.infer_batch([request])[0]
            assert abs(reply.poses.xyz - alone.poses.xyz).max() < 1e-4
    finally:
        local.close()
    # ... and the frames went through in fewer model batches than frames.
    assert after["frames"] - before["frames"] == len(requests)
    assert after["batches"] - before["batches"] < len(requests)
    assert max(r.batch_size for r in replies) > 1


@pytest.mark.skipif(
    not HAS_RESUME, reason="needs the ws.py/schemas.py resume hooks (patch)"
)
def test_a_killed_ingress_replica_loses_no_reported_rep_and_the_session_resumes(
    app: Deployed, curl_jpegs: tuple[bytes, ...]
) -> None:
    from kiosk.resume import stream_resumable_session

    riverside = app.centres[0]
    opened: list[dict[str, Any]] = []

    async def run() -> Any:
        pose, rep = asyncio.Event(), asyncio.Event()

        def on_message(message: dict[str, Any]) -> None:
            kind = message["type"]
            if kind == "pose":
                pose.set()
            elif kind == "rep_completed":
                rep.set()
            elif kind == "opened":
                opened.append(message)

        async def frames() -> Any:
            ts = 1
            for lap in range(2):
                if lap == 1:
                    # The first curl was reported: kill the replica serving the kiosk.
                    await asyncio.wait_for(rep.wait(), REPLY_TIMEOUT_S)
                    await asyncio.to_thread(kill_replica, INGRESS)
                    for _ in range(1200):  # until the kiosk is back (bounded: 120 s)
                        if len(opened) == 2:
                            break
                        await asyncio.sleep(0.1)
                for jpeg in curl_jpegs:
                    pose.clear()
                    yield ts, jpeg
                    ts += FRAME_MS
                    await asyncio.wait_for(pose.wait(), REPLY_TIMEOUT_S)

        return await stream_resumable_session(
            app.ws,
            EXERCISE,
            frames(),
            token=riverside.kiosk_token,
            on_message=on_message,
            reconnect_timeout_s=120,
        )

    report = asyncio.run(run())
    assert report.reconnects == 1 and report.resumed == [True]
    session_id = opened[0]["session_id"]
    assert [o["session_id"] for o in opened] == [session_id, session_id]
    assert opened[1]["resumed_reps"] == 1
    assert [r["count"] for r in report.reps] == [1, 2]
    assert report.summary is not None and report.summary["summary"]["reps"] == 2
    # Every rep the kiosk saw is in the one recorded session, in order.
    assert recorded_rep_counts(Store(app.db_url), session_id) == [1, 2]
    row = record_of(app.db_url, session_id, SessionStatus.COMPLETED)
    assert (row.status, row.centre_id) == (SessionStatus.COMPLETED, riverside.id)


def test_a_killed_inference_replica_costs_frames_not_the_session(
    app: Deployed, curl_jpegs: tuple[bytes, ...]
) -> None:
    """Inference replicas keep no kiosk state: Serve replaces a dead one and the
    session goes on (frames meanwhile wait or fail with `inference_failed`)."""
    from websockets.sync.client import connect

    token = app.centres[0].kiosk_token
    handle = serve.get_deployment_handle(INFERENCE, app_name=APP_NAME)
    before = handle.health.remote().result(timeout_s=REPLY_TIMEOUT_S)["replica"]
    seen: list[dict[str, Any]] = []
    with connect(
        app.ws, subprotocols=subprotocols(token), open_timeout=REPLY_TIMEOUT_S
    ) as ws:
        ws.send(json.dumps({"type": "open", "exercise": EXERCISE}))
        assert json.loads(ws.recv(REPLY_TIMEOUT_S))["type"] == "opened"
        after_kill: list[dict[str, Any]] = []
        for i in range(200):  # bounded: stop once 10 frames came through after the kill
            if i == 10:
                kill_replica(INFERENCE)
            ws.send(encode_frame(1 + i * FRAME_MS, curl_jpegs[i % len(curl_jpegs)]))
            while True:
                message = json.loads(ws.recv(REPLY_TIMEOUT_S))
                seen.append(message)
                if i >= 10:
                    after_kill.append(message)
                if message["type"] in ("pose", "error"):
                    break
            if sum(m["type"] == "pose" for m in after_kill) >= 10:
                break
        ws.send('{"type": "close"}')
        while seen[-1]["type"] != "summary":
            seen.append(json.loads(ws.recv(REPLY_TIMEOUT_S)))
    after = handle.health.remote().result(timeout_s=REPLY_TIMEOUT_S)["replica"]
    assert after != before  # Serve replaced the killed replica mid-session
    errors = {m["code"] for m in seen if m["type"] == "error"}
    assert errors <= {"inference_failed"}
    assert sum(m["type"] == "pose" and m["present"] for m in after_kill) >= 10
    stats = seen[-1]["stats"]
    assert stats["processed"] + stats["rejected"] == stats["received"]
    deadline = time.monotonic() + 60
    while get(f"{app.base}/health/ready")[0] != 200:
        assert time.monotonic() < deadline, "the ingress never became ready again"
        time.sleep(0.5)


def kill_replica(deployment: str) -> None:
    actors = [
        a
        for a in ray.util.list_named_actors(all_namespaces=True)
        if f"#{deployment}#" in a["name"]
    ]
    assert len(actors) == 1, actors
    ray.kill(
        ray.get_actor(actors[0]["name"], namespace=actors[0]["namespace"]),
        no_restart=True,
    )


def test_ray_metrics_count_frames_and_reps(
    app: Deployed, curl_jpegs: tuple[bytes, ...]
) -> None:
    lockstep_session(app, app.centres[0].kiosk_token, curl_jpegs)  # one more rep
    wanted = (
        "ray_movecoach_frames_received_total",
        "ray_movecoach_reps_recorded_total",
        "ray_movecoach_inference_batch_size_count",
    )
    deadline = time.monotonic() + 60
    values: dict[str, float] = {}
    while time.monotonic() < deadline:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{app.metrics_port}/metrics", timeout=10
        ) as r:
            text = r.read().decode()
        values = {}
        for line in text.splitlines():
            name = line.split("{", 1)[0]
            if name in wanted:
                values[name] = values.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
        if (
            len(values) == len(wanted)
            and values["ray_movecoach_reps_recorded_total"] >= 1
        ):
            break
        time.sleep(1)
    assert values["ray_movecoach_frames_received_total"] >= len(curl_jpegs)
    assert values["ray_movecoach_reps_recorded_total"] >= 1
    assert values["ray_movecoach_inference_batch_size_count"] >= 1


def two_centres_never_mix(app: Deployed, jpegs: tuple[bytes, ...]) -> None:
    riverside, hillcrest = app.centres
    short = jpegs[:5]
    opened_a, _ = lockstep_session(app, riverside.kiosk_token, short)
    opened_b, _ = lockstep_session(app, hillcrest.kiosk_token, short)
    if HAS_RESUME:  # a kiosk cannot attach to another centre's session
        hijack, _ = lockstep_session(
            app,
            riverside.kiosk_token,
            short,
            start_ms=10_000,
            resume=opened_b["session_id"],
        )
        assert hijack["session_id"] != opened_b["session_id"]
        assert hijack.get("resumed_reps") is None
    store = Store(app.db_url)
    try:
        with store.session() as db:
            from sqlalchemy import select

            truth = {
                centre.id: {
                    s.id
                    for s in db.scalars(
                        select(ExerciseSession).where(
                            ExerciseSession.centre_id == centre.id
                        )
                    )
                }
                for centre in app.centres
            }
            id_b = repository.find_session_by_live_id(db, opened_b["session_id"]).id
            id_a = repository.find_session_by_live_id(db, opened_a["session_id"]).id
    finally:
        store.dispose()
    assert id_a in truth[riverside.id] and id_b in truth[hillcrest.id]
    for centre, other_session in ((riverside, id_b), (hillcrest, id_a)):
        token = login(app, centre.coach)
        status, listing = get(f"{app.base}/api/sessions?limit=500", token)
        assert status == 200
        listed = {s["id"] for s in listing["sessions"]}
        assert listed == truth[centre.id]  # all its own, none of the other's
        assert {s["centre_id"] for s in listing["sessions"]} == {centre.id}
        status, _ = get(f"{app.base}/api/sessions/{other_session}", token)
        assert status in (403, 404)
        other = hillcrest.id if centre is riverside else riverside.id
        status, _ = get(f"{app.base}/api/sessions?centre_id={other}", token)
        assert status == 403


def test_two_centres_never_mix_through_the_api_sqlite(
    app: Deployed, curl_jpegs: tuple[bytes, ...]
) -> None:
    two_centres_never_mix(app, curl_jpegs)


@pytest.mark.postgres
def test_two_centres_never_mix_through_the_api_postgresql(
    cluster: dict[str, int],
    pg_database_url: str,  # noqa: F811 (the fixture)
    curl_jpegs: tuple[bytes, ...],
) -> None:
    from tests.server.store.helpers import _empty_postgres

    _empty_postgres(pg_database_url)
    app = deploy(cluster, pg_database_url)
    two_centres_never_mix(app, curl_jpegs)
