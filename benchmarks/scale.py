"""City-scale benchmark: one process against Ray Serve on the same machine, in one run.

    python -m benchmarks.scale [--video PATH] [--kiosks 1,2,4,8,16] [--fps 15]
                               [--seconds 6] [--batches 1,2,4,8,16] [--provider cpu]
                               [--threads 2] [--exercise bicep_curl]

1. The shared video (default ../shared/data/video/bicep_curl_side.mp4) is JPEG-encoded
   once; kiosks loop it (a kiosk encodes on its own machine; here they only send bytes).
2. Model batch curve: `BatchedPoseModel.infer_batch` in this process on B frames at
   once (tracked, the steady state of a kiosk, and untracked, detector included):
   batch latency, per-frame cost, frames per second, for each B in --batches.
3. One process: `movecoach serve` as the single-process server runs it
   (`server.operations.build_app`: onnx backend, records on SQLite, metrics), as a
   subprocess on a free loopback port.
4. Ray Serve: a local Ray cluster on this machine (loopback only), the app of
   `server.distributed.deployment.build_app` (one ingress replica, one inference
   replica with dynamic batching up to max(--kiosks), records on SQLite).
   Before the kiosks, the deployment's batch curve: B concurrent requests through the
   Serve handle, round latency and the batch sizes Serve formed.
5. For each server and each N in --kiosks: N kiosks (staggered over one frame interval)
   stream at --fps for --seconds over real websockets (`kiosk.client.stream_session`
   via `benchmarks.e2e.run_config`), then close and wait for the summary. Reported:
   frames processed per second (all kiosks), per kiosk, drop rate (latest frame wins),
   p50/p95 latency frame sent -> its `pose` message (the first event about a frame)
   and -> engine events, and for Ray the mean batch size the inference deployment ran.

Both servers run the same ONNX model with the same ORT threads (--threads) on the same
cores, and the kiosks share those cores: the numbers compare the two ways of running
on ONE machine; they are not a GPU measurement (see docs/deployment.md for how to run
this on a GPU box: --provider cuda). `served_15fps_kiosks` per server is the largest N
whose kiosks each got >= 90 % of their frames processed with p95 latency <= 100 ms.

Bounded loops and timeouts only; only 127.0.0.1 is used. Prints a line per
configuration, then the JSON line LAST; writes benchmarks/results/scale.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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


# --- the single-process server (child process) ----------------------------------------


def serve_child(port: int, threads: int, db_url: str, provider: str) -> int:
    """`movecoach serve` as one process, with the onnx backend at `threads` threads."""
    import uvicorn

    from server.operations import build_app, graceful_server
    from server.resume import ResumableRecorder
    from server.settings import Settings
    from server.store import Store
    from vision.backends import create_backend

    settings = Settings.from_env(
        host="127.0.0.1", port=port, backend="onnx", db_url=db_url, max_sessions=64
    )
    store = Store(db_url)
    app = build_app(
        settings,
        recorder=ResumableRecorder(store, wait_for_reps=False),
        store=store,
        backend_factory=lambda: create_backend(
            "onnx", provider=provider, intra_op_threads=threads
        ),
    )
    server = graceful_server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            ws_max_size=settings.transport_max_bytes,
        )
    )
    server.run()
    return 0


def start_single(
    port: int, threads: int, db_url: str, provider: str
) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.scale",
            "--serve-child",
            str(port),
            "--threads",
            str(threads),
            "--db",
            db_url,
            "--provider",
            provider,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    wait_ready(f"http://127.0.0.1:{port}", process)
    return process


def wait_ready(base: str, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            err = (
                process.stderr.read().decode(errors="replace") if process.stderr else ""
            )
            raise SystemExit(f"server exited with {process.returncode}: {err[-2000:]}")
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
    """CPU seconds of this process ("kiosks": the clients) and of every process it
    started, by role (the single-process server; Ray's proxy, ingress, inference
    replicas, and the rest of Ray as "ray_system")."""
    procs = _processes()
    me = os.getpid()
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in procs.items():
        children.setdefault(parent, []).append(pid)
    out = {"kiosks": procs[me][2] if me in procs else time.process_time()}
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


def kiosk_configs(
    base: str,
    exercise: str,
    jpegs: list[bytes],
    kiosks: list[int],
    fps: float,
    seconds: float,
    label: str,
    batches: Any = None,
) -> list[dict[str, Any]]:
    url = base.replace("http://", "ws://") + "/ws"
    rows = []
    for n in kiosks:
        before = batches() if batches else None
        cpu_before, t0 = cpu_by_role(), time.perf_counter()
        result = asyncio.run(run_config(url, exercise, jpegs, n, fps, seconds))
        cpu_after, wall_s = cpu_by_role(), time.perf_counter() - t0
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
        result["processed_fps_total"] = round(processed / seconds, 1)
        result["sent_fps_total"] = round(
            result["frames_sent_per_stream"] * n / seconds, 1
        )
        rows.append(result)
        print(
            f"{label}: {n:2d} kiosks x {fps:g} fps: "
            f"{result['processed_fps_total']:6.1f} frames/s processed "
            f"({result['processed_fps_per_stream']} per kiosk), drop "
            f"{result['drop_rate']:.0%}, latency p50 {result['latency_p50_ms']} / p95 "
            f"{result['latency_p95_ms']} ms"
            + (f", mean batch {result.get('mean_batch_size')}" if batches else ""),
            file=sys.stderr,
            flush=True,
        )
    return rows


def served_kiosks(rows: list[dict[str, Any]], fps: float, seconds: float) -> int:
    """Largest N whose kiosks each got >= 90 % of their frames with p95 <= 100 ms."""
    best = 0
    for row in rows:
        p95 = row["latency_p95_ms"]
        enough = row["frames_processed_min"] >= PROCESSED_SHARE * fps * seconds
        if p95 is not None and p95 <= P95_TARGET_MS and enough and row["errors"] == 0:
            best = max(best, int(row["streams"]))
    return best


# --- main -----------------------------------------------------------------------------


def run_ray(
    jpegs: list[bytes],
    args: argparse.Namespace,
    kiosks: list[int],
    batches: list[int],
    db_url: str,
    exercise: str,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], float]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Ray's pydantic-v1-style fields at import
        import ray
        from ray import serve

    from server.distributed.deployment import APP_NAME, INFERENCE, build_app

    port = free_port()
    t0 = time.perf_counter()
    ray.init(
        num_cpus=os.cpu_count() or 2,
        include_dashboard=False,
        log_to_driver=False,
        _node_ip_address="127.0.0.1",
    )
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        serve.run(
            build_app(
                {
                    "db_url": db_url,
                    "max_sessions": 64,
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
        curve = serve_curve(jpegs, batches)
        for row in curve:
            print(f"ray serve handle: {row}", file=sys.stderr, flush=True)
        handle = serve.get_deployment_handle(INFERENCE, app_name=APP_NAME)

        def batch_sizes() -> dict[str, int]:
            info = handle.health.remote().result(timeout_s=60)
            return {str(k): int(v) for k, v in info["batch_sizes"].items()}

        rows = kiosk_configs(
            base,
            exercise,
            jpegs,
            kiosks,
            args.fps,
            args.seconds,
            "ray serve",
            batch_sizes,
        )
        return curve, rows, startup_s
    finally:
        try:
            serve.shutdown()
        finally:
            ray.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--kiosks", default="1,2,4,8,16")
    parser.add_argument("--batches", default="1,2,4,8,16")
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--exercise", default="bicep_curl")
    parser.add_argument("--provider", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=2, help="ORT intra-op threads")
    parser.add_argument("--batch-wait", type=float, default=0.004)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument(
        "--serve-child", type=int, metavar="PORT", help=argparse.SUPPRESS
    )
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_child is not None:
        return serve_child(args.serve_child, args.threads, args.db, args.provider)
    if not args.video.is_file():
        print(f"skipped: video not found: {args.video}", file=sys.stderr)
        return 0
    kiosks = [int(s) for s in args.kiosks.split(",")]
    batches = [int(s) for s in args.batches.split(",")]
    if not 0 < args.seconds <= 60 or max(kiosks) > 64 or max(batches) > 64:
        raise SystemExit("--seconds must be in (0, 60]; at most 64 kiosks and batch 64")

    jpegs = encode_video(args.video, args.width, MAX_FRAMES)
    load_before = os.getloadavg()
    curve = model_curve(jpegs, batches, args.threads, args.provider)
    for row in curve:
        print(f"model batch: {row}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="movecoach-scale-") as tmp:
        from server.store import upgrade_database

        single_db = f"sqlite:///{Path(tmp) / 'single.db'}"
        upgrade_database(single_db)
        port = free_port()
        t0 = time.perf_counter()
        process = start_single(port, args.threads, single_db, args.provider)
        single_startup_s = time.perf_counter() - t0
        try:
            single = kiosk_configs(
                f"http://127.0.0.1:{port}",
                args.exercise,
                jpegs,
                kiosks,
                args.fps,
                args.seconds,
                "one process",
            )
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        ray_db = f"sqlite:///{Path(tmp) / 'ray.db'}"
        serve_batches, distributed, ray_startup_s = run_ray(
            jpegs, args, kiosks, batches, ray_db, args.exercise
        )

    tracked = [r for r in curve if r["tracked"]]
    best = max(tracked, key=lambda r: r["frames_per_s"])

    def server_cpu(rows: list[dict[str, Any]]) -> dict[str, Any]:
        """CPU per processed frame at the busiest configuration, kiosks excluded."""
        row = max(rows, key=lambda r: r["processed_fps_total"])
        per_role = {
            k: v for k, v in row.get("cpu_ms_per_frame", {}).items() if k != "kiosks"
        }
        return {
            "kiosks": row["streams"],
            "by_role": per_role,
            "total": round(sum(per_role.values()), 2),
        }

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
            "serve_batch_curve": serve_batches,
            "single_process": single,
            "ray_serve": distributed,
            "startup_s": {
                "single_process": round(single_startup_s, 1),
                "ray_serve": round(ray_startup_s, 1),
            },
            "summary": {
                "served_15fps_kiosks_p95_100ms": {
                    "single_process": served_kiosks(single, args.fps, args.seconds),
                    "ray_serve": served_kiosks(distributed, args.fps, args.seconds),
                },
                "peak_processed_fps": {
                    "single_process": max(r["processed_fps_total"] for r in single),
                    "ray_serve": max(r["processed_fps_total"] for r in distributed),
                },
                "server_cpu_ms_per_frame": {
                    "single_process": server_cpu(single),
                    "ray_serve": server_cpu(distributed),
                },
                "model_best_tracked_frames_per_s": best["frames_per_s"],
                "model_best_batch": best["batch"],
                "predicted_kiosks_at_fps_from_model": round(
                    best["frames_per_s"] / args.fps, 1
                ),
            },
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
