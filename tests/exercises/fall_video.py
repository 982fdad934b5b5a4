"""Offline harness: the group browser test's fall video through the real group
pipeline (multi-person pose model, tracker, fall monitor) at low processed rates.

The browser test's camera plays `fall_frames` at `SOURCE_FPS`; the page sends 640-wide
JPEGs; the server processes the latest frame whenever the model is free, so a
processed rate of r frames per second sees the video at t0 + k / r. Here the frames are
rendered once (scaled and JPEG-coded like the page does) and fed at such instants.

    .venv/bin/python -m tests.exercises.fall_video            # the table
    .venv/bin/python -m tests.exercises.fall_video 2 1.5      # some rates only
    .venv/bin/python -m tests.exercises.fall_video false-alarms   # real recordings
    .venv/bin/python -m tests.exercises.fall_video gaps       # ... with missed frames

The last two feed every repcount-dev sequence and shared clip (their landmarks; the
clips' from the pytest cache that test_falls fills) to `FallDetector` at low processed
rates, with random or every run of 1-3 missed frames, and count alerts (none wanted).

Needs ../shared/data and the ONNX models (`run` raises when absent; the tests skip).
"""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

SOURCE_FPS = 10  # the browser test's camera video
SEND_WH = (640, 360)  # the page scales the 960x540 camera to 640 wide
JPEG_QUALITY = 80

Image = npt.NDArray[np.uint8]


@lru_cache(maxsize=1)
def source_frames() -> tuple[Image, ...]:
    """The camera video (one loop) as the server gets it: 640x360, JPEG 80."""
    import cv2

    from tests.kiosk.test_browser_group import FALL_VIDEO_S, fall_frames

    out = []
    for bgr in fall_frames(SOURCE_FPS, FALL_VIDEO_S):
        small = cv2.resize(bgr, SEND_WH, interpolation=cv2.INTER_AREA)
        ok, jpg = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        assert ok
        out.append(cv2.imdecode(jpg, cv2.IMREAD_COLOR))
    return tuple(out)


@dataclass
class Run:
    """One pass over the video at one processed rate and phase."""

    rate: float
    phase_s: float
    alert: bool = False
    alert_s: float | None = None
    times_s: list[float] = field(default_factory=list)
    man_ids: list[int | None] = field(default_factory=list)  # per processed frame
    man_angle: list[float] = field(default_factory=list)  # torso deg from vertical
    fall_gaps_s: list[float] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

    @property
    def id_changes(self) -> int:
        ids = [i for i in self.man_ids if i is not None]
        return sum(a != b for a, b in itertools.pairwise(ids))

    def line(self) -> str:
        seen = "".join(
            "." if i is None else chr(ord("A") + (i - 1) % 26) for i in self.man_ids
        )
        gaps = ",".join(f"{g:.2f}" for g in self.fall_gaps_s) or "-"
        alert = f"yes@{self.alert_s:.1f}s" if self.alert else "NO"
        return (
            f"{self.rate:>4} fps phase {self.phase_s:.2f}s: alert {alert:<9} "
            f"fall gaps {gaps:<10} id changes {self.id_changes}  track {seen}"
        )


def _man_index(poses: Any) -> int | None:
    """The pasted man: the pose whose hips are right of 0.7 of the width."""
    from vision.types import Skeleton

    idx = Skeleton.BLAZEPOSE_33.index
    hips = (idx("left_hip"), idx("right_hip"))
    best = None
    for i in range(len(poses)):
        x = float(poses.xyz[i, hips, 0].mean())
        if x > 0.7:
            best = i
    return best


def _torso_deg(poses: Any, i: int) -> float:
    from vision.geometry import isotropic
    from vision.types import Skeleton

    idx = Skeleton.BLAZEPOSE_33.index
    xy = isotropic(poses).xyz[i, :, :2].astype(np.float64)
    s = xy[[idx("left_shoulder"), idx("right_shoulder")]].mean(0)
    h = xy[[idx("left_hip"), idx("right_hip")]].mean(0)
    d = s - h
    return math.degrees(math.atan2(abs(d[0]), -d[1]))


def run(rate: float, phase_s: float) -> Run:
    """Feed the video at `rate` processed frames per second from `phase_s`."""
    from exercises.falls import FallDetected, FallMonitor
    from tests.kiosk.test_browser_group import FALL_AT_S as fall_at
    from vision.multiperson import MultiPersonOptions, MultiPersonPoseEstimator
    from vision.tracking import PoseTracker, TrackerOptions

    frames = source_frames()
    tracker = PoseTracker(TrackerOptions())  # the estimator stamps the images' aspect
    monitor = FallMonitor()
    result = Run(rate, phase_s)
    last_seen: float | None = None
    options = MultiPersonOptions(provider="cpu", max_people=10)
    with MultiPersonPoseEstimator(options) as estimator:
        k = 0
        while True:
            t = phase_s + k / rate
            k += 1
            index = math.floor(t * SOURCE_FPS + 1e-9)
            if index >= len(frames):
                break
            ts = round(t * 1000)
            poses = estimator.detect(frames[index], ts)
            tracked = tracker.update(poses, estimator.last_lineage)
            for event in monitor.update(tracked):
                result.events.append(f"{t:.1f}s {type(event).__name__}")
                if isinstance(event, FallDetected) and not result.alert:
                    result.alert, result.alert_s = True, t
            i = _man_index(tracked)
            result.times_s.append(t)
            result.man_ids.append(None if i is None else int(tracked.track_ids[i]))
            result.man_angle.append(math.nan if i is None else _torso_deg(tracked, i))
            if i is not None:
                lo, hi = fall_at - 0.5, fall_at + 1.5  # the fall (1 s) and after
                if last_seen is not None and t > lo and last_seen < hi:
                    if t - last_seen > 1.0 / rate + 1e-6:
                        result.fall_gaps_s.append(round(t - last_seen, 2))
                last_seen = t
    return result


def main(argv: Sequence[str]) -> None:
    if list(argv) == ["false-alarms"]:
        false_alarm_sweep()
        return
    if list(argv) == ["gaps"]:
        gap_sweep()
        return
    rates = [float(a) for a in argv] or [4.0, 3.0, 2.0, 1.5, 1.0]
    for rate in rates:
        for j in range(4):
            r = run(rate, phase_s=0.05 + j / (4 * rate))
            print(r.line(), flush=True)
            angles = " ".join(
                f"{t:.2f}:{'-' if math.isnan(a) else round(a)}"
                for t, a in zip(r.times_s, r.man_angle, strict=True)
                if 3.5 <= t <= 6.5
            )
            print("      angles", angles, "|", "; ".join(r.events), flush=True)


# --- false alarms: real recordings at low processed rates ---------------------------


def _real_sequences() -> list[tuple[str, list[Any]]]:
    """(name, PoseFrames) of every repcount-dev sequence and shared clip."""
    from benchmarks.repcount_data import load_annotations, load_window
    from tests.clip_landmarks import clip_landmarks
    from tests.conftest import SHARED_DATA
    from vision.types import PoseFrame

    out: list[tuple[str, list[Any]]] = []
    for seq in load_annotations(SHARED_DATA / "repcount-dev"):
        window = load_window(seq.path)
        out.append((seq.name, [window[t] for t in range(len(window))]))
    cache = Path(".pytest_cache/d/movecoach-fall-landmarks")
    cache.mkdir(parents=True, exist_ok=True)
    for clip in sorted((SHARED_DATA / "video").glob("*.mp4")):
        xyz, vis, stamps, aspect = clip_landmarks(cache, clip)
        frames = [
            PoseFrame(xyz[k], vis[k], int(stamps[k]), aspect_wh=aspect)
            for k in range(len(stamps))
        ]
        out.append((clip.name, frames))
    return out


def subsample(frames: Sequence[Any], rate: float, phase_s: float) -> list[Any]:
    """The latest frame at t0 + phase + k / rate, stamped with that instant."""
    import dataclasses

    if not frames:
        return []
    stamps = np.array([f.timestamp_ms for f in frames], np.int64)
    out = []
    k = 0
    while True:
        t = int(stamps[0] + round((phase_s + k / rate) * 1000))
        k += 1
        if t > stamps[-1]:
            return out
        i = int(np.searchsorted(stamps, t, side="right")) - 1
        f = frames[i]
        out.append(dataclasses.replace(f, timestamp_ms=t))


def false_alarm_sweep() -> None:
    from exercises.falls import FallDetected, FallDetector, FallState

    rng = np.random.default_rng(0)
    sequences = _real_sequences()
    print(f"{len(sequences)} real sequences", flush=True)
    for rate in (30.0, 4.0, 3.0, 2.0, 1.5, 1.0):
        alerts, pending, runs = [], 0, 0
        for name, frames in sequences:
            for j in range(3):
                for miss in (0.0, 0.3):
                    fs = subsample(frames, rate, j / (3 * rate))
                    if miss:
                        fs = [f for f in fs if rng.random() >= miss]
                    det = FallDetector()
                    was_pending = False
                    for f in fs:
                        for e in det.update(f):
                            if isinstance(e, FallDetected):
                                alerts.append((name, j, miss, e.timestamp_ms))
                        was_pending |= det.state is FallState.PENDING
                    pending += was_pending
                    runs += 1
        print(
            f"{rate:>5} fps: {runs} runs, alerts {len(alerts)} {alerts[:5]}, "
            f"runs with a pending fall {pending}",
            flush=True,
        )


def gap_sweep(rates: Sequence[float] = (2.0, 1.5, 1.0), longest: int = 3) -> None:
    """Every real sequence at low rates with every run of 1..`longest` consecutive
    processed frames missing: the alerts (none wanted)."""
    from exercises.falls import FallDetected, FallDetector

    sequences = _real_sequences()
    for rate in rates:
        alerts: dict[str, int] = {}
        runs = 0
        for name, frames in sequences:
            fs = subsample(frames, rate, 0.0)
            for first in range(len(fs)):
                for count in range(1, longest + 1):
                    seen = fs[:first] + fs[first + count :]
                    det = FallDetector()
                    runs += 1
                    if any(
                        isinstance(e, FallDetected) for f in seen for e in det.update(f)
                    ):
                        alerts[name] = alerts.get(name, 0) + 1
        print(f"{rate:>4} fps: {runs} runs, runs with an alert: {alerts}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
