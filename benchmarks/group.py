"""Group-session vision benchmark: multi-person pose + tracking on real footage.

    python -m benchmarks.group [--frames 90] [--scenes two_rows5,row6] [--quick]

Scenes come from `benchmarks.group_data`: shared single-person clips pasted into one
frame at different sizes and time offsets (ground truth: the single-person pipeline on
each source clip, mapped into the scene), and the real two-person clip
`group2_taichi_beach.mp4` (ground truth per half frame).

Per frame, ground-truth people and predicted poses are matched one to one (Hungarian,
on object-keypoint similarity, `MATCH_OKS`). Measured per scene and overall:

- recall: matched / ground-truth people at least `MIN_HEIGHT` of the frame high
  (visible joints' extent); also reported for the smaller ones, without a target;
- duplicates: predictions that are not a person's match but lie on a matched person
  (OKS >= `DUPLICATE_OKS` with a matched ground-truth person, or >= `MATCH_OKS` with
  another prediction);
- poor fits: unmatched predictions on a person nobody matched (that person counts as
  missed; the fit was too far off, OKS below `MATCH_OKS`);
- false positives: other unmatched predictions;
- ID switches: per ground-truth person, changes of the matched track id between
  consecutive matches (MOT's IDSW), within a shot (the real clip's hard cut at 1.8 s
  starts a new shot: both pipelines re-acquire people there, see the test);
- ms per frame (estimator + tracker), p50/p95, against a peer measured in the same run
  on the same frames: `OnnxBackend(num_poses=N)` (MediaPipe's own multi-pose scheme:
  whole-frame detector, ROI association, VIDEO-mode tracking) + the same tracker.

Configurations: "ours" (MultiPersonOptions defaults: a few tiles per frame, round
robin), "all_tiles" (every tile every frame), "peer". Targets apply to "ours".

Targets: recall >= 0.95, zero duplicates, zero ID switches. Prints a summary and the
JSON line LAST; writes benchmarks/results/group.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
from scipy.optimize import linear_sum_assignment

from benchmarks import group_data as gd
from benchmarks._report import emit, percentiles_ms
from vision.backends.blazepose import keypoint_similarity
from vision.types import Poses

__all__ = ["MATCH_OKS", "Tally", "evaluate_frame", "main", "run_scene"]

MATCH_OKS: Final[float] = 0.5
DUPLICATE_OKS: Final[float] = 0.3
MIN_HEIGHT: Final[float] = 0.2
RECALL_TARGET: Final[float] = 0.95


@dataclass
class Tally:
    """Counts over the frames of one run."""

    gt_big: int = 0
    found_big: int = 0
    gt_small: int = 0
    found_small: int = 0
    predictions: int = 0
    duplicates: int = 0
    poor_fits: int = 0
    false_positives: int = 0
    id_switches: int = 0
    match_oks: list[float] = field(default_factory=list)
    frame_s: list[float] = field(default_factory=list)
    missed: list[tuple[int, int, float]] = field(default_factory=list)  # frame, gt, h
    _last_id: dict[int, int] = field(default_factory=dict)

    def merge(self, other: Tally) -> None:
        for name in (
            "gt_big",
            "found_big",
            "gt_small",
            "found_small",
            "predictions",
            "duplicates",
            "poor_fits",
            "false_positives",
            "id_switches",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.match_oks += other.match_oks
        self.frame_s += other.frame_s

    def new_shot(self) -> None:
        self._last_id.clear()

    def summary(self) -> dict[str, Any]:
        return {
            "recall": round(self.found_big / self.gt_big, 4) if self.gt_big else None,
            "people": self.gt_big,
            "found": self.found_big,
            "recall_small": round(self.found_small / self.gt_small, 4)
            if self.gt_small
            else None,
            "people_small": self.gt_small,
            "duplicates": self.duplicates,
            "poor_fits": self.poor_fits,
            "false_positives": self.false_positives,
            "id_switches": self.id_switches,
            "median_match_oks": round(float(np.median(self.match_oks)), 3)
            if self.match_oks
            else None,
            "frame_ms": percentiles_ms(self.frame_s),
        }


def evaluate_frame(
    tally: Tally, frame: gd.GroupFrame, poses: Poses, frame_s: float
) -> None:
    """Match one frame's predictions to its ground truth and add to `tally`."""
    h, w = frame.image.shape[:2]
    wh = np.asarray([w, h], np.float64)
    present = np.flatnonzero(np.isfinite(frame.gt_xyz[:, 0, 0]))
    heights = gd.person_heights(frame.gt_xyz, frame.gt_visibility)
    gt_xy = frame.gt_xyz[present, :, :2] * wh
    pred_xy = poses.xyz[:, :, :2] * wh
    sim = keypoint_similarity(
        gt_xy, frame.gt_visibility[present], pred_xy, poses.visibility
    )
    rows, cols = linear_sum_assignment(-sim) if sim.size else ([], [])
    matched_pred: set[int] = set()
    found: set[int] = set()
    for r, c in zip(rows, cols, strict=True):
        if sim[r, c] >= MATCH_OKS:
            k = int(present[r])
            found.add(k)
            matched_pred.add(int(c))
            tally.match_oks.append(float(sim[r, c]))
            track = int(poses.track_ids[c])
            last = tally._last_id.get(k)
            if last is not None and track != last:
                tally.id_switches += 1
            tally._last_id[k] = track
    for k in present:
        big = heights[k] >= MIN_HEIGHT
        if big:
            tally.gt_big += 1
            tally.found_big += int(k in found)
            if k not in found:
                tally.missed.append((frame.index, int(k), float(heights[k])))
        else:
            tally.gt_small += 1
            tally.found_small += int(k in found)
    pred_sim = keypoint_similarity(pred_xy, poses.visibility, pred_xy, poses.visibility)
    np.fill_diagonal(pred_sim, 0.0)
    matched_rows = {
        r for r, c in zip(rows, cols, strict=True) if int(c) in matched_pred
    }
    for c in range(len(poses)):
        if c in matched_pred:
            continue
        near = np.flatnonzero(sim[:, c] >= DUPLICATE_OKS) if sim.shape[0] else []
        on_found = any(int(r) in matched_rows for r in near)
        on_pred = bool((pred_sim[c] >= MATCH_OKS).any())
        if on_found or on_pred:
            tally.duplicates += 1
        elif len(near):
            tally.poor_fits += 1  # on a person nobody matched: a miss, not a double
        else:
            tally.false_positives += 1
    tally.predictions += len(poses)
    tally.frame_s.append(frame_s)


def run_scene(
    frames: Iterable[gd.GroupFrame],
    make_pipeline: Callable[[], Callable[[np.ndarray, int], Poses]],
    *,
    cut_frames: tuple[int, ...] = (),
) -> Tally:
    """Run a fresh pipeline (image, timestamp -> tracked Poses) over a scene."""
    pipeline = make_pipeline()
    tally = Tally()
    for frame in frames:
        if frame.index in cut_frames:
            tally.new_shot()
        t0 = time.perf_counter()
        poses = pipeline(frame.image, frame.timestamp_ms)
        evaluate_frame(tally, frame, poses, time.perf_counter() - t0)
    return tally


def _ours(options: Any) -> Callable[[], Callable[[np.ndarray, int], Poses]]:
    from vision.multiperson import MultiPersonPoseEstimator
    from vision.tracking import PoseTracker

    def make() -> Callable[[np.ndarray, int], Poses]:
        estimator = MultiPersonPoseEstimator(options)
        tracker = PoseTracker()

        def step(image: np.ndarray, ts: int) -> Poses:
            return tracker.update(estimator.detect(image, ts))

        return step

    return make


def _peer(
    max_people: int, threads: int
) -> Callable[[], Callable[[np.ndarray, int], Poses]]:
    from vision.backends.onnx import OnnxBackend, OnnxOptions
    from vision.tracking import PoseTracker

    def make() -> Callable[[np.ndarray, int], Poses]:
        backend = OnnxBackend(
            OnnxOptions(num_poses=max_people, intra_op_threads=threads)
        )
        tracker = PoseTracker()

        def step(image: np.ndarray, ts: int) -> Poses:
            return tracker.update(backend.detect(image, ts))

        return step

    return make


def _line(name: str, label: str, t: dict[str, Any]) -> str:
    return (
        f"{name:20s} {label:9s} recall {t['recall']} ({t['found']}/{t['people']}) "
        f"small {t['recall_small']} dups {t['duplicates']} fp {t['false_positives']} "
        f"poor {t['poor_fits']} idsw {t['id_switches']} "
        f"p50 {t['frame_ms']['p50_ms']} ms"
    )


def main(argv: list[str] | None = None) -> int:
    import dataclasses

    from vision.multiperson import MultiPersonOptions

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=90, help="frames per scene")
    parser.add_argument(
        "--scenes",
        default=",".join([s.name for s in gd.SCENES] + ["group2_taichi_beach"]),
    )
    parser.add_argument("--threads", type=int, default=1, help="ORT intra-op threads")
    parser.add_argument(
        "--quick", action="store_true", help="defaults only (no all-tiles, no peer)"
    )
    args = parser.parse_args(argv)
    if not gd.VIDEO_DIR.is_dir():
        print(f"shared videos not found at {gd.VIDEO_DIR}", file=sys.stderr)
        return 2
    defaults = MultiPersonOptions(intra_op_threads=args.threads)
    configs: dict[str, Callable[[], Callable[[np.ndarray, int], Poses]]] = {
        "ours": _ours(defaults)
    }
    if not args.quick:
        configs["all_tiles"] = _ours(dataclasses.replace(defaults, tiles_per_frame=0))
        configs["peer"] = _peer(defaults.max_people, args.threads)
    scenes: dict[str, Any] = {s.name: s for s in gd.SCENES}
    results: dict[str, Any] = {}
    total = {label: Tally() for label in configs}
    for name in args.scenes.split(","):
        if name == "group2_taichi_beach":
            frames = list(gd.group_clip_frames())
            cuts: tuple[int, ...] = (gd.GROUP_CUT_FRAME,)
        else:
            scene = dataclasses.replace(scenes[name], num_frames=args.frames)
            frames = list(gd.render_scene(scene))
            cuts = ()
        entry: dict[str, Any] = {"frames": len(frames)}
        for label, make in configs.items():
            tally = run_scene(frames, make, cut_frames=cuts)
            total[label].merge(tally)
            entry[label] = tally.summary()
            if tally.missed:
                entry[label]["missed_examples"] = tally.missed[:10]
            print(_line(name, label, entry[label]), flush=True)
        results[name] = entry
    overall = {label: t.summary() for label, t in total.items() if t.frame_s}
    for label, t in overall.items():
        print(_line("OVERALL", label, t), flush=True)
    ours = overall["ours"]
    result: dict[str, Any] = {
        "options": {
            "tiles_per_frame": defaults.tiles_per_frame,
            "detect_every": defaults.detect_every,
            "max_people": defaults.max_people,
            "min_person_height": defaults.min_person_height,
            "min_detection_confidence": defaults.min_detection_confidence,
            "intra_op_threads": args.threads,
            "frames_per_scene": args.frames,
        },
        "scenes": results,
        "overall": overall,
        "targets": {
            "recall": RECALL_TARGET,
            "duplicates": 0,
            "id_switches": 0,
            "met": bool(
                ours["recall"] is not None
                and ours["recall"] >= RECALL_TARGET
                and ours["duplicates"] == 0
                and ours["id_switches"] == 0
            ),
        },
    }
    if "peer" in overall:
        peer_ms = overall["peer"]["frame_ms"]["p50_ms"]
        result["ms_ratio_vs_peer"] = round(ours["frame_ms"]["p50_ms"] / peer_ms, 3)
        result["ms_ratio_all_tiles_vs_peer"] = round(
            overall["all_tiles"]["frame_ms"]["p50_ms"] / peer_ms, 3
        )
    emit("group", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
