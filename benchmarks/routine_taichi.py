# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""The 24-form tai chi routine, authored from the teacher's clip, and performances
scored against it (../shared/data/video, see its README and CATALOG.tsv):

    python -m benchmarks.routine_taichi --data ../shared/data [--out DIR]

The build step and its check in one:
1. The teacher's clip (`taichi_24form_teacher.mp4`, 26 s, 10 fps) through the pose
   backend (`benchmarks.routine_data.extract_landmarks`, cached outside git), then the
   coach's authoring path for flowing forms (`exercises.routine_authoring.
   propose_routine`: moves cut where the body moves least, a reference and key poses
   per move). The two files are written to `--out`, not to the repository: the clip
   has no licence (CATALOG.tsv), so nothing derived from it is committed; anyone with
   the shared data rebuilds them with this command.
2. Performances through the same backend, scored with `exercises.routine_form.
   score_form`: the teacher's own performance time-stretched (the video re-timed
   1.25 times slower, unevenly: each frame shown for a varying time, so the model
   sees it afresh), the pair clip (`group2_taichi_beach.mp4`, two people, a hard cut
   to a waist-up shot at 1.8 s) and an unrelated clip (`wahoo_lunges.mp4`).
3. Peer, in the same run: the same features compared frame by frame after a linear
   time normalisation (no DTW), scored with the same cost-to-score curve.

The JSON line last has each performance's score (and the peer's), whether the
teacher's performance ranks first for both, and the moves found.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from benchmarks._report import emit
from benchmarks.routine_data import CACHE_DIR, extract_landmarks
from exercises.alignment import resample
from exercises.routine import RoutineSpec
from exercises.routine_authoring import (
    RoutineDraft,
    RoutineDraftOptions,
    dump_routine,
    form_features,
    propose_routine,
)
from exercises.routine_features import feature_column
from exercises.routine_form import score_form
from exercises.scoring import cost_to_score
from vision.types import PoseFrame, PoseWindow

__all__ = [
    "NAME",
    "PAIR",
    "STRETCH",
    "TEACHER",
    "UNRELATED",
    "author_taichi",
    "linear_score",
    "stretched_times_s",
    "write_stretched",
]

TEACHER: Final[str] = "taichi_24form_teacher.mp4"
PAIR: Final[str] = "group2_taichi_beach.mp4"
UNRELATED: Final[str] = "wahoo_lunges.mp4"
NAME: Final[dict[str, str]] = {"en": "24-form tai chi", "zh-CN": "二十四式太极拳"}
STRETCH: Final[float] = 1.25
_WOBBLE: Final[float] = 0.15


def stretched_times_s(duration_s: float, fps: float) -> npt.NDArray[np.float64]:
    """For each frame of the re-timed video (`STRETCH` times longer), the time in the
    source it shows: the speed varies along the clip (t + a sin, slower then
    faster), so no one factor undoes it."""
    n = int(duration_s * STRETCH * fps)
    t_out = np.arange(n) / fps
    src = np.linspace(0.0, duration_s, 2000)
    warped = STRETCH * (
        src + _WOBBLE * duration_s / (2 * np.pi) * np.sin(2 * np.pi * src / duration_s)
    )
    out: npt.NDArray[np.float64] = np.interp(t_out, warped, src)
    return out


def write_stretched(src: Path, dst: Path) -> Path:
    """`src` re-timed by `stretched_times_s` into `dst` (mp4, same fps); kept when
    already there (the landmark caches key on the file)."""
    import cv2

    if dst.exists():
        return dst
    capture = cv2.VideoCapture(str(src))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    frames = []
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        frames.append(bgr)
    capture.release()
    h, w = frames[0].shape[:2]
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(".part.mp4")
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
    for t in stretched_times_s(len(frames) / fps, fps):
        writer.write(frames[min(len(frames) - 1, round(t * fps))])
    writer.release()
    tmp.rename(dst)
    return dst


def author_taichi(frames: list[PoseFrame]) -> RoutineDraft:
    """The tai chi routine from the teacher's frames (default cutting)."""
    return propose_routine(
        frames,
        routine_id="taichi_24form",
        name=NAME,
        description={
            "en": "24-form tai chi as the teacher's clip shows it: her moves in order.",
            "zh-CN": "按老师示范视频编排的二十四式太极拳：依次跟做她的动作。",
        },
        options=RoutineDraftOptions(source=TEACHER),
    )


def linear_score(
    routine: RoutineSpec,
    timestamps_ms: npt.NDArray[np.int64],
    features: npt.NDArray[np.float32],
) -> float:
    """The peer: the recognition features and the routine's reference, both
    resampled to the same number of rows over their own length, compared row by row
    (no time warping), each channel in its tolerance."""
    channels = routine.recognition
    cols = [feature_column(c) for c in channels]
    ref = np.concatenate([s.values(channels) for s in routine.sections]).astype(
        np.float32
    )
    tol = routine.sections[0].tolerance(channels)
    del timestamps_ms
    query = resample(np.ascontiguousarray(features[:, cols]), len(ref))
    with np.errstate(invalid="ignore"):
        cost = float(np.nanmean(np.abs(query - ref) / tol))
    return round(cost_to_score(cost), 1) if np.isfinite(cost) else 0.0


def _frames(window: PoseWindow, aspect: float) -> list[PoseFrame]:
    return [
        dataclasses.replace(window[t], aspect_wh=aspect) for t in range(len(window))
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("/tmp/movecoach-taichi"))
    parser.add_argument("--backend", default="mediapipe")
    args = parser.parse_args(argv)
    video = args.data / "video"
    if not (video / TEACHER).exists():
        print(f"no {video / TEACHER}: the shared data is needed", file=sys.stderr)
        return 2
    cache = CACHE_DIR

    def frames_of(path: Path) -> list[PoseFrame]:
        window, aspect = extract_landmarks(
            path, backend_name=args.backend, cache_dir=cache
        )
        return _frames(window, aspect)

    draft = author_taichi(frames_of(video / TEACHER))
    routine_text, poses_text = dump_routine(draft)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "taichi_24form.toml").write_text(routine_text, encoding="utf-8")
    (args.out / "taichi_24form.poses.toml").write_text(poses_text, encoding="utf-8")
    stretched = write_stretched(
        video / TEACHER, args.out / "taichi_24form_teacher_stretched.mp4"
    )
    clips = {
        "teacher_stretched": stretched,
        "pair": video / PAIR,
        "unrelated": video / UNRELATED,
    }
    scores, peer, details = {}, {}, {}
    for key, path in clips.items():
        ts, feats = form_features(frames_of(path))
        fs = score_form(draft.spec, ts, feats)
        scores[key] = fs.score
        peer[key] = linear_score(draft.spec, ts, feats)
        details[key] = {
            "clip": path.name,
            "sections": {s.section_id: s.score for s in fs.sections},
            "cost": round(fs.cost, 3),
            "tempo": fs.tempo,
        }
        print(
            f"{key:18s} {fs.score:5.1f}  peer {peer[key]:5.1f}",
            details[key]["sections"],
        )
    others = ("pair", "unrelated")
    emit(
        "routine_taichi",
        {
            "moves": len(draft.spec.sections),
            "cuts_s": list(draft.cuts_s),
            "scores": scores,
            "peer_scores": peer,
            "teacher_ranks_first": all(
                scores["teacher_stretched"] > scores[k] for k in others
            ),
            "peer_teacher_ranks_first": all(
                peer["teacher_stretched"] > peer[k] for k in others
            ),
            "routine_files": str(args.out),
        },
        {"performances": details},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
