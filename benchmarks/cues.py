"""Frame-level form cues and phases on real poses (../shared/data/cues-sample).

    python -m benchmarks.cues --data ../shared/data/cues-sample [--aspect 1.0]

Each labelled frame (BlazePose landmarks of a real person, one row per frame) goes
through the matching template's phase logic and form rules
(`exercises.analysis.judge_frame`): plank hips too high / too low, lunge front knee
past the toes, curl leaning back, squat up / down. A fault label is predicted when the
template's rule for it fires (a frame breaking none of the file's rules is correct); a
phase label is the phase the frame is in. Per file: balanced accuracy (mean recall over
the labels present) and the confusion table. The peer predicts every frame as the
file's most frequent label (balanced accuracy 1 / number of labels): what a cue that
never fires, or always fires, would score. Nothing here is fitted, so there is nothing
to cross-validate: the figures are the rules' own. No threshold was chosen on these
frames: each rule sits one of its template's tolerance bands past the target (plank
hips: 10 deg past the 2 deg target bend either way; curl leaning back: 15 deg, the
template's angle band, behind upright), or where the fault is defined (lunge: the knee
past the toes' vertical line).

The files give x and y normalised to an image whose size they do not state; angles
need it (`--aspect`, width / height; the kiosk knows its camera's). The default,
16:9, is the frame of HD video (1280x720, 1920x1080), which phone and webcam clips
like the source's are; it agrees with the people in the files (in the squat file's
front views the shoulder span is 0.39 of the shoulder-to-hip height at aspect 1, where
adults measure about 0.7: a picture about 1.8 times as wide as high). `--aspect 1`
shows the figures on the coordinates as stored.
Prints a table and, last, one JSON line; writes benchmarks/results/cues.json.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._report import emit
from exercises.analysis import judge_frame
from exercises.spec import get_spec
from vision.types import PoseFrame, Skeleton

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "cues-sample"

# File -> (template, {label: the rule id it names, or a phase name}, kind).
FILES: dict[str, tuple[str, dict[str, str | None], str]] = {
    "plank": ("plank", {"C": None, "H": "hips_high", "L": "hips_sag"}, "faults"),
    "lunge": ("lunge", {"C": None, "L": "knee_past_toes"}, "faults"),
    "bicep_curl": ("bicep_curl", {"C": None, "L": "leaning_back"}, "faults"),
    "squat": ("squat", {"up": "up", "down": "down"}, "phases"),
}
_AXES = ("x", "y", "z", "v")


def load_frames(path: Path) -> list[tuple[str, PoseFrame]]:
    """(label, BlazePose-33 frame) per row; joints not in the file are missing."""
    sk = Skeleton.BLAZEPOSE_33
    out = []
    with path.open(newline="") as f:
        for i, row in enumerate(csv.DictReader(f)):
            xyz = np.full((sk.num_joints, 3), np.nan, np.float32)
            vis = np.zeros(sk.num_joints, np.float32)
            for key, value in row.items():
                if key == "label" or "_" not in key:
                    continue
                joint, axis = key.rsplit("_", 1)
                if axis not in _AXES or not sk.has(joint):
                    continue
                if axis == "v":
                    vis[sk.index(joint)] = float(value)
                else:
                    xyz[sk.index(joint), _AXES.index(axis)] = float(value)
            out.append((row["label"], PoseFrame(xyz, vis, i * 33, sk)))
    return out


def predict(
    template: str,
    labels: dict[str, str | None],
    kind: str,
    frame: PoseFrame,
    aspect: float,
) -> str:
    """The label the template's logic gives one frame."""
    judged = judge_frame(
        get_spec(template), dataclasses.replace(frame, aspect_wh=aspect)
    )
    if kind == "phases":
        by_phase = {phase: label for label, phase in labels.items()}
        return by_phase.get(judged.phase or "", "?")
    clean = next(label for label, rule in labels.items() if rule is None)
    for label, rule in labels.items():
        if rule is not None and rule in judged.faults:
            return label
    return clean


def balanced_accuracy(truth: list[str], pred: list[str]) -> float:
    """Mean recall over the labels present in `truth`."""
    recalls = [
        np.mean([p == lab for t, p in zip(truth, pred, strict=True) if t == lab])
        for lab in sorted(set(truth))
    ]
    return float(np.mean(recalls))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--aspect", type=float, default=16 / 9, help="image width / height"
    )
    args = parser.parse_args(argv)

    per_file: dict[str, Any] = {}
    rows = []
    for name, (template, labels, kind) in FILES.items():
        path = args.data / f"{name}.csv"
        if not path.exists():
            continue
        frames = load_frames(path)
        truth = [label for label, _ in frames]
        pred = [predict(template, labels, kind, f, args.aspect) for _, f in frames]
        majority = Counter(truth).most_common(1)[0][0]
        confusion: dict[str, dict[str, int]] = {}
        for t, p in zip(truth, pred, strict=True):
            confusion.setdefault(t, {}).setdefault(p, 0)
            confusion[t][p] += 1
        per_file[name] = {
            "template": template,
            "balanced_accuracy": round(balanced_accuracy(truth, pred), 4),
            "n": len(frames),
            "confusion": confusion,
            "peer_majority": round(
                balanced_accuracy(truth, [majority] * len(truth)), 4
            ),
        }
        rows += [
            {"file": name, "row": i, "label": t, "predicted": p}
            for i, (t, p) in enumerate(zip(truth, pred, strict=True))
        ]
    if not per_file:
        parser.error(f"no labelled files under {args.data}")
    print(f"cues: {sum(f['n'] for f in per_file.values())} frames from {args.data}")
    for name, f in per_file.items():
        print(
            f"{name:12s} {f['template']:12s} "
            f"balanced accuracy {f['balanced_accuracy']:.3f} "
            f"(majority peer {f['peer_majority']:.2f}) n={f['n']} {f['confusion']}"
        )
    emit(
        "cues",
        {
            "data": str(args.data),
            "image_aspect": args.aspect,
            "balanced_accuracy": round(
                float(np.mean([f["balanced_accuracy"] for f in per_file.values()])), 4
            ),
            "n": sum(f["n"] for f in per_file.values()),
            "peer": {
                "majority": round(
                    float(np.mean([f["peer_majority"] for f in per_file.values()])), 4
                )
            },
            "per_file": per_file,
        },
        {"frames": rows},
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
