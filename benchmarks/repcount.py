"""Repetition counting on real poses (RepCount-A, ../shared/data/repcount-dev).

    python -m benchmarks.repcount --data ../shared/data/repcount-dev [--cv]

Counts every sequence with the template-free counter
(`exercises.counting.count_repetitions`) and, where the action has a built-in
template, with the template counter (`exercises.template_counting.count_with_template`:
the template's channels, rest end, least range and pace, thresholds relative to the
observed range) and with the live session engine (`exercises.analysis.analyze`:
absolute phase thresholds). The headline ("combined") uses the template counter where
there is a template and the template-free counter elsewhere. Figures: `mae` = mean of
|pred - true| / true over sequences with true > 0 (a sequence with no repetition has
no relative error; it still counts for `obo`), `obo` = fraction with
|pred - true| <= 1, `n` = sequences.

`--cv` adds two-fold checks: of the template-free counter's settings (CV_GRID) and of
the template counter's (TEMPLATE_CV_GRID): each grid is tuned on one half of the
sequences (alternating within each action) and scored on the other, and vice versa;
the held-out figures are what to expect from tuning (the defaults are scored on the
same held-out halves).

Prints a table per action and, last, one JSON line; writes
benchmarks/results/repcount.json.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.repcount_data import RepSequence, load_annotations, load_window
from exercises.counting import CounterParams, count_repetitions
from vision.types import PoseWindow

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "repcount-dev"
RESULTS = ROOT / "benchmarks" / "results" / "repcount.json"

# RepCount action -> built-in template id.
TEMPLATES = {
    "squat": "squat",
    "push_up": "push_up",
    "situp": "sit_up",
    "front_raise": "front_raise",
    "jump_jack": "jumping_jack",
}

CV_GRID = {
    "threshold": (0.2, 0.3, 0.4),
    "detrend_periods": (1.0, 1.5, 2.0),
    "range_floor": (0.3, 0.4, 0.5),
}
# The template counter's own choices (the free counter's defaults otherwise).
TEMPLATE_CV_GRID = {
    "guide_strength": (0.5, 0.8, 1.0),
    "pace_limit": (2.0, 3.0, None),
}


def template_counter(**settings: Any) -> Callable[[PoseWindow, str], int] | None:
    """`count(window, template_id)` with the template counter, or None if it is not
    there; `settings`: guide_strength (CounterParams) and pace_limit."""
    try:
        tc = importlib.import_module("exercises.template_counting")
    except ImportError:
        return None
    kwargs: dict[str, Any] = {}
    if "guide_strength" in settings:
        kwargs["params"] = CounterParams(guide_strength=settings["guide_strength"])
    if "pace_limit" in settings:
        kwargs["pace_limit"] = settings["pace_limit"]

    def count(window: PoseWindow, template_id: str) -> int:
        return int(tc.count_with_template(window, template_id, **kwargs).count)

    return count


def session_counter() -> Callable[[PoseWindow, str], int] | None:
    """`count(window, template_id)` through the session engine, or None if the engine
    (exercises.analysis / exercises.spec) is not there yet."""
    try:
        analysis = importlib.import_module("exercises.analysis")
        spec = importlib.import_module("exercises.spec")
    except ImportError:
        return None

    def count(window: PoseWindow, template_id: str) -> int:
        result = analysis.analyze(window, spec.get_spec(template_id))
        return int(result.summary.reps)

    return count


def available_templates() -> dict[str, str]:
    """The part of TEMPLATES whose template exists."""
    try:
        spec = importlib.import_module("exercises.spec")
        ids = set(spec.builtin_specs())
    except (ImportError, AttributeError):
        return {}
    return {action: tid for action, tid in TEMPLATES.items() if tid in ids}


@dataclass(frozen=True, slots=True)
class Row:
    action: str
    name: str
    true: int
    free: int
    template: int | None
    session: int | None = None

    @property
    def combined(self) -> int:
        return self.free if self.template is None else self.template


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


def by_action(
    rows: Sequence[Row], pred: Callable[[Row], int | None]
) -> dict[str, dict[str, Any]]:
    out = {}
    for action in sorted({r.action for r in rows}):
        pairs = [
            (p, r.true)
            for r in rows
            if r.action == action
            if (p := pred(r)) is not None
        ]
        if pairs:
            out[action] = figures(pairs)
    return out


def _fmt(f: dict[str, Any] | None) -> str:
    if not f or f["n"] == 0:
        return f"{'-':>15s}"
    mae = "  n/a" if f["mae"] is None else f"{f['mae']:.3f}"
    return f"{mae:>6s} {f['obo']:.2f} {f['n']:3d}"


def _folds(seqs: Sequence[RepSequence]) -> np.ndarray:
    """0/1 per sequence, alternating within each action."""
    fold = np.zeros(len(seqs), int)
    seen: dict[str, int] = {}
    for i, s in enumerate(seqs):
        fold[i] = seen.get(s.action, 0) % 2
        seen[s.action] = seen.get(s.action, 0) + 1
    return fold


def _two_fold(
    grid_spec: dict[str, tuple[Any, ...]],
    default: dict[str, Any],
    preds: np.ndarray,
    true: np.ndarray,
    fold: np.ndarray,
) -> dict[str, Any]:
    """Tune on one fold, score on the other (preds: (settings, sequences))."""
    keys = list(grid_spec)
    grid = [
        dict(zip(keys, values, strict=True))
        for values in itertools.product(*grid_spec.values())
    ]

    def mae(g: int, mask: np.ndarray) -> float:
        m = mask & (true > 0)
        return float(np.mean(np.abs(preds[g, m] - true[m]) / true[m]))

    d = grid.index(default)
    folds = []
    for k in (0, 1):
        train, test = fold != k, fold == k
        best = min(range(len(grid)), key=lambda g: mae(g, train))
        folds.append(
            {
                "tuned_on_other_half": grid[best],
                "held_out_tuned": figures(
                    list(
                        zip(
                            preds[best, test].tolist(), true[test].tolist(), strict=True
                        )
                    )
                ),
                "held_out_default": figures(
                    list(zip(preds[d, test].tolist(), true[test].tolist(), strict=True))
                ),
            }
        )
    return {"grid": {k: list(v) for k, v in grid_spec.items()}, "folds": folds}


def cross_validate(
    seqs: Sequence[RepSequence], windows: Sequence[PoseWindow]
) -> dict[str, Any]:
    """Two-fold tuning of the template-free counter on CV_GRID (see module doc)."""
    keys = list(CV_GRID)
    grid = [
        dict(zip(keys, values, strict=True))
        for values in itertools.product(*CV_GRID.values())
    ]
    preds = np.zeros((len(grid), len(seqs)), int)
    for g, setting in enumerate(grid):
        params = CounterParams(**setting)
        for i, w in enumerate(windows):
            preds[g, i] = count_repetitions(w, params=params).count
    true = np.array([s.count for s in seqs])
    default = {k: getattr(CounterParams(), k) for k in keys}
    return _two_fold(CV_GRID, default, preds, true, _folds(seqs))


def cross_validate_template(
    seqs: Sequence[RepSequence],
    windows: Sequence[PoseWindow],
    templates: dict[str, str],
) -> dict[str, Any] | None:
    """Two-fold tuning of the template counter on TEMPLATE_CV_GRID, on the sequences
    with a template."""
    tc = importlib.import_module("exercises.template_counting")
    idx = [i for i, s in enumerate(seqs) if s.action in templates]
    if not idx:
        return None
    keys = list(TEMPLATE_CV_GRID)
    grid = [
        dict(zip(keys, values, strict=True))
        for values in itertools.product(*TEMPLATE_CV_GRID.values())
    ]
    preds = np.zeros((len(grid), len(idx)), int)
    for g, setting in enumerate(grid):
        count = template_counter(**setting)
        assert count is not None
        for j, i in enumerate(idx):
            preds[g, j] = count(windows[i], templates[seqs[i].action])
    true = np.array([seqs[i].count for i in idx])
    default = {
        "guide_strength": CounterParams().guide_strength,
        "pace_limit": tc.PACE_LIMIT,
    }
    sub = [seqs[i] for i in idx]
    return _two_fold(TEMPLATE_CV_GRID, default, preds, true, _folds(sub))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--cv", action="store_true", help="two-fold tuning check")
    parser.add_argument(
        "--no-template", action="store_true", help="template-free counter only"
    )
    parser.add_argument(
        "--no-session", action="store_true", help="skip the session engine's counts"
    )
    args = parser.parse_args(argv)

    seqs = load_annotations(args.data)
    if not seqs:
        parser.error(f"no sequences under {args.data}")
    templates = {} if args.no_template else available_templates()
    counter = template_counter() if templates else None
    session = session_counter() if templates and not args.no_session else None
    started = time.perf_counter()
    rows: list[Row] = []
    windows = []
    t_free = t_template = t_session = 0.0
    for s in seqs:
        window = load_window(s.path)
        windows.append(window)
        t0 = time.perf_counter()
        free = count_repetitions(window).count
        t_free += time.perf_counter() - t0
        template = None
        if counter is not None and s.action in templates:
            t0 = time.perf_counter()
            template = counter(window, templates[s.action])
            t_template += time.perf_counter() - t0
        by_session = None
        if session is not None and s.action in templates:
            t0 = time.perf_counter()
            by_session = session(window, templates[s.action])
            t_session += time.perf_counter() - t0
        rows.append(Row(s.action, s.name, s.count, free, template, by_session))

    combined = figures([(r.combined, r.true) for r in rows])
    free_all = figures([(r.free, r.true) for r in rows])
    templated = [r for r in rows if r.template is not None]
    template_only = figures(
        [(r.template, r.true) for r in templated if r.template is not None]
    )
    free_on_templated = figures([(r.free, r.true) for r in templated])
    per_combined = by_action(rows, lambda r: r.combined)
    per_free = by_action(rows, lambda r: r.free)
    per_template = by_action(rows, lambda r: r.template)
    per_session = by_action(rows, lambda r: r.session)
    session_only = figures([(r.session, r.true) for r in rows if r.session is not None])

    print(f"repcount-dev: {len(rows)} sequences from {args.data}")
    print(f"templates: {templates or 'none available'}")
    heads = ("combined", "template-free", "template", "session")
    print(f"{'action':15s} " + " ".join(f"{h:>15s}" for h in heads))
    print(f"{'':15s} " + " ".join(f"{'mae   obo   n':>15s}" for _ in heads))
    for action in per_combined:
        print(
            f"{action:15s} {_fmt(per_combined[action])} {_fmt(per_free.get(action))} "
            f"{_fmt(per_template.get(action))} {_fmt(per_session.get(action))}"
        )
    print(
        f"{'ALL':15s} {_fmt(combined)} {_fmt(free_all)} {_fmt(template_only)} "
        f"{_fmt(session_only)}"
    )
    if templated:
        print(
            f"on the {len(templated)} templated sequences: "
            f"template {_fmt(template_only)}"
            f" vs template-free {_fmt(free_on_templated)}"
            f" vs session {_fmt(session_only)}"
        )
    worst = sorted(rows, key=lambda r: -abs(r.combined - r.true))[:8]
    print(
        "largest misses:", ", ".join(f"{r.name} {r.combined}/{r.true}" for r in worst)
    )

    result: dict[str, Any] = {
        "benchmark": "repcount",
        "data": str(args.data),
        **combined,
        "per_action": per_combined,
        "template_free": {**free_all, "per_action": per_free},
        "template": {
            **template_only,
            "templates": templates,
            "per_action": per_template,
            "template_free_on_same": free_on_templated,
        },
        "session": {**session_only, "per_action": per_session},
        "sequences": [
            {
                "action": r.action,
                "name": r.name,
                "true": r.true,
                "template_free": r.free,
                "template": r.template,
                "session": r.session,
            }
            for r in rows
        ],
        "seconds": {
            "template_free": round(t_free, 2),
            "template": round(t_template, 2),
            "session": round(t_session, 2),
            "total": round(time.perf_counter() - started, 2),
        },
    }
    if args.cv:
        cv = cross_validate(seqs, windows)
        result["template_free_cv"] = cv
        for k, f in enumerate(cv["folds"]):
            print(
                f"cv fold {k}: tuned {f['tuned_on_other_half']} -> held-out "
                f"{_fmt(f['held_out_tuned'])}; "
                f"default settings {_fmt(f['held_out_default'])}"
            )
        if templates:
            tcv = cross_validate_template(seqs, windows, templates)
            result["template_cv"] = tcv
            for k, f in enumerate(tcv["folds"] if tcv else []):
                print(
                    f"template cv fold {k}: tuned {f['tuned_on_other_half']} -> "
                    f"held-out {_fmt(f['held_out_tuned'])}; "
                    f"default settings {_fmt(f['held_out_default'])}"
                )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    summary = {k: v for k, v in result.items() if k != "sequences"}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
