"""DTW kernels against a numpy + Python peer, measured in the same run.

`python -m benchmarks.dtw [--repeats R]`

Cases (angles in degrees, 4 angles, per-angle tolerance):
- align: one 60-frame rep against a 21-row template, band 0.25
  (`exercises.alignment.dtw_align`, path and per-angle costs included);
- batch: 64 reps of 40-80 frames (NaN-padded) against the template
  (`dtw_costs_batch`), against the peer looping over them;
- stream: one `StreamingAligner.push` against a 21-row template per sample.
The peer computes the NaN-aware local-cost matrix with numpy and runs the recurrence
in Python loops over the band (the usual pure-Python DTW); both give the same costs,
checked before timing. Prints one line per case and the JSON line last; writes
benchmarks/results/dtw.json.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import numpy as np

from benchmarks._report import emit
from exercises.alignment import (
    StreamingAligner,
    dtw_align,
    dtw_costs_batch,
)

K = 4
TOLERANCE = np.array([10.0, 10.0, 15.0, 15.0], np.float32)


def _rep(n: int, rng: np.random.Generator) -> np.ndarray:
    s = np.sin(np.pi * np.linspace(0.0, 1.0, n)) ** 2
    base = np.stack([170 - 90 * s, 160 - 70 * s, 175 - 30 * s, 120 + 40 * s], 1)
    return (base + rng.normal(0, 3, base.shape)).astype(np.float32)


def _local_costs(query: np.ndarray, reference: np.ndarray, scale: np.ndarray) -> tuple:
    """(T, R) mean normalised |diff| over angles seen in both, and non-empty mask."""
    diff = np.abs(query[:, None, :].astype(np.float64) - reference[None]) / scale[None]
    valid = ~np.isnan(diff)
    n = valid.sum(-1)
    cost = np.where(valid, diff, 0.0).sum(-1) / np.maximum(n, 1)
    return cost, n > 0


def peer_dtw(
    query: np.ndarray, reference: np.ndarray, scale: np.ndarray, band_frac: float
) -> float:
    """Banded DTW, mean cost per non-empty step (same model as the kernels)."""
    t_len, r_len = len(query), len(reference)
    cost, nonempty = _local_costs(query, reference, scale)
    width = min(band_frac, 1.0) * (t_len - 1) * (r_len - 1) + max(t_len - 1, r_len - 1)
    acc = np.full((t_len, r_len), math.inf)
    steps = np.zeros((t_len, r_len), np.int64)
    for i in range(t_len):
        for j in range(r_len):
            if abs(i * (r_len - 1) - j * (t_len - 1)) > width:
                continue
            if i == 0 and j == 0:
                best, best_n = 0.0, 0
            else:
                best, best_n = math.inf, 0
                if i and j and acc[i - 1, j - 1] < best:
                    best, best_n = acc[i - 1, j - 1], steps[i - 1, j - 1]
                if i and acc[i - 1, j] < best:
                    best, best_n = acc[i - 1, j], steps[i - 1, j]
                if j and acc[i, j - 1] < best:
                    best, best_n = acc[i, j - 1], steps[i, j - 1]
            acc[i, j] = best + cost[i, j]
            steps[i, j] = best_n + nonempty[i, j]
    return float(acc[-1, -1] / steps[-1, -1]) if steps[-1, -1] else math.nan


class PeerStream:
    """SPRING column update with numpy local costs and a Python loop over R."""

    def __init__(self, reference: np.ndarray, scale: np.ndarray) -> None:
        self.reference, self.scale = reference, scale
        self.acc = np.full(len(reference), math.inf)
        self.steps = np.zeros(len(reference), np.int64)

    def push(self, sample: np.ndarray) -> tuple[int, float]:
        cost, nonempty = _local_costs(sample[None], self.reference, self.scale)
        acc, steps = self.acc, self.steps
        diag, diag_n = 0.0, 0
        best_j, best = -1, math.inf
        for j in range(len(acc)):
            up, up_n = acc[j], steps[j]
            b, b_n = diag, diag_n
            if up < b:
                b, b_n = up, up_n
            if j and acc[j - 1] < b:
                b, b_n = acc[j - 1], steps[j - 1]
            acc[j] = b + cost[0, j]
            steps[j] = b_n + nonempty[0, j]
            diag, diag_n = up, up_n
            if steps[j] and acc[j] / steps[j] < best:
                best, best_j = acc[j] / steps[j], j
        return best_j, best


def _best_of(
    fn: Callable[[], object],
    repeats: int,
    inner: int,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    """Best mean seconds per call over `repeats` runs of `inner` calls (wall time, or
    another clock such as `time.process_time`)."""
    best = math.inf
    for _ in range(repeats):
        t0 = clock()
        for _ in range(inner):
            fn()
        best = min(best, (clock() - t0) / inner)
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    reference = _rep(21, rng)
    scale_rk = np.broadcast_to(TOLERANCE, reference.shape).astype(np.float64)
    query = _rep(60, rng)
    query[10:13] = np.nan  # nobody in view for three frames
    query[30, 1] = np.nan

    lengths = rng.integers(40, 81, 64).astype(np.int64)
    queries = np.full((64, 80, K), np.nan, np.float32)
    for b, n in enumerate(lengths):
        queries[b, :n] = _rep(int(n), rng)

    # Same numbers before timing (and the first calls pay the JIT / cache load).
    got = dtw_align(query, reference, band_frac=0.25, scale=TOLERANCE).cost
    want = peer_dtw(query, reference, scale_rk, 0.25)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    got_b = dtw_costs_batch(
        queries, lengths, reference, band_frac=0.25, scale=TOLERANCE
    )
    want_b = [
        peer_dtw(queries[b, :n], reference, scale_rk, 0.25)
        for b, n in enumerate(lengths)
    ]
    np.testing.assert_allclose(got_b, want_b, rtol=1e-5)
    stream_samples = _rep(200, rng)
    aligner, peer = (
        StreamingAligner(reference, scale=TOLERANCE),
        PeerStream(reference, scale_rk),
    )
    for sample in stream_samples[:50]:
        pos = aligner.push(sample)
        j, cost = peer.push(sample)
        assert pos.reference_index == j and math.isclose(pos.cost, cost, rel_tol=1e-6)

    cases = {}
    align_s = _best_of(
        lambda: dtw_align(query, reference, band_frac=0.25, scale=TOLERANCE),
        args.repeats,
        200,
    )
    align_peer_s = _best_of(
        lambda: peer_dtw(query, reference, scale_rk, 0.25), args.repeats, 5
    )
    cases["align_60x4_vs_21x4"] = (align_s, align_peer_s)

    batch_s = _best_of(
        lambda: dtw_costs_batch(
            queries, lengths, reference, band_frac=0.25, scale=TOLERANCE
        ),
        args.repeats,
        20,
    )
    batch_peer_s = _best_of(
        lambda: [
            peer_dtw(queries[b, :n], reference, scale_rk, 0.25)
            for b, n in enumerate(lengths)
        ],
        max(1, args.repeats // 2),
        1,
    )
    cases["batch_64_vs_21x4"] = (batch_s, batch_peer_s)

    it = iter(np.tile(stream_samples, (50, 1)))
    stream_s = _best_of(lambda: aligner.push(next(it)), args.repeats, 1000)
    it_peer = iter(np.tile(stream_samples, (10, 1)))
    stream_peer_s = _best_of(lambda: peer.push(next(it_peer)), args.repeats, 300)
    cases["stream_push_21x4"] = (stream_s, stream_peer_s)

    result = {}
    for name, (ours, theirs) in cases.items():
        result[name] = {
            "kernel_us": round(ours * 1e6, 2),
            "peer_us": round(theirs * 1e6, 2),
            "speedup": round(theirs / ours, 1),
        }
        print(
            f"{name:22s} kernel {ours * 1e6:10.1f} us   numpy+python peer "
            f"{theirs * 1e6:10.1f} us   x{theirs / ours:.0f}"
        )
    result["batch_64_vs_21x4"]["per_query_us"] = round(batch_s * 1e6 / 64, 2)
    emit("dtw", {"cases": result, "peer": "numpy local costs + Python band loop"})


if __name__ == "__main__":
    main()
