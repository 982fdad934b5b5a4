"""vision/lineage.py: which chain of fits a fit continues, and how chains are numbered.
Exact expectations on small synthetic poses (pure numpy, no model)."""

from __future__ import annotations

import numpy as np

from tests.factories import make_frame
from vision.lineage import continued_chains, number_chains

WH = np.array([640.0, 360.0], np.float32)


def _fit(center_x: float, height: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    frame = make_frame(1, center_x=center_x, height=height)
    return frame.xyz[:, :2] * WH, frame.visibility


def _stack(*fits: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    return np.stack([f[0] for f in fits]), np.stack([f[1] for f in fits])


def test_a_fit_continues_the_chain_that_was_on_its_person() -> None:
    """Two tracked people (chains 7 at x 0.3, 9 at x 0.6). This frame chain 9's crop
    slid onto the person at 0.3 (its fit lies on her) and a fresh crop found someone
    new: the fit at 0.3 continues chain 7, whose last fit it resembles, though it
    came from chain 9's crop; the new one continues nothing."""
    last_xy, last_vis = _stack(_fit(0.3), _fit(0.6))
    xy, vis = _stack(_fit(0.3), _fit(0.305), _fit(0.85))
    source = np.array([0, 1, 2])  # crops: tracked row 0, tracked row 1, fresh
    same = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1]], bool)
    chains = continued_chains(
        xy, vis, source, same, last_xy, last_vis, np.array([7, 9])
    )
    assert chains.tolist() == [7, 7, -1]


def test_a_fresh_crop_of_a_tracked_person_continues_their_chain() -> None:
    """A detection's crop fits all of someone whose tracked crop fitted part of them
    (one person by `same`): the fresh fit continues their chain even though its size
    doubled."""
    last_xy, last_vis = _stack(_fit(0.5, height=0.3))
    xy, vis = _stack(_fit(0.5, height=0.3), _fit(0.5, height=0.6))
    same = np.ones((2, 2), bool)
    chains = continued_chains(
        xy, vis, np.array([0, 1]), same, last_xy, last_vis, np.array([4])
    )
    assert chains.tolist() == [4, 4]


def test_nothing_tracked_or_no_chains_known() -> None:
    xy, vis = _stack(_fit(0.5))
    none = continued_chains(
        xy,
        vis,
        np.array([0]),
        np.ones((1, 1), bool),
        xy[:0],
        vis[:0],
        np.zeros(0, np.int64),
    )
    assert none.tolist() == [-1]


def test_number_chains_new_and_repeated_get_fresh_numbers() -> None:
    out, nxt = number_chains(np.array([4, -1, 4, 2, 0]), 10)
    assert out.tolist() == [4, 10, 11, 2, 12] and nxt == 13
    empty, same = number_chains(np.zeros(0, np.int64), 3)
    assert empty.shape == (0,) and same == 3
