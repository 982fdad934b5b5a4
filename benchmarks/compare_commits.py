"""One benchmark on two commits, back to back: is HEAD slower than a base commit?

    python -m benchmarks.compare_commits --base 2b7b579 --bench kernels --rounds 3 \
        -- --frames 2000 --repeats 5

The base is checked out as a detached `git worktree` (kept under `.bench-worktrees/`
for the next run); model files that git does not track are linked into it from this
checkout, and `../shared` beside it, so both sides load the same models and data.
Each round runs the benchmark module (`python -m benchmarks.<bench> ARGS`, the same
ARGS on both sides) once on the base and once on the working tree, alternating which
goes first, so load from other processes hits both alike. Each run's last stdout line
is the benchmark's JSON result; the numeric values whose dotted path matches `--keys`
(shell-style patterns; each bench has defaults: per-frame times, latencies) are
collected, and the median over the rounds is
compared: `ratio` = HEAD / base, lower is faster for a time. The last line printed is a
JSON summary (benchmark "compare_commits").

Both sides must accept ARGS: give only options the base's benchmark already had.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Final

__all__ = ["DEFAULT_KEYS", "compare", "leaves", "main"]

ROOT: Final[Path] = Path(__file__).resolve().parent.parent
WORKTREES: Final[Path] = ROOT / ".bench-worktrees"

DEFAULT_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "kernels": ("per_frame_us.*", "dtw_vs_dtaidistance.*.cases.*.ours_us"),
    "pose": (
        "backends.*.pipeline_ms_per_frame",
        "backends.*.ratio",
        "backends.*.cpu_ratio",
        "backends.*.stages.*.p50_ms",
        "backends.*.cpu_ms_per_frame.*",
    ),
    "e2e": (
        "configs.*.latency_p50_ms",
        "configs.*.latency_p95_ms",
        "configs.*.server_ms_p50",
        "configs.*.processing_ms_p50",
        "configs.*.server_model_ms_p50",
        "configs.*.overhead_ratio",
    ),
}
"""What is compared by default, per benchmark (dotted paths; list items by index).
Absolute times follow the machine's load; the benchmarks' own ratios against the raw
model (`backends.*.ratio`) are what load disturbs least."""


def leaves(value: Any, prefix: str = "") -> dict[str, float]:
    """Every numeric leaf of a JSON value by dotted path ("configs.0.server_ms_p50")."""
    out: dict[str, float] = {}
    if isinstance(value, dict):
        items: list[tuple[str, Any]] = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, list):
        items = [(str(i), v) for i, v in enumerate(value)]
    else:
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[prefix] = float(value)
        return out
    for key, item in items:
        out.update(leaves(item, f"{prefix}.{key}" if prefix else key))
    return out


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()


def _base_tree(rev: str) -> Path:
    """A detached worktree of `rev` (made once, reused), with this checkout's untracked
    model files linked in."""
    sha = _git("rev-parse", "--verify", f"{rev}^{{commit}}")
    tree = WORKTREES / sha[:12]
    if not (tree / ".git").exists():
        WORKTREES.mkdir(exist_ok=True)
        _git("worktree", "add", "--detach", str(tree), sha)
    # Benchmarks find their data beside the checkout (`../shared/data`): the same
    # folder for the base, whose checkout sits one level further down.
    shared, link = ROOT.parent / "shared", WORKTREES / "shared"
    if shared.is_dir() and not link.exists():
        link.symlink_to(shared)
    models = ROOT / "models"
    for path in models.iterdir():
        target = tree / "models" / path.name
        if path.is_file() and not target.exists():
            target.parent.mkdir(exist_ok=True)
            target.symlink_to(path)
    return tree


def _run(tree: Path, bench: str, args: list[str], timeout_s: float) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    done = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{bench}", *args],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(
            f"benchmarks.{bench} in {tree} exited {done.returncode}; stderr tail:\n"
            + done.stderr[-2000:]
        )
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def compare(
    base: str,
    bench: str,
    args: list[str],
    *,
    rounds: int = 3,
    keys: tuple[str, ...] | None = None,
    timeout_s: float = 600.0,
) -> dict[str, Any]:
    """Run `bench` `rounds` times on `base` and on the working tree, alternating.

    Returns:
        The summary: per matching key the base and HEAD medians and their ratio.
    """
    patterns = keys or DEFAULT_KEYS.get(bench, ("*",))
    trees = {"base": _base_tree(base), "head": ROOT}
    samples: dict[str, dict[str, list[float]]] = {"base": {}, "head": {}}
    for r in range(rounds):
        order = ("base", "head") if r % 2 == 0 else ("head", "base")
        for side in order:
            t0 = time.perf_counter()
            values = leaves(_run(trees[side], bench, args, timeout_s))
            print(
                f"round {r + 1}/{rounds} {side}: {time.perf_counter() - t0:.1f} s",
                file=sys.stderr,
            )
            for path, v in values.items():
                if any(fnmatch.fnmatchcase(path, p) for p in patterns):
                    samples[side].setdefault(path, []).append(v)
    rows = {}
    for path in sorted(set(samples["base"]) & set(samples["head"])):
        b = statistics.median(samples["base"][path])
        h = statistics.median(samples["head"][path])
        rows[path] = {
            "base": round(b, 4),
            "head": round(h, 4),
            "ratio": round(h / b, 3) if b else None,
        }
    ratios = [row["ratio"] for row in rows.values() if row["ratio"] is not None]
    return {
        "benchmark": "compare_commits",
        "bench": bench,
        "args": args,
        "base": _git("rev-parse", "--short", base),
        "head": _git("rev-parse", "--short", "HEAD"),
        "head_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "rounds": rounds,
        "keys": list(patterns),
        "median_ratio": round(statistics.median(ratios), 3) if ratios else None,
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", required=True, help="base commit (any git rev)")
    parser.add_argument("--bench", required=True, help="kernels, pose, e2e, ...")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keys", nargs="*", help="dotted-path patterns to compare")
    parser.add_argument("--timeout", type=float, default=600.0, help="s per run")
    parser.add_argument("args", nargs="*", help="after --: the benchmark's options")
    ns = parser.parse_args(argv)
    summary = compare(
        ns.base,
        ns.bench,
        list(ns.args),
        rounds=ns.rounds,
        keys=tuple(ns.keys) if ns.keys else None,
        timeout_s=ns.timeout,
    )
    for path, row in summary["rows"].items():
        print(
            f"{path:60s} base {row['base']:>10} head {row['head']:>10}  x{row['ratio']}"
        )
    print(
        f"{ns.bench}: median HEAD/base ratio {summary['median_ratio']} over "
        f"{len(summary['rows'])} values, {ns.rounds} rounds (< 1 = HEAD faster)"
    )
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
