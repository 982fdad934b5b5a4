"""The Baduanjin data (../shared/data/baduanjin, see its README): the clip catalogue and
the landmarks of each clip, extracted once through the project's pose backend (the
path `movecoach analyze` takes: video -> backend -> the most confident person per
frame) and cached outside git.

`python -m benchmarks.routine_data --data DIR` fills the cache without scoring anything.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from vision.types import PoseFrame, PoseWindow

__all__ = [
    "CACHE_DIR",
    "Clip",
    "extract_landmarks",
    "load_catalog",
    "performer",
]

CACHE_DIR: Final[Path] = Path(
    os.environ.get("MOVECOACH_LANDMARK_CACHE", "/tmp/movecoach-landmarks")
)
"""Where extracted landmarks live (outside git); override with the environment."""


@dataclass(frozen=True, slots=True)
class Clip:
    """One catalogued clip.

    Attributes:
        name: File stem ("solo_full_s1").
        section: Baduanjin section 1-8.
        rounds: Complete rounds counted by eye.
        round_times_s: Each round's turning point (s).
        round_sides: Each round's side ("L"/"R") where the section alternates, else ().
        active_s: (from, to) of the active span.
        path: The video file.
    """

    name: str
    section: int
    rounds: int
    partial_rounds: int
    round_times_s: tuple[float, ...]
    round_sides: tuple[str, ...]
    active_s: tuple[float, float]
    notes: str
    path: Path


def performer(clip: Clip) -> str:
    """Who performs in the clip: the solo_full_* clips are one woman; every other clip
    is its own person (the README)."""
    return "solo" if clip.name.startswith("solo_full_") else clip.name


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.split(",") if v.strip())


def load_catalog(root: Path) -> list[Clip]:
    """Every row of `root/CATALOG.tsv` whose video exists, in file order."""
    out = []
    with (root / "CATALOG.tsv").open(newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            path = root / "video" / f"{row['clip']}.mp4"
            if not path.exists():
                continue
            out.append(
                Clip(
                    name=row["clip"],
                    section=int(row["section"]),
                    rounds=int(row["rounds"]),
                    partial_rounds=int(row["partial_rounds"] or 0),
                    round_times_s=_floats(row["round_times_s"]),
                    round_sides=tuple(
                        s.strip() for s in row["round_sides"].split(",") if s.strip()
                    ),
                    active_s=(float(row["active_from_s"]), float(row["active_to_s"])),
                    notes=row["notes"],
                    path=path,
                )
            )
    return out


def extract_landmarks(
    video: Path, *, backend_name: str = "mediapipe", cache_dir: Path = CACHE_DIR
) -> tuple[PoseWindow, float]:
    """The clip's pose track and image width / height, from the cache when there.

    Frames go through `vision.sources.open_source` and the backend one by one with
    their own timestamps; where several people are found the most confident is kept
    (as `movecoach analyze`), where none is the frame is missing.
    """
    from vision.landmarks_io import load_landmarks, save_landmarks

    cache = cache_dir / backend_name / f"{video.stem}.npz"
    if cache.exists():
        window, meta = load_landmarks(cache)
        w, h = meta["resolution_wh"]
        return window, float(w) / float(h)
    from vision.backends import create_backend
    from vision.sources import open_source

    frames: list[PoseFrame] = []
    detected: list[bool] = []
    wh = (1, 1)
    with open_source(video) as source, create_backend(backend_name) as backend:
        for captured in source:
            h, w = captured.image_bgr.shape[:2]
            wh = (w, h)
            poses = backend.detect(captured.image_bgr, captured.timestamp_ms)
            detected.append(len(poses) > 0)
            if len(poses):
                frames.append(poses[int(np.argmax(poses.scores))])
            else:
                frames.append(
                    PoseFrame.missing(captured.timestamp_ms, backend.skeleton)
                )
    window = PoseWindow.from_frames(frames)
    cache.parent.mkdir(parents=True, exist_ok=True)
    save_landmarks(
        cache,
        window,
        detected=np.array(detected, bool),
        meta={"source": str(video), "backend": backend_name, "resolution_wh": wh},
    )
    return window, wh[0] / wh[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/baduanjin"))
    parser.add_argument("--backend", default="mediapipe")
    args = parser.parse_args(argv)
    for clip in load_catalog(args.data):
        window, aspect = extract_landmarks(clip.path, backend_name=args.backend)
        print(f"{clip.name}: {len(window)} frames, aspect {aspect:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
