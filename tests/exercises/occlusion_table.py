"""What BlazePose says about legs it cannot see: the table in docs/occlusion.md.

    python -m tests.exercises.occlusion_table [CACHE_DIR]

Runs the project's pose backend (tests/clip_landmarks.py, cached in CACHE_DIR,
default .pytest_cache/d/movecoach-posture-landmarks) over shared clips whole, with the
bottom 40 % cropped off and with it painted over, and prints per leg joint, for the
frames where the whole picture put the joint in that bottom 40 %: the visibility the
model gave, its distance from the whole-picture position (torso lengths), its jitter
(median |third difference| over 1 s windows, torso lengths, and against the
shoulders'), and the share of frames pinned to the edge (within 0.03 of it) or placed
past it (crop only).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from exercises.occlusion import jitter
from tests.clip_landmarks import clip_landmarks
from vision.types import PoseWindow, Skeleton

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
CLIPS = (
    (DATA / "video" / "sds_sit_to_stand_walk.mp4", None),
    (DATA / "video" / "mrpose_air_squat.mp4", 7.6),
    (DATA / "baduanjin" / "video" / "s3_plaza_pink.mp4", 8.0),
)
EDGE = 0.6
WINDOW = 12
SK = Skeleton.BLAZEPOSE_33
JOINTS = ("hip", "knee", "ankle", "heel", "foot_index")


def windows(xyz, vis, stamps) -> Iterator[tuple[slice, PoseWindow]]:
    """Consecutive windows of `WINDOW` frames of a track (a shorter rest is left)."""
    for start in range(0, len(stamps) - WINDOW + 1, WINDOW):
        sl = slice(start, start + WINDOW)
        yield (
            sl,
            PoseWindow(
                np.ascontiguousarray(xyz[sl]),
                np.ascontiguousarray(vis[sl]),
                stamps[sl].astype(np.int64),
            ),
        )


def _jitter_rows(xyz, vis, stamps, aspect) -> np.ndarray:
    rows = [
        np.repeat(jitter(window, aspect_wh=aspect)[None], WINDOW, 0)
        for _, window in windows(xyz, vis, stamps)
    ]
    return np.concatenate(rows)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    cache = (
        Path(args[0]) if args else ROOT / ".pytest_cache/d/movecoach-posture-landmarks"
    )
    cache.mkdir(parents=True, exist_ok=True)
    print(
        "clip edit joint | hidden% vis err_torso jitter jitter/shoulders pinned% past%"
    )
    for path, until in CLIPS:
        ref, _, _, aspect = clip_landmarks(cache, path, until_s=until)
        torso = np.hypot(
            (ref[:, 11:13, 0].mean(1) - ref[:, 23:25, 0].mean(1)) * aspect,
            ref[:, 11:13, 1].mean(1) - ref[:, 23:25, 1].mean(1),
        )
        for edit in ("crop_bottom", "cover_bottom"):
            xyz, vis, stamps, edit_aspect = clip_landmarks(
                cache, path, until_s=until, **{edit: 0.4}
            )
            n = len(stamps) // WINDOW * WINDOW
            moves = _jitter_rows(xyz, vis, stamps, edit_aspect)
            y = xyz[:n, :, 1] * (EDGE if edit == "crop_bottom" else 1.0)
            x = xyz[:n, :, 0]
            shoulders = np.nanmedian(moves[:, 11:13], axis=1)
            for part in JOINTS:
                for side in ("left", "right"):
                    j = SK.index(f"{side}_{part}")
                    hid = (ref[:n, j, 1] > EDGE) & np.isfinite(x[:, j])
                    if not hid.any():
                        continue
                    err = np.hypot(
                        (x[:, j] - ref[:n, j, 0]) * aspect, y[:, j] - ref[:n, j, 1]
                    )
                    pinned = np.abs(y[:, j] - EDGE) < 0.03
                    past = y[:, j] > EDGE + 0.03
                    print(
                        f"{path.stem} {edit.split('_')[0]} {side}_{part} | "
                        f"{hid.mean() * 100:.0f} {np.mean(vis[:n, j][hid]):.2f} "
                        f"{np.median((err / torso[:n])[hid]):.2f} "
                        f"{np.nanmedian(moves[:, j][hid]):.3f} "
                        f"{np.nanmedian((moves[:, j] / shoulders)[hid]):.1f} "
                        f"{pinned[hid].mean() * 100:.0f} "
                        f"{past[hid].mean() * 100 if edit == 'crop_bottom' else 0:.0f}"
                    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
