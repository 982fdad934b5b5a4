"""How the rep counts move when the same sets are seen another way (RepCount-A,
../shared/data/repcount-dev).

    python -m benchmarks.repcount_robustness --data ../shared/data/repcount-dev

A counter that generalises counts a set the same whatever side the camera is on, at
the kiosk's frame rate and through the frames a cheap camera loses. Each sequence is
counted as recorded and then under changes that leave its repetitions as they were:
- `mirrored`: the picture flipped left to right (x -> 1 - x, left and right joints
  swapped), a camera on the other side;
- `fps15`: every other frame, the kiosk's 15 frames a second (the recordings are 30);
- `dropped`: 10 % of the frames lost at random (three seeds, each reported);
- `jitter`: every joint moved by Gaussian noise of 0.4 % of the picture;
- `title_cards`: 3 s without a person (a title card, the person out of the picture)
  before the set and again between its middle two repetitions (the annotated
  boundary nearest the middle, so no repetition is cut);
- `camera_cut`: from that boundary on, the body seen farther off and elsewhere in the
  picture (x, y scaled by 0.75 about the centre and moved by 8 % and 5 % of it), as
  after a cut to another camera.

Per counter and change: MAE / OBO against the true counts (as `benchmarks.repcount`,
the product at its default setting) and, against its own counts as recorded, the
share of sequences whose count changed and the mean |change|. Nothing is fitted, so
there is nothing to cross-validate. The peers (`angle_threshold`, `pca_period`) are
`benchmarks.repcount`'s, under the same changes. Prints a table and, last, one JSON
line; writes benchmarks/results/repcount_robustness.json.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import numpy as np

from benchmarks._report import emit
from benchmarks.repcount import (
    DEFAULT_DATA,
    TEMPLATES,
    Method,
    _angle_threshold,
    _pca_period,
    _product,
    figures,
)
from benchmarks.repcount_data import RepSequence, load_annotations, load_window
from vision.types import PoseWindow

DROP_SHARE: Final[float] = 0.10
DROP_SEEDS: Final[tuple[int, ...]] = (0, 1, 2)
JITTER: Final[float] = 0.004  # of the picture's width and height
CARD_S: Final[float] = 3.0
CUT_SCALE: Final[float] = 0.75
CUT_SHIFT: Final[tuple[float, float]] = (0.08, 0.05)  # of the picture


def _window(
    w: PoseWindow, xyz: np.ndarray, vis: np.ndarray, ts: np.ndarray
) -> PoseWindow:
    return PoseWindow(
        np.ascontiguousarray(xyz, np.float32),
        np.ascontiguousarray(vis, np.float32),
        np.ascontiguousarray(ts, np.int64),
        w.skeleton,
        w.aspect_wh,
    )


def mirrored(w: PoseWindow) -> PoseWindow:
    """The picture flipped left to right: x -> 1 - x and the sides swapped."""
    swap = list(w.skeleton.mirror_rows)
    xyz = w.xyz[:, swap].copy()
    xyz[..., 0] = 1.0 - xyz[..., 0]
    return _window(w, xyz, w.visibility[:, swap], w.timestamp_ms)


def every_other_frame(w: PoseWindow) -> PoseWindow:
    """Half the frame rate (the timestamps kept)."""
    return _window(w, w.xyz[::2], w.visibility[::2], w.timestamp_ms[::2])


def dropped(w: PoseWindow, share: float, seed: int) -> PoseWindow:
    """`share` of the frames lost at random: no person in them (NaN, visibility 0)."""
    lost = np.random.default_rng(seed).random(len(w)) < share
    xyz, vis = w.xyz.copy(), w.visibility.copy()
    xyz[lost], vis[lost] = np.nan, 0.0
    return _window(w, xyz, vis, w.timestamp_ms)


def jittered(w: PoseWindow, sigma: float, seed: int = 0) -> PoseWindow:
    """Every joint's x and y moved by N(0, sigma) (image units)."""
    noise = np.random.default_rng(seed).normal(0.0, sigma, w.xyz.shape)
    noise[..., 2] = 0.0
    return _window(w, w.xyz + noise.astype(np.float32), w.visibility, w.timestamp_ms)


def between_reps(seq: RepSequence, frames: int) -> int:
    """The annotated boundary between repetitions nearest the middle of the
    recording (its middle frame when it has none)."""
    ends = [end for _, end in seq.rep_bounds[:-1] if 0 < end < frames]
    middle = frames // 2
    return min(ends, key=lambda end: abs(end - middle)) if ends else middle


def with_cards(w: PoseWindow, at: int, seconds: float) -> PoseWindow:
    """`seconds` of frames without a person inserted before frame 0 and before
    frame `at` (at the recording's median frame interval; the recording's own
    timestamps move on by the cards' time)."""
    step_ms = float(np.median(np.diff(w.timestamp_ms))) if len(w) > 1 else 33.0
    card = max(1, round(seconds * 1000.0 / step_ms))
    joints = w.xyz.shape[1]
    empty_xyz = np.full((card, joints, 3), np.nan, np.float32)
    empty_vis = np.zeros((card, joints), np.float32)
    xyz = np.concatenate([empty_xyz, w.xyz[:at], empty_xyz, w.xyz[at:]])
    vis = np.concatenate([empty_vis, w.visibility[:at], empty_vis, w.visibility[at:]])
    ts = w.timestamp_ms.astype(np.float64)
    card_ms = card * step_ms
    before_middle = ts[at - 1] if at > 0 else ts[0] - step_ms
    times = np.concatenate(
        [
            ts[0] + step_ms * np.arange(card),
            ts[:at] + card_ms,
            before_middle + card_ms + step_ms * np.arange(1, card + 1),
            ts[at:] + 2 * card_ms,
        ]
    )
    return _window(w, xyz, vis, np.round(times))


def camera_cut(
    w: PoseWindow, at: int, scale: float, shift: tuple[float, float]
) -> PoseWindow:
    """From frame `at` on, x and y scaled by `scale` about the picture's centre and
    moved by `shift` (image units)."""
    xyz = w.xyz.copy()
    after = xyz[at:]
    after[..., :2] = 0.5 + scale * (after[..., :2] - 0.5) + np.asarray(shift)
    after[..., 2] *= scale
    return _window(w, xyz, w.visibility, w.timestamp_ms)


Change = Callable[[PoseWindow, RepSequence], PoseWindow]


def changes() -> dict[str, Change]:
    """Name -> the change applied to a recording of a sequence (`recorded` leaves
    it)."""
    out: dict[str, Change] = {
        "recorded": lambda w, _: w,
        "mirrored": lambda w, _: mirrored(w),
        "fps15": lambda w, _: every_other_frame(w),
    }
    for seed in DROP_SEEDS:
        out[f"dropped_{seed}"] = lambda w, _, s=seed: dropped(w, DROP_SHARE, s)
    out["jitter"] = lambda w, _: jittered(w, JITTER)
    out["title_cards"] = lambda w, s: with_cards(w, between_reps(s, len(w)), CARD_S)
    out["camera_cut"] = lambda w, s: camera_cut(
        w, between_reps(s, len(w)), CUT_SCALE, CUT_SHIFT
    )
    return out


def stability(counts: list[int], base: list[int]) -> dict[str, float]:
    """Against the counts of the recordings: share changed, mean |change|."""
    diff = np.abs(np.asarray(counts) - np.asarray(base))
    return {
        "changed": round(float(np.mean(diff > 0)), 4),
        "mean_abs_change": round(float(np.mean(diff)), 4),
    }


def evaluate(
    method: Method, seqs: list[RepSequence], windows: list[PoseWindow]
) -> dict[str, Any]:
    """Every change on every sequence: figures against the truth and stability."""
    setting = method.default
    true = [s.count for s in seqs]
    counts: dict[str, list[int]] = {}
    for name, change in changes().items():
        counts[name] = [
            method.count(change(w, s), TEMPLATES.get(s.action), setting)
            for s, w in zip(seqs, windows, strict=True)
        ]
    base = counts["recorded"]
    return {
        name: {
            **figures(list(zip(c, true, strict=True))),
            **stability(c, base),
            "counts": dict(zip((s.name for s in seqs), c, strict=True)),
        }
        for name, c in counts.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args(argv)
    if not (args.data / "annotation.csv").is_file():
        parser.error(f"no annotation.csv under {args.data}")
    seqs = sorted(load_annotations(args.data), key=lambda s: (s.action, s.name))
    if not seqs:
        parser.error(f"no sequences under {args.data}")
    windows = [load_window(s.path) for s in seqs]
    results = {
        m.name: evaluate(m, seqs, windows)
        for m in (_product(), _angle_threshold(), _pca_period())
    }
    print(f"repcount robustness: {len(seqs)} sequences from {args.data}")
    print(f"{'change':12s} " + " ".join(f"{n:>32s}" for n in results))
    print(
        f"{'':12s} "
        + " ".join(f"{'mae   obo  changed  |change|':>32s}" for _ in results)
    )
    for change in changes():
        cells = [
            f"{r[change]['mae']:6.3f} {r[change]['obo']:5.2f} "
            f"{r[change]['changed']:8.2f} {r[change]['mean_abs_change']:9.2f}"
            for r in results.values()
        ]
        print(f"{change:12s} " + " ".join(f"{c:>32s}" for c in cells))
    summary = {
        m: {c: {k: v for k, v in f.items() if k != "counts"} for c, f in r.items()}
        for m, r in results.items()
    }
    emit(
        "repcount_robustness",
        {
            "data": str(args.data),
            "n": len(seqs),
            "drop_share": DROP_SHARE,
            "jitter": JITTER,
            "card_s": CARD_S,
            "cut_scale": CUT_SCALE,
            "cut_shift": list(CUT_SHIFT),
            "methods": summary,
        },
        details={
            "true": {s.name: s.count for s in seqs},
            "counts": {
                m: {c: f["counts"] for c, f in r.items()} for m, r in results.items()
            },
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
