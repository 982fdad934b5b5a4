"""A multi-person test set built from real footage (../shared/data/video).

Single-person clips are pasted side by side into one larger frame ("mosaic") at
different sizes and time offsets, so one frame holds several real people whose
landmarks are known: the ground truth is the single-person pipeline
(`OnnxBackend`, one pose, VIDEO mode) run on each source clip at its own resolution
before pasting, mapped into the mosaic. The real two-person clip
`group2_taichi_beach.mp4` is added as is, with ground truth from the same pipeline on
each half of the frame (the man is in the left half, the woman in the right one for
the whole clip; CATALOG.tsv).

Pasted copies never overlap (each owns its rectangle), so ground truth is not hidden
by a neighbour. Clips shorter than a scene play forwards then backwards (no jump).

Edge module (cv2, onnxruntime): benchmarks and model tests only.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "BADUANJIN_DIR",
    "CLASS",
    "CLASS_WH",
    "GROUP_CLIP",
    "SCENES",
    "VIDEO_DIR",
    "Copy",
    "GroupFrame",
    "Member",
    "Scene",
    "class_frames",
    "clip_frames",
    "group_clip_frames",
    "person_heights",
    "render_scene",
    "single_person_track",
]

F32 = npt.NDArray[np.float32]

ROOT: Final[Path] = Path(__file__).resolve().parents[1]
VIDEO_DIR: Final[Path] = ROOT.parent / "shared" / "data" / "video"
GROUP_CLIP: Final[str] = "group2_taichi_beach.mp4"
GROUP_CUT_FRAME: Final[int] = 30  # hard cut at 1.80 s (CATALOG.tsv)
BACKGROUND_BGR: Final[tuple[int, int, int]] = (96, 96, 96)
VISIBLE: Final[float] = 0.5  # a ground-truth joint counts as seen at this visibility


@dataclass(frozen=True, slots=True)
class Copy:
    """One clip pasted into a scene.

    Attributes:
        clip: File name in `VIDEO_DIR`.
        start_frame: Source frame shown in the scene's first frame.
        height: Pasted height as a fraction of the scene height (aspect kept).
        x, y: Top-left corner as fractions of the scene width and height.
        crop_x: The part [x0, x1) of the source frame's width that is pasted.
    """

    clip: str
    start_frame: int
    height: float
    x: float
    y: float
    crop_x: tuple[float, float] = (0.0, 1.0)


@dataclass(frozen=True, slots=True)
class Scene:
    name: str
    size_wh: tuple[int, int]
    copies: tuple[Copy, ...]
    num_frames: int = 120
    fps: float = 30.0
    step: int = 1
    """Source frames per scene frame (3: a 30 fps clip seen at 10 fps, the rate the
    group screen processes)."""


@dataclass(frozen=True, slots=True, eq=False)
class GroupFrame:
    """One frame of a scene with its ground truth.

    Attributes:
        image: (H, W, 3) uint8 BGR.
        timestamp_ms: Frame time in the scene.
        gt_xyz: (P, 33, 3) float32, every copy's person in normalized scene
            coordinates; NaN rows where the single-person pipeline found nobody.
        gt_visibility: (P, 33) float32 (0 where nobody).
        index: Frame number in the scene.
    """

    image: npt.NDArray[np.uint8]
    timestamp_ms: int
    gt_xyz: F32
    gt_visibility: F32
    index: int


_FRONT_RAISE = "ksh_front_raise.mp4"
_LATERAL = "noor_lateral_raise.mp4"
_SQUAT = "mrpose_air_squat.mp4"
_CURL = "bicep_curl_side.mp4"
_JACKS = "mrpose_jumping_jacks.mp4"
_SIT_STAND = "sds_sit_to_stand_walk.mp4"
_LUNGES = "wahoo_lunges.mp4"

_CROP: Final[dict[str, tuple[float, float]]] = {
    # The part of each source frame's width the person uses (measured on the
    # single-person ground truth), so copies can stand close together.
    _FRONT_RAISE: (0.3, 0.6),
    _LATERAL: (0.08, 0.78),
    _SQUAT: (0.55, 0.9),
    _CURL: (0.33, 0.68),
    _JACKS: (0.28, 0.72),
    _SIT_STAND: (0.25, 0.65),
    _LUNGES: (0.3, 0.7),
}


def _copy(clip: str, start: int, height: float, x: float, y: float) -> Copy:
    return Copy(clip, start, height, x, y, _CROP[clip])


SCENES: Final[tuple[Scene, ...]] = (
    # Five people in two rows, pasted frames about half the scene high.
    Scene(
        "two_rows5",
        (1280, 720),
        (
            _copy(_LATERAL, 20, 0.48, 0.0, 0.0),
            _copy(_SQUAT, 60, 0.48, 0.4, 0.0),
            _copy(_FRONT_RAISE, 10, 0.48, 0.05, 0.5),
            _copy(_CURL, 0, 0.48, 0.45, 0.5),
            _copy(_JACKS, 150, 0.48, 0.75, 0.5),
        ),
    ),
    # One large person in front, eight small ones behind at different offsets (the
    # same clip twice in places): the smallest are about a fifth of the frame high.
    # (bicep_curl_side is not used small: its head is cut by the top of the source
    # frame, and BlazePose's detector keys on the face; see the report.)
    Scene(
        "front_and_back",
        (1280, 720),
        (
            _copy(_SQUAT, 300, 0.95, 0.0, 0.03),
            _copy(_LATERAL, 0, 0.3, 0.4, 0.0),
            _copy(_LATERAL, 60, 0.3, 0.65, 0.0),
            _copy(_FRONT_RAISE, 40, 0.3, 0.4, 0.35),
            _copy(_LUNGES, 230, 0.3, 0.55, 0.35),
            _copy(_JACKS, 200, 0.3, 0.7, 0.35),
            _copy(_SIT_STAND, 40, 0.3, 0.4, 0.69),
            _copy(_FRONT_RAISE, 90, 0.3, 0.6, 0.69),
            _copy(_SQUAT, 500, 0.3, 0.75, 0.69),
        ),
    ),
    # Six small people in a 4:3 frame, three of them the same clip at different
    # offsets (look-alikes side by side).
    Scene(
        "row6",
        (960, 720),
        (
            _copy(_FRONT_RAISE, 0, 0.3, 0.05, 0.35),
            _copy(_FRONT_RAISE, 25, 0.3, 0.3, 0.35),
            _copy(_FRONT_RAISE, 50, 0.3, 0.55, 0.35),
            _copy(_LATERAL, 100, 0.3, 0.0, 0.68),
            _copy(_CURL, 10, 0.3, 0.5, 0.68),
            _copy(_SIT_STAND, 40, 0.33, 0.05, 0.0),
        ),
    ),
)


def _read(path: Path) -> list[npt.NDArray[np.uint8]]:
    import cv2

    capture = cv2.VideoCapture(str(path))
    frames: list[npt.NDArray[np.uint8]] = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    if not frames:
        raise FileNotFoundError(f"no frames decoded from {path}")
    return frames


@lru_cache(maxsize=16)
def clip_frames(clip: str, video_dir: Path = VIDEO_DIR) -> tuple[np.ndarray, ...]:
    """Every frame of a shared clip (BGR), cached per process."""
    return tuple(_read(video_dir / clip))


def frame_count(clip: str, video_dir: Path = VIDEO_DIR) -> int:
    """Frames in a clip (the container's count)."""
    import cv2

    capture = cv2.VideoCapture(str(video_dir / clip))
    n = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    capture.release()
    if n < 1:
        raise FileNotFoundError(f"no frames in {video_dir / clip}")
    return n


@lru_cache(maxsize=32)
def clip_frames_at(
    clip: str, frames: tuple[int, ...], video_dir: Path = VIDEO_DIR
) -> dict[int, np.ndarray]:
    """The given frames of a clip (BGR), decoded in one pass up to the last one
    (a whole 1080p clip would take gigabytes)."""
    import cv2

    wanted = set(frames)
    last = max(wanted)
    capture = cv2.VideoCapture(str(video_dir / clip))
    out: dict[int, np.ndarray] = {}
    for i in range(last + 1):
        ok, frame = capture.read()
        if not ok:
            break
        if i in wanted:
            out[i] = frame
    capture.release()
    # The container's count can overstate the frames: repeat the last one decoded.
    for i in sorted(wanted - out.keys()):
        out[i] = out[max(out)] if out else np.zeros((1, 1, 3), np.uint8)
    if not any(v.size > 3 for v in out.values()):
        raise FileNotFoundError(f"no frames decoded from {video_dir / clip}")
    return out


def _pingpong(index: int, n: int) -> int:
    if n == 1:
        return 0
    period = 2 * (n - 1)
    k = index % period
    return k if k < n else period - k


@lru_cache(maxsize=32)
def single_person_track(
    clip: str,
    first: int,
    last: int,
    video_dir: Path = VIDEO_DIR,
    region_x: tuple[float, float] = (0.0, 1.0),
) -> tuple[F32, F32]:
    """Ground truth of one clip: the single-person pipeline (OnnxBackend, one pose,
    VIDEO mode) on source frames first..last, optionally on a vertical strip.

    Args:
        clip: File name in `video_dir`.
        first, last: Inclusive source frame range.
        video_dir: Where the clip is.
        region_x: The strip [x0, x1) of the frame width to look at (the person's half).

    Returns:
        xyz (F, 33, 3) float32 normalized to the whole source frame (NaN where nobody)
        and visibility (F, 33) float32, for F = last - first + 1 frames.
    """
    from vision.backends.onnx import OnnxBackend, OnnxOptions

    frames = clip_frames(clip, video_dir)
    w = frames[0].shape[1]
    x0, x1 = round(region_x[0] * w), round(region_x[1] * w)
    n = last - first + 1
    xyz = np.full((n, 33, 3), np.nan, np.float32)
    vis = np.zeros((n, 33), np.float32)
    fps = 30.0
    with OnnxBackend(OnnxOptions(num_poses=1)) as backend:
        for k in range(n):
            image = np.ascontiguousarray(frames[first + k][:, x0:x1])
            poses = backend.detect(image, round(k * 1000 / fps) + 1)
            if len(poses):
                p = poses.xyz[0].copy()
                p[:, 0] = (p[:, 0] * (x1 - x0) + x0) / w
                p[:, 2] *= (x1 - x0) / w
                xyz[k] = p
                vis[k] = poses.visibility[0]
    return xyz, vis


@lru_cache(maxsize=64)
def single_person_frames(
    clip: str, frames: tuple[int, ...], video_dir: Path = VIDEO_DIR
) -> tuple[F32, F32]:
    """Ground truth of one clip on the given source frames (ascending): the
    single-person pipeline (OnnxBackend, one pose, VIDEO mode) run over them in order.

    Returns:
        xyz (F, 33, 3) float32 normalized (NaN where nobody) and visibility (F, 33).
    """
    from vision.backends.onnx import OnnxBackend, OnnxOptions

    src = clip_frames_at(clip, frames, video_dir)
    n = len(frames)
    xyz = np.full((n, 33, 3), np.nan, np.float32)
    vis = np.zeros((n, 33), np.float32)
    with OnnxBackend(OnnxOptions(num_poses=1)) as backend:
        for k, f in enumerate(frames):
            poses = backend.detect(src[f], round(f * 1000 / 30.0) + 1)
            if len(poses):
                xyz[k] = poses.xyz[0]
                vis[k] = poses.visibility[0]
    return xyz, vis


def _placement(copy: Copy, scene: Scene, src_wh: tuple[int, int]) -> tuple[int, ...]:
    sw, sh = scene.size_wh
    h = round(copy.height * sh)
    w = round(src_wh[0] * (copy.crop_x[1] - copy.crop_x[0]) * h / src_wh[1])
    x = round(copy.x * sw)
    y = round(copy.y * sh)
    w = min(w, sw - x)
    h = min(h, sh - y)
    return x, y, w, h


def render_scene(scene: Scene, video_dir: Path = VIDEO_DIR) -> Iterator[GroupFrame]:
    """The frames of a scene with their ground truth (see the module docstring).

    Raises:
        FileNotFoundError: a clip is missing.
        ValueError: two copies' rectangles overlap.
    """
    import cv2

    sw, sh = scene.size_wh
    placements = []
    tracks = []
    for copy in scene.copies:
        count = frame_count(copy.clip, video_dir)
        idx = [
            _pingpong(copy.start_frame + i * scene.step, count)
            for i in range(scene.num_frames)
        ]
        seen = tuple(sorted(set(idx)))
        src = clip_frames_at(copy.clip, seen, video_dir)
        sh_src, sw_src = src[seen[0]].shape[:2]
        x, y, w, h = _placement(copy, scene, (sw_src, sh_src))
        # The pasted rectangle may be clipped at the scene edge: keep the source's
        # left/top part, same scale.
        scale = copy.height * sh / sh_src
        crop_px = round(copy.crop_x[0] * sw_src * scale)
        xyz, vis = single_person_frames(copy.clip, seen, video_dir)
        rows = {f: r for r, f in enumerate(seen)}
        placements.append((x, y, w, h, scale, src, idx, rows, crop_px))
        tracks.append((xyz, vis))
    for i, a in enumerate(placements):
        for b in placements[i + 1 :]:
            if (
                a[0] < b[0] + b[2]
                and b[0] < a[0] + a[2]
                and a[1] < b[1] + b[3]
                and b[1] < a[1] + a[3]
            ):
                raise ValueError(
                    f"copies overlap in scene {scene.name}: {a[:4]} {b[:4]}"
                )
    for t in range(scene.num_frames):
        canvas = np.empty((sh, sw, 3), np.uint8)
        canvas[:] = BACKGROUND_BGR
        p = len(placements)
        gt = np.full((p, 33, 3), np.nan, np.float32)
        gv = np.zeros((p, 33), np.float32)
        for k, (x, y, w, h, scale, src, idx, rows, crop_px) in enumerate(placements):
            frame = src[idx[t]]
            src_h, src_w = frame.shape[:2]
            full_w, full_h = round(src_w * scale), round(src_h * scale)
            resized = cv2.resize(frame, (full_w, full_h), interpolation=cv2.INTER_AREA)
            canvas[y : y + h, x : x + w] = resized[:h, crop_px : crop_px + w]
            xyz, vis = tracks[k]
            row = rows[idx[t]]
            if np.isnan(xyz[row, 0, 0]):
                continue
            g = xyz[row].copy()
            # Joints the pasted rectangle clipped away are not visible in the scene.
            px = g[:, 0] * full_w - crop_px
            py = g[:, 1] * full_h
            outside = (px < 0) | (px >= w) | (py < 0) | (py >= h)
            g[:, 0] = (x + px) / sw
            g[:, 1] = (y + py) / sh
            g[:, 2] *= full_w / sw
            gt[k] = g
            gv[k] = np.where(outside, 0.0, vis[row])
        yield GroupFrame(canvas, round(t * 1000 / scene.fps) + 1, gt, gv, t)


GROUP_SPLIT_X: Final[tuple[float, float]] = (0.625, 0.55)
"""Where the real clip's frame is split between the man (left) and the woman (right)
in the wide shot and in the medium shot: between their bodies and outstretched hands
(checked on the frames)."""


def group_clip_frames(video_dir: Path = VIDEO_DIR) -> Iterator[GroupFrame]:
    """The real two-person clip with ground truth from the single-person pipeline on
    each person's part of the frame (man left, woman right; `GROUP_SPLIT_X`), per
    shot: frames 0-29 are the wide shot, 30-65 the medium shot."""
    frames = clip_frames(GROUP_CLIP, video_dir)
    n = len(frames)
    shots = ((0, GROUP_CUT_FRAME - 1), (GROUP_CUT_FRAME, n - 1))
    parts = []
    for (first, last), split in zip(shots, GROUP_SPLIT_X, strict=True):
        left = single_person_track(GROUP_CLIP, first, last, video_dir, (0.0, split))
        right = single_person_track(GROUP_CLIP, first, last, video_dir, (split, 1.0))
        parts.append((first, left, right))
    fps = 50.0 / 3.0  # 16.67 fps (CATALOG.tsv)
    for t, image in enumerate(frames):
        first, left, right = parts[0] if t < GROUP_CUT_FRAME else parts[1]
        k = t - first
        gt = np.stack([left[0][k], right[0][k]])
        gv = np.stack([left[1][k], right[1][k]])
        yield GroupFrame(image, round(t * 1000 / fps) + 1, gt, gv, t)


def person_heights(xyz: F32, visibility: F32) -> npt.NDArray[np.float64]:
    """Height of each person's visible joints as a fraction of the frame height.

    Args:
        xyz: (P, 33, 3) normalized; NaN rows for nobody.
        visibility: (P, 33).

    Returns:
        (P,) float64; 0 for nobody or fewer than two visible joints.
    """
    out = np.zeros(xyz.shape[0], np.float64)
    for p in range(xyz.shape[0]):
        seen = (visibility[p] >= VISIBLE) & np.isfinite(xyz[p, :, 1])
        if seen.sum() >= 2:
            ys = xyz[p, seen, 1]
            out[p] = float(np.clip(ys.max(), 0, 1) - np.clip(ys.min(), 0, 1))
    return out


def scene_duration_s(scene: Scene) -> float:
    return math.ceil(scene.num_frames / scene.fps)


# ---------------------------------------------------------------- the tiled class

BADUANJIN_DIR: Final[Path] = ROOT.parent / "shared" / "data" / "baduanjin" / "video"
CLASS_WH: Final[tuple[int, int]] = (640, 360)
CLASS_FPS: Final[float] = 10.0
CLASS_STEP: Final[int] = 3  # the 30 fps clips seen at 10 fps
FOREGROUND_DIFF: Final[int] = 45
"""Summed |BGR - background| above which a pixel of a cut-out clip is the performer
(the `solo_full_*` clips are cut out onto a plain light grey, ~230)."""


@dataclass(frozen=True, slots=True)
class Member:
    """One performer of the tiled class.

    Attributes:
        clip: A `solo_full_*` clip in `BADUANJIN_DIR`.
        start_frame: Source frame shown first (different starts: followers lag).
        height_px: Pasted height of the source frame (the performer fills ~0.95).
        centre_x_px, feet_y_px: Where the frame's bottom centre lands.
    """

    clip: str
    start_frame: int
    height_px: int
    centre_x_px: int
    feet_y_px: int


CLASS: Final[tuple[Member, ...]] = (
    # Back row first (painted first: the front row hides part of it), performers
    # ~120-145 px tall (visible joints) standing half behind the front row's, their
    # legs behind its bodies and raised arms.
    Member("solo_full_s1.mp4", 12, 170, 150, 232),
    Member("solo_full_s3.mp4", 15, 155, 320, 228),
    Member("solo_full_s1.mp4", 21, 165, 470, 232),
    Member("solo_full_s6.mp4", 0, 150, 600, 226),
    # Front row, ~200-240 px tall.
    Member("solo_full_s1.mp4", 0, 262, 75, 360),
    Member("solo_full_s2.mp4", 5, 250, 240, 356),
    Member("solo_full_s3.mp4", 0, 275, 400, 362),
    Member("solo_full_s4.mp4", 9, 240, 560, 352),
)
"""Eight performers of Baduanjin (sections 1-4 and 6; section 1 raises both palms
overhead, 3 one palm, 6 bends forward) in two rows of a 640x360 picture.

What it cannot cover: all eight are one woman (the cut-out `solo_full_*` clips; real
classes mix builds, clothes and ages, and look-alikes are, if anything, harder for
IDs); the background is a plain grey gradient (no park, trees, benches or passers-by,
so no bystander behind the class); occlusion is pasting order (the front row's pixels
over the back row's, no depth, shadows or contact); her wide trousers hide knees and
ankles; the clips loop a 14 s segment; there is no camera noise, blur, lighting change
or JPEG of a real camera beyond one re-encode; ground truth is the single-pose pipeline
on each clip, so the benchmark measures agreement with it, not with people's real
joints. The held-out park footage of the issue remains the real test."""


def _foreground(frame: np.ndarray) -> npt.NDArray[np.bool_]:
    """The performer's pixels of a cut-out frame: far from the border's median."""
    border = np.concatenate([frame[0], frame[-1], frame[:, 0], frame[:, -1]])
    bg = np.median(border, axis=0)
    diff = np.abs(frame.astype(np.int16) - bg.astype(np.int16)).sum(axis=2)
    return np.asarray(diff > FOREGROUND_DIFF, np.bool_)


def class_frames(
    num_frames: int,
    members: tuple[Member, ...] = CLASS,
    video_dir: Path = BADUANJIN_DIR,
) -> Iterator[GroupFrame]:
    """The tiled class at `CLASS_FPS`, with ground truth per member (the single-person
    pipeline on the member's own clip, mapped into the picture); a joint another
    member's pixels cover is not visible.

    Raises:
        FileNotFoundError: a clip is missing.
    """
    import cv2

    w, h = CLASS_WH
    rng = np.random.default_rng(0)
    noise = cv2.GaussianBlur(rng.normal(0, 12, (h, w)).astype(np.float32), (0, 0), 3)
    base = np.clip(
        140 + noise[..., None] + np.linspace(-15, 15, h)[:, None, None], 0, 255
    )
    background = np.repeat(base, 3, axis=2).astype(np.uint8)
    plans = []
    for m in members:
        count = frame_count(m.clip, video_dir)
        idx = [
            _pingpong(m.start_frame + i * CLASS_STEP, count) for i in range(num_frames)
        ]
        seen = tuple(sorted(set(idx)))
        src = clip_frames_at(m.clip, seen, video_dir)
        xyz, vis = single_person_frames(m.clip, seen, video_dir)
        plans.append((m, idx, {f: r for r, f in enumerate(seen)}, src, xyz, vis))
    for t in range(num_frames):
        canvas = background.copy()
        owner = np.full((h, w), -1, np.int64)
        gt = np.full((len(plans), 33, 3), np.nan, np.float32)
        gv = np.zeros((len(plans), 33), np.float32)
        for k, (m, idx, rows, src, xyz, vis) in enumerate(plans):
            frame = src[idx[t]]
            sh, sw = frame.shape[:2]
            scale = m.height_px / sh
            fw = max(1, round(sw * scale))
            img = cv2.resize(frame, (fw, m.height_px), interpolation=cv2.INTER_AREA)
            fg = cv2.resize(
                _foreground(frame).astype(np.uint8) * 255,
                (fw, m.height_px),
                interpolation=cv2.INTER_LINEAR,
            )
            x0, y0 = m.centre_x_px - fw // 2, m.feet_y_px - m.height_px
            # The part of the pasted frame inside the picture.
            cx0, cy0 = max(0, -x0), max(0, -y0)
            cx1, cy1 = min(fw, w - x0), min(m.height_px, h - y0)
            mask = fg[cy0:cy1, cx0:cx1] > 127
            region = canvas[y0 + cy0 : y0 + cy1, x0 + cx0 : x0 + cx1]
            region[mask] = img[cy0:cy1, cx0:cx1][mask]
            owner[y0 + cy0 : y0 + cy1, x0 + cx0 : x0 + cx1][mask] = k
            row = rows[idx[t]]
            if np.isnan(xyz[row, 0, 0]):
                continue
            px = xyz[row, :, 0] * sw * scale + x0
            py = xyz[row, :, 1] * sh * scale + y0
            gt[k, :, 0] = px / w
            gt[k, :, 1] = py / h
            gt[k, :, 2] = xyz[row, :, 2] * sw * scale / w
            gv[k] = vis[row]
        # Joints outside the picture or under someone painted later are hidden.
        for k in range(len(plans)):
            if np.isnan(gt[k, 0, 0]):
                continue
            px = np.round(gt[k, :, 0] * w).astype(np.int64)
            py = np.round(gt[k, :, 1] * h).astype(np.int64)
            inside = (px >= 0) & (px < w) & (py >= 0) & (py < h)
            who = np.where(
                inside, owner[np.clip(py, 0, h - 1), np.clip(px, 0, w - 1)], -1
            )
            covered = (who >= 0) & (who != k)
            gv[k] = np.where(inside & ~covered, gv[k], 0.0)
        yield GroupFrame(canvas, round(t * 1000 / CLASS_FPS) + 1, gt, gv, t)
