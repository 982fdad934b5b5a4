"""Cross-validation for the accuracy benchmarks: folds by sequence or by group, and the
choice of a setting on the training folds only.

A method is evaluated once per setting of its grid on every item (`preds`: one row per
setting); `choose_on_folds` then picks, for each fold, the setting that does best on the
other folds and keeps that setting's predictions for the fold's items. The pooled
held-out predictions are what to expect on data that chose nothing. A method without
settings has a one-row grid, and its cross-validated figures equal its plain ones.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "FoldChoice",
    "choose_on_folds",
    "grid_settings",
    "group_folds",
    "stratified_folds",
]

I64 = npt.NDArray[np.int64]


def stratified_folds(strata: Sequence[str], k: int) -> I64:
    """Fold number (0..k-1) per item: the items of each stratum dealt round-robin in
    their order, each stratum starting where the previous one stopped, so every fold
    gets a share of every stratum."""
    fold = np.zeros(len(strata), np.int64)
    seen: dict[str, int] = {}
    offset = 0
    for i, s in enumerate(strata):
        if s not in seen:
            seen[s] = offset
        fold[i] = seen[s] % k
        seen[s] += 1
        offset = seen[s]
    return fold


def group_folds(groups: Sequence[str]) -> tuple[I64, list[str]]:
    """One fold per group (leave-one-group-out): (fold per item, group per fold)."""
    names = sorted(set(groups))
    return np.array([names.index(g) for g in groups], np.int64), names


def grid_settings(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of a grid {name: values}, in product order ([{}] if empty)."""
    keys = list(grid)
    return [
        dict(zip(keys, values, strict=True))
        for values in itertools.product(*(grid[k] for k in keys))
    ]


@dataclass(frozen=True, slots=True)
class FoldChoice:
    """The setting chosen for one fold on the other folds, and its training loss."""

    fold: int
    setting: int
    train_loss: float


def choose_on_folds(
    n_settings: int,
    folds: I64,
    loss: Callable[[int, npt.NDArray[np.bool_]], float],
    default: int = 0,
) -> tuple[I64, list[FoldChoice]]:
    """Per fold, the setting with the lowest `loss(setting, train_mask)` on the other
    folds (ties go to `default`, then to the earlier setting).

    Returns:
        (setting per item: the one chosen for its fold, the choices per fold).
    """
    chosen = np.full(folds.shape[0], default, np.int64)
    choices = []
    for f in sorted(set(folds.tolist())):
        train = folds != f
        losses = [loss(g, train) for g in range(n_settings)]
        order = sorted(range(n_settings), key=lambda g: (losses[g], g != default, g))
        best = order[0]
        chosen[folds == f] = best
        choices.append(FoldChoice(int(f), best, float(losses[best])))
    return chosen, choices
