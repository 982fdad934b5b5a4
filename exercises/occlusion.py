"""Which joints a window of landmarks cannot be trusted for, because the camera did not
see them: out of the picture, behind a table or a chair, or guessed by the model.

    mask = hidden_joints(window, aspect_wh=16 / 9, visible_region=(0, 0, 1, 0.6))
    # mask: (T, J) bool, True = hidden in that frame: never score, count or cue it

BlazePose always returns all 33 landmarks, guessing the ones it cannot see. Measured on
three shared clips (a sit-to-stand seen from the side, a squat from the front, a woman
standing still) with the bottom 40 % cropped off or painted over, against where the
whole picture put each joint (docs/occlusion.md has the table; `python -m
tests.exercises.occlusion_table` prints it):

- the guessed leg joints were 0.17-0.79 torso lengths from where the whole picture had
  them (medians per joint);
- their visibility was mostly low (0.01-0.25), but not always: a seated man's knee
  just under the edge got 0.52-0.55, hips just under a painted board 0.78;
- cropped-off legs were placed past the picture's edge in 63-100 % of frames, pinned
  to it in 0-24 %;
- while the person moved, guessed leg joints jittered 2.3-12.5 times more than the
  shoulders (median |third difference| 0.05-0.64 torso lengths per frame, against
  medians of 0.035-0.065 for legs that were seen, 90th percentile 0.13 while walking
  away from a panning camera); on a person standing still they were about as steady as
  seen ones (1.1-1.7 times the shoulders under a crop).

So a joint is hidden in a frame when any of these holds:

1. its coordinates are not finite;
2. it lies outside `visible_region` (the picture by default; a station whose table
   hides the bottom of the picture sets the region's bottom to the table's edge), by
   more than `MARGIN`;
3. its mean visibility over the window is below `min_visibility` (the model's own
   word, taken when it says "not seen", never alone when it says "seen");
4. it is a lower-body joint (`LOWER_BODY`: what tables and chairs hide) and over the
   window it jitters like a guess: its median |third difference| (isotropic, in torso
   lengths) is at least `JITTER_RATIO` times the shoulders' and at least `JITTER_MIN`
   torso lengths. Third differences leave out smooth movement, but not all of it: the
   wrists of a brisk lateral raise (noor_lateral_raise, 1.5 s a raise at 10 fps) reach
   4 times the shoulders', which is why arms are left to rules 1-3.

Rules 3 and 4 hold for the whole window; pass about a second of frames (12 or more at
12 fps). The aspect is a parameter until the window carries it.

Live, `HiddenJointFilter` applies the rule frame by frame over the last second and
hands on each frame with its hidden joints made missing (NaN, visibility 0), so a
session fed through it never scores, counts or cues them: an angle that needs a hidden
joint is NaN, a template whose required joints are hidden does not count.

Core module: stdlib and numpy.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from typing import Final

import numpy as np
import numpy.typing as npt

from vision.types import PoseFrame, PoseWindow

__all__ = [
    "JITTER_MIN",
    "JITTER_RATIO",
    "LOWER_BODY",
    "MARGIN",
    "MIN_VISIBILITY",
    "WINDOW_MS",
    "HiddenJointFilter",
    "hidden_joints",
    "jitter",
]

MARGIN: Final[float] = 0.02
"""How far (image fraction) past the visible region a joint may lie and still count
as seen: the model places joints on the edge a little outside it."""

MIN_VISIBILITY: Final[float] = 0.5
JITTER_RATIO: Final[float] = 3.0
JITTER_MIN: Final[float] = 0.15
"""Torso lengths: above the legs seen in the shared footage (90th percentile 0.13,
walking away from a panning camera), below most guessed legs of a moving person."""

WINDOW_MS: Final[int] = 1000
"""How much of the recent past `HiddenJointFilter` judges each frame on."""

LOWER_BODY: Final[tuple[str, ...]] = tuple(
    f"{side}_{part}"
    for side in ("left", "right")
    for part in ("hip", "knee", "ankle", "heel", "foot_index")
)
_SHOULDERS: Final[tuple[str, str]] = ("left_shoulder", "right_shoulder")
_HIPS: Final[tuple[str, str]] = ("left_hip", "right_hip")
F64 = npt.NDArray[np.float64]


def _torso_length(xy: F64, window: PoseWindow) -> float:
    sk = window.skeleton
    s = xy[:, [sk.index(n) for n in _SHOULDERS]].mean(axis=1)
    h = xy[:, [sk.index(n) for n in _HIPS]].mean(axis=1)
    lengths = np.hypot(*(s - h).T)
    lengths = lengths[np.isfinite(lengths)]
    return float(np.median(lengths)) if lengths.size else float("nan")


def jitter(window: PoseWindow, *, aspect_wh: float = 1.0) -> F64:
    """Per joint, the median |third difference| of its image position over the
    window, in torso lengths (isotropic; NaN where fewer than 4 finite frames or no
    torso).

    Args:
        window: T frames of one person.
        aspect_wh: Width / height of the images.

    Returns:
        (J,) float64.
    """
    xy = window.xyz[..., :2].astype(np.float64)
    xy[..., 0] *= float(aspect_wh)
    torso = _torso_length(xy, window)
    out = np.full(window.skeleton.num_joints, np.nan)
    if len(window) < 4 or not torso > 0:
        return out
    steps = np.hypot(*np.moveaxis(np.diff(xy, n=3, axis=0), -1, 0))  # (T-3, J)
    for j in range(out.size):
        col = steps[:, j]
        col = col[np.isfinite(col)]
        if col.size:
            out[j] = float(np.median(col)) / torso
    return out


def hidden_joints(
    window: PoseWindow,
    *,
    aspect_wh: float = 1.0,
    visible_region: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0),
    min_visibility: float = MIN_VISIBILITY,
    jitter_ratio: float = JITTER_RATIO,
    jitter_min: float = JITTER_MIN,
) -> npt.NDArray[np.bool_]:
    """Which joints of a window the camera did not see (see the module docstring).

    Args:
        window: About a second of one person's frames.
        aspect_wh: Width / height of the images.
        visible_region: (x0, y0, x1, y1), image fractions: the part of the picture
            nothing hides.
        min_visibility: Mean visibility below which the model says "not seen".
        jitter_ratio: Jitter against the shoulders' from which a joint is a guess.
        jitter_min: ... and the least jitter, torso lengths, that counts.

    Returns:
        (T, J) bool, True = hidden in that frame.

    Raises:
        ValueError: the region is empty or not inside [0, 1].
    """
    x0, y0, x1, y1 = (float(v) for v in visible_region)
    if not (0.0 <= x0 < x1 <= 1.0 and 0.0 <= y0 < y1 <= 1.0):
        raise ValueError(
            f"visible_region must be (x0, y0, x1, y1) inside [0, 1] with x0 < x1 and "
            f"y0 < y1, got {visible_region}"
        )
    xyz = window.xyz.astype(np.float64)
    x, y = xyz[..., 0], xyz[..., 1]
    finite = np.isfinite(xyz[..., :2]).all(axis=-1)
    with np.errstate(invalid="ignore"):
        inside = (
            (x >= x0 - MARGIN)
            & (x <= x1 + MARGIN)
            & (y >= y0 - MARGIN)
            & (y <= y1 + MARGIN)
        )
    hidden = ~(finite & inside)
    vis = np.where(finite, window.visibility, 0.0).mean(axis=0)
    guessed = vis < min_visibility
    moves = jitter(window, aspect_wh=aspect_wh)
    sk = window.skeleton
    shoulders = moves[[sk.index(n) for n in _SHOULDERS]]
    if np.isfinite(shoulders).any():
        reference = float(np.nanmedian(shoulders))
        lower = np.zeros(sk.num_joints, bool)
        lower[[sk.index(n) for n in LOWER_BODY if sk.has(n)]] = True
        with np.errstate(invalid="ignore"):
            guessed |= (
                lower & (moves >= jitter_ratio * reference) & (moves >= jitter_min)
            )
    out: npt.NDArray[np.bool_] = hidden | guessed[None, :]
    return out


class HiddenJointFilter:
    """Frames in, the same frames out with the joints the camera did not see made
    missing (NaN, visibility 0), judged by `hidden_joints` over the last `window_ms`
    of frames (the frame's own `aspect_wh`). Feed it every frame, in order.

    Args:
        visible_region: (x0, y0, x1, y1), image fractions: the part of the picture
            nothing hides (a station's table edge sets y1).
        window_ms: The recent past each frame is judged with.
    """

    def __init__(
        self,
        *,
        visible_region: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0),
        window_ms: int = WINDOW_MS,
    ) -> None:
        if window_ms <= 0:
            raise ValueError(f"window_ms must be > 0, got {window_ms}")
        hidden_joints(  # checks the region once, here
            PoseWindow.from_frames([PoseFrame.missing(0)]),
            visible_region=visible_region,
        )
        self.visible_region = visible_region
        self.window_ms = window_ms
        self._recent: deque[PoseFrame] = deque()

    def update(self, frame: PoseFrame) -> PoseFrame:
        """`frame` with its hidden joints missing (the frame itself when none is)."""
        recent = self._recent
        if recent and recent[-1].skeleton != frame.skeleton:
            recent.clear()
        recent.append(frame)
        while recent[0].timestamp_ms < frame.timestamp_ms - self.window_ms:
            recent.popleft()
        mask = hidden_joints(
            PoseWindow.from_frames(list(recent), aspect_wh=frame.aspect_wh),
            aspect_wh=frame.aspect_wh,
            visible_region=self.visible_region,
        )[-1]
        if not mask.any():
            return frame
        xyz = frame.xyz.copy()
        vis = frame.visibility.copy()
        xyz[mask] = np.nan
        vis[mask] = 0.0
        return dataclasses.replace(frame, xyz=xyz, visibility=vis)
