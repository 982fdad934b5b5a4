"""Good vs bad form on real poses (Pose Trainer, ../shared/data/posetrainer-dev).

    python -m benchmarks.form --data ../shared/data/posetrainer-dev

Each clip of an exercise with a built-in template goes through the session engine
(`exercises.analysis.analyze`); the clip is judged from what the coach would see, with
one decision rule for every template (`exercises.analysis.form_is_bad`):

- a rep is bad when a form rule of at least the chosen severity fired in it (its
  `cue_ids`), or when its score is below the score of a rep that stays `band`
  tolerances off the template's reference on average (the template's own tolerance
  bands);
- a clip is bad when at least half its reps are; a clip where no rep was counted is
  bad when such a rule fired at all.

Positive = bad. `balanced_accuracy` = mean of the share of bad clips called bad and
the share of good clips called good. The rule's two settings (severity: any rule or
major ones only; band: 1, 1.5 or 2 tolerances) are chosen by cross-validation: k-fold
by clip, stratified by exercise and label, each fold judged with the setting that did
best on the other folds; leave-one-exercise-out does the same with one fold per
exercise (the setting for an exercise is chosen on the others). The peer, a 1-NN DTW
classifier (the template's scored channels in tolerances, banded DTW, the nearest clip
of the same exercise in the other folds), runs on the same k folds. Prints a table
and, last, one JSON line; writes benchmarks/results/form.json.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._cv import (
    choose_on_folds,
    grid_settings,
    group_folds,
    stratified_folds,
)
from benchmarks._report import emit
from benchmarks.posetrainer_data import (
    FormSequence,
    load_form_sequences,
    load_form_window,
)
from exercises.alignment import dtw_align
from exercises.analysis import Analysis, analyze, channel_trace, form_is_bad
from exercises.events import Severity
from exercises.spec import ExerciseSpec, get_spec

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "posetrainer-dev"

# Pose Trainer exercise folder -> built-in template id (shoulder shrugs have none).
TEMPLATES = {
    "bicep": "bicep_curl",
    "frontraise": "front_raise",
    "shoulderpress": "shoulder_press",
}
FOLDS = 5
GRID: dict[str, tuple[Any, ...]] = {
    "severity": ("minor", "major"),
    "band": (1.0, 1.5, 2.0),
}
DEFAULT = {"severity": "minor", "band": 1.0}


def verdict(analysis: Analysis, spec: ExerciseSpec, severity: str, band: float) -> bool:
    """True = bad form (`exercises.analysis.form_is_bad` with one grid setting)."""
    return form_is_bad(
        analysis,
        spec,
        least_severity=Severity[severity.upper()],
        band_tolerances=band,
    )


def _balanced(pred: np.ndarray, truth: np.ndarray) -> float:
    tpr = float(np.mean(pred[truth])) if truth.any() else 1.0
    tnr = float(np.mean(~pred[~truth])) if (~truth).any() else 1.0
    return (tpr + tnr) / 2.0


def _confusion(pred: np.ndarray, truth: np.ndarray) -> dict[str, int]:
    return {
        "bad_called_bad": int((pred & truth).sum()),
        "bad_called_good": int((~pred & truth).sum()),
        "good_called_bad": int((pred & ~truth).sum()),
        "good_called_good": int((~pred & ~truth).sum()),
    }


def _figures(pred: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
    return {
        "balanced_accuracy": round(_balanced(pred, truth), 4),
        "n": int(truth.shape[0]),
        "confusion": _confusion(pred, truth),
    }


def _trace(seq: FormSequence) -> np.ndarray:
    """The template's scored channels over the clip, in tolerances (T, K)."""
    spec = get_spec(TEMPLATES[seq.exercise])
    assert spec.reference is not None
    trace = channel_trace(load_form_window(seq.path), spec)
    cols = [trace.channels.index(c) for c in spec.reference.channels]
    tol = spec.reference.scale()
    values = trace.values[:, cols] / tol
    seen = np.isfinite(values).any(axis=1)
    return np.ascontiguousarray(values[seen], np.float32)


def nearest_neighbour(seqs: Sequence[FormSequence], folds: np.ndarray) -> np.ndarray:
    """The 1-NN DTW peer: each clip gets the label of the nearest clip of the same
    exercise in the other folds."""
    traces = [_trace(s) for s in seqs]
    pred = np.zeros(len(seqs), bool)
    for i, s in enumerate(seqs):
        best, label = np.inf, False
        for j, o in enumerate(seqs):
            if folds[j] == folds[i] or o.exercise != s.exercise:
                continue
            if len(traces[i]) < 2 or len(traces[j]) < 2:
                continue
            cost = dtw_align(traces[i], traces[j], band_frac=1.0).cost
            if np.isfinite(cost) and cost < best:
                best, label = cost, o.bad
        pred[i] = label
    return pred


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args(argv)

    all_seqs = load_form_sequences(args.data)
    seqs = [s for s in all_seqs if s.exercise in TEMPLATES]
    skipped = sorted({s.exercise for s in all_seqs} - set(TEMPLATES))
    if not seqs:
        parser.error(f"no clips of {sorted(TEMPLATES)} under {args.data}")
    truth = np.array([s.bad for s in seqs])
    analyses = []
    for s in seqs:
        spec = get_spec(TEMPLATES[s.exercise])
        analyses.append((analyze(load_form_window(s.path), spec), spec))
    settings = grid_settings(GRID)
    default = settings.index(DEFAULT)
    preds = np.array(
        [[verdict(a, spec, **g) for a, spec in analyses] for g in settings], bool
    )

    def training_loss(g: int, train: np.ndarray) -> float:
        return 1.0 - _balanced(preds[g, train], truth[train])

    folds = stratified_folds([f"{s.exercise}/{s.bad}" for s in seqs], FOLDS)
    chosen, choices = choose_on_folds(len(settings), folds, training_loss, default)
    cv = preds[chosen, np.arange(len(seqs))]
    by_exercise, exercises = group_folds([s.exercise for s in seqs])
    loeo_chosen, loeo_choices = choose_on_folds(
        len(settings), by_exercise, training_loss, default
    )
    loeo = preds[loeo_chosen, np.arange(len(seqs))]
    plain = preds[default]
    peer = nearest_neighbour(seqs, folds)

    per_exercise = {}
    for ex in sorted({s.exercise for s in seqs}):
        m = np.array([s.exercise == ex for s in seqs])
        per_exercise[ex] = {
            "product": _figures(cv[m], truth[m]),
            "nearest_neighbour_dtw": _figures(peer[m], truth[m]),
        }
    rows = [
        {
            "exercise": s.exercise,
            "name": s.name,
            "bad": bool(s.bad),
            "product": bool(cv[i]),
            "nearest_neighbour_dtw": bool(peer[i]),
            "reps": len(a.reps),
            "scores": [r.score for r in a.reps],
            "cue_ids": [list(r.cue_ids) for r in a.reps],
            "faults": dict(a.summary.faults_by_id),
        }
        for i, (s, (a, _)) in enumerate(zip(seqs, analyses, strict=True))
    ]
    print(f"form: {len(seqs)} clips from {args.data} (no template: {skipped})")
    print(f"{'clip':24s} {'truth':5s} {'product':7s} {'1-NN':5s} reps scores / faults")
    for r in rows:
        print(
            f"{r['name']:24s} {'bad' if r['bad'] else 'good':5s} "
            f"{'bad' if r['product'] else 'good':7s} "
            f"{'bad' if r['nearest_neighbour_dtw'] else 'good':5s} {r['reps']} "
            f"{[round(x) for x in r['scores']]} {r['faults']}"
        )
    for ex, figs in per_exercise.items():
        print(
            f"{ex:14s} balanced accuracy {figs['product']['balanced_accuracy']:.3f} "
            f"(1-NN DTW {figs['nearest_neighbour_dtw']['balanced_accuracy']:.3f}) "
            f"n={figs['product']['n']}"
        )
    print(
        f"leave-one-exercise-out balanced accuracy {_balanced(loeo, truth):.3f}: "
        + ", ".join(f"{exercises[c.fold]}: {settings[c.setting]}" for c in loeo_choices)
    )
    print(
        "setting chosen per fold on the other folds: "
        + ", ".join(f"{c.fold}: {settings[c.setting]}" for c in choices)
    )
    result = {
        "data": str(args.data),
        "headline": f"product verdict, {FOLDS}-fold cross-validated by clip",
        **_figures(cv, truth),
        "plain_default": {"setting": DEFAULT, **_figures(plain, truth)},
        "leave_one_exercise_out": {
            **_figures(loeo, truth),
            "chosen": {exercises[c.fold]: settings[c.setting] for c in loeo_choices},
        },
        "choices": [
            {
                "fold": c.fold,
                "chosen": settings[c.setting],
                "train_error": round(c.train_loss, 4),
            }
            for c in choices
        ],
        "peer": {"nearest_neighbour_dtw": _figures(peer, truth)},
        "per_exercise": per_exercise,
        "skipped_exercises": skipped,
    }
    emit("form", result, {"clips": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
