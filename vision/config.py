"""Numeric algorithm constants of the vision core (UPPER_SNAKE); `_reset()` restores
them for tests."""

from __future__ import annotations

__all__ = [
    "FASTMATH_FLAGS",
    "MIN_VISIBILITY",
    "ONE_EURO_BETA",
    "ONE_EURO_D_CUTOFF_HZ",
    "ONE_EURO_MIN_CUTOFF_HZ",
]

# fastmath without nnan/ninf: NaN means "missing joint" and must survive the kernels.
FASTMATH_FLAGS = {"nsz", "arcp", "contract", "afn", "reassoc"}

# A joint whose visibility is below this counts as missing for angles.
MIN_VISIBILITY = 0.5

# One-Euro filter (Casiez et al. 2012) defaults for normalized image coordinates at
# 15-30 fps.
ONE_EURO_MIN_CUTOFF_HZ = 1.0
ONE_EURO_BETA = 10.0
ONE_EURO_D_CUTOFF_HZ = 1.0

_DEFAULTS = {
    "MIN_VISIBILITY": MIN_VISIBILITY,
    "ONE_EURO_MIN_CUTOFF_HZ": ONE_EURO_MIN_CUTOFF_HZ,
    "ONE_EURO_BETA": ONE_EURO_BETA,
    "ONE_EURO_D_CUTOFF_HZ": ONE_EURO_D_CUTOFF_HZ,
}


def _reset() -> None:
    """Restore every constant to its default (tests change them)."""
    globals().update(_DEFAULTS)
