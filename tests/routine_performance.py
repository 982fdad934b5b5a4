"""Synthetic routine performances built from a routine's own key poses.

`perform(routine, plan)` strings rounds together: each round passes through the
section's key poses (linear in between, the turning pose held a moment), right-side
rounds are the left side mirrored, and sections are joined by a short walk between
the last pose and the next section's rest pose. Frames are COCO-17 in a picture of the
given aspect, feet at a fixed point on the floor, so a heel raise lifts the body.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from exercises.routine import RoutineSpec, Section
from exercises.routine_features import mirror_joints
from vision.types import PoseFrame, Skeleton

F64 = npt.NDArray[np.float64]

FEET_XY = (0.5, 0.92)
TORSO = 0.22  # of the picture's height


@dataclass(frozen=True, slots=True)
class Turn:
    """Where a performed round held its turning pose, frames [first, last], and the
    frames of its rising and returning key poses (the turning phase between)."""

    section_id: str
    side: str | None
    first: int
    last: int
    rising: int
    returning: int


@dataclass(frozen=True, slots=True)
class Part:
    """One section of a plan: its id, how many rounds, and the sides of the rounds
    (None: the standard's, i.e. left first then alternating where it alternates, the
    left where either side will do)."""

    section_id: str
    rounds: int
    sides: tuple[str, ...] | None = None


def round_poses(
    section: Section,
    side: str | None,
    duration_s: float,
    fps: float,
    hold_s: float,
    turn_shift: F64 | None = None,
) -> tuple[list[F64], tuple[int, int]]:
    """Body poses (torso units, feet at the origin) of one round, and the rows
    [first, last] that hold the turning pose (on to the end where the round ends
    in it, as the preparation does)."""
    keys = section.key_poses
    times = np.array([k.t for k in keys])
    stack = np.stack([k.array().astype(np.float64) for k in keys])
    turn_row = [k.name for k in keys].index("turn")
    if turn_shift is not None:
        stack[turn_row] += turn_shift
    if side == "right":
        stack = np.stack([mirror_joints(p) for p in stack])
    move_s = max(duration_s - hold_s, 1.0)
    n = max(round(move_s * fps), 4)
    hold = round(hold_s * fps)
    out: list[F64] = []
    held = (-1, -1)
    for i in range(n):
        t = i / (n - 1)
        flat = np.array(
            [np.interp(t, times, stack[:, j // 2, j % 2]) for j in range(34)]
        )
        out.append(flat.reshape(17, 2))
        if held[0] < 0 and abs(t - section.turn_t) <= 0.5 / (n - 1):
            out[-1] = stack[turn_row].copy()
            held = (len(out) - 1, len(out) - 1 + hold)
            out += [out[-1].copy() for _ in range(hold)]
    last = held[1]
    while last + 1 < len(out) and np.abs(out[last + 1] - stack[turn_row]).max() < 1e-6:
        last += 1
    return out, (held[0], last)


def _walk(a: F64, b: F64, seconds: float, fps: float) -> list[F64]:
    n = max(round(seconds * fps), 2)
    return [a + (b - a) * (i / (n - 1)) for i in range(n)]


def frames_of(
    poses: Sequence[F64],
    fps: float,
    aspect: float,
    start_ms: int = 0,
    torso: float = TORSO,
) -> list[PoseFrame]:
    """Body poses -> COCO-17 frames in a picture of `aspect` (width / height), the
    torso `torso` of the picture's height."""
    out = []
    for i, body in enumerate(poses):
        xyz = np.zeros((17, 3), np.float32)
        xyz[:, 0] = FEET_XY[0] + body[:, 0] * torso / aspect
        xyz[:, 1] = FEET_XY[1] + body[:, 1] * torso
        out.append(
            PoseFrame(
                xyz,
                np.ones(17, np.float32),
                start_ms + round(i * 1000 / fps),
                Skeleton.COCO_17,
            )
        )
    return out


def perform(
    routine: RoutineSpec,
    plan: Sequence[Part],
    *,
    fps: float = 10.0,
    aspect: float = 1.0,
    pace: float = 1.0,
    hold_s: float = 1.0,
    still_s: float = 2.0,
    turn_shift: F64 | None = None,
) -> tuple[list[PoseFrame], list[Turn]]:
    """A performance of `plan` and where each round held its turn: rounds at `pace`
    times the standard round time, still at the start and end, walking 1.5 s between
    sections; `turn_shift` (17, 2) torso units moves every round's turning key pose
    (a person who does not reach the standard's)."""
    poses: list[F64] = []
    turns: list[Turn] = []
    for part in plan:
        section = routine.section(part.section_id)
        if part.sides is not None:
            sides: list[str | None] = list(part.sides)
        elif section.sides == "alternate":
            sides = ["left" if i % 2 == 0 else "right" for i in range(part.rounds)]
        elif section.sides == "any":
            sides = ["left"] * part.rounds  # the side the reference is stored for
        else:
            sides = [None] * part.rounds
        assert len(sides) == part.rounds
        for side in sides:
            rnd, (first, last) = round_poses(
                section, side, section.pace_s * pace, fps, hold_s, turn_shift
            )
            if poses:
                walk_s = 0.2 if _same(poses[-1], rnd[0]) else 1.5
                poses += _walk(poses[-1], rnd[0], walk_s, fps)
            else:
                poses += [rnd[0]] * round(still_s * fps)
            n = len(rnd) - (last - first)
            base = len(poses)
            rising = base + round(0.25 * (n - 1))
            returning = base + (last - first) + round(0.75 * (n - 1))
            turns.append(
                Turn(section.id, side, base + first, base + last, rising, returning)
            )
            poses += rnd
    poses += [poses[-1]] * round(still_s * fps)
    return frames_of(poses, fps, aspect), turns


def _same(a: F64, b: F64) -> bool:
    return bool(np.abs(a - b).max() < 0.05)
