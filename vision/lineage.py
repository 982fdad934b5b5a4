"""Chains of fits in the multi-person estimator (`vision.multiperson`): which earlier
fit each of this frame's fits continues, numbered for `vision.tracking.PoseTracker`.

A chain goes on while the estimator follows a person from frame to frame: their crop
from the last fit, or a fresh crop whose fit is the same person. Pure numpy.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from vision.backends.blazepose import keypoint_similarity

__all__ = ["continued_chains", "number_chains"]


def continued_chains(
    xy_px: npt.NDArray[np.float32],
    visibility: npt.NDArray[np.float32],
    source: npt.NDArray[np.int64],
    same: npt.NDArray[np.bool_],
    last_xy_px: npt.NDArray[np.float32],
    last_visibility: npt.NDArray[np.float32],
    last_chains: npt.NDArray[np.int64],
) -> npt.NDArray[np.int64]:
    """(N,) the chain each of this frame's N fits continues (-1: none).

    A fit continues the chains of the tracked people it is one person with (`same`,
    itself included); of several, the one whose last fit it resembles most (keypoint
    similarity): the chain that was on this person a frame ago, not one whose crop
    slid onto them from a neighbour (a back-row performer's crop sliding onto the
    person in front, in two rows of a class).

    Args:
        xy_px: (N, J, 2) this frame's fits, px.
        visibility: (N, J).
        source: (N,) the tracked row each fit's crop came from (>= T: a fresh crop).
        same: (N, N) bool, which fits are one person (`same_person`).
        last_xy_px: (T, J, 2) each tracked person's last fit, px.
        last_visibility: (T, J).
        last_chains: (T,) each tracked person's chain (empty: none known).
    """
    out = np.full(source.shape, -1, np.int64)
    n_tracked = int(last_chains.shape[0])
    tracked = source < n_tracked
    if not tracked.any():
        return out
    cols = np.flatnonzero(tracked)
    rows = source[cols]
    resemblance = keypoint_similarity(
        xy_px, visibility, last_xy_px[rows], last_visibility[rows]
    )
    resemblance = np.where(same[:, cols], resemblance, -1.0)
    best = np.argmax(resemblance, axis=1)
    found = resemblance[np.arange(source.shape[0]), best] >= 0.0
    out[found] = last_chains[rows[best[found]]]
    return out


def number_chains(
    chains: npt.NDArray[np.int64], next_chain: int
) -> tuple[npt.NDArray[np.int64], int]:
    """The kept poses' chains: a pose continuing none (< 1), or one whose chain an
    earlier kept pose already continues, starts a new one, numbered from
    `next_chain` (numbers are never reused).

    Returns:
        (K,) int64 chains, all >= 1 and distinct; the next unused number.
    """
    out = np.asarray(chains, np.int64).copy()
    seen: set[int] = set()
    for i, value in enumerate(out.tolist()):
        if value < 1 or value in seen:
            out[i] = next_chain
            next_chain += 1
        seen.add(int(out[i]))
    return out, next_chain
