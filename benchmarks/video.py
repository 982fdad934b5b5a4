"""Repetitions in real footage through `movecoach analyze` (../shared/data/video).

    python -m benchmarks.video --data ../shared/data/video [--backend onnx]
        [--camera as_shared|jpeg25|half_res|half_fps]

Every clip of `CATALOG.tsv` whose exercise has a built-in template (`TEMPLATES`) and
whose `reps` column is a count made by eye goes through the command line as a user
would run it: `movecoach pose CLIP --out` (once; the landmarks are cached under
benchmarks/results/cache/, keyed by the clip's size and time and the backend name,
never committed; delete the folder after changing a backend's code), then
`movecoach analyze LANDMARKS --exercise ID --aspect W:H --json` (the clip's own
aspect, as `analyze CLIP` would use). The summary's `reps` is compared with
the catalogue's complete repetitions (partial ones at the edges must not count).
Peers on the same landmarks: `angle_threshold` and `pca_period` (as in
benchmarks.repcount). Nothing is fitted to the clips, so the figures are plain.

`--camera` runs the clips as a cheaper camera would have recorded them
(`benchmarks.video_cameras`: heavy JPEG compression, half the resolution, half the
frame rate), re-encoded once into the cache.

`mae` = mean |reps - true| / true, `obo` = share within one, `within_one` = whether
every clip is. Prints a table per clip and, last, one JSON line; writes
benchmarks/results/video.json (video_CAMERA.json for another camera).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import time
from pathlib import Path
from typing import Any

from benchmarks._report import RESULTS_DIR, emit
from benchmarks.repcount import figures, pca_period_count
from benchmarks.video_cameras import CAMERAS, recorded_as
from vision.backends import DEFAULT_BACKEND

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "video"
CACHE = RESULTS_DIR / "cache"

# Catalogue clip -> built-in template id (tai chi has none; the plank is a hold).
TEMPLATES = {
    "bicep_curl_side": "bicep_curl",
    "ksh_front_raise": "front_raise",
    "mrpose_air_squat": "squat",
    "mrpose_jumping_jacks": "jumping_jack",
    "noor_lateral_raise": "lateral_raise",
    "noor_push_ups_side": "push_up",
    "sds_sit_to_stand_walk": "sit_to_stand",
    "wahoo_lunges": "lunge",
    "wahoo_wall_push_ups": "wall_push_up",
}


def _cli(argv: list[str]) -> str:
    """Run `movecoach ARGV` in this process; its stdout."""
    from server.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    if code != 0:
        raise RuntimeError(f"movecoach {' '.join(argv)} exited {code}")
    return out.getvalue()


def landmarks(clip: Path, backend: str) -> Path:
    """The clip's landmarks file, made by `movecoach pose` unless cached."""
    stat = clip.stat()
    path = CACHE / f"{clip.stem}.{backend}.{stat.st_size}.{int(stat.st_mtime)}.npz"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        _cli(["pose", str(clip), "--backend", backend, "--out", str(path), "--json"])
    return path


def _aspect(clip: Path) -> str:
    import cv2

    cap = cv2.VideoCapture(str(clip))
    try:
        w = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        h = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    finally:
        cap.release()
    return f"{w}:{h}"


def analyze_reps(npz: Path, template: str, aspect: str) -> dict[str, Any]:
    """`movecoach analyze --json`'s summary line."""
    lines = _cli(
        ["analyze", str(npz), "--exercise", template, "--aspect", aspect, "--json"]
    )
    summary: dict[str, Any] = json.loads(lines.strip().splitlines()[-1])
    return summary


def _peers(npz: Path) -> dict[str, int]:
    from exercises.authoring import AuthoringError, cut_repetitions
    from vision.landmarks_io import load_landmarks

    window, _ = load_landmarks(npz)
    try:
        angle = len(cut_repetitions(window)[2])
    except AuthoringError:
        angle = 0
    return {"angle_threshold": angle, "pca_period": pca_period_count(window)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--backend",
        choices=("mediapipe", "onnx"),
        default=DEFAULT_BACKEND,
        help="pose backend (default: the product's, ONNX Runtime)",
    )
    parser.add_argument(
        "--camera",
        choices=CAMERAS,
        default=CAMERAS[0],
        help="the clips as shared, or as a cheaper camera would have recorded them",
    )
    args = parser.parse_args(argv)

    catalog = args.data / "CATALOG.tsv"
    if not catalog.exists():
        parser.error(f"no CATALOG.tsv under {args.data}")
    with catalog.open(newline="") as f:
        entries = list(csv.DictReader(f, delimiter="\t"))
    rows = []
    skipped = []
    started = time.perf_counter()
    for e in entries:
        clip = args.data / f"{e['clip']}.mp4"
        template = TEMPLATES.get(e["clip"])
        if template is None or not e["reps"].isdigit() or not clip.exists():
            skipped.append(e["clip"])
            continue
        recorded = recorded_as(clip, args.camera, CACHE / "cameras")
        npz = landmarks(recorded, args.backend)
        summary = analyze_reps(npz, template, _aspect(recorded))
        rows.append(
            {
                "clip": e["clip"],
                "template": template,
                "true": int(e["reps"]),
                "partial_true": int(e["partial_reps"] or 0),
                "reps": int(summary["reps"]),
                "partial_reps": int(summary["partial_reps"]),
                **_peers(npz),
            }
        )
    if not rows:
        parser.error(f"no catalogued clip with a template under {args.data}")

    def fig(key: str) -> dict[str, Any]:
        pairs = [(r[key], r["true"]) for r in rows]
        return {**figures(pairs), "within_one": all(abs(p - t) <= 1 for p, t in pairs)}

    print(
        f"video: {len(rows)} clips from {args.data} ({args.backend}, camera "
        f"{args.camera}); skipped {skipped}"
    )
    print(f"{'clip':24s} {'template':14s} true analyze angle pca")
    for r in rows:
        print(
            f"{r['clip']:24s} {r['template']:14s} {r['true']:4d} {r['reps']:7d} "
            f"{r['angle_threshold']:5d} {r['pca_period']:3d}"
        )
    emit(
        "video" if args.camera == CAMERAS[0] else f"video_{args.camera}",
        {
            "data": str(args.data),
            "backend": args.backend,
            "camera": args.camera,
            "headline": "movecoach analyze on every catalogued clip with a template",
            **fig("reps"),
            "peers": {k: fig(k) for k in ("angle_threshold", "pca_period")},
            "clips": rows,
            "skipped": skipped,
            "seconds": round(time.perf_counter() - started, 1),
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
