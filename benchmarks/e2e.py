"""End-to-end kiosk benchmark: N simulated kiosks stream a real video over real
websockets on loopback to a real `movecoach serve` process.

    python -m benchmarks.e2e [--video PATH] [--streams 1,2,4,8] [--fps 15,30]
                             [--seconds 8] [--exercise ID] [--width 640]

1. Frames of the video are scaled to `--width` and JPEG-encoded once, up front (a kiosk
   encodes on its own machine; here the clients share the server's CPU, so they only
   send bytes).
2. Raw model inference is measured in this process on the same JPEGs while nothing
   else of ours runs ("quiet raw"): MediaPipe's `PoseLandmarker.detect_for_video`, the
   one call every frame funnels into (as `benchmarks/pose.py` does).
3. The server runs as a subprocess on a free loopback port: `create_app` under uvicorn
   as `movecoach serve` builds it, with that same model call timed in the server too.
   For each fps and each N, N clients (staggered by 1/N of a frame interval) stream for
   `--seconds` at that rate through `kiosk.client.stream_session`, then close and wait
   for the summary.

Per configuration it reports: frame-to-event latency (a frame's send -> its `pose`
message, the first thing the server says about it; engine events too where any came),
frames processed per stream and per second, frames dropped by the server's
latest-frame-wins rule, and the server's own time per processed frame (`inference_ms` +
`engine_ms` from the `pose` messages: JPEG decode, colour conversion, model, subject
selection, engine; `engine_ms_p50/p95` alone: the session's `feed`).
`overhead_ratio` = p50 server time per frame / p50 model time in the server over the
same frames under the same load; `overhead_vs_quiet_raw` divides by the quiet raw p50
instead (it also counts the slowdown from sharing 2 cores with the clients and the
event loop).

Targets (2 cores): one stream at 30 fps with p95 latency <= 50 ms; overhead <= 1.10.
Every loop is bounded (frame counts, timeouts); only 127.0.0.1 is used.
Prints a line per configuration, then the JSON line LAST; writes
benchmarks/results/e2e.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Final

import cv2
import numpy as np

from benchmarks._report import emit
from kiosk.client import SessionReport, stream_session
from vision.backends import create_backend

ROOT: Final[Path] = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO: Final[Path] = (
    ROOT.parent / "shared" / "data" / "video" / "mrpose_air_squat.mp4"
)
LATENCY_P95_TARGET_MS: Final[float] = 50.0
OVERHEAD_TARGET: Final[float] = 1.10
MAX_FRAMES: Final[int] = 300  # frames encoded from the video (looped while streaming)
RAW_FRAMES: Final[int] = 120
START_TIMEOUT_S: Final[float] = 120.0


def pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 2) if values else None


def encode_video(path: Path, width: int, limit: int) -> list[bytes]:
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise SystemExit(f"cannot open video {path}")
    out: list[bytes] = []
    try:
        while len(out) < limit:
            ok, image = capture.read()
            if not ok:
                break
            h, w = image.shape[:2]
            if w > width:
                image = cv2.resize(
                    image, (width, round(h * width / w)), interpolation=cv2.INTER_AREA
                )
            out.append(
                cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes()
            )
    finally:
        capture.release()
    if not out:
        raise SystemExit(f"no frames decoded from {path}")
    return out


def measure_raw_inference(jpegs: list[bytes], backend_name: str) -> dict[str, Any]:
    """Raw model time (detect_for_video) and backend.detect on decoded frames."""
    backend = create_backend(backend_name)
    raw: list[float] = []
    landmarker = getattr(backend, "_landmarker", None)
    hooked = landmarker is not None and hasattr(landmarker, "detect_for_video")
    if hooked:
        original = landmarker.detect_for_video

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                raw.append((time.perf_counter() - t0) * 1000)

        landmarker.detect_for_video = timed
    detect: list[float] = []
    decode: list[float] = []
    try:
        for i in range(min(RAW_FRAMES, len(jpegs) * 4)):
            t0 = time.perf_counter()
            image = cv2.imdecode(
                np.frombuffer(jpegs[i % len(jpegs)], np.uint8), cv2.IMREAD_COLOR
            )
            t1 = time.perf_counter()
            backend.detect(image, 1 + i * 33)
            t2 = time.perf_counter()
            decode.append((t1 - t0) * 1000)
            detect.append((t2 - t1) * 1000)
    finally:
        if hooked:
            with contextlib.suppress(AttributeError):
                delattr(landmarker, "detect_for_video")
        backend.close()
    skip = 5  # the first frames build the graph and run the detector
    return {
        "raw_model_stage": "mediapipe PoseLandmarker.detect_for_video"
        if hooked
        else f"{backend_name} backend.detect",
        "raw_model_p50_ms": pct((raw or detect)[skip:], 50),
        "raw_model_p95_ms": pct((raw or detect)[skip:], 95),
        "backend_detect_p50_ms": pct(detect[skip:], 50),
        "jpeg_decode_p50_ms": pct(decode[skip:], 50),
        "frames": len(detect) - skip,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get_json(url: str, timeout_s: float = 2.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout_s) as response:  # loopback only
        return json.loads(response.read())


class _ModelClock:
    """Times every `detect_for_video` of the backends it built (server process)."""

    def __init__(self, backend_name: str) -> None:
        self.backend_name = backend_name
        self.samples_ms: list[float] = []

    def factory(self) -> Any:
        backend = create_backend(self.backend_name)
        landmarker = getattr(backend, "_landmarker", None)
        if landmarker is not None and hasattr(landmarker, "detect_for_video"):
            original = landmarker.detect_for_video

            def timed(*args: Any, **kwargs: Any) -> Any:
                t0 = time.perf_counter()
                try:
                    return original(*args, **kwargs)
                finally:
                    self.samples_ms.append((time.perf_counter() - t0) * 1000)

            landmarker.detect_for_video = timed
        return backend

    def take(self) -> list[float]:
        samples, self.samples_ms = self.samples_ms, []
        return samples


def serve_child(port: int, backend_name: str) -> int:
    """The server process: `create_app` under uvicorn as `movecoach serve` runs it, with
    the model call timed so the overhead is measured on the same frames, same load."""
    import uvicorn

    from server.app import create_app
    from server.settings import Settings

    settings = Settings.from_env(host="127.0.0.1", port=port, backend=backend_name)
    clock = _ModelClock(backend_name)
    app = create_app(settings, backend_factory=clock.factory)

    @app.get("/bench/model_ms")
    async def model_ms() -> list[float]:
        return clock.take()

    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        **settings.uvicorn_websocket_options,
    )
    return 0


def start_server(
    port: int, max_sessions: int, backend_name: str
) -> subprocess.Popen[bytes]:
    env = dict(os.environ, MOVECOACH_MAX_SESSIONS=str(max_sessions))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.e2e",
            "--serve-child",
            str(port),
            "--backend",
            backend_name,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = (
                process.stderr.read().decode(errors="replace") if process.stderr else ""
            )
            raise SystemExit(f"server exited with {process.returncode}: {err[-2000:]}")
        with contextlib.suppress(OSError, ValueError):
            if get_json(f"http://127.0.0.1:{port}/health").get("ready"):
                return process
        time.sleep(0.25)
    process.kill()
    raise SystemExit(f"server not ready within {START_TIMEOUT_S:.0f} s")


async def paced(
    jpegs: list[bytes], fps: float, seconds: float, delay_s: float
) -> AsyncIterator[tuple[int, bytes]]:
    await asyncio.sleep(delay_s)
    interval = 1.0 / fps
    start = time.perf_counter()
    for i in range(int(seconds * fps)):
        wait = start + i * interval - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        yield 1 + round(i * 1000 / fps), jpegs[i % len(jpegs)]


async def run_config(
    url: str,
    exercise: str,
    jpegs: list[bytes],
    streams: int,
    fps: float,
    seconds: float,
) -> dict[str, Any]:
    server_ms: list[float] = []
    processing_ms: list[float] = []
    engine_ms: list[float] = []

    def collector() -> Callable[[dict[str, Any]], None]:
        def on_message(message: dict[str, Any]) -> None:
            if message.get("type") == "pose":
                server_ms.append(message["inference_ms"] + message["engine_ms"])
                engine_ms.append(message["engine_ms"])
                processing_ms.append(message["processing_ms"])

        return on_message

    interval = 1.0 / fps
    reports: list[SessionReport] = await asyncio.gather(
        *(
            stream_session(
                url,
                exercise,
                paced(jpegs, fps, seconds, k * interval / streams),
                on_message=collector(),
                drain_timeout_s=30,
            )
            for k in range(streams)
        )
    )
    latency = [x for r in reports for x in r.latency_ms]
    event_latency = [x for r in reports for x in r.event_latency_ms]
    stats = [r.summary["stats"] if r.summary else (r.last_stats or {}) for r in reports]
    processed = [s.get("processed", 0) for s in stats]
    dropped = [s.get("dropped", 0) for s in stats]
    received = [s.get("received", 0) for s in stats]
    return {
        "streams": streams,
        "fps": fps,
        "seconds": seconds,
        "engine_ms_p50": pct(engine_ms, 50),
        "engine_ms_p95": pct(engine_ms, 95),
        "frames_sent_per_stream": statistics.fmean(r.frames_sent for r in reports),
        "frames_processed_per_stream": statistics.fmean(processed),
        "frames_processed_min": min(processed),
        "processed_fps_per_stream": round(statistics.fmean(processed) / seconds, 2),
        "frames_dropped_per_stream": statistics.fmean(dropped),
        "drop_rate": round(sum(dropped) / max(1, sum(received)), 4),
        "latency_p50_ms": pct(latency, 50),
        "latency_p95_ms": pct(latency, 95),
        "event_latency_p50_ms": pct(event_latency, 50),
        "event_latency_p95_ms": pct(event_latency, 95),
        "events": sum(len(r.events) for r in reports),
        "errors": sum(len(r.errors) for r in reports),
        "server_ms_p50": pct(server_ms, 50),
        "server_ms_p95": pct(server_ms, 95),
        "processing_ms_p50": pct(processing_ms, 50),
        "summaries": sum(r.summary is not None for r in reports),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--streams", default="1,2,4,8")
    parser.add_argument("--fps", default="15,30")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument(
        "--exercise", default=None, help="exercise id (default: squat, else the first)"
    )
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--backend", default="mediapipe")
    parser.add_argument(
        "--serve-child", type=int, metavar="PORT", help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.serve_child is not None:
        return serve_child(args.serve_child, args.backend)
    if not args.video.is_file():
        print(f"skipped: video not found: {args.video}", file=sys.stderr)
        return 0
    streams = [int(s) for s in args.streams.split(",")]
    rates = [float(f) for f in args.fps.split(",")]
    if not 0 < args.seconds <= 120 or max(streams) > 32:
        raise SystemExit("--seconds must be in (0, 120] and at most 32 streams")

    jpegs = encode_video(args.video, args.width, MAX_FRAMES)
    raw = measure_raw_inference(jpegs, args.backend)
    print(
        f"raw model: p50 {raw['raw_model_p50_ms']} ms ({raw['raw_model_stage']}), "
        f"JPEG decode p50 {raw['jpeg_decode_p50_ms']} ms",
        file=sys.stderr,
    )

    port = free_port()
    server = start_server(port, max(streams), args.backend)
    configs: list[dict[str, Any]] = []
    try:
        catalogue = [
            e["id"] for e in get_json(f"http://127.0.0.1:{port}/api/exercises")
        ]
        exercise = args.exercise or ("squat" if "squat" in catalogue else catalogue[0])
        url = f"ws://127.0.0.1:{port}/ws"
        for fps in rates:
            for n in streams:
                get_json(f"http://127.0.0.1:{port}/bench/model_ms")  # reset
                result = asyncio.run(
                    run_config(url, exercise, jpegs, n, fps, args.seconds)
                )
                model = get_json(f"http://127.0.0.1:{port}/bench/model_ms")
                result["server_model_ms_p50"] = pct(model, 50)
                result["server_model_ms_p95"] = pct(model, 95)
                if result["server_ms_p50"] and result["server_model_ms_p50"]:
                    result["overhead_ratio"] = round(
                        result["server_ms_p50"] / result["server_model_ms_p50"], 3
                    )
                if result["server_ms_p50"] and raw["raw_model_p50_ms"]:
                    result["overhead_vs_quiet_raw"] = round(
                        result["server_ms_p50"] / raw["raw_model_p50_ms"], 3
                    )
                configs.append(result)
                print(
                    f"{n} x {fps:g} fps: latency p50 {result['latency_p50_ms']} / "
                    f"p95 {result['latency_p95_ms']} ms, processed "
                    f"{result['processed_fps_per_stream']} fps/stream, drop rate "
                    f"{result['drop_rate']:.1%}, "
                    f"server {result['server_ms_p50']} ms/frame "
                    f"vs model {result['server_model_ms_p50']} ms "
                    f"(x{result.get('overhead_ratio')}; "
                    f"x{result.get('overhead_vs_quiet_raw')} vs quiet raw)",
                    file=sys.stderr,
                )
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
    one30 = next((c for c in configs if c["streams"] == 1 and c["fps"] == 30), None)
    emit(
        "e2e",
        {
            "video": str(args.video),
            "exercise": exercise,
            "width": args.width,
            "cpu_count": os.cpu_count(),
            "raw": raw,
            "configs": configs,
            "targets": {
                "one_stream_30fps_p95_ms": LATENCY_P95_TARGET_MS,
                "overhead_ratio": OVERHEAD_TARGET,
            },
            "one_stream_30fps_p95_ms": one30["latency_p95_ms"] if one30 else None,
            "one_stream_30fps_overhead": one30.get("overhead_ratio") if one30 else None,
            "meets_latency_target": bool(
                one30
                and one30["latency_p95_ms"] is not None
                and one30["latency_p95_ms"] <= LATENCY_P95_TARGET_MS
            ),
            "meets_overhead_target": bool(
                one30
                and one30.get("overhead_ratio") is not None
                and one30["overhead_ratio"] <= OVERHEAD_TARGET
            ),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
