"""Repetition counting on real poses (RepCount-A, ../shared/data/repcount-dev).

    python -m benchmarks.repcount --data ../shared/data/repcount-dev [--quick]

Methods, all on the same sequences in the same run:
- `product`: the product's rep counter (template-guided where the action has a
  built-in template, template-free elsewhere);
- `session`: a live `exercises.session.Session` fed every frame, never finished
  (what the kiosk shows by the end of the set; templated actions only). It counts
  with the same rep counter as `product`, so it differs only by the repetitions
  confirmed at `finish`; its rep latency (time from a repetition's end, as the
  counter times it, to the frame whose events report it) is reported: p50, p95, max
  and the share reported with the frame that ends it;
- peers: `angle_threshold` (one joint angle, the one moving most, thresholds at a
  quarter and three quarters of its 5-95th percentile range: `exercises.authoring`'s
  cutter) and `pca_period` (first principal component of the body's normalised joint
  coordinates, period from its autocorrelation, count = active frames / period).

Figures: `mae` = mean of |pred - true| / true over sequences with true > 0 (a sequence
with no repetition has no relative error; it still counts for `obo`), `obo` = share
with |pred - true| <= 1, `n` = sequences.

Cross-validation: a method with settings (`product`'s GRID) is run with each; the
headline is **k-fold by sequence** (folds stratified by action): per fold the setting
with the lowest MAE on the other folds is chosen and the fold is predicted with it; the
pooled held-out predictions give the figures. **Leave-one-action-out** does the same
with one fold per action (the figure for an action the settings never saw). Which
setting each fold chose is reported; `default` is the product's own setting, whose
plain figures are reported too. Prints a table per action and, last, one JSON line;
writes benchmarks/results/repcount.json.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._cv import choose_on_folds, grid_settings, group_folds, stratified_folds
from benchmarks._report import emit
from benchmarks.repcount_data import RepSequence, load_annotations, load_window
from exercises import signal
from vision.types import PoseWindow

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "repcount-dev"

# RepCount action -> built-in template id.
TEMPLATES = {
    "squat": "squat",
    "push_up": "push_up",
    "situp": "sit_up",
    "front_raise": "front_raise",
    "jump_jack": "jumping_jack",
}
FOLDS = 5

Counter = Callable[[PoseWindow, "str | None", Mapping[str, Any]], int]


@dataclass(frozen=True, slots=True)
class Method:
    """A counter under test: `count(window, template_id or None, setting)`."""

    name: str
    count: Counter
    grid: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    default: dict[str, Any] = field(default_factory=dict)
    templated_only: bool = False


# --- the product's counter ------------------------------------------------------------

# The settings the product counter's cross-validation chooses among.
GRID: dict[str, tuple[Any, ...]] = {
    "threshold": (0.25, 0.3, 0.35),
    "range_periods": (2.0, 2.5, 3.0),
}


def _product() -> Method:
    """`movecoach analyze`'s count where the action has a template (the session's
    channels into the rep counter), the template-free counter elsewhere."""
    from exercises import analysis
    from exercises.counting import CounterParams, count_repetitions

    def count(window: PoseWindow, tid: str | None, setting: Mapping[str, Any]) -> int:
        params = CounterParams(**setting)
        if tid is None:
            return int(count_repetitions(window, params=params).count)
        return int(analysis.analyze(window, tid, counter_params=params).summary.reps)

    base = CounterParams()
    return Method("product", count, GRID, {k: getattr(base, k) for k in GRID})


def _session(latencies_ms: list[int]) -> Method:
    """A live session fed frame by frame, not finished; each rep's latency goes to
    `latencies_ms`."""
    from exercises.events import RepCompleted
    from exercises.session import Session
    from exercises.spec import get_spec

    def count(window: PoseWindow, tid: str | None, setting: Mapping[str, Any]) -> int:
        assert tid is not None
        session = Session(get_spec(tid), skeleton=window.skeleton)
        last = None
        told: list[int] = []
        for t in range(len(window)):
            ts = int(window.timestamp_ms[t])
            if last is None or ts > last:
                events = session.feed(window[t])
                told += [ts for e in events if isinstance(e, RepCompleted)]
                last = ts
        ends = [r.end_ms for r in session.counted]
        latencies_ms.extend(a - b for a, b in zip(told, ends, strict=True))
        return session.reps

    return Method("session", count, templated_only=True)


def latency_figures(latencies_ms: Sequence[int]) -> dict[str, Any]:
    """p50, p95 and max of rep latencies (ms) and the share with zero latency."""
    if not latencies_ms:
        return {"n": 0}
    a = np.asarray(latencies_ms, np.float64)
    return {
        "n": int(a.size),
        "p50_ms": round(float(np.percentile(a, 50))),
        "p95_ms": round(float(np.percentile(a, 95))),
        "max_ms": round(float(a.max())),
        "at_once": round(float(np.mean(a == 0)), 3),
    }


# --- peers ----------------------------------------------------------------------------


def _angle_threshold() -> Method:
    from exercises.authoring import AuthoringError, cut_repetitions

    def count(window: PoseWindow, tid: str | None, setting: Mapping[str, Any]) -> int:
        try:
            return len(cut_repetitions(window)[2])
        except AuthoringError:
            return 0

    return Method("angle_threshold", count)


def pca_period_count(window: PoseWindow) -> int:
    """The PCA-period peer: first principal component of the normalised body
    coordinates; count = valid frames / autocorrelation period (0 without one)."""
    from exercises.counting import pose_features

    features = pose_features(window)
    ok = features.valid
    if ok.sum() < 24:
        return 0
    coords = signal.bridge_gaps(features.coords)
    coords = np.nan_to_num(coords)
    centred = coords[ok] - coords[ok].mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    pc = np.where(ok, (coords - coords[ok].mean(axis=0)) @ vt[0], 0.0)
    max_lag = min(300, ok.shape[0] // 2)
    lag, _ = signal.acf_period(signal.autocorrelation(pc, max_lag), 12, max_lag, 0.7)
    return 0 if lag <= 0 else round(int(ok.sum()) / lag)


def _pca_period() -> Method:
    return Method("pca_period", lambda w, tid, s: pca_period_count(w))


# --- figures ----------------------------------------------------------------------


def figures(pairs: Sequence[tuple[int, int]]) -> dict[str, Any]:
    """{mae, obo, n, n_mae} for (pred, true) pairs."""
    rel = [abs(p - t) / t for p, t in pairs if t > 0]
    return {
        "mae": round(float(np.mean(rel)), 4) if rel else None,
        "obo": round(float(np.mean([abs(p - t) <= 1 for p, t in pairs])), 4)
        if pairs
        else None,
        "n": len(pairs),
        "n_mae": len(rel),
    }


def _mae(pred: np.ndarray, true: np.ndarray) -> float:
    m = true > 0
    return float(np.mean(np.abs(pred[m] - true[m]) / true[m])) if m.any() else 0.0


def _per_action(
    actions: Sequence[str], pred: np.ndarray, true: np.ndarray
) -> dict[str, dict[str, Any]]:
    out = {}
    for a in sorted(set(actions)):
        idx = [i for i, x in enumerate(actions) if x == a]
        out[a] = figures([(int(pred[i]), int(true[i])) for i in idx])
    return out


def _cv(
    preds: np.ndarray,
    true: np.ndarray,
    folds: np.ndarray,
    settings: list[dict[str, Any]],
    default: int,
    fold_names: Sequence[str] | None = None,
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Held-out predictions (one per item) and the choice per fold."""
    chosen, choices = choose_on_folds(
        len(settings),
        folds,
        lambda g, train: _mae(preds[g, train], true[train]),
        default,
    )
    held_out = preds[chosen, np.arange(true.shape[0])]
    report = [
        {
            "fold": fold_names[c.fold] if fold_names else c.fold,
            "chosen": settings[c.setting],
            "train_mae": round(c.train_loss, 4),
        }
        for c in choices
    ]
    return held_out, report


def evaluate(
    method: Method, seqs: Sequence[RepSequence], windows: Sequence[PoseWindow]
) -> dict[str, Any]:
    """Every setting on every sequence, then the plain and cross-validated figures."""
    idx = [
        i
        for i, s in enumerate(seqs)
        if not method.templated_only or s.action in TEMPLATES
    ]
    settings = grid_settings(method.grid)
    default = settings.index(method.default) if method.grid else 0
    started = time.perf_counter()
    preds = np.zeros((len(settings), len(idx)), np.int64)
    for g, setting in enumerate(settings):
        for j, i in enumerate(idx):
            preds[g, j] = method.count(
                windows[i], TEMPLATES.get(seqs[i].action), setting
            )
    seconds = time.perf_counter() - started
    true = np.array([seqs[i].count for i in idx])
    actions = [seqs[i].action for i in idx]
    plain = preds[default]
    kfold, kfold_choices = _cv(
        preds, true, stratified_folds(actions, FOLDS), settings, default
    )
    loao_folds, names = group_folds(actions)
    loao, loao_choices = _cv(preds, true, loao_folds, settings, default, names)
    return {
        "default": settings[default] if method.grid else {},
        "plain": {
            **figures(list(zip(plain.tolist(), true.tolist(), strict=True))),
            "per_action": _per_action(actions, plain, true),
        },
        "kfold_cv": {
            **figures(list(zip(kfold.tolist(), true.tolist(), strict=True))),
            "folds": FOLDS,
            "per_action": _per_action(actions, kfold, true),
            "choices": kfold_choices,
        },
        "loao_cv": {
            **figures(list(zip(loao.tolist(), true.tolist(), strict=True))),
            "per_action": _per_action(actions, loao, true),
            "choices": loao_choices,
        },
        "grid": {k: list(v) for k, v in method.grid.items()},
        "predictions": {
            seqs[i].name: {"plain": int(plain[j]), "kfold_cv": int(kfold[j])}
            for j, i in enumerate(idx)
        },
        "seconds": round(seconds, 2),
    }


def _fmt(f: dict[str, Any] | None) -> str:
    if not f or f["n"] == 0:
        return f"{'-':>15s}"
    mae = "  n/a" if f["mae"] is None else f"{f['mae']:.3f}"
    return f"{mae:>6s} {f['obo']:.2f} {f['n']:3d}"


def _print(results: dict[str, dict[str, Any]]) -> None:
    names = list(results)
    print(f"{'action':15s} " + " ".join(f"{n:>15s}" for n in names))
    print(f"{'(k-fold cv)':15s} " + " ".join(f"{'mae   obo   n':>15s}" for _ in names))
    actions = sorted({a for r in results.values() for a in r["plain"]["per_action"]})
    for a in actions:
        cells = [_fmt(results[n]["kfold_cv"]["per_action"].get(a)) for n in names]
        print(f"{a:15s} " + " ".join(cells))
    for key, label in (
        ("kfold_cv", "ALL k-fold"),
        ("loao_cv", "ALL l-o-a-o"),
        ("plain", "ALL plain"),
    ):
        print(f"{label:15s} " + " ".join(_fmt(results[n][key]) for n in names))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--quick", action="store_true", help="the product's default setting only"
    )
    parser.add_argument("--no-session", action="store_true", help="skip the session")
    parser.add_argument(
        "--only", nargs="*", metavar="ACTION", help="only these actions"
    )
    args = parser.parse_args(argv)

    seqs = sorted(load_annotations(args.data), key=lambda s: (s.action, s.name))
    if args.only:
        seqs = [s for s in seqs if s.action in args.only]
    if not seqs:
        parser.error(f"no sequences under {args.data}")
    windows = [load_window(s.path) for s in seqs]
    product = _product()
    if args.quick:
        grid = {k: (v,) for k, v in product.default.items()}
        product = Method(product.name, product.count, grid, product.default)
    latencies: list[int] = []
    methods = [product, _angle_threshold(), _pca_period()]
    if not args.no_session:
        methods.insert(1, _session(latencies))
    results = {m.name: evaluate(m, seqs, windows) for m in methods}
    latency = latency_figures(latencies)

    print(f"repcount: {len(seqs)} sequences from {args.data}; templates {TEMPLATES}")
    _print(results)
    print("live session rep latency:", latency)
    head = results["product"]
    worst = sorted(
        head["predictions"].items(),
        key=lambda kv: (
            -abs(kv[1]["kfold_cv"] - next(s.count for s in seqs if s.name == kv[0]))
        ),
    )[:8]
    print(
        "largest misses (k-fold cv):",
        ", ".join(f"{n} {p['kfold_cv']}" for n, p in worst),
    )
    true = {s.name: s.count for s in seqs}
    emit(
        "repcount",
        {
            "data": str(args.data),
            "headline": "product, k-fold cross-validated by sequence",
            "mae": head["kfold_cv"]["mae"],
            "obo": head["kfold_cv"]["obo"],
            "n": head["kfold_cv"]["n"],
            "mae_loao": head["loao_cv"]["mae"],
            "obo_loao": head["loao_cv"]["obo"],
            "peers": {
                n: {
                    "mae": r["kfold_cv"]["mae"],
                    "obo": r["kfold_cv"]["obo"],
                    "n": r["kfold_cv"]["n"],
                }
                for n, r in results.items()
                if n != "product"
            },
            "per_action": head["kfold_cv"]["per_action"],
            "session_rep_latency": latency,
        },
        {"methods": results, "true": true},
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
