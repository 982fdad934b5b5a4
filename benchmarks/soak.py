"""Soak benchmark: 8 kiosks stream real clips at 15 fps for 10 minutes against a real
`movecoach serve` process (SQLite records) while one more client sends fuzz.

    python -m benchmarks.soak [--minutes 10] [--kiosks 8] [--fps 15] [--load 0.6]
                              [--video-dir ../shared/data/video] [--width 640]

0. The model alone: the default backend decodes and runs the kiosks' clip frames
   one after another for `CAPACITY_S` in this process, before the server starts (same
   machine, same run): its frames per second are what one inference worker can serve.
   The kiosks are then paced **within capacity**: each sends
   min(--fps, --load x capacity / kiosks) frames a second (a 2-core machine serves
   about 25 frames a second in all, not 8 x 15); the output says so.

1. `movecoach serve` (the command, default backend, records in a fresh SQLite file,
   `MOVECOACH_MAX_SESSIONS` = kiosks + 2, JSON-lines log) on a free loopback port.
2. Each kiosk loops one shared clip (JPEG-encoded once up front, as
   `benchmarks.e2e` does) and runs one exercise session per minute through
   `kiosk.client.stream_session` (open, frames at --fps, close, summary), so every
   minute is a round of sessions with its own numbers. Kiosks start staggered over one
   frame interval.
3. Beside them one client plays hypothesis-generated hostile scripts on /ws
   (`benchmarks.wire_fuzz`, frame by frame) for the whole run.

Reported per minute: the server's RSS (VmRSS of the process) at the end of the minute
and the most it reached in it (sampled every `RSS_SAMPLE_S`), p50/p95 latency of a
kiosk frame (sent -> its `pose` message), the worst kiosk's p95, frames processed per
second per kiosk (served fps), errors sent to kiosks, kiosk sessions that failed, fuzz
messages sent. At the end: rows lost (reps the kiosks were told in `rep_completed`
messages vs rep rows stored for their sessions), server log lines at ERROR or above,
RSS growth after the first minute, and whether the targets held: RSS growth <= 10 %,
p95 <= 100 ms per kiosk frame (within capacity, above; the served fps says whether
the kiosks got what they sent), zero rows lost, zero server errors. Prints a line
per minute, then the JSON line LAST; writes benchmarks/results/soak.json.

Every loop is bounded (minutes, frame counts, timeouts); only 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any, Final

from benchmarks._report import emit
from benchmarks.e2e import encode_video, free_port, paced, pct
from benchmarks.scale import wait_ready
from benchmarks.wire_fuzz import (
    Corpus,
    kiosk_scripts,
    play,
)
from kiosk.client import SessionReport, stream_session

ROOT: Final[Path] = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO_DIR: Final[Path] = ROOT.parent / "shared" / "data" / "video"
CLIPS: Final[tuple[tuple[str, str], ...]] = (
    ("mrpose_air_squat.mp4", "squat"),
    ("bicep_curl_side.mp4", "bicep_curl"),
    ("mrpose_jumping_jacks.mp4", "jumping_jack"),
    ("noor_lateral_raise.mp4", "lateral_raise"),
    ("ksh_front_raise.mp4", "front_raise"),
    ("wahoo_lunges.mp4", "lunge"),
    ("wahoo_wall_push_ups.mp4", "wall_push_up"),
    ("sds_sit_to_stand_walk.mp4", "sit_to_stand"),
)
"""(clip, exercise) per kiosk, in turn."""
MAX_FRAMES: Final[int] = 300  # per clip, looped
ROUND_S: Final[float] = 60.0
RSS_GROWTH_TARGET: Final[float] = 0.10
P95_TARGET_MS: Final[float] = 100.0
FUZZ_BATCH: Final[int] = 10  # scripts per hypothesis run of the fuzz client
CAPACITY_S: Final[float] = 10.0
"""How long the model alone is timed (after `CAPACITY_WARM_FRAMES`)."""
CAPACITY_WARM_FRAMES: Final[int] = 10
DEFAULT_LOAD: Final[float] = 0.6
"""Share of the model-alone rate the kiosks offer: the rest is the server's own work
(websockets, engines, records), the fuzz client's frames and this process."""
RSS_SAMPLE_S: Final[float] = 5.0


def model_capacity_fps(jpegs: list[bytes], seconds: float = CAPACITY_S) -> float:
    """Frames per second the default pose backend serves alone on this machine:
    decode + model + subject selection, one frame after another (as the server's one
    inference worker runs them)."""
    from server.inference import decode_jpeg, select_subject
    from server.settings import Settings
    from vision.backends import create_backend

    backend = create_backend(Settings().backend)
    try:
        ts = 0
        for jpeg in jpegs[:CAPACITY_WARM_FRAMES]:
            ts += 33
            select_subject(backend.detect(decode_jpeg(jpeg), ts))
        frames, started = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - started) < seconds:
            ts += 33
            jpeg = jpegs[frames % len(jpegs)]
            select_subject(backend.detect(decode_jpeg(jpeg), ts))
            frames += 1
        return frames / elapsed
    finally:
        backend.close()


class RssSampler(threading.Thread):
    """The server's RSS every `RSS_SAMPLE_S`; `take_max()` gives the most since the
    last call."""

    def __init__(self, pid: int) -> None:
        super().__init__(name="soak-rss", daemon=True)
        self.pid = pid
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._max: float | None = None

    def run(self) -> None:
        while not self.stop.wait(RSS_SAMPLE_S):
            rss = rss_mb(self.pid)
            with self._lock:
                if rss is not None and (self._max is None or rss > self._max):
                    self._max = rss

    def take_max(self, also: float | None) -> float | None:
        with self._lock:
            top, self._max = self._max, None
        values = [v for v in (top, also) if v is not None]
        return max(values) if values else None


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process (Linux /proc), MB; None where unreadable."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def start_server(
    port: int, db_url: str, sessions: int, log: Path
) -> subprocess.Popen[bytes]:
    """`movecoach serve` as its own process (`python -m server.cli`), log to `log`."""
    env = dict(os.environ, MOVECOACH_MAX_SESSIONS=str(sessions), PYTHONUNBUFFERED="1")
    out = log.open("ab")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "server.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--db",
            db_url,
            "--log-format",
            "json",
        ],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    out.close()
    wait_ready(f"http://127.0.0.1:{port}", process)
    return process


def server_errors(log: Path) -> list[str]:
    """Log lines at ERROR or above, and tracebacks outside the JSON lines."""
    out = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            if "Traceback" in line:
                out.append(line)
            continue
        if isinstance(entry, dict) and entry.get("level") in ("error", "critical"):
            out.append(f"{entry.get('logger')}: {entry.get('message')}")
    return out


def stored_reps(db_url: str, session_ids: list[str]) -> dict[str, int]:
    """Rep rows per live session id."""
    from sqlalchemy import func, select

    from server.store import Store
    from server.store.models import ExerciseSession, Rep

    store = Store(db_url)
    try:
        with store.session() as db:
            rows = db.execute(
                select(ExerciseSession.live_id, func.count(Rep.id))
                .outerjoin(Rep, Rep.session_id == ExerciseSession.id)
                .where(ExerciseSession.live_id.in_(session_ids))
                .group_by(ExerciseSession.live_id)
            ).all()
    finally:
        store.dispose()
    return {str(live_id): int(count) for live_id, count in rows}


class FuzzClient(multiprocessing.Process):
    """Plays generated hostile scripts on /ws until stopped (one at a time), in its
    own process: hypothesis' generation would otherwise hold this process's GIL and
    delay the kiosks' clocks, which the latencies are read from."""

    def __init__(self, url: str, corpus: Corpus, exercises: list[str]) -> None:
        super().__init__(name="soak-fuzz", daemon=True)
        self.url, self.corpus, self.exercises = url, corpus, exercises
        self.stop = multiprocessing.Event()
        self._messages = multiprocessing.Value("q", 0)
        self._scripts = multiprocessing.Value("q", 0)
        self._failures: multiprocessing.Queue[str] = multiprocessing.Queue()
        self._failed: list[str] = []

    @property
    def seen(self) -> dict[str, int]:
        """Messages and scripts sent so far."""
        return {"messages": self._messages.value, "scripts": self._scripts.value}

    @property
    def failures(self) -> list[str]:
        """Scripts that failed (connection errors, unanswered), as reported so far."""
        while not self._failures.empty() and len(self._failed) < 100:
            self._failed.append(self._failures.get_nowait())
        return self._failed

    def run(self) -> None:
        from hypothesis import HealthCheck, Phase, given, seed, settings
        from hypothesis.errors import HypothesisDeprecationWarning
        from websockets.sync.client import connect

        warnings.simplefilter("ignore", HypothesisDeprecationWarning)
        scripts = kiosk_scripts(self.corpus, self.exercises)

        class Stop(Exception):
            pass

        @settings(
            max_examples=FUZZ_BATCH,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(script=scripts)
        def one(script: list[Any]) -> None:
            if self.stop.is_set():
                raise Stop
            try:
                with connect(self.url, max_size=64 << 20, ping_interval=None) as ws:
                    played = play(ws, script)
            except Exception as exc:  # counted, never fatal to the soak
                self._failures.put(f"{type(exc).__name__}: {exc}"[:200])
                return
            with self._messages.get_lock():
                self._messages.value += len(script)
            with self._scripts.get_lock():
                self._scripts.value += 1
            if not played.answered or played.close_code is not None:
                self._failures.put(f"unanswered script (close {played.close_code})")

        for batch in range(1_000_000):
            if self.stop.is_set():
                return
            try:
                seed(batch)(one)()
            except Stop:
                return


async def run_round(
    url: str, kiosks: list[tuple[str, list[bytes]]], fps: float, seconds: float
) -> list[SessionReport | BaseException]:
    interval = 1.0 / fps
    return await asyncio.gather(
        *(
            stream_session(
                url,
                exercise,
                paced(jpegs, fps, seconds, k * interval / len(kiosks)),
                drain_timeout_s=30,
            )
            for k, (exercise, jpegs) in enumerate(kiosks)
        ),
        return_exceptions=True,
    )


def summarise_round(
    minute: int,
    reports: list[SessionReport | BaseException],
    seconds: float,
    rss: float | None,
    fuzz_messages: int,
    rss_max: float | None = None,
) -> dict[str, Any]:
    ok = [r for r in reports if isinstance(r, SessionReport)]
    failed = [
        f"{type(r).__name__}: {r}"[:200]
        for r in reports
        if not isinstance(r, SessionReport)
    ]
    latency = [x for r in ok for x in r.latency_ms]
    per_kiosk_p95 = [pct(r.latency_ms, 95) for r in ok if r.latency_ms]
    processed = [
        (r.summary or {}).get("stats", r.last_stats or {}).get("processed", 0)
        for r in ok
    ]
    return {
        "minute": minute,
        "rss_mb": rss,
        "rss_max_mb": rss_max,
        "latency_p50_ms": pct(latency, 50),
        "latency_p95_ms": pct(latency, 95),
        "worst_kiosk_p95_ms": max(per_kiosk_p95, default=None),
        "served_fps_per_kiosk": round(sum(processed) / max(1, len(ok)) / seconds, 2),
        "frames_sent": sum(r.frames_sent for r in ok),
        "frames_processed": sum(processed),
        "errors": sum(len(r.errors) for r in ok) + len(failed),
        "error_codes": dict(Counter(e.get("code") for r in ok for e in r.errors)),
        "failed_sessions": failed,
        "summaries": sum(r.summary is not None for r in ok),
        "fuzz_messages": fuzz_messages,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--kiosks", type=int, default=8)
    parser.add_argument(
        "--fps", type=float, default=15.0, help="most frames a second per kiosk"
    )
    parser.add_argument(
        "--load",
        type=float,
        default=DEFAULT_LOAD,
        help="share of the model-alone rate the kiosks offer together (default 0.6)",
    )
    parser.add_argument("--video-dir", type=Path, default=DEFAULT_VIDEO_DIR)
    parser.add_argument("--width", type=int, default=640)
    args = parser.parse_args(argv)
    if not 1 <= args.minutes <= 120 or not 1 <= args.kiosks <= 32:
        raise SystemExit("--minutes must be in [1, 120] and --kiosks in [1, 32]")
    if not 0 < args.load <= 2:
        raise SystemExit(f"--load must be in (0, 2], got {args.load}")
    clips = [(args.video_dir / name, exercise) for name, exercise in CLIPS]
    if not all(path.is_file() for path, _ in clips):
        print(f"skipped: clips not found in {args.video_dir}", file=sys.stderr)
        return 0
    encoded = {path: encode_video(path, args.width, MAX_FRAMES) for path, _ in clips}
    kiosks = [
        (exercise, encoded[path])
        for path, exercise in (clips[k % len(clips)] for k in range(args.kiosks))
    ]
    corpus = Corpus(encoded[clips[0][0]][:24], 1 << 20)
    load_before = os.getloadavg()
    capacity = model_capacity_fps([j for _, jpegs in kiosks for j in jpegs[:30]])
    fps = round(min(args.fps, args.load * capacity / args.kiosks), 2)
    pacing = (
        f"model alone {capacity:.1f} frames/s on this machine; {args.kiosks} kiosks x "
        f"{fps} fps = {args.kiosks * fps:.1f} frames/s offered "
        f"({args.kiosks * fps / capacity:.0%} of capacity; --fps {args.fps} ceiling, "
        f"--load {args.load})"
    )
    print(f"within capacity: {pacing}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="movecoach-soak-") as tmp:
        db_url = f"sqlite:///{Path(tmp) / 'soak.db'}"
        log = Path(tmp) / "server.log"
        port = free_port()
        started = time.perf_counter()
        server = start_server(port, db_url, args.kiosks + 2, log)
        startup_s = time.perf_counter() - started
        url = f"ws://127.0.0.1:{port}/ws"
        fuzz = FuzzClient(url, corpus, sorted({e for _, e in CLIPS}))
        fuzz.start()
        sampler = RssSampler(server.pid)
        sampler.start()
        minutes: list[dict[str, Any]] = []
        reports: list[SessionReport] = []
        try:
            for minute in range(1, args.minutes + 1):
                got = asyncio.run(run_round(url, kiosks, fps, ROUND_S))
                reports += [r for r in got if isinstance(r, SessionReport)]
                rss_now = rss_mb(server.pid)
                row = summarise_round(
                    minute,
                    got,
                    ROUND_S,
                    rss_now,
                    fuzz.seen["messages"],
                    rss_max=sampler.take_max(rss_now),
                )
                minutes.append(row)
                print(
                    f"minute {minute}: RSS {row['rss_mb']} MB (max "
                    f"{row['rss_max_mb']}), latency p50 "
                    f"{row['latency_p50_ms']} / p95 {row['latency_p95_ms']} ms (worst "
                    f"kiosk {row['worst_kiosk_p95_ms']}), served "
                    f"{row['served_fps_per_kiosk']} fps/kiosk, errors {row['errors']} "
                    f"{row['error_codes']}, fuzz messages {row['fuzz_messages']}",
                    file=sys.stderr,
                    flush=True,
                )
                if server.poll() is not None:
                    print(f"server exited ({server.returncode})", file=sys.stderr)
                    break
        finally:
            sampler.stop.set()
            fuzz.stop.set()
            deadline = time.monotonic() + 60
            while fuzz.is_alive() and time.monotonic() < deadline:
                fuzz.failures  # noqa: B018  (drained: a full queue keeps it alive)
                fuzz.join(0.5)
            if fuzz.is_alive():
                fuzz.terminate()
            fuzz_seen, fuzz_failures = fuzz.seen, fuzz.failures
            alive = server.poll() is None
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
        told = {
            r.opened["session_id"]: len(r.reps) for r in reports if r.opened is not None
        }
        stored = stored_reps(db_url, list(told))
        errors = server_errors(log)
        log_tail = log.read_text(errors="replace").splitlines()[-40:]

    lost = {s: n - stored.get(s, 0) for s, n in told.items() if n > stored.get(s, 0)}
    rss = [m["rss_mb"] for m in minutes if m["rss_mb"] is not None]
    growth = (max(rss[1:]) - rss[0]) / rss[0] if len(rss) > 1 else None
    p95s = [m["latency_p95_ms"] for m in minutes if m["latency_p95_ms"] is not None]
    served = [m["served_fps_per_kiosk"] for m in minutes]
    emit(
        "soak",
        {
            "minutes": args.minutes,
            "kiosks": args.kiosks,
            "fps_ceiling": args.fps,
            "fps": fps,
            "model_alone_fps": round(capacity, 2),
            "load": args.load,
            "within_capacity": pacing,
            "clips": [f"{p.name}:{e}" for p, e in clips[: args.kiosks]],
            "cpu_count": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "startup_s": round(startup_s, 1),
            "per_minute": minutes,
            "fuzz": {
                "messages": fuzz_seen["messages"],
                "scripts": fuzz_seen["scripts"],
                "failures": fuzz_failures[:20],
            },
            "reps_told": sum(told.values()),
            "reps_stored": sum(min(stored.get(s, 0), n) for s, n in told.items()),
            "rows_lost": sum(lost.values()),
            "sessions_with_rows_lost": len(lost),
            "server_errors": len(errors),
            "server_error_lines": errors[:20],
            "server_alive_at_end": alive,
            "server_log_tail": [] if alive else log_tail,
            "summary": {
                "rss_first_minute_mb": rss[0] if rss else None,
                "rss_growth_after_first_minute": round(growth, 4)
                if growth is not None
                else None,
                "worst_minute_p95_ms": max(p95s, default=None),
                "served_fps_per_kiosk_min": min(served, default=None),
                "targets": {
                    "rss_growth": RSS_GROWTH_TARGET,
                    "p95_ms": P95_TARGET_MS,
                    "rows_lost": 0,
                    "server_errors": 0,
                },
                "meets_rss_target": growth is not None and growth <= RSS_GROWTH_TARGET,
                "meets_p95_target": bool(p95s) and max(p95s) <= P95_TARGET_MS,
                "meets_fps": bool(served) and min(served) >= 0.9 * fps,
                "meets_rows_target": not lost,
                "meets_error_target": not errors,
            },
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
