"""The channels a demonstration offers: the joint angles of `ANGLE_CATALOGUE`, per side,
as the live engine sees them (isotropic, by the window's own `aspect_wh`). Step 2 of
`exercises.authoring`.

Core module: stdlib and numpy, plus vision.{types,geometry}.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

from vision.geometry import angle_triples, isotropic, joint_angles_array
from vision.types import PoseWindow, Skeleton

__all__ = [
    "ANGLE_CATALOGUE",
    "SIDES",
    "AuthoringError",
    "demo_trajectories",
    "side_angles",
]

F32 = npt.NDArray[np.float32]

ANGLE_CATALOGUE: Final[dict[str, tuple[str, str, str]]] = {
    "elbow": ("shoulder", "elbow", "wrist"),
    "shoulder": ("hip", "shoulder", "elbow"),
    "hip": ("shoulder", "hip", "knee"),
    "knee": ("hip", "knee", "ankle"),
}
"""Candidate channels: sideless joint triples, angle at the middle joint."""

SIDES: Final[tuple[str, str]] = ("left", "right")


class AuthoringError(ValueError):
    """The demonstration cannot make a template (no repetitions, joints not visible);
    the message says what was expected and what was found."""


def _full_names(names: tuple[str, str, str], side: str) -> tuple[str, str, str]:
    a, b, c = (f"{side}_{n}" for n in names)
    return a, b, c


def side_angles(window: PoseWindow) -> dict[str, dict[str, F32]]:
    """Per catalogue angle and side, (T,) float32 degrees (NaN = not seen); angles
    the skeleton lacks joints for are left out."""
    skeleton: Skeleton = window.skeleton
    names: list[tuple[str, str]] = []
    triples: list[tuple[str, str, str]] = []
    for angle, joints in ANGLE_CATALOGUE.items():
        for side in SIDES:
            full = _full_names(joints, side)
            if all(skeleton.has(n) for n in full):
                names.append((angle, side))
                triples.append(full)
    out: dict[str, dict[str, F32]] = {}
    if not triples:
        return out
    square = isotropic(window)
    values = joint_angles_array(
        square.xyz, square.visibility, angle_triples(skeleton, triples)
    )
    for k, (angle, side) in enumerate(names):
        out.setdefault(angle, {})[side] = np.ascontiguousarray(values[:, k])
    return out


def demo_trajectories(
    window: PoseWindow,
    channels: Sequence[str],
    *,
    sides: Mapping[str, str] | None = None,
) -> tuple[F32, dict[str, str]]:
    """The catalogue angles `channels` over a window, each on one side.

    Args:
        window: The frames.
        channels: Names from `ANGLE_CATALOGUE`.
        sides: Side per channel ("left"/"right"); default, per channel, the side whose
            angle is seen in more frames.

    Returns:
        ((T, K) float32 degrees, NaN = not seen; the side used per channel).

    Raises:
        AuthoringError: a channel is not in the catalogue or the skeleton lacks it.
    """
    per_side = side_angles(window)
    cols: list[F32] = []
    used: dict[str, str] = {}
    for name in channels:
        if name not in per_side:
            raise AuthoringError(
                f"expected channels from {', '.join(ANGLE_CATALOGUE)} that the "
                f"{window.skeleton.value} skeleton has, got {name!r}"
            )
        options = per_side[name]
        side = sides.get(name) if sides is not None else None
        if side not in options:
            side = max(
                options, key=lambda s: int(np.count_nonzero(~np.isnan(options[s])))
            )
        used[name] = side
        cols.append(options[side])
    values = np.stack(cols, axis=1) if cols else np.zeros((len(window), 0))
    return np.ascontiguousarray(values, np.float32), used
