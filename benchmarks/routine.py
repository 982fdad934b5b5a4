"""Routine benchmark on the Baduanjin clips (../shared/data/baduanjin, see its README):

    python -m benchmarks.routine --data ../shared/data/baduanjin

Every catalogued clip goes the kiosk's way: video -> pose backend (the path of
`movecoach analyze`; landmarks cached outside git by `benchmarks.routine_data`) ->
`RoutineSession` of the whole Baduanjin, started at the preparation, so the engine has
to find the section on its own. Per clip:

- the section recognised: the numbered section (1-8) with the most rounds counted;
- rounds counted in it against the rounds counted by eye (MAE, off-by-one);
- each round's turning point matched one-to-one to the catalogue's within
  `MATCH_S` seconds or inside that round's hold (spans from the catalogue notes,
  `HOLDS`), as precision / recall / F1 over all clips;
- the per-section scores the engine gave.

Peer, in the same run: nearest standard performance by DTW on the keypoints (COCO-17,
each axis min-max scaled over the clip as the references are, 15 fps), and rounds by
live subsequence DTW (`exercises.alignment.StreamingAligner`) against that section's
first standard round: a round when the match runs from its first fifth past its
last fifth, the turning point when it passes the round's middle.

Nothing is fitted to the clips: the references come from the standard performances.
The engine's four thresholds (`RoutineTuning`) are nevertheless chosen again for each
held-out performer from a small grid on the other performers' clips (leave one
performer out: the solo performer's eight clips, and each other clip alone), and the
headline figures are those held-out predictions. The JSON line last has
section_accuracy, rounds_mae, rounds_obo, turning_point_f1 and n (cross-validated),
the defaults' figures on every clip and the peer's.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

from benchmarks._report import emit
from benchmarks.routine_data import (
    CACHE_DIR,
    Clip,
    extract_landmarks,
    load_catalog,
    performer,
)
from benchmarks.routine_reference import FPS as REF_FPS
from benchmarks.routine_reference import ROUNDS
from exercises.alignment import StreamingAligner, dtw_align
from exercises.routine import RoutineSpec, get_routine
from exercises.routine_events import RoundCompleted
from exercises.routine_session import RoutineOptions, RoutineSession, RoutineTuning
from vision.types import COCO_JOINT_NAMES, PoseWindow

MATCH_S: Final[float] = 1.0

# Hold spans per clip from the catalogue notes: (seconds before, seconds after) the
# given time where the notes state the hold's length, or explicit spans per round.
_HALF_HOLD: Final[dict[str, tuple[float, float]]] = {
    "solo_full_s1": (1.3, 1.3),  # "held about 2.6-3.2 s", time = the middle
    "solo_full_s2": (0.7, 0.7),  # "hold it about 1.4-2 s", the middle
    "solo_full_s3": (0.85, 0.85),  # L about 3.4 s, R about 1.7 s, the middle
    "solo_full_s4": (1.15, 1.15),  # "hold about 2.3-3.5 s", the middle
    "solo_full_s6": (0.5, 0.5),  # "hands-lowest plateau ... about 1 s", the middle
    "solo_full_s7": (0.0, 3.3),  # fist out at the time, withdrawn ~3.3 s later
}
HOLDS: Final[dict[str, tuple[tuple[float, float], ...]]] = {
    "s1_indoor_red": ((9.1, 13.4), (23.7, 26.7)),
    "s2_plaza_white": ((18.4, 19.8),),
    "s3_plaza_pink": ((31.4, 43.8), (58.0, 63.2)),
    "s6_bamboo_blue": ((21.8, 23.4), (41.5, 43.3)),
}

GRID: Final[tuple[RoutineTuning, ...]] = (
    RoutineTuning(),
    RoutineTuning(high=0.5, low=0.25),
    RoutineTuning(high=0.7, low=0.35),
    RoutineTuning(active_margin=0.1),
    RoutineTuning(jump_margin=0.3),
    RoutineTuning(jump_margin=0.8),
)


@dataclass(frozen=True, slots=True)
class Result:
    """What a method made of one clip."""

    clip: str
    section: int | None
    rounds: int
    turning_s: tuple[float, ...]
    scores: tuple[float, ...] = ()


def holds(clip: Clip) -> list[tuple[float, float]]:
    """Each round's hold span (s) where the catalogue gives one, else the time."""
    if clip.name in HOLDS:
        return list(HOLDS[clip.name])
    before, after = _HALF_HOLD.get(clip.name, (0.0, 0.0))
    return [(t - before, t + after) for t in clip.round_times_s]


def match_turns(clip: Clip, predicted: tuple[float, ...]) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives): one-to-one, nearest first,
    a predicted time matching a catalogued round when within MATCH_S of its time or
    inside its hold."""
    spans = holds(clip)
    pairs = []
    for i, t in enumerate(predicted):
        for j, (truth, (a, b)) in enumerate(
            zip(clip.round_times_s, spans, strict=True)
        ):
            if abs(t - truth) <= MATCH_S or a <= t <= b:
                pairs.append((abs(t - truth), i, j))
    used_p, used_t = set(), set()
    for _, i, j in sorted(pairs):
        if i not in used_p and j not in used_t:
            used_p.add(i)
            used_t.add(j)
    tp = len(used_p)
    return tp, len(predicted) - tp, len(clip.round_times_s) - tp


def metrics(clips: list[Clip], results: list[Result]) -> dict[str, Any]:
    by_name = {r.clip: r for r in results}
    correct, errors, tp, fp, fn = 0, [], 0, 0, 0
    for c in clips:
        r = by_name[c.name]
        correct += r.section == c.section
        errors.append(r.rounds - c.rounds)
        turns = r.turning_s if r.section == c.section else ()
        a, b, d = match_turns(c, turns)
        tp, fp, fn = (
            tp + a,
            fp + b + (len(r.turning_s) if r.section != c.section else 0),
            fn + d,
        )
    err = np.abs(np.array(errors, float))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "section_accuracy": round(correct / len(clips), 4),
        "rounds_mae": round(float(err.mean()), 4),
        "rounds_obo": round(float((err <= 1).mean()), 4),
        "turning_point_f1": round(f1, 4),
        "turning_point_precision": round(precision, 4),
        "turning_point_recall": round(recall, 4),
        "n": len(clips),
    }


def _objective(m: dict[str, Any]) -> float:
    return (
        m["section_accuracy"]
        + m["rounds_obo"]
        + m["turning_point_f1"]
        - 0.1 * m["rounds_mae"]
    )


# --- the engine -----------------------------------------------------------------------


def run_engine(
    routine: RoutineSpec,
    clip: Clip,
    window: PoseWindow,
    aspect: float,
    tuning: RoutineTuning,
) -> Result:
    """The whole clip through a RoutineSession from the preparation on."""
    session = RoutineSession(
        routine, RoutineOptions(image_aspect=aspect, tuning=tuning)
    )
    events = []
    for t in range(len(window)):
        events += session.feed(window[t])
    events += session.finish(int(window.timestamp_ms[-1]) + 1)
    rounds = [e for e in events if isinstance(e, RoundCompleted)]
    numbered = {s.id: s.number for s in routine.sections if s.number in range(1, 9)}
    counts: dict[int, list[RoundCompleted]] = {}
    for e in rounds:
        if e.section_id in numbered:
            counts.setdefault(int(numbered[e.section_id] or 0), []).append(e)
    if not counts:
        return Result(clip.name, None, 0, ())
    # most rounds; a tie goes to the later section (the routine only moves forward)
    section = max(counts, key=lambda s: (len(counts[s]), s))
    chosen = counts[section]
    return Result(
        clip.name,
        section,
        len(chosen),
        tuple(round(e.turning_ms / 1000, 2) for e in chosen),
        tuple(e.score for e in chosen),
    )


# --- the peer -------------------------------------------------------------------------


def _coco_minmax(window: PoseWindow, fps: float) -> np.ndarray:
    """(T', 34) COCO joints at REF_FPS, NaN gaps filled, each axis min-max scaled."""
    rows = [window.skeleton.index(n) for n in COCO_JOINT_NAMES]
    xy = window.xyz[:, rows, :2].astype(np.float64)
    step = max(1, round(fps / REF_FPS))
    xy = xy[::step].reshape(-1, 34)
    for k in range(34):
        col = xy[:, k]
        ok = ~np.isnan(col)
        if ok.any():
            xy[:, k] = np.interp(np.arange(len(col)), np.flatnonzero(ok), col[ok])
    xy = xy.reshape(-1, 17, 2)
    lo = np.nanmin(xy, axis=(0, 1))
    hi = np.nanmax(xy, axis=(0, 1))
    return np.ascontiguousarray(
        ((xy - lo) / np.maximum(hi - lo, 1e-9)).reshape(-1, 34), np.float32
    )


def run_peer(
    refs: dict[int, np.ndarray], clip: Clip, window: PoseWindow, fps: float
) -> Result:
    query = _coco_minmax(window, fps)
    costs = {s: dtw_align(query, ref, band_frac=1.0).cost for s, ref in refs.items()}
    section = min(costs, key=costs.__getitem__)
    sid = list(ROUNDS)[section - 1]
    start, turn, end, _ = ROUNDS[sid][1][0]
    ref = refs[section]
    a, b = round(start * REF_FPS), min(round(end * REF_FPS), len(ref) - 1)
    mid = (turn - start) / (end - start)
    aligner = StreamingAligner(np.ascontiguousarray(ref[a : b + 1]))
    armed, passed, turns = False, False, []
    for t, row in enumerate(query):
        p = aligner.push(row).progress
        if p <= 0.2:
            armed, passed = True, False
        elif armed and not passed and p >= mid:
            passed = True
            turns.append(round(t / REF_FPS, 2))
        if armed and p >= 0.8:
            armed = False
            if not passed:
                turns.append(round(t / REF_FPS, 2))
            passed = False
    return Result(clip.name, section, len(turns), tuple(turns))


def _peer_refs(data: Path) -> dict[int, np.ndarray]:
    return {
        s: np.ascontiguousarray(
            np.load(data / "reference" / f"standard_{s - 1:02d}.npy").reshape(-1, 34),
            np.float32,
        )
        for s in range(1, 9)
    }


# --- the run --------------------------------------------------------------------------


def _fps(window: PoseWindow) -> float:
    dt = np.diff(window.timestamp_ms)
    return 1000.0 / float(np.median(dt)) if len(dt) else 30.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/baduanjin"))
    parser.add_argument("--backend", default="mediapipe")
    parser.add_argument("--cache", type=Path, default=CACHE_DIR)
    parser.add_argument("--no-cv", action="store_true", help="defaults only (faster)")
    args = parser.parse_args(argv)
    if not (args.data / "CATALOG.tsv").exists():
        print(f"no catalogue at {args.data}; nothing to do", file=sys.stderr)
        return 2
    clips = load_catalog(args.data)
    routine = get_routine("baduanjin")
    tracks = {}
    for c in clips:
        t0 = time.perf_counter()
        tracks[c.name] = extract_landmarks(
            c.path, backend_name=args.backend, cache_dir=args.cache
        )
        took_s = time.perf_counter() - t0
        print(f"{c.name}: {len(tracks[c.name][0])} frames ({took_s:.1f} s)")
    grid = GRID[:1] if args.no_cv else GRID
    runs: list[dict[str, Result]] = []
    engine_s = []
    for tuning in grid:
        t0 = time.perf_counter()
        runs.append(
            {c.name: run_engine(routine, c, *tracks[c.name], tuning) for c in clips}
        )
        engine_s.append(time.perf_counter() - t0)
    default = runs[0]
    # leave one performer out: pick the tuning on the others, predict the held-out
    held_out: list[Result] = []
    chosen: dict[str, int] = {}
    for who in sorted({performer(c) for c in clips}):
        train = [c for c in clips if performer(c) != who]
        test = [c for c in clips if performer(c) == who]
        scores = [_objective(metrics(train, [r[c.name] for c in train])) for r in runs]
        best = int(np.argmax(scores))
        chosen[who] = best
        held_out += [runs[best][c.name] for c in test]
    peer_refs = _peer_refs(args.data)
    t0 = time.perf_counter()
    peer = [
        run_peer(peer_refs, c, tracks[c.name][0], _fps(tracks[c.name][0]))
        for c in clips
    ]
    peer_s = time.perf_counter() - t0
    head = f"{'clip':<16} {'truth':>9} {'engine':>9} {'peer':>9}"
    print(f"\n{head}  engine turning points (s)")
    for c, p in zip(clips, peer, strict=True):
        r = default[c.name]
        print(
            f"{c.name:<16} s{c.section} x{c.rounds:<3} s{r.section} x{r.rounds:<3}"
            f" s{p.section} x{p.rounds:<3}  {list(r.turning_s)}"
        )
    section_scores: dict[str, list[float]] = {}
    for c in clips:
        r = default[c.name]
        if r.section is not None:
            section_scores.setdefault(str(r.section), []).extend(
                s for s in r.scores if not math.isnan(s)
            )
    cv = metrics(clips, held_out)
    result = {
        **cv,
        "protocol": "leave one performer out over the tuning grid; references from the "
        "standard performances only",
        "tuning_chosen": {
            who: {
                "high": grid[i].high,
                "low": grid[i].low,
                "active_margin": grid[i].active_margin,
                "jump_margin": grid[i].jump_margin,
            }
            for who, i in chosen.items()
        },
        "default": metrics(clips, list(default.values())),
        "grid": [
            {
                "tuning": [t.high, t.low, t.active_margin, t.jump_margin],
                **{
                    k: v
                    for k, v in metrics(clips, list(r.values())).items()
                    if k
                    in (
                        "section_accuracy",
                        "rounds_mae",
                        "rounds_obo",
                        "turning_point_f1",
                    )
                },
            }
            for t, r in zip(grid, runs, strict=True)
        ],
        "peer": metrics(clips, peer),
        "per_clip": {
            c.name: {
                "truth": [c.section, c.rounds],
                "engine": [default[c.name].section, default[c.name].rounds],
                "peer": [p.section, p.rounds],
                "mean_score": round(float(np.nanmean(default[c.name].scores)), 1)
                if default[c.name].scores
                else None,
            }
            for c, p in zip(clips, peer, strict=True)
        },
        "section_scores": {
            k: round(float(np.mean(v)), 1)
            for k, v in sorted(section_scores.items())
            if v
        },
        "engine_s_per_grid_point": round(float(np.mean(engine_s)), 2),
        "peer_s": round(peer_s, 2),
        "backend": args.backend,
    }
    emit("routine", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
